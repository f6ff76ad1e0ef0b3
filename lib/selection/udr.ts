/**
 * Unsupervised Disentanglement Ranking (UDR; Duan et al., ICLR 2020), the baseline ModelCentrality is compared with in
 * Table 3 (paper-facts §7 item 7, following [DL] evaluation/udr/metrics/udr.py):
 *
 * 1. Encode the same real images with every model and z-score each representation per dim (ddof 0; a constant dim
 *    becomes all zeros).
 * 2. VAEs: dims whose mean KL to the prior is below 0.01 are zeroed and masked out of the pair score. GANs have no
 *    posterior and so no KL: every code dim counts as active. This is how UDR is applied to the InfoGAN-CR pool here;
 *    how the paper applied it is UNVERIFIED (paper-facts §7).
 * 3. For each ordered pair (a, b), a dim-by-dim similarity R[a_dim][b_dim]: |coef| of a Lasso (alpha 0.1) regressing each
 *    of b's dims on all of a's dims ("udr-lasso"), or |Spearman rho| ("udr-spearman").
 * 4. Pair score = relative strength of R (see `relativeStrength`).
 * 5. Model score = median of its pair scores against every other model, taking the model as b (the regressed side) as
 *    [DL] does with `disentanglement[:, i]`.
 *
 * Everything after encoding is pure computation on plain arrays (`udrFromRepresentations`).
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";
import type { Encoder } from "../models/capabilities.ts";
import { averageRanks, median, orderDescending } from "./rank.ts";
import { lassoFit } from "../ml/lasso.ts";

export type UdrMethod = "lasso" | "spearman";

/** [DL] kl_filter_threshold: a VAE latent whose mean KL is below this carries no information and is masked. */
export const KL_THRESHOLD = 0.01;
/** [DL] lasso_correlation_matrix: sklearn Lasso(alpha=0.1) on z-scored representations. */
export const UDR_LASSO_ALPHA = 0.1;

/**
 * Images encoded per profile. [DL]'s UDR configs sample their own points; the count InfoGAN-CR used for its UDR
 * baselines is UNVERIFIED (paper-facts §7), so `paper` uses 10,000 and `cpu`/`smoke` are our reductions.
 */
export const UDR_SAMPLES = { smoke: 300, cpu: 1_000, paper: 10_000 } as const;

export interface UdrOptions {
  method: UdrMethod;
  /** Lasso penalty (default 0.1). */
  alpha?: number;
  /** Per model, which dims are active (VAEs: mean KL ≥ 0.01); omitted or null = all active (GANs). */
  activeDims?: (boolean[] | null | undefined)[];
  /** Use at most this many images, chosen at random with `rng` (default: all given). */
  samples?: number;
  /** Images per encode call (default 256). */
  chunk?: number;
  onProgress?: (p: { stage: "encode" | "pairs"; done: number; total: number }) => void;
}

export interface UdrResult {
  /** Per model: median pair score against the others. */
  scores: number[];
  /** matrix[a][b] = pair score of R(a → b); diagonal NaN (never computed, as in [DL]). */
  matrix: number[][];
  pick: number;
  order: number[];
  method: UdrMethod;
  samples: number;
}

/** Active-dim mask from per-dim mean KL values ([DL]: kl > 0.01). */
export function activeFromKl(meanKl: ArrayLike<number>, threshold = KL_THRESHOLD): boolean[] {
  return Array.from(meanKl, (k) => k > threshold);
}

/**
 * Z-scores each column (ddof 0, as sklearn's StandardScaler) and zeroes inactive ones. A constant column becomes zeros
 * (StandardScaler keeps a zero std as scale 1 after centring).
 */
export function zScoreColumns(x: Float32Array, n: number, d: number, active?: boolean[] | null): Float64Array {
  if (x.length !== n * d) throw new Error(`zScoreColumns: ${x.length} values is not ${n} × ${d}`);
  const out = new Float64Array(n * d);
  for (let k = 0; k < d; k++) {
    if (active && !active[k]) continue;
    let m = 0;
    for (let r = 0; r < n; r++) m += x[r * d + k];
    m /= n;
    let v = 0;
    for (let r = 0; r < n; r++) v += (x[r * d + k] - m) ** 2;
    const s = Math.sqrt(v / n);
    for (let r = 0; r < n; r++) out[r * d + k] = s > 0 ? (x[r * d + k] - m) / s : 0;
  }
  return out;
}

