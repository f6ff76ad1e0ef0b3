/**
 * The FactorVAE metric (Kim & Mnih 2018) under two named protocols.
 *
 * A "vote" is a group of images in which one ground-truth factor is held fixed. The codes of the group are divided by a
 * global per-dimension scale, and the vote goes to the code dimension whose spread inside the group is smallest. A
 * majority-vote classifier maps each code dimension to the factor it received most votes for; the score is that
 * classifier's accuracy.
 *
 * - `infogan-cr` ([IGCR] metric.py, paper-facts §5): 500 groups of 100 images, fixed factor g mod K, scale = per-dim std
 *   (ddof 0) of codes over a 10% random sample of the data, spread = std (ddof 0), no pruning, and the classifier is scored
 *   on the SAME votes it was built from (so chance is above 1/K).
 * - `disentanglement-lib` ([DL] factor_vae.py): random factor per vote, 10,000 training and 5,000 evaluation votes of 64
 *   images, variances with ddof 1, dimensions whose global std is below 0.05 pruned, accuracy on the evaluation votes.
 *
 * The sampling (rendering and encoding the groups) lives in sampling.ts; everything here is pure computation on matrices.
 */

/** Votes sampled for the metric: `groups` blocks of `groupSize` code rows, each block with one factor held fixed. */
export interface FactorVaeVotes {
  /** (groups*groupSize) x codeDim codes, row-major, group-major (group g owns rows g*groupSize .. (g+1)*groupSize-1). */
  codes: Float32Array;
  groups: number;
  groupSize: number;
  codeDim: number;
  /** Index of the factor held fixed in each group, in 0..numFactors-1. */
  fixedFactor: Int32Array;
  numFactors: number;
  /** Per-dimension global scale the codes are divided by (infogan-cr: std with ddof 0 over a 10% data sample). */
  scale: Float32Array;
}

export interface FactorVaeVoteResult {
  /** Majority-vote accuracy in [0, 1]. */
  score: number;
  /** Vote counts, [codeDim][numFactors]. */
  voteTable: number[][];
}

function checkVotes(v: FactorVaeVotes, scaleName: string): void {
  const { codes, groups, groupSize, codeDim, fixedFactor, numFactors, scale } = v;
  for (
    const [name, x] of [["groups", groups], ["groupSize", groupSize], ["codeDim", codeDim], ["numFactors", numFactors]]
  ) {
    if (!Number.isInteger(x) || (x as number) < 1) {
      throw new Error(`factorVae: ${name} must be a positive integer, got ${x}`);
    }
  }
  if (codes.length !== groups * groupSize * codeDim) {
    throw new Error(
      `factorVae: codes has length ${codes.length}, expected groups*groupSize*codeDim = ${
        groups * groupSize * codeDim
      }`,
    );
  }
  if (fixedFactor.length !== groups) {
    throw new Error(`factorVae: fixedFactor has length ${fixedFactor.length}, expected groups = ${groups}`);
  }
  for (let g = 0; g < groups; g++) {
    const f = fixedFactor[g];
    if (!(f >= 0 && f < numFactors)) {
      throw new Error(`factorVae: fixedFactor[${g}] = ${f} is outside 0..${numFactors - 1}`);
    }
  }
  if (scale.length !== codeDim) {
    throw new Error(`factorVae: ${scaleName} has length ${scale.length}, expected ${codeDim}`);
  }
}

/**
 * Per-group dispersion of codes/scale, one value per dimension: std (ddof 0) or variance (ddof 1). A dimension whose scale
 * is 0 (a dead code) gets +Infinity, so it never wins a vote; [IGCR] would divide by zero there and produce NaN.
 */
function groupDispersion(
  codes: Float32Array,
  start: number,
  groupSize: number,
  codeDim: number,
  scale: Float32Array,
  kind: "std0" | "var1",
  out: Float64Array,
): void {
  for (let d = 0; d < codeDim; d++) {
    const s = scale[d];
    if (!(s > 0)) {
      out[d] = Infinity;
      continue;
    }
    let mean = 0;
    for (let r = 0; r < groupSize; r++) mean += codes[(start + r) * codeDim + d] / s;
    mean /= groupSize;
    let ss = 0;
    for (let r = 0; r < groupSize; r++) {
      const x = codes[(start + r) * codeDim + d] / s - mean;
      ss += x * x;
    }
    out[d] = kind === "std0" ? Math.sqrt(ss / groupSize) : ss / Math.max(groupSize - 1, 1);
  }
}

function argmin(a: Float64Array, mask?: boolean[]): number {
  let best = -1;
  for (let i = 0; i < a.length; i++) {
    if (mask && !mask[i]) continue;
    if (best < 0 || a[i] < a[best]) best = i; // first minimum wins, as np.argmin
  }
  return best;
}

