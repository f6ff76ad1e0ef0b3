/**
 * Random-forest regression as scikit-learn's `RandomForestRegressor` with its defaults of the InfoGAN-CR era
 * (10 trees, bootstrap samples, every feature considered at every split, squared-error criterion, min 2 samples to split,
 * min 1 per leaf) and a per-call `maxDepth`.
 *
 * Trees are grown level by level with exact splits: each feature is sorted once for the whole forest, and a bootstrap
 * sample is expressed, as scikit-learn does, by integer sample weights (how often each row was drawn). One pass over a
 * feature's sorted order per level finds the best threshold of every node of that level at once, so a tree costs
 * O(depth * features * n) after the O(features * n log n) sort.
 *
 * Feature importance = mean decrease in impurity ("MDI"): for every split on feature j,
 *   W_node * imp_node - W_left * imp_left - W_right * imp_right     (imp = weighted variance of y in the node)
 * summed per tree, normalised to sum 1 per tree, averaged over trees and normalised again (scikit-learn's
 * `feature_importances_`).
 */
import type { Rng } from "../rng.ts";

export interface RegressionTree {
  /** Per node: split feature, or -1 for a leaf. */
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
}

export interface RandomForestModel {
  trees: RegressionTree[];
  /** Normalised mean-decrease-in-impurity importances, length p, summing to 1 (all 0 if no tree ever split). */
  featureImportances: Float64Array;
  numFeatures: number;
}

export interface RandomForestOptions {
  nEstimators?: number;
  maxDepth?: number;
  /** Fit each tree on a bootstrap sample (default true); false fits every tree on all rows. */
  bootstrap?: boolean;
}

/**
 * How a tree chooses and places its splits. The random forest keeps its own rule (below); gradient boosting
 * (gradient_boosting.ts) uses scikit-learn's exact `DecisionTreeRegressor(criterion="friedman_mse")` rule.
 */
export interface SplitRule {
  /**
   * `mse`: maximise sum_left^2 / w_left + sum_right^2 / w_right (the decrease in squared error, up to a constant).
   * `friedman-mse`: maximise (sum_right * w_left - sum_left * w_right)^2 / (w_left * w_right), Friedman's improvement
   * (equal to the former times the node weight, computed as scikit-learn does so that near-ties resolve alike).
   */
  criterion: "mse" | "friedman-mse";
  /** No split between two sorted values unless the larger exceeds the smaller by more than this. */
  minGap: number;
  /** A later candidate must beat the best by this relative margin (0: strictly better). */
  tieMargin: number;
  /** A node whose impurity (weighted variance) is at most this is a leaf. */
  leafImpurity: number;
  /** `mean`: threshold (lo + hi) / 2; `sklearn`: lo / 2 + hi / 2, or lo when that rounds to hi. */
  threshold: "mean" | "sklearn";
}

/** The random forest's rule: squared error, ties resolved towards the first feature, impurity below 1e-12 is a leaf. */
const FOREST_RULE: SplitRule = {
  criterion: "mse",
  minGap: 0,
  tieMargin: 1e-12,
  leafImpurity: 1e-12,
  threshold: "mean",
};

/** Row indices sorted by each feature's value (p arrays of n). Shared by all trees of a forest. */
export function presort(X: ArrayLike<number>, n: number, p: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let j = 0; j < p; j++) {
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    idx.sort((a, b) => X[a * p + j] - X[b * p + j] || a - b);
    out.push(idx);
  }
  return out;
}

/**
 * Grows one regression tree on rows weighted by `w` (0 = not in the sample), level by level with exact splits (see the
 * module comment), and adds each split's weighted impurity decrease to `importance[feature]`. `sorted` comes from
 * `presort(X)`.
 */
