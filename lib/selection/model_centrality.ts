/**
 * ModelCentrality (Lin et al. 2020, paper-facts §7): pick the medoid of a pool of trained models under a similarity
 * that needs no ground truth. Each model j labels its own data: its generator renders groups of images in which one of
 * its codes is held fixed, so j's codes act as "factors" for j's images. Model i's encoder is then scored on j's set
 * with the FactorVAE metric (infogan-cr protocol), giving S[i][j]; the pool's best model is the one most similar to all
 * others.
 *
 * Memory bound. Each set j is generated once (N sets, not N²) and streamed in chunks of `chunk` images: a chunk is
 * generated, encoded by every model in the pool, and dropped. What stays resident while set j is evaluated is the codes
 * of set j under every encoder, N × groups × groupSize × codeSize floats (cpu preset, 50 GAN models:
 * 50 × 5,000 × 5 × 4 B = 5 MB; paper preset, 50 VAEs: 50 × 100,000 × 10 × 4 B = 200 MB), plus the latents of set j
 * ((groups × groupSize + prior) × (codes + noise) floats) and one chunk of images (chunk × H × W × C floats). The
 * normalising std over the prior samples is accumulated on the fly, so those codes are never stored.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";
import { type Encoder, type Generator, samplePrior } from "../models/capabilities.ts";
import { factorVaeFromVotes } from "../metrics/factor_vae.ts";
import { orderDescending } from "./rank.ts";

export type SelectionProfile = "smoke" | "cpu" | "paper";

export interface ModelCentralitySizes {
  /** Groups per code of the generating model: set j has groupsPerCode × codes_j groups (group g fixes code g mod codes_j). */
  groupsPerCode: number;
  /** Images per group (L). */
  groupSize: number;
  /** Prior samples for the per-dim normalising std (P). */
  priorSamples: number;
}

/**
 * Set sizes per profile. `paper` is [IGCR] gan_task_mc_generate_metric_data.py: 100 groups per code of 100 images
 * (500 groups for the 5-code GAN, 1000 for the 10-code VAE) and 73,728 prior samples (10% of dSprites). `cpu` and `smoke`
 * are our own reductions. Cost: N sets × N encoders × (groups × L + P) images; at about 1.4 ms per 64×64 image generated
 * or encoded (wasm, 2 busy cores, measured with untrained dSprites GANs) a `cpu` pool of 8 GANs (7,000 images a set)
 * takes about 12 minutes, a `smoke` pool of 3 about 15 s.
 */
export const MODEL_CENTRALITY_SIZES: Record<SelectionProfile, ModelCentralitySizes> = {
  smoke: { groupsPerCode: 4, groupSize: 20, priorSamples: 500 },
  cpu: { groupsPerCode: 20, groupSize: 50, priorSamples: 2_000 },
  paper: { groupsPerCode: 100, groupSize: 100, priorSamples: 73_728 },
};

export interface ModelCentralityProgress {
  /** Index of the set (generating model) being evaluated. */
  set: number;
  sets: number;
  /** Images of set `set` generated and encoded so far (group images plus prior images). */
  imagesDone: number;
  imagesTotal: number;
}

export interface ModelCentralityOptions extends Partial<ModelCentralitySizes> {
  /** Preset the sizes start from (default "cpu"); explicit sizes override it. */
  profile?: SelectionProfile;
  /** Images per generate/encode call (default 256): bounds the image memory, see the module comment. */
  chunk?: number;
  onProgress?: (p: ModelCentralityProgress) => void;
}

export interface ModelCentralityResult {
  /** centrality_i = mean over j != i of A[i][j]. */
  scores: number[];
  /** S[i][j] = FactorVAE score of model i's encoder on model j's generated set (j's codes as factors). */
  S: number[][];
  /** (S + Sᵀ) / 2. */
  A: number[][];
  /** argmax of scores (lowest index on ties). */
  pick: number;
  /** Model indices by descending centrality. */
  order: number[];
  /** Sizes actually used (groups of set j = groupsPerCode × codes_j). */
  sizes: ModelCentralitySizes;
}