/**
 * Relative strength of a similarity matrix R (Duan et al. 2020; [DL] relative_strength_disentanglement):
 *
 *   0.5 * [ mean_cols( max_rows(R)² / Σ_rows R ) + mean_rows( max_cols(R)² / Σ_cols R ) ]
 *
 * A column or row that sums to 0 contributes 0 (numpy's nan_to_num after 0/0). One-to-one matches score their strength
 * (a permutation matrix scores 1), spread-out rows and columns score less. Only `rows`/`cols` (the active dims) are used;
 * no active dim at all gives 0.
 */
export function relativeStrength(R: number[][], rows?: number[], cols?: number[]): number {
  const ri = rows ?? R.map((_, i) => i);
  const ci = cols ?? (R[0] ?? []).map((_, j) => j);
  if (ri.length === 0 || ci.length === 0) return 0;
  const ratio = (max: number, sum: number) => (sum > 0 ? (max * max) / sum : 0);
  let byCol = 0;
  for (const j of ci) {
    let max = 0, sum = 0;
    for (const i of ri) {
      max = Math.max(max, R[i][j]);
      sum += R[i][j];
    }
    byCol += ratio(max, sum);
  }
  let byRow = 0;
  for (const i of ri) {
    let max = 0, sum = 0;
    for (const j of ci) {
      max = Math.max(max, R[i][j]);
      sum += R[i][j];
    }
    byRow += ratio(max, sum);
  }
  return 0.5 * (byCol / ci.length + byRow / ri.length);
}

/** R[p][q] = |coef of a's dim p| in the Lasso regressing b's dim q on all of a's dims (z-scored inputs). */
export function lassoSimilarity(
  za: Float64Array,
  da: number,
  zb: Float64Array,
  db: number,
  n: number,
  alpha: number,
): number[][] {
  const R = Array.from({ length: da }, () => new Array<number>(db).fill(0));
  const y = new Float64Array(n);
  for (let q = 0; q < db; q++) {
    for (let r = 0; r < n; r++) y[r] = zb[r * db + q];
    const { coef } = lassoFit(za, n, da, y, alpha);
    for (let p = 0; p < da; p++) R[p][q] = Math.abs(coef[p]);
  }
  return R;
}

/** Per column, ranks standardised to mean 0 and norm 1, so Spearman rho is a dot product; constant columns are zeros. */
function standardisedRanks(z: Float64Array, n: number, d: number): Float64Array[] {
  const out: Float64Array[] = [];
  const col = new Float64Array(n);
  for (let k = 0; k < d; k++) {
    for (let r = 0; r < n; r++) col[r] = z[r * d + k];
    const rk = averageRanks(col);
    let m = 0;
    for (let r = 0; r < n; r++) m += rk[r];
    m /= n;
    let ss = 0;
    for (let r = 0; r < n; r++) {
      rk[r] -= m;
      ss += rk[r] * rk[r];
    }
    const norm = Math.sqrt(ss);
    for (let r = 0; r < n; r++) rk[r] = norm > 0 ? rk[r] / norm : 0;
    out.push(rk);
  }
  return out;
}

/** R[p][q] = |Spearman rho(a_p, b_q)|; an undefined rho (a constant dim) counts as 0. */
function spearmanSimilarity(ra: Float64Array[], rb: Float64Array[]): number[][] {
  return ra.map((x) =>
    rb.map((y) => {
      let s = 0;
      for (let r = 0; r < x.length; r++) s += x[r] * y[r];
      return Math.abs(s);
    })
  );
}

/**
 * UDR on representations already computed: reps[m] is n × dims[m] (row-major) for model m on the same n images.
 * Pure: no tensors, no randomness.
 */