export function growTree(
  X: ArrayLike<number>,
  n: number,
  p: number,
  y: Float64Array,
  w: Float64Array,
  sorted: Int32Array[],
  maxDepth: number,
  importance: Float64Array,
  rule: SplitRule = FOREST_RULE,
): RegressionTree {
  const friedman = rule.criterion === "friedman-mse";
  const feature: number[] = [],
    threshold: number[] = [],
    left: number[] = [],
    right: number[] = [],
    value: number[] = [];
  // Node statistics: weight, sum y, sum y^2, number of distinct rows.
  const W: number[] = [], S: number[] = [], SS: number[] = [], N: number[] = [];
  const newNode = () => {
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    value.push(0);
    W.push(0);
    S.push(0);
    SS.push(0);
    N.push(0);
    return feature.length - 1;
  };
  const nodeOf = new Int32Array(n).fill(-1);
  const root = newNode();
  for (let i = 0; i < n; i++) {
    if (w[i] === 0) continue;
    nodeOf[i] = root;
    W[root] += w[i];
    S[root] += w[i] * y[i];
    SS[root] += w[i] * y[i] * y[i];
    N[root]++;
  }
  const impurity = (k: number) => Math.max(SS[k] / W[k] - (S[k] / W[k]) ** 2, 0);
  let level = [root];
  for (let depth = 0; depth <= maxDepth && level.length > 0; depth++) {
    for (const k of level) value[k] = S[k] / W[k];
    if (depth === maxDepth) break;
    // Local slot per node of this level; only nodes that may split take part.
    const slot = new Map<number, number>();
    const cand: number[] = [];
    for (const k of level) {
      if (N[k] >= 2 && impurity(k) > rule.leafImpurity) {
        slot.set(k, cand.length);
        cand.push(k);
      }
    }
    if (cand.length === 0) break;
    const m = cand.length;
    const bestGain = new Float64Array(m).fill(-Infinity), bestFeat = new Int32Array(m).fill(-1);
    const bestLow = new Float64Array(m), bestHigh = new Float64Array(m);
    const wl = new Float64Array(m), sl = new Float64Array(m), lastX = new Float64Array(m);
    const slotOfRow = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) if (nodeOf[i] >= 0) slotOfRow[i] = slot.get(nodeOf[i]) ?? -1;
    for (let j = 0; j < p; j++) {
      wl.fill(0);
      sl.fill(0);
      const order = sorted[j];
      for (let r = 0; r < n; r++) {
        const i = order[r];
        const q = slotOfRow[i];
        if (q < 0) continue;
        const x = X[i * p + j];
        if (wl[q] > 0 && x > lastX[q] + rule.minGap) {
          const k = cand[q];
          const wr = W[k] - wl[q], sr = S[k] - sl[q];
          let gain: number;
          if (friedman) {
            const diff = sr * wl[q] - sl[q] * wr;
            gain = (diff * diff) / (wl[q] * wr);
          } else gain = (sl[q] * sl[q]) / wl[q] + (sr * sr) / wr;
          if (gain > bestGain[q] + rule.tieMargin * Math.abs(gain)) {
            bestGain[q] = gain;
            bestFeat[q] = j;
            bestLow[q] = lastX[q];
            bestHigh[q] = x;
          }
        }
        wl[q] += w[i];
        sl[q] += w[i] * y[i];
        lastX[q] = x;
      }
    }
    const next: number[] = [];
    const childOf = new Int32Array(m * 2).fill(-1);
    for (let q = 0; q < m; q++) {
      if (bestFeat[q] < 0) continue;
      const k = cand[q];
      feature[k] = bestFeat[q];
      if (rule.threshold === "mean") threshold[k] = (bestLow[q] + bestHigh[q]) / 2;
      else {
        const t = bestLow[q] / 2 + bestHigh[q] / 2;
        threshold[k] = t === bestHigh[q] || !Number.isFinite(t) ? bestLow[q] : t;
      }
      // Keep the exact lower value for routing training rows, so a midpoint rounding to either neighbour cannot misroute.
      bestHigh[q] = bestLow[q];
      const a = newNode(), b = newNode();
      left[k] = a;
      right[k] = b;
      childOf[2 * q] = a;
      childOf[2 * q + 1] = b;
      next.push(a, b);
    }
    for (let i = 0; i < n; i++) {
      const q = slotOfRow[i];
      if (q < 0 || bestFeat[q] < 0) {
        if (nodeOf[i] >= 0 && (q < 0 || bestFeat[q] < 0)) nodeOf[i] = -1; // settled in a leaf
        continue;
      }
      const c = X[i * p + bestFeat[q]] <= bestHigh[q] ? childOf[2 * q] : childOf[2 * q + 1];
      nodeOf[i] = c;
      W[c] += w[i];
      S[c] += w[i] * y[i];
      SS[c] += w[i] * y[i] * y[i];
      N[c]++;
    }
    for (let q = 0; q < m; q++) {
      if (bestFeat[q] < 0) continue;
      const k = cand[q], a = childOf[2 * q], b = childOf[2 * q + 1];
      importance[bestFeat[q]] += W[k] * impurity(k) - W[a] * impurity(a) - W[b] * impurity(b);
    }
    level = next;
  }
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float64Array.from(value),
  };
}

