/**
 * The sampling half of the metrics: draw ground-truth factors, render them and encode the images. Everything random
 * comes from the Rng passed in; the computation half (factor_vae.ts, mig.ts, ...) never sees a dataset or an encoder.
 *
 * Two kinds of sample feed all seven metrics, which is what lets one evaluation encode each image once:
 * - interventional groups: `groups` blocks of `groupSize` rows in which one factor is held fixed (FactorVAE, and BetaVAE
 *   under the infogan-cr protocol, which pairs consecutive rows of the same groups; under disentanglement-lib BetaVAE
 *   draws "pair groups" in which only rows (2b, 2b+1) share the fixed value);
 * - an observational sample: rows drawn from the data distribution (MIG, SAP, DCI, modularity, explicitness, and the
 *   global scale of FactorVAE under infogan-cr).
 *
 * Rendering uses a dataset's fast path when it has one: `render(factors)` returning the raw pixels (dSprites), or
 * `images(indices)` through `classesToIndex`; otherwise `observe(factors)`.
 */
import * as tf from "@tensorflow/tfjs";
import type { GroundTruthData } from "../data/ground_truth.ts";
import type { Encoder } from "../models/capabilities.ts";
import type { Rng } from "../rng.ts";
import type { FactorVaeVotes } from "./factor_vae.ts";
import type { CodesAndFactors } from "./matrices.ts";

/** Indices of the factors metrics evaluate: every factor that can take more than one value. */
export function evaluatedFactors(data: GroundTruthData): number[] {
  return data.factors.flatMap((f, k) => {
    const constant = (f.values !== undefined && f.values.length < 2) ||
      (f.range !== undefined && f.range[0] === f.range[1]);
    return constant ? [] : [k];
  });
}

/** Interventional groups as factor rows, before rendering. `fixedFactor` indexes into `evaluatedFactors(data)`. */
export interface GroupFactors {
  /** (groups*groupSize) x data.factors.length factor values, group-major. */
  factors: Float32Array;
  groups: number;
  groupSize: number;
  fixedFactor: Int32Array;
  numFactors: number;
}

/**
 * Draws `groups` groups of `groupSize` factor rows. Group g holds factor k fixed, k = g mod K (`cycle`, infogan-cr) or
 * uniform (`random`, disentanglement-lib). With `share: "group"` the fixed factor takes the first row's value in every row
 * of the group (FactorVAE votes); with `share: "pairs"` rows (2b, 2b+1) share a value and different pairs differ
 * (disentanglement-lib BetaVAE). All other factors are drawn from the data distribution.
 */
export function sampleGroupFactors(
  data: GroundTruthData,
  rng: Rng,
  opts: { groups: number; groupSize: number; factorChoice: "cycle" | "random"; share?: "group" | "pairs" },
): GroupFactors {
  const { groups, groupSize, factorChoice } = opts;
  if (!Number.isInteger(groups) || groups < 1) {
    throw new Error(`sampling: groups must be a positive integer, got ${groups}`);
  }
  if (!Number.isInteger(groupSize) || groupSize < 2) {
    throw new Error(`sampling: groupSize must be an integer >= 2, got ${groupSize}`);
  }
  const evaluated = evaluatedFactors(data);
  const K = evaluated.length;
  if (K === 0) throw new Error(`sampling: dataset "${data.name}" has no factors to evaluate`);
  const F = data.factors.length;
  const factors = new Float32Array(groups * groupSize * F);
  const fixedFactor = new Int32Array(groups);
  for (let g = 0; g < groups; g++) {
    const k = factorChoice === "cycle" ? g % K : rng.int(K);
    fixedFactor[g] = k;
    const col = evaluated[k];
    const rows = data.sampleFactors(groupSize, rng);
    for (let r = 0; r < groupSize; r++) {
      const src = opts.share === "pairs" ? r - (r % 2) : 0;
      rows[r * F + col] = rows[src * F + col];
    }
    factors.set(rows, g * groupSize * F);
  }
  return { factors, groups, groupSize, fixedFactor, numFactors: K };
}

/** Counters of the encoding work, shared across the samples of one evaluation. */
export interface EncodeStats {
  images: number;
  renderSeconds: number;
  encodeSeconds: number;
}

export function newEncodeStats(): EncodeStats {
  return { images: 0, renderSeconds: 0, encodeSeconds: 0 };
}

