/**
 * Gradient-boosted classification trees as scikit-learn's `GradientBoostingClassifier()` with its default settings
 * (scikit-learn 1.2): 100 stages, learning rate 0.1, trees of depth 3 split by Friedman's MSE, at least 2 rows to split
 * and 1 per leaf, every row and every feature used (subsample 1.0, max_features None), log loss, and a prior
 * (class-frequency) initial score. disentanglement_lib's DCI fits one per factor (dci.py, `compute_importance_gbt`).
 *
 * With K classes the model keeps one raw score per class (one in total for two classes) and each stage fits one
 * regression tree per score to the negative gradient of the log loss:
 *
 *   multiclass:  r_ik = [y_i = k] - softmax(F_i)_k                 binary:  r_i = y_i - sigmoid(F_i)
 *
 * then replaces each leaf's value by one Newton step on the rows it holds (Friedman 2001, algorithm 6):
 *
 *   multiclass:  gamma = (K - 1) / K * sum r / sum (y - r)(1 - y + r)        binary:  gamma = sum r / sum (y - r)(1 - y + r)
 *
 * (0 when the denominator is below 1e-150), and adds 0.1 * gamma to the scores of those rows. The prediction is the
 * class with the largest score. The initial scores are ln(prior_k) (multiclass) or ln(p / (1 - p)) (binary), the priors
 * clipped to [eps, 1 - eps] with float32's eps.
 *
 * Feature importances (`feature_importances_`): each tree's weighted impurity decrease per feature, divided by the
 * tree's row count; averaged over the trees that split at least once; normalised to sum 1.
 *
 * Features are rounded to float32 first, as scikit-learn's trees store them. Trees are grown by lib/ml/random_forest.ts
 * with scikit-learn's split rule (its `BestSplitter`): no split between values closer than 1e-7, thresholds halfway as
 * lo / 2 + hi / 2, strict improvement. One difference remains by design: scikit-learn visits the features of a node in
 * a random order, so when two features give exactly the same improvement (e.g. two copies of a code) it picks one at
 * random; here the first feature wins. Apart from such exact ties the trees are the same, and scores agree to rounding.
 */
import { growTree, presort, type RegressionTree, type SplitRule } from "./random_forest.ts";

export interface GradientBoostingOptions {
  /** Boosting stages (default 100). */
  nEstimators?: number;
  /** Shrinkage applied to every tree (default 0.1). */
  learningRate?: number;
  /** Depth of every tree (default 3). */
  maxDepth?: number;
}

export interface GradientBoostingModel {
  /** The distinct labels of the training targets, ascending; predictions are among them. */
  classes: number[];
  /** Initial raw score per score column (1 column for two classes, else one per class). */
  init: Float64Array;
  /** trees[stage][column]. */
  trees: RegressionTree[][];
  learningRate: number;
  numFeatures: number;
  /** Normalised impurity-decrease importances, length p, summing to 1 (all 0 if no tree ever split). */
  featureImportances: Float64Array;
}

/** scikit-learn's `BestSplitter` with `criterion="friedman_mse"` (FEATURE_THRESHOLD 1e-7, leaf at impurity <= eps). */
const SKLEARN_RULE: SplitRule = {
  criterion: "friedman-mse",
  minGap: 1e-7,
  tieMargin: 0,
  leafImpurity: Number.EPSILON,
  threshold: "sklearn",
};

const FLOAT32_EPS = 2 ** -23;

/** The leaf index each row falls into. */
function applyTree(t: RegressionTree, X: ArrayLike<number>, n: number, p: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let k = 0;
    while (t.feature[k] >= 0) k = X[i * p + t.feature[k]] <= t.threshold[k] ? t.left[k] : t.right[k];
    out[i] = k;
  }
  return out;
}

/** Softmax probabilities of row-major n x K scores, through the log-sum-exp with the row maximum subtracted. */
function softmaxRows(F: Float64Array, n: number, K: number): Float64Array {
  const P = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, F[i * K + k]);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(F[i * K + k] - m);
    const lse = Math.log(s) + m;
    for (let k = 0; k < K; k++) P[i * K + k] = Math.exp(F[i * K + k] - lse);
  }
  return P;
}

