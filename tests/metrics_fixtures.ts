/**
 * Synthetic ground truth for the metric tests: images that literally are their factor values (a 1 x K x 1 "image" whose
 * pixel k is factor k), and encoders with known disentanglement (a permuted, rescaled copy of the factors; codes that
 * ignore the image).
 */
import * as tf from "@tensorflow/tfjs";
import type { FactorSpec, GroundTruthData } from "../lib/data/ground_truth.ts";
import type { Encoder } from "../lib/models/capabilities.ts";
import { Rng } from "../lib/rng.ts";
import type { CodesAndFactors } from "../lib/metrics/matrices.ts";

/** A grid dataset with `levels[k]` equally spaced values in [0, 1] for factor k. */
export class LiteralFactors implements GroundTruthData {
  readonly name = "literal-factors";
  readonly imageShape: [number, number, number];
  readonly valueRange: [number, number] = [0, 1];
  readonly factors: FactorSpec[];
  constructor(readonly levels: number[]) {
    this.imageShape = [1, levels.length, 1];
    this.factors = levels.map((m, k) => ({
      name: `f${k}`,
      kind: "discrete" as const,
      values: Array.from({ length: m }, (_, i) => (m === 1 ? 0 : i / (m - 1))),
    }));
  }
  sampleFactors(n: number, rng: Rng): Float32Array {
    const K = this.levels.length;
    const out = new Float32Array(n * K);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < K; k++) out[i * K + k] = this.factors[k].values![rng.int(this.levels[k])];
    }
    return out;
  }
  observe(factors: Float32Array): tf.Tensor4D {
    const K = this.levels.length;
    return tf.tensor4d(factors, [factors.length / K, 1, K, 1]);
  }
  factorClasses(factors: Float32Array): Int32Array {
    const K = this.levels.length;
    return Int32Array.from(factors, (v, i) => Math.round(v * (this.levels[i % K] - 1)));
  }
}

/** codes[:, d] = sum_k mix[d][k] * factor_k (a linear encoder; identity rows give a perfect representation). */
export function linearEncoder(mix: number[][]): Encoder {
  const D = mix.length, K = mix[0].length;
  const W = tf.tidy(() => tf.tensor2d(mix.flat(), [D, K]).transpose()); // K x D
  return {
    codeSize: D,
    encode: (images) => tf.tidy(() => tf.matMul(images.reshape([images.shape[0], K]) as tf.Tensor2D, W as tf.Tensor2D)),
  };
}

/** Permuted, rescaled copy of the factors: code perm[k] = scales[k] * factor k. */
export function perfectEncoder(perm: number[], scales: number[]): Encoder {
  const K = perm.length;
  const mix = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  perm.forEach((d, k) => (mix[d][k] = scales[k]));
  return linearEncoder(mix);
}

/** Codes drawn from a seeded stream, ignoring the images. */
export function independentEncoder(codeSize: number, seed: number): Encoder {
  const rng = new Rng(seed);
  return {
    codeSize,
    encode: (images) => tf.tensor2d(rng.normalArray(images.shape[0] * codeSize), [images.shape[0], codeSize]),
  };
}

/** Observational matrices straight from factors: codes = codes(factors) through `f`, without tfjs. */
export function matricesFrom(
  data: LiteralFactors,
  n: number,
  seed: number,
  codeOf: (factors: Float32Array, rng: Rng) => number[],
): CodesAndFactors {
  const rng = new Rng(seed);
  const K = data.levels.length;
  const fv = data.sampleFactors(n, rng);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(codeOf(fv.subarray(i * K, (i + 1) * K), rng));
  return {
    codes: new Float32Array(rows.flat()),
    factorValues: fv,
    factorClasses: data.factorClasses(fv),
    n,
    codeDim: rows[0].length,
    numFactors: K,
  };
}