export function udrFromRepresentations(
  reps: Float32Array[],
  n: number,
  dims: number[],
  opts: UdrOptions,
): UdrResult {
  const N = reps.length;
  if (N < 2) throw new Error(`udr needs a pool of at least 2 models, got ${N}`);
  if (dims.length !== N) throw new Error(`udr: ${dims.length} dims for ${N} representations`);
  if (n < 2) throw new Error(`udr needs at least 2 images, got ${n}`);
  const alpha = opts.alpha ?? UDR_LASSO_ALPHA;
  if (!(alpha > 0)) throw new Error(`udr: alpha must be positive, got ${alpha}`);
  if (opts.method !== "lasso" && opts.method !== "spearman") {
    throw new Error(`udr: unknown method "${opts.method}": choose lasso or spearman`);
  }
  const active = reps.map((_, m) => {
    const mask = opts.activeDims?.[m];
    if (mask && mask.length !== dims[m]) {
      throw new Error(`udr: activeDims[${m}] has ${mask.length} entries for ${dims[m]} dims`);
    }
    return mask ?? new Array<boolean>(dims[m]).fill(true);
  });
  const z = reps.map((x, m) => zScoreColumns(x, n, dims[m], active[m]));
  const ranks = opts.method === "spearman" ? z.map((zm, m) => standardisedRanks(zm, n, dims[m])) : [];
  const activeIdx = active.map((a) => a.flatMap((on, k) => (on ? [k] : [])));
  const matrix = Array.from({ length: N }, () => new Array<number>(N).fill(NaN));
  let done = 0;
  for (let a = 0; a < N; a++) {
    for (let b = 0; b < N; b++) {
      if (a === b) continue;
      const R = opts.method === "lasso"
        ? lassoSimilarity(z[a], dims[a], z[b], dims[b], n, alpha)
        : spearmanSimilarity(ranks[a], ranks[b]);
      matrix[a][b] = relativeStrength(R, activeIdx[a], activeIdx[b]);
      opts.onProgress?.({ stage: "pairs", done: ++done, total: N * (N - 1) });
    }
  }
  const scores = matrix.map((_, b) => median(matrix.flatMap((row, a) => (a === b ? [] : [row[b]]))));
  const order = orderDescending(scores);
  return { scores, matrix, pick: order[0], order, method: opts.method, samples: n };
}

/** Encodes `images` with one model in chunks, checking the output shape. */
async function encodeAll(model: Encoder, index: number, images: tf.Tensor4D, chunk: number): Promise<Float32Array> {
  const n = images.shape[0];
  const out = new Float32Array(n * model.codeSize);
  for (let s = 0; s < n; s += chunk) {
    const rows = Math.min(chunk, n - s);
    const codes = tf.tidy(() => model.encode(images.slice([s, 0, 0, 0], [rows, -1, -1, -1])));
    try {
      if (codes.shape[0] !== rows || codes.shape[1] !== model.codeSize) {
        const name = (model as { name?: string }).name ?? `model ${index}`;
        throw new Error(`${name}: encode returned shape [${codes.shape}], expected [${rows}, ${model.codeSize}]`);
      }
      out.set(await codes.data() as Float32Array, s * model.codeSize);
    } finally {
      codes.dispose();
    }
  }
  return out;
}

/**
 * UDR (Duan et al. 2020) of a pool on the same real images: encode with every model, then `udrFromRepresentations`.
 * `rng` only draws the image subset when `opts.samples` is below the number of images given.
 */
export async function udr(models: Encoder[], images: tf.Tensor4D, rng: Rng, opts: UdrOptions): Promise<UdrResult> {
  if (models.length < 2) throw new Error(`udr needs a pool of at least 2 models, got ${models.length}`);
  const total = images.shape[0];
  const want = opts.samples ?? total;
  if (!(Number.isInteger(want) && want >= 2)) throw new Error(`udr: samples must be an integer ≥ 2, got ${want}`);
  const chunk = opts.chunk ?? 256;
  let subset: tf.Tensor4D = images;
  if (want < total) {
    const idx = rng.permutation(total).slice(0, want).sort();
    subset = tf.tidy(() => tf.gather(images, tf.tensor1d(idx, "int32")) as tf.Tensor4D);
  }
  try {
    const reps: Float32Array[] = [];
    for (let m = 0; m < models.length; m++) {
      reps.push(await encodeAll(models[m], m, subset, chunk));
      opts.onProgress?.({ stage: "encode", done: m + 1, total: models.length });
    }
    return udrFromRepresentations(reps, subset.shape[0], models.map((m) => m.codeSize), opts);
  } finally {
    if (subset !== images) subset.dispose();
  }
}
