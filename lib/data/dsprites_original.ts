/**
 * dSprites on the original images: the archive read by dsprites_npz.ts, served through the same `GroundTruthData`
 * interface as the procedural renderer (lib/data/dsprites.ts), so training and every metric run on it unchanged.
 *
 * Images are looked up by their factor classes (`latents_classes`), so the archive's row order does not matter. Factor
 * values are the original's grid; `sampleFactors` draws every factor's class uniformly from the classes the archive
 * holds, exactly as the procedural dataset does for the full archive (the same seed gives the same factors, and so the
 * same metric samples, on either source). An archive must hold every combination of the classes it contains: the
 * original holds all 737,280; smaller ones (a test's) must be a complete sub-grid.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";
import {
  classesToIndex,
  DSPRITES_COUNTS,
  DSPRITES_TOTAL,
  ORIENTATION_VALUES,
  POSITION_VALUES,
  SCALE_VALUES,
  SHAPE_VALUES,
} from "./dsprites.ts";
import { type DSpritesOriginal, loadDspritesNpz } from "./dsprites_npz.ts";
import { classesOfFactors, type FactorSpec, type GroundTruthData } from "./ground_truth.ts";
import type { DataSourceRecord } from "./source.ts";

const GRID_VALUES = [SHAPE_VALUES, SCALE_VALUES, ORIENTATION_VALUES, POSITION_VALUES, POSITION_VALUES];
const FACTOR_NAMES = ["shape", "scale", "orientation", "posX", "posY"];

export class DSpritesArchive implements GroundTruthData {
  readonly name = "dsprites";
  readonly imageShape: [number, number, number] = [64, 64, 1];
  readonly valueRange: [number, number] = [0, 1];
  readonly size: number;
  readonly factors: FactorSpec[];
  readonly source: DataSourceRecord;
  /** Per factor, the grid classes the archive holds, ascending. */
  private readonly present: number[][];
  /** Archive row of each grid index, -1 where the archive has no image. */
  private readonly rowOf: Int32Array;
  private readonly gridSpecs: FactorSpec[];

  constructor(private readonly archive: DSpritesOriginal) {
    const p = archive.path, lc = archive.latentsClasses;
    if (!lc) {
      throw new Error(`${p}: no latents_classes.npy inside, so its images cannot be matched to their factors`);
    }
    this.rowOf = new Int32Array(DSPRITES_TOTAL).fill(-1);
    const seen = DSPRITES_COUNTS.map((c) => new Uint8Array(c));
    const classes = new Array<number>(5);
    for (let r = 0; r < archive.count; r++) {
      if (lc[r * 6] !== 0) throw new Error(`${p}: row ${r} has colour class ${lc[r * 6]}; dSprites has one colour (0)`);
      for (let k = 0; k < 5; k++) {
        const c = lc[r * 6 + 1 + k];
        if (!(c >= 0 && c < DSPRITES_COUNTS[k])) {
          throw new Error(`${p}: row ${r} has ${FACTOR_NAMES[k]} class ${c}, outside [0, ${DSPRITES_COUNTS[k]})`);
        }
        classes[k] = c;
        seen[k][c] = 1;
      }
      const idx = classesToIndex(classes);
      if (this.rowOf[idx] >= 0) {
        throw new Error(
          `${p}: rows ${this.rowOf[idx]} and ${r} have the same factor classes ${JSON.stringify(classes)}`,
        );
      }
      this.rowOf[idx] = r;
    }
    this.present = seen.map((s) => Array.from(s.keys()).filter((c) => s[c]));
    const combinations = this.present.reduce((a, v) => a * v.length, 1);
    if (combinations !== archive.count) {
      throw new Error(
        `${p}: holds ${archive.count} images but its factor classes make ${combinations} combinations; an archive ` +
          `must hold every combination (the original holds all ${DSPRITES_TOTAL})`,
      );
    }
    this.size = archive.count;
    this.gridSpecs = GRID_VALUES.map((values, k) => ({ name: FACTOR_NAMES[k], kind: "discrete", values }));
    this.factors = this.present.map((cls, k) => ({
      name: FACTOR_NAMES[k],
      kind: "discrete",
      values: cls.map((c) => GRID_VALUES[k][c]),
    }));
    this.source = { kind: "dsprites-npz", path: p, sha256: archive.sha256, images: archive.count };
  }

  /** Every factor's class uniform over the classes the archive holds (as DSprites.sampleFactors on the full grid). */
  sampleFactors(n: number, rng: Rng): Float32Array {
    const out = new Float32Array(n * 5);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 5; k++) out[i * 5 + k] = this.factors[k].values![rng.int(this.present[k].length)];
    }
    return out;
  }

  /** Archive rows of factor rows (values snapped to the nearest grid value). */
  private rows(factors: Float32Array): Int32Array {
    if (factors.length % 5 !== 0) throw new Error(`dSprites factors: ${factors.length} values is not n x 5`);
    const cls = classesOfFactors(this.gridSpecs, factors);
    const n = factors.length / 5, rows = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = Array.from(cls.subarray(i * 5, i * 5 + 5));
      rows[i] = this.rowOf[classesToIndex(c)];
      if (rows[i] < 0) {
        throw new Error(
          `${this.archive.path} has no image for factor classes ${JSON.stringify(c)} (shape, scale, ...)`,
        );
      }
    }
    return rows;
  }

  render(factors: Float32Array, out?: Float32Array): Float32Array {
    return this.archive.images(this.rows(factors), out);
  }

  /** Training images by archive row. */
  images(indices: Int32Array, out?: Float32Array): Float32Array {
    return this.archive.images(indices, out);
  }

  observe(factors: Float32Array): tf.Tensor4D {
    return tf.tensor4d(this.render(factors), [factors.length / 5, 64, 64, 1]);
  }

  factorClasses(factors: Float32Array): Int32Array {
    return classesOfFactors(this.factors, factors);
  }
}

let cached: { key: string; data: DSpritesArchive } | null = null;

/**
 * The archive at `path` as a dataset. The last one loaded is kept (inflating the original takes seconds and 377 MB),
 * and reused while the file's size and modification time are unchanged.
 */
export async function openDspritesArchive(path: string): Promise<DSpritesArchive> {
  let key: string;
  try {
    const st = await Deno.stat(path);
    key = `${path}\u0000${st.size}\u0000${st.mtime?.getTime()}`;
  } catch (e) {
    throw new Error(`dSprites .npz: cannot read ${path}: ${(e as Error).message}`);
  }
  if (cached?.key === key) return cached.data;
  const data = new DSpritesArchive(await loadDspritesNpz(path));
  cached = { key, data };
  return data;
}