/** Latents of one model's labelled set: group rows first, then the prior rows used for the normaliser. */
export interface LabelledLatents {
  groups: number;
  groupSize: number;
  priorSamples: number;
  /** (groups × groupSize + priorSamples) × codes, row-major. */
  codes: Float32Array;
  /** (groups × groupSize + priorSamples) × noise, row-major (length 0 when the model has no noise dims). */
  noise: Float32Array;
  /** Code held fixed in each group: g mod codes. */
  fixedFactor: Int32Array;
}

/**
 * The latents of model j's labelled set (paper-facts §7 step 1): group g holds code (g mod codes) at one value drawn
 * from the prior, and every other code and all noise dims are redrawn from the prior for each of its L rows. [IGCR]
 * copies the first row's value to the rest of the group, which is the same distribution.
 */
export function labelledLatents(
  latent: Generator["latent"],
  sizes: { groups: number; groupSize: number; priorSamples: number },
  rng: Rng,
): LabelledLatents {
  const { codes: K, noise: Z, prior } = latent;
  const { groups, groupSize, priorSamples } = sizes;
  const rows = groups * groupSize + priorSamples;
  const codes = samplePrior(prior, rows, K, rng);
  const noise = Z > 0 ? samplePrior(prior, rows, Z, rng) : new Float32Array(0);
  const fixedFactor = new Int32Array(groups);
  for (let g = 0; g < groups; g++) {
    const f = g % K;
    fixedFactor[g] = f;
    const value = samplePrior(prior, 1, 1, rng)[0];
    for (let r = 0; r < groupSize; r++) codes[(g * groupSize + r) * K + f] = value;
  }
  return { groups, groupSize, priorSamples, codes, noise, fixedFactor };
}

/** Running per-dim mean/variance (ddof 0), merged chunk by chunk (Chan et al.'s parallel update keeps it stable). */
class RunningStd {
  private n = 0;
  private mean: Float64Array;
  private m2: Float64Array;
  constructor(private dims: number) {
    this.mean = new Float64Array(dims);
    this.m2 = new Float64Array(dims);
  }
  add(x: Float32Array, rows: number): void {
    const d = this.dims;
    for (let k = 0; k < d; k++) {
      let m = 0;
      for (let r = 0; r < rows; r++) m += x[r * d + k];
      m /= rows;
      let s = 0;
      for (let r = 0; r < rows; r++) s += (x[r * d + k] - m) ** 2;
      const delta = m - this.mean[k];
      const n = this.n + rows;
      this.mean[k] += (delta * rows) / n;
      this.m2[k] += s + (delta * delta * this.n * rows) / n;
    }
    this.n += rows;
  }
  std(): Float32Array {
    return Float32Array.from(this.m2, (v) => Math.sqrt(v / this.n));
  }
}

export function checkPool(models: (Encoder & Generator)[]): void {
  if (models.length < 2) throw new Error(`modelCentrality needs a pool of at least 2 models, got ${models.length}`);
  models.forEach((m, i) => {
    const name = (m as { name?: string }).name ?? `model ${i}`;
    if (!(Number.isInteger(m.codeSize) && m.codeSize >= 1)) {
      throw new Error(`${name}: codeSize ${m.codeSize} is invalid`);
    }
    const { codes, noise, prior } = m.latent ?? {};
    if (!(Number.isInteger(codes) && codes >= 1)) throw new Error(`${name}: latent.codes ${codes} is invalid`);
    if (!(Number.isInteger(noise) && noise >= 0)) throw new Error(`${name}: latent.noise ${noise} is invalid`);
    if (prior !== "uniform" && prior !== "gaussian") throw new Error(`${name}: latent.prior "${prior}" is unknown`);
  });
}

