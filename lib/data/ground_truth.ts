/**
 * The interface every dataset implements: a set of images whose generating factors are known (dSprites, 3DTeapots),
 * or unknown (CelebA: `factors` is empty). Metrics ask it for "images where factor k is held fixed".
 */
import type * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";
import type { DataSourceRecord } from "./source.ts";

export interface FactorSpec {
  name: string;
  kind: "discrete" | "continuous";
  /** The value grid where the dataset has one (dSprites); otherwise undefined and `range` is set. */
  values?: number[];
  /** [lo, hi] of a continuous factor without a grid (3DTeapots). */
  range?: [number, number];
}

export interface GroundTruthData {
  name: string;
  /** [height, width, channels], NHWC. */
  imageShape: [number, number, number];
  /** Pixel value range of `observe`'s output: [0, 1] for dSprites/3DTeapots, [-1, 1] for CelebA. */
  valueRange: [number, number];
  factors: FactorSpec[];
  /** Number of grid points (dSprites: 737,280), when the dataset is a finite grid. */
  size?: number;
  /** The file the images come from (the original dSprites archive); absent when the toolkit makes them itself. */
  source?: DataSourceRecord;
  /** n rows of factor VALUES (n × factors.length, row-major), drawn from the data distribution. */
  sampleFactors(n: number, rng: Rng): Float32Array;
  /** Images for the given factor rows (row-major n × factors.length), as an NHWC float tensor. Caller disposes. */
  observe(factors: Float32Array): tf.Tensor4D;
  /** For grid datasets: factor class ids of a flat index, and back. */
  indexToClasses?(index: number): number[];
  classesToIndex?(classes: number[]): number;
  /**
   * Integer class ids of factor values (n × factors.length), for metrics that need discrete labels. Grid factors map to
   * their grid index; continuous factors without a grid are binned into `bins` equal-width bins over their range.
   */
  factorClasses(factors: Float32Array, bins?: number): Int32Array;
  /**
   * Tensor-free fast path for the batch iterator and metrics: images of flat indices (grid datasets, cached sets),
   * NHWC row-major in `valueRange`, written into `out` when given (length n × h × w × c) so loops need not allocate.
   */
  images?(indices: Int32Array, out?: Float32Array): Float32Array;
  /** Tensor-free `observe`: images for factor rows, NHWC row-major, into `out` when given. */
  render?(factors: Float32Array, out?: Float32Array): Float32Array;
}

/** The common `factorClasses` rule: grid factors map to the nearest grid index, ranges to `bins` equal-width bins. */
export function classesOfFactors(specs: FactorSpec[], factors: Float32Array, bins = 20): Int32Array {
  const k = specs.length;
  if (factors.length % k !== 0) throw new Error(`factorClasses: ${factors.length} values is not a multiple of ${k}`);
  const out = new Int32Array(factors.length);
  for (let j = 0; j < k; j++) {
    const spec = specs[j];
    for (let i = j; i < factors.length; i += k) {
      const v = factors[i];
      if (spec.values) {
        let best = 0, bestD = Infinity;
        for (let c = 0; c < spec.values.length; c++) {
          const d = Math.abs(spec.values[c] - v);
          if (d < bestD) [best, bestD] = [c, d];
        }
        out[i] = best;
      } else {
        const [lo, hi] = spec.range ?? [0, 1];
        out[i] = Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)));
      }
    }
  }
  return out;
}