type FastData = GroundTruthData & {
  render?: (factors: Float32Array) => Float32Array;
  images?: (indices: Int32Array) => Float32Array;
};

/** Pixels (NHWC, flat) of n factor rows, through the dataset's fastest path. */
export async function renderFactors(data: GroundTruthData, factors: Float32Array): Promise<Float32Array> {
  const d = data as FastData;
  if (typeof d.render === "function") return d.render(factors);
  if (typeof d.images === "function" && d.classesToIndex) {
    const F = data.factors.length, n = factors.length / F;
    const classes = data.factorClasses(factors);
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = d.classesToIndex(Array.from(classes.subarray(i * F, (i + 1) * F)));
    return d.images(idx);
  }
  const t = data.observe(factors);
  try {
    return await t.data() as Float32Array;
  } finally {
    t.dispose();
  }
}

/**
 * Codes (n x encoder.codeSize, row-major) of the images of n factor rows, rendered and encoded `batchSize` rows at a time
 * so memory stays bounded and the encoder runs on full batches.
 */
export async function encodeFactorRows(
  data: GroundTruthData,
  encoder: Encoder,
  factors: Float32Array,
  batchSize: number,
  stats: EncodeStats = newEncodeStats(),
): Promise<Float32Array> {
  const F = data.factors.length;
  if (factors.length % F !== 0) throw new Error(`encode: factors length ${factors.length} is not a multiple of ${F}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`encode: batchSize must be >= 1, got ${batchSize}`);
  }
  const n = factors.length / F;
  const D = encoder.codeSize;
  const [h, w, c] = data.imageShape;
  const out = new Float32Array(n * D);
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const t0 = performance.now();
    const pixels = await renderFactors(data, factors.subarray(start * F, (start + b) * F));
    const t1 = performance.now();
    const codes = tf.tidy(() => encoder.encode(tf.tensor4d(pixels, [b, h, w, c])));
    let values: Float32Array;
    try {
      if (codes.shape[0] !== b || codes.shape[1] !== D) {
        throw new Error(`encode: encoder returned shape [${codes.shape}], expected [${b}, ${D}] (codeSize ${D})`);
      }
      values = (await codes.data()) as Float32Array;
    } finally {
      codes.dispose();
    }
    out.set(values, start * D);
    stats.images += b;
    stats.renderSeconds += (t1 - t0) / 1000;
    stats.encodeSeconds += (performance.now() - t1) / 1000;
  }
  return out;
}

/** Renders and encodes interventional groups into FactorVAE votes (the scale is filled in by the caller). */
export async function encodeGroups(
  data: GroundTruthData,
  encoder: Encoder,
  g: GroupFactors,
  batchSize: number,
  stats?: EncodeStats,
): Promise<Omit<FactorVaeVotes, "scale">> {
  const codes = await encodeFactorRows(data, encoder, g.factors, batchSize, stats);
  return {
    codes,
    groups: g.groups,
    groupSize: g.groupSize,
    codeDim: encoder.codeSize,
    fixedFactor: g.fixedFactor,
    numFactors: g.numFactors,
  };
}

/**
 * Draws n observational rows from the data distribution, renders and encodes them. Factor values and class ids keep only
 * the evaluated factors. `bins` is passed to `factorClasses` for continuous factors without a grid (20, as [IGCR]).
 */
export async function sampleObservational(
  data: GroundTruthData,
  encoder: Encoder,
  rng: Rng,
  n: number,
  batchSize: number,
  stats?: EncodeStats,
  bins = 20,
): Promise<CodesAndFactors> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`sampling: observational sample size must be >= 1, got ${n}`);
  const all = data.sampleFactors(n, rng);
  const codes = await encodeFactorRows(data, encoder, all, batchSize, stats);
  const F = data.factors.length;
  const evaluated = evaluatedFactors(data);
  const K = evaluated.length;
  const classesAll = data.factorClasses(all, bins);
  const factorValues = new Float32Array(n * K), factorClasses = new Int32Array(n * K);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) {
      factorValues[i * K + k] = all[i * F + evaluated[k]];
      factorClasses[i * K + k] = classesAll[i * F + evaluated[k]];
    }
  }
  return { codes, factorValues, factorClasses, n, codeDim: encoder.codeSize, numFactors: K };
}