/** Encodes a chunk with one model and checks the shape, so a wrong encoder fails with its name, not a NaN later. */
async function encodeChunk(model: Encoder, index: number, images: tf.Tensor4D, rows: number): Promise<Float32Array> {
  const out = tf.tidy(() => model.encode(images));
  try {
    if (out.shape[0] !== rows || out.shape[1] !== model.codeSize) {
      const name = (model as { name?: string }).name ?? `model ${index}`;
      throw new Error(`${name}: encode returned shape [${out.shape}], expected [${rows}, ${model.codeSize}]`);
    }
    return (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
}

/**
 * Column j of S: every model's FactorVAE score on model j's labelled set, generated once and streamed in chunks.
 * The normaliser of model i on set j is the per-dim std (ddof 0) of i's codes on j's prior samples (paper-facts §5, §7).
 */
export function crossEvaluateSet(
  models: (Encoder & Generator)[],
  j: number,
  latents: LabelledLatents,
  chunk: number,
  onProgress?: (done: number, total: number) => void,
): Promise<number[]> {
  return crossEvaluateCells(models[j], models, latents, chunk, onProgress);
}

/**
 * Part of column j of S: the scores of `encoders` on the labelled set of generator `gen` (model j). Each score depends
 * only on its encoder and on set j, so a column can be computed in pieces (the cell cache, row blocks on a cluster)
 * and equals the whole-column result. `indices` name the encoders in error messages (default: their positions).
 */
export async function crossEvaluateCells(
  gen: Generator,
  encoders: Encoder[],
  latents: LabelledLatents,
  chunk: number,
  onProgress?: (done: number, total: number) => void,
  indices: number[] = encoders.map((_, i) => i),
): Promise<number[]> {
  const { codes: K, noise: Z } = gen.latent;
  const groupRows = latents.groups * latents.groupSize;
  const total = groupRows + latents.priorSamples;
  const groupCodes = encoders.map((m) => new Float32Array(groupRows * m.codeSize));
  const priorStd = encoders.map((m) => new RunningStd(m.codeSize));
  for (let start = 0, end = 0; start < total; start = end) {
    // Chunks never straddle the group/prior boundary, so each chunk feeds exactly one accumulator.
    end = start < groupRows ? Math.min(start + chunk, groupRows) : Math.min(start + chunk, total);
    const rows = end - start;
    const images = tf.tidy(() => {
      const c = tf.tensor2d(latents.codes.subarray(start * K, end * K), [rows, K]);
      const z = Z > 0 ? tf.tensor2d(latents.noise.subarray(start * Z, end * Z), [rows, Z]) : undefined;
      return gen.generate(c, z);
    });
    try {
      for (let i = 0; i < encoders.length; i++) {
        const codes = await encodeChunk(encoders[i], indices[i], images, rows);
        if (start < groupRows) groupCodes[i].set(codes, start * encoders[i].codeSize);
        else priorStd[i].add(codes, rows);
      }
    } finally {
      images.dispose();
    }
    onProgress?.(end, total);
  }
  return encoders.map((m, i) =>
    factorVaeFromVotes({
      codes: groupCodes[i],
      groups: latents.groups,
      groupSize: latents.groupSize,
      codeDim: m.codeSize,
      fixedFactor: latents.fixedFactor,
      numFactors: K,
      scale: priorStd[i].std(),
    }).score
  );
}

/** The latents of set j (model j's labelled set): its randomness is `rng.fork("mc-set-j")`, whatever order sets run in. */
export function setLatents(gen: Generator, j: number, sizes: ModelCentralitySizes, rng: Rng): LabelledLatents {
  return labelledLatents(gen.latent, {
    groups: sizes.groupsPerCode * gen.latent.codes,
    groupSize: sizes.groupSize,
    priorSamples: sizes.priorSamples,
  }, rng.fork(`mc-set-${j}`));
}

/** A = (S + Sᵀ) / 2 (paper-facts §7 step 3). */
export function symmetrise(S: number[][]): number[][] {
  return S.map((row, i) => row.map((s, j) => (s + S[j][i]) / 2));
}

/** centrality_i = (1 / (N - 1)) Σ_{j≠i} A[i][j] (paper-facts §7 step 4): the diagonal (a model on its own set) is left out. */
export function centralityScores(A: number[][]): number[] {
  const n = A.length;
  if (n < 2) throw new Error(`centralityScores needs at least 2 models, got ${n}`);
  return A.map((row, i) => {
    if (row.length !== n) throw new Error(`centralityScores: row ${i} has ${row.length} entries, expected ${n}`);
    let s = 0;
    for (let j = 0; j < n; j++) if (j !== i) s += row[j];
    return s / (n - 1);
  });
}

/** Resolves the set sizes from a profile preset and explicit overrides, rejecting sizes that cannot work. */
export function resolveSizes(opts: ModelCentralityOptions = {}): ModelCentralitySizes {
  const base = MODEL_CENTRALITY_SIZES[opts.profile ?? "cpu"];
  if (!base) throw new Error(`unknown selection profile "${opts.profile}": choose smoke, cpu or paper`);
  const sizes = {
    groupsPerCode: opts.groupsPerCode ?? base.groupsPerCode,
    groupSize: opts.groupSize ?? base.groupSize,
    priorSamples: opts.priorSamples ?? base.priorSamples,
  };
  for (const [k, v] of Object.entries(sizes)) {
    if (!(Number.isInteger(v) && v >= 1)) throw new Error(`modelCentrality: ${k} must be a positive integer, got ${v}`);
  }
  // A std over one image is 0 for every dim: the vote would be arbitrary.
  if (sizes.groupSize < 2) throw new Error(`modelCentrality: groupSize must be at least 2, got ${sizes.groupSize}`);
  if (sizes.priorSamples < 2) {
    throw new Error(`modelCentrality: priorSamples must be at least 2, got ${sizes.priorSamples}`);
  }
  return sizes;
}

/**
 * ModelCentrality over a pool (paper-facts §7): S[i][j] by `crossEvaluateSet`, A = (S + Sᵀ)/2, centrality = mean of the
 * off-diagonal row of A, pick = argmax. Set j's randomness is `rng.fork("mc-set-j")`, so it does not depend on the order
 * in which sets are evaluated. Works for GANs (Q as encoder, uniform prior) and VAEs (encoder, Gaussian prior) alike,
 * since both are read through `Encoder & Generator`.
 */
export async function modelCentrality(
  models: (Encoder & Generator)[],
  rng: Rng,
  opts: ModelCentralityOptions = {},
): Promise<ModelCentralityResult> {
  checkPool(models);
  const sizes = resolveSizes(opts);
  const chunk = opts.chunk ?? 256;
  if (!(Number.isInteger(chunk) && chunk >= 1)) throw new Error(`modelCentrality: chunk must be a positive integer`);
  const n = models.length;
  const S = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    const latents = setLatents(models[j], j, sizes, rng);
    const column = await crossEvaluateSet(
      models,
      j,
      latents,
      chunk,
      (done, total) => opts.onProgress?.({ set: j, sets: n, imagesDone: done, imagesTotal: total }),
    );
    for (let i = 0; i < n; i++) S[i][j] = column[i];
  }
  return centralityFromMatrix(S, sizes);
}

/** Steps 3-5 of paper-facts §7 on a full S: A = (S + Sᵀ)/2, centrality, the argmax pick and the order. */
export function centralityFromMatrix(S: number[][], sizes: ModelCentralitySizes): ModelCentralityResult {
  const A = symmetrise(S);
  const scores = centralityScores(A);
  const order = orderDescending(scores);
  return { scores, S, A, pick: order[0], order, sizes };
}