export function randomForestFit(
  X: ArrayLike<number>,
  n: number,
  p: number,
  y: ArrayLike<number>,
  rng: Rng,
  opts: RandomForestOptions = {},
): RandomForestModel {
  const nEstimators = opts.nEstimators ?? 10;
  const maxDepth = opts.maxDepth ?? 32;
  if (X.length !== n * p) throw new Error(`randomForestFit: X has length ${X.length}, expected n*p = ${n * p}`);
  if (y.length !== n) throw new Error(`randomForestFit: y has length ${y.length}, expected n = ${n}`);
  if (!Number.isInteger(nEstimators) || nEstimators < 1) {
    throw new Error(`randomForestFit: nEstimators must be a positive integer, got ${nEstimators}`);
  }
  if (!Number.isInteger(maxDepth) || maxDepth < 1) {
    throw new Error(`randomForestFit: maxDepth must be a positive integer, got ${maxDepth}`);
  }
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i])) throw new Error(`randomForestFit: X[${i}] = ${X[i]} is not finite`);
  }
  const yf = Float64Array.from(y);
  const sorted = presort(X, n, p);
  const trees: RegressionTree[] = [];
  const total = new Float64Array(p);
  const w = new Float64Array(n);
  for (let t = 0; t < nEstimators; t++) {
    if (opts.bootstrap === false) w.fill(1);
    else {
      w.fill(0);
      for (let i = 0; i < n; i++) w[rng.int(n)]++;
    }
    const imp = new Float64Array(p);
    trees.push(growTree(X, n, p, yf, w, sorted, maxDepth, imp));
    const s = imp.reduce((a, b) => a + b, 0);
    if (s > 0) { for (let j = 0; j < p; j++) total[j] += imp[j] / s; }
  }
  const s = total.reduce((a, b) => a + b, 0);
  const featureImportances = s > 0 ? total.map((v) => v / s) : total;
  return { trees, featureImportances, numFeatures: p };
}

export function randomForestPredict(model: RandomForestModel, X: ArrayLike<number>, n: number): Float64Array {
  const p = model.numFeatures;
  if (X.length !== n * p) throw new Error(`randomForestPredict: X has length ${X.length}, expected ${n * p}`);
  const out = new Float64Array(n);
  for (const t of model.trees) {
    for (let i = 0; i < n; i++) {
      let k = 0;
      while (t.feature[k] >= 0) k = X[i * p + t.feature[k]] <= t.threshold[k] ? t.left[k] : t.right[k];
      out[i] += t.value[k];
    }
  }
  for (let i = 0; i < n; i++) out[i] /= model.trees.length;
  return out;
}