export function gradientBoostingFit(
  X: ArrayLike<number>,
  n: number,
  p: number,
  y: ArrayLike<number>,
  opts: GradientBoostingOptions = {},
): GradientBoostingModel {
  const stages = opts.nEstimators ?? 100, lr = opts.learningRate ?? 0.1, maxDepth = opts.maxDepth ?? 3;
  if (X.length !== n * p) throw new Error(`gradientBoostingFit: X has length ${X.length}, expected n*p = ${n * p}`);
  if (y.length !== n) throw new Error(`gradientBoostingFit: y has length ${y.length}, expected n = ${n}`);
  if (!Number.isInteger(stages) || stages < 1) {
    throw new Error(`gradientBoostingFit: nEstimators must be a positive integer, got ${stages}`);
  }
  if (!(lr > 0)) throw new Error(`gradientBoostingFit: learningRate must be > 0, got ${lr}`);
  if (!Number.isInteger(maxDepth) || maxDepth < 1) {
    throw new Error(`gradientBoostingFit: maxDepth must be a positive integer, got ${maxDepth}`);
  }
  const Xf = Float32Array.from(X);
  for (let i = 0; i < Xf.length; i++) {
    if (!Number.isFinite(Xf[i])) throw new Error(`gradientBoostingFit: X[${i}] = ${X[i]} is not finite in float32`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(y[i])) throw new Error(`gradientBoostingFit: y[${i}] = ${y[i]} is not an integer label`);
  }
  const classes = [...new Set(Array.from(y))].sort((a, b) => a - b);
  const numClasses = classes.length;
  if (numClasses < 2) throw new Error(`gradientBoostingFit: needs at least 2 classes, got ${numClasses}`);
  const code = new Map(classes.map((c, i) => [c, i]));
  const yc = Int32Array.from(y, (v) => code.get(v)!);

  const K = numClasses === 2 ? 1 : numClasses;
  const prior = new Float64Array(numClasses);
  for (let i = 0; i < n; i++) prior[yc[i]] += 1 / n;
  const clip = (v: number) => Math.min(Math.max(v, FLOAT32_EPS), 1 - FLOAT32_EPS);
  const init = K === 1
    ? Float64Array.of(Math.log(clip(prior[1]) / (1 - clip(prior[1]))))
    : Float64Array.from(prior, (v) => Math.log(clip(v)));

  const F = new Float64Array(n * K);
  for (let i = 0; i < n; i++) F.set(init, i * K);
  const sorted = presort(Xf, n, p);
  const ones = new Float64Array(n).fill(1);
  const target = new Float64Array(n), residual = new Float64Array(n);
  const trees: RegressionTree[][] = [];
  const importanceSum = new Float64Array(p);
  let splitTrees = 0;
  for (let s = 0; s < stages; s++) {
    // Every column's gradient is taken at the scores before this stage.
    const P = K === 1 ? Float64Array.from(F, (f) => 1 / (1 + Math.exp(-f))) : softmaxRows(F, n, K);
    const stage: RegressionTree[] = [];
    for (let k = 0; k < K; k++) {
      const label = K === 1 ? 1 : k;
      for (let i = 0; i < n; i++) {
        target[i] = yc[i] === label ? 1 : 0;
        residual[i] = target[i] - P[i * K + k];
      }
      const imp = new Float64Array(p);
      const tree = growTree(Xf, n, p, residual, ones, sorted, maxDepth, imp, SKLEARN_RULE);
      if (tree.feature.length > 1) {
        splitTrees++;
        for (let j = 0; j < p; j++) importanceSum[j] += imp[j] / n;
      }
      // One Newton step per leaf on the rows it holds.
      const leaf = applyTree(tree, Xf, n, p);
      const num = new Float64Array(tree.feature.length), den = new Float64Array(tree.feature.length);
      for (let i = 0; i < n; i++) {
        num[leaf[i]] += residual[i];
        den[leaf[i]] += (target[i] - residual[i]) * (1 - target[i] + residual[i]);
      }
      const scale = K === 1 ? 1 : (numClasses - 1) / numClasses;
      for (let node = 0; node < tree.feature.length; node++) {
        if (tree.feature[node] >= 0) continue;
        tree.value[node] = Math.abs(den[node]) < 1e-150 ? 0 : (num[node] * scale) / den[node];
      }
      for (let i = 0; i < n; i++) F[i * K + k] += lr * tree.value[leaf[i]];
      stage.push(tree);
    }
    trees.push(stage);
  }
  let total = 0;
  for (const v of importanceSum) total += v / splitTrees;
  const featureImportances = splitTrees > 0 && total > 0
    ? Float64Array.from(importanceSum, (v) => v / splitTrees / total)
    : new Float64Array(p);
  return { classes, init, trees, learningRate: lr, numFeatures: p, featureImportances };
}

/** Raw scores (`decision_function`): n x 1 for two classes (the log-odds of the larger label), else n x classes. */
export function gradientBoostingDecision(model: GradientBoostingModel, X: ArrayLike<number>, n: number): Float64Array {
  const p = model.numFeatures, K = model.init.length;
  if (X.length !== n * p) throw new Error(`gradientBoostingDecision: X has length ${X.length}, expected ${n * p}`);
  const Xf = Float32Array.from(X);
  const F = new Float64Array(n * K);
  for (let i = 0; i < n; i++) F.set(model.init, i * K);
  for (const stage of model.trees) {
    for (let k = 0; k < K; k++) {
      const t = stage[k];
      const leaf = applyTree(t, Xf, n, p);
      for (let i = 0; i < n; i++) F[i * K + k] += model.learningRate * t.value[leaf[i]];
    }
  }
  return F;
}

/** Predicted labels: the class with the largest score (the first on ties; two classes: the larger label iff p > 1/2). */
export function gradientBoostingPredict(model: GradientBoostingModel, X: ArrayLike<number>, n: number): Int32Array {
  const F = gradientBoostingDecision(model, X, n);
  const K = model.init.length;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (K === 1) {
      const p1 = 1 / (1 + Math.exp(-F[i]));
      out[i] = model.classes[p1 > 1 - p1 ? 1 : 0];
      continue;
    }
    let best = 0;
    for (let k = 1; k < K; k++) if (F[i * K + k] > F[i * K + best]) best = k;
    out[i] = model.classes[best];
  }
  return out;
}