/** Builds the vote table [codeDim][numFactors] from per-group argmin votes. */
function voteTableOf(
  v: FactorVaeVotes,
  kind: "std0" | "var1",
  active?: boolean[],
): number[][] {
  const table = Array.from({ length: v.codeDim }, () => new Array<number>(v.numFactors).fill(0));
  const disp = new Float64Array(v.codeDim);
  for (let g = 0; g < v.groups; g++) {
    groupDispersion(v.codes, g * v.groupSize, v.groupSize, v.codeDim, v.scale, kind, disp);
    const d = argmin(disp, active);
    if (d >= 0) table[d][v.fixedFactor[g]]++;
  }
  return table;
}

/**
 * FactorVAE metric, protocol `infogan-cr` (paper-facts §5, [IGCR] metric.py):
 *
 *   vote_g = argmin_d std_{x in group g}( z_d(x) / s_d ),   s_d = std of z_d over a 10% data sample (ddof 0)
 *   V[d][k] = #{ g : vote_g = d, fixedFactor_g = k }
 *   score   = (1/M) * sum_d max_k V[d][k]
 *
 * with M = 500 groups of L = 100 images, fixed factor g mod K, no pruning, scored on the same votes the majority
 * classifier was built from. Pure: same input, same output.
 */
export function factorVaeFromVotes(v: FactorVaeVotes): FactorVaeVoteResult {
  checkVotes(v, "scale");
  const voteTable = voteTableOf(v, "std0");
  let correct = 0;
  for (const row of voteTable) correct += Math.max(...row);
  return { score: correct / v.groups, voteTable };
}

/** Global per-dimension scale: std (ddof 0 for infogan-cr) or sqrt(variance, ddof 1) for disentanglement-lib. */
export function codeScale(codes: Float32Array, n: number, codeDim: number, ddof: 0 | 1): Float32Array {
  if (codes.length !== n * codeDim) {
    throw new Error(`codeScale: codes has length ${codes.length}, expected ${n * codeDim}`);
  }
  if (n - ddof < 1) throw new Error(`codeScale: needs more than ${ddof} rows, got ${n}`);
  const out = new Float32Array(codeDim);
  for (let d = 0; d < codeDim; d++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += codes[i * codeDim + d];
    mean /= n;
    let ss = 0;
    for (let i = 0; i < n; i++) {
      const x = codes[i * codeDim + d] - mean;
      ss += x * x;
    }
    out[d] = Math.sqrt(ss / (n - ddof));
  }
  return out;
}

export interface FactorVaeDlResult {
  /** Majority-vote accuracy on the evaluation votes. */
  score: number;
  /** Accuracy of the same classifier on its training votes. */
  trainScore: number;
  /** Code dimensions kept after pruning (global std >= pruneThreshold). */
  activeDims: number[];
  /** Training vote table [codeDim][numFactors] (rows of pruned dims stay 0). */
  voteTable: number[][];
}

/**
 * FactorVAE metric, protocol `disentanglement-lib` ([DL] factor_vae.py):
 *
 *   active_d = sqrt(Var(z_d)) >= 0.05,   Var with ddof 1 over a variance-estimation sample (scale = sqrt of it)
 *   vote_g   = argmin_{d active} Var_{x in group g}(z_d(x)) / Var(z_d)        (local variance with ddof 1)
 *   c(d)     = argmax_k Vtrain[d][k]
 *   score    = (1/M_eval) * #{ eval votes g : c(vote_g) = fixedFactor_g }
 *
 * with 10,000 training and 5,000 evaluation votes of 64 images and a random factor per vote. Dividing the codes by the
 * scale before taking the variance is the same as dividing the variance by the squared scale. No active dimension gives
 * score 0, as in [DL].
 */
export function factorVaeDlFromVotes(
  train: FactorVaeVotes,
  evalVotes: FactorVaeVotes,
  pruneThreshold = 0.05,
): FactorVaeDlResult {
  checkVotes(train, "train scale");
  checkVotes(evalVotes, "eval scale");
  if (train.codeDim !== evalVotes.codeDim || train.numFactors !== evalVotes.numFactors) {
    throw new Error("factorVaeDl: train and eval votes must have the same codeDim and numFactors");
  }
  const active = Array.from(train.scale, (s) => s >= pruneThreshold);
  const activeDims = active.flatMap((a, d) => (a ? [d] : []));
  if (activeDims.length === 0) {
    const empty = Array.from({ length: train.codeDim }, () => new Array<number>(train.numFactors).fill(0));
    return { score: 0, trainScore: 0, activeDims, voteTable: empty };
  }
  const voteTable = voteTableOf(train, "var1", active);
  const classifier = voteTable.map((row) => row.indexOf(Math.max(...row)));
  let trainCorrect = 0;
  for (const d of activeDims) trainCorrect += voteTable[d][classifier[d]];
  const evalTable = voteTableOf(evalVotes, "var1", active);
  let evalCorrect = 0;
  for (const d of activeDims) evalCorrect += evalTable[d][classifier[d]];
  return { score: evalCorrect / evalVotes.groups, trainScore: trainCorrect / train.groups, activeDims, voteTable };
}
