/**
 * DCI disentanglement and completeness (Eastwood & Williams 2018), as [IGCR] metric.py adapts it from [QEDR]:
 *
 * Codes and factor values are z-scored. One regressor per factor k predicts v_k from all codes; R[d][k] >= 0 is code d's
 * importance for factor k (|coef| for Lasso, mean-decrease-in-impurity for random forests).
 *
 *   P[d][k]          = R[d][k] / sum_k' R[d][k']                  (code d's importance spread over factors)
 *   rho_d            = sum_k R[d][k] / sum_{d',k} R[d'][k]
 *   Disentanglement  = sum_d rho_d * ( 1 - H_K(P[d]) ),   H_K = entropy with log base K
 *   Q[d][k]          = R[d][k] / sum_d' R[d'][k]
 *   Completeness     = (1/K) * sum_k ( 1 - H_D(Q[., k]) ),  H_D = entropy with log base D
 *   Informativeness  = (1/K) * sum_k RMSE of the z-scored factor's prediction (lower is better; scored on the
 *                      held-out rows when given, otherwise on the training rows)
 *
 * Regressors (protocol parameters): Lasso(alpha = 0.02), or random forests (10 trees) with per-factor max depths;
 * Table 1's default here is IB-GAN's depths [4, 2, 4, 2, 2] (UNVERIFIED: the authors' code computes several variants and
 * does not say which fed Table 1; paper-facts §5 guesses this one).
 *
 * `dciGradientBoosting` is disentanglement_lib's form instead ([DL] dci.py `_compute_dci`): see its comment.
 */
import { gradientBoostingFit, type GradientBoostingOptions, gradientBoostingPredict } from "../ml/gradient_boosting.ts";
import { lassoFit } from "../ml/lasso.ts";
import { randomForestFit, randomForestPredict } from "../ml/random_forest.ts";
import type { Rng } from "../rng.ts";
import { checkCodesAndFactors, type CodesAndFactors, intColumn, zscoreColumns } from "./matrices.ts";

export interface DciOptions {
  regressor: "lasso" | "random-forest";
  lassoAlpha?: number;
  /** Per-factor max depth for random forests; one number applies to every factor. */
  forestDepths?: number[] | number;
  forestTrees?: number;
  /** Randomness of the forests' bootstrap samples (required for random-forest). */
  rng?: Rng;
  /** Held-out rows for informativeness. */
  test?: CodesAndFactors;
}

export interface DciResult {
  disentanglement: number;
  completeness: number;
  informativenessRmse: number;
  /** [codeDim][numFactors] importance matrix R. */
  importance: number[][];
  regressor: string;
}

/** Entropy of a non-negative vector normalised to sum 1, in log base `base` (0 for an all-zero vector). */
function entropyBase(p: number[], base: number): number {
  const s = p.reduce((a, b) => a + b, 0);
  if (!(s > 0) || base < 2) return 0;
  let h = 0;
  for (const v of p) if (v > 0) h -= (v / s) * Math.log(v / s);
  return h / Math.log(base);
}

/** DCI disentanglement and completeness from an importance matrix R [codeDim][numFactors] (equations above). */
export function dciFromImportance(R: number[][]): { disentanglement: number; completeness: number } {
  const D = R.length, K = R[0]?.length ?? 0;
  if (D === 0 || K === 0) throw new Error("dciFromImportance: empty importance matrix");
  let total = 0;
  for (const row of R) {
    for (const v of row) {
      if (!(v >= 0)) throw new Error(`dciFromImportance: importances must be non-negative, got ${v}`);
      total += v;
    }
  }
  if (total === 0) return { disentanglement: 0, completeness: 0 };
  let disentanglement = 0;
  for (const row of R) {
    const rho = row.reduce((a, b) => a + b, 0) / total;
    // One factor: every code is trivially "about" it.
    disentanglement += rho * (1 - (K > 1 ? entropyBase(row, K) : 0));
  }
  let completeness = 0;
  for (let k = 0; k < K; k++) {
    const col = R.map((row) => row[k]);
    const s = col.reduce((a, b) => a + b, 0);
    completeness += s > 0 ? 1 - (D > 1 ? entropyBase(col, D) : 0) : 0;
  }
  return { disentanglement, completeness: completeness / K };
}

export function dci(m: CodesAndFactors, opts: DciOptions): DciResult {
  checkCodesAndFactors(m, "DCI");
  const { n, codeDim: D, numFactors: K } = m;
  const X = zscoreColumns(m.codes, n, D);
  const V = zscoreColumns(m.factorValues, n, K);
  const test = opts.test;
  if (test) checkCodesAndFactors(test, "DCI test rows");
  const Xt = test ? zscoreColumns(test.codes, test.n, D) : X;
  const Vt = test ? zscoreColumns(test.factorValues, test.n, K) : V;
  const nt = test ? test.n : n;
  const R = Array.from({ length: D }, () => new Array<number>(K).fill(0));
  let rmseSum = 0;
  const depths = opts.forestDepths ?? [4, 2, 4, 2, 2];
  if (opts.regressor === "random-forest") {
    if (!opts.rng) throw new Error("DCI: the random-forest regressor needs an rng");
    if (Array.isArray(depths) && depths.length !== K) {
      throw new Error(`DCI: forestDepths has ${depths.length} entries but there are ${K} factors`);
    }
  } else if (opts.regressor !== "lasso") {
    throw new Error(`DCI: unknown regressor "${opts.regressor}" (lasso or random-forest)`);
  }
  for (let k = 0; k < K; k++) {
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) y[i] = V[i * K + k];
    let pred: Float64Array;
    if (opts.regressor === "lasso") {
      const fit = lassoFit(X, n, D, y, opts.lassoAlpha ?? 0.02);
      for (let d = 0; d < D; d++) R[d][k] = Math.abs(fit.coef[d]);
      pred = new Float64Array(nt);
      for (let i = 0; i < nt; i++) {
        let s = fit.intercept;
        for (let d = 0; d < D; d++) s += fit.coef[d] * Xt[i * D + d];
        pred[i] = s;
      }
    } else {
      const maxDepth = Array.isArray(depths) ? depths[k] : depths;
      const forest = randomForestFit(X, n, D, y, opts.rng!, { maxDepth, nEstimators: opts.forestTrees ?? 10 });
      for (let d = 0; d < D; d++) R[d][k] = forest.featureImportances[d];
      pred = randomForestPredict(forest, Xt, nt);
    }
    let se = 0;
    for (let i = 0; i < nt; i++) se += (pred[i] - Vt[i * K + k]) ** 2;
    rmseSum += Math.sqrt(se / nt);
  }
  const regressor = opts.regressor === "lasso"
    ? `lasso(alpha=${opts.lassoAlpha ?? 0.02})`
    : `random-forest(trees=${opts.forestTrees ?? 10}, depths=${JSON.stringify(depths)})`;
  return { ...dciFromImportance(R), informativenessRmse: rmseSum / K, importance: R, regressor };
}

/**
 * Disentanglement and completeness as [DL] dci.py computes them from R [codeDim][numFactors]:
 *
 *   Disentanglement = sum_d rho_d * ( 1 - H_K(R[d] + 1e-11) ),        rho_d = sum_k R[d][k] / sum R
 *   Completeness    = sum_k phi_k * ( 1 - H_D(R[., k] + 1e-11) ),      phi_k = sum_d R[d][k] / sum R
 *
 * (scipy's entropy normalises each smoothed vector; an all-zero R weighs every code and factor equally). Completeness
 * is weighted by each factor's share of the importance where the qedr form above takes the plain mean; with
 * importances that sum to 1 per factor, as gradient boosting's do, the two agree.
 */
export function dciFromImportanceDlib(R: number[][]): { disentanglement: number; completeness: number } {
  const D = R.length, K = R[0]?.length ?? 0;
  if (D === 0 || K === 0) throw new Error("dciFromImportanceDlib: empty importance matrix");
  const smoothedEntropy = (v: number[], base: number) => {
    const s = v.reduce((a, b) => a + b + 1e-11, 0);
    let h = 0;
    for (const x of v) h -= ((x + 1e-11) / s) * Math.log((x + 1e-11) / s);
    return h / Math.log(base);
  };
  let total = 0;
  for (const row of R) {
    for (const v of row) {
      if (!(v >= 0)) throw new Error(`dciFromImportanceDlib: importances must be non-negative, got ${v}`);
      total += v;
    }
  }
  const W = total === 0 ? R.map((row) => row.map(() => 1)) : R;
  const wTotal = total === 0 ? D * K : total;
  let disentanglement = 0, completeness = 0;
  for (let d = 0; d < D; d++) {
    disentanglement += (1 - smoothedEntropy(R[d], K)) * W[d].reduce((a, b) => a + b, 0) / wTotal;
  }
  for (let k = 0; k < K; k++) {
    const col = R.map((row) => row[k]);
    completeness += (1 - smoothedEntropy(col, D)) * W.reduce((a, row) => a + row[k], 0) / wTotal;
  }
  return { disentanglement, completeness };
}

export interface DciGradientBoostingResult {
  disentanglement: number;
  completeness: number;
  /** Mean over factors of the classifiers' accuracy on the training rows and on the held-out rows. */
  informativenessTrain: number;
  informativenessTest: number;
  /** [codeDim][numFactors] importance matrix R. */
  importance: number[][];
  regressor: string;
}

/**
 * DCI as [DL] dci.py `_compute_dci` computes it: per factor, a gradient-boosted classifier (scikit-learn's
 * `GradientBoostingClassifier()` defaults, lib/ml/gradient_boosting.ts) fitted on the raw codes to the factor's class
 * ids; R[.][k] = its feature importances; informativeness = its accuracy (train and held-out rows); disentanglement and
 * completeness by `dciFromImportanceDlib`. A factor that is constant in the training rows has nothing to classify: its
 * column of R stays 0 and it is left out of the accuracies ([DL] would stop with scikit-learn's error).
 */
export function dciGradientBoosting(
  m: CodesAndFactors,
  test: CodesAndFactors,
  boosting: GradientBoostingOptions = {},
): DciGradientBoostingResult {
  checkCodesAndFactors(m, "DCI");
  checkCodesAndFactors(test, "DCI test rows");
  const { n, codeDim: D, numFactors: K } = m;
  if (test.codeDim !== D || test.numFactors !== K) {
    throw new Error(
      `DCI: test rows have ${test.codeDim} codes x ${test.numFactors} factors, training rows ${D} x ${K}`,
    );
  }
  const R = Array.from({ length: D }, () => new Array<number>(K).fill(0));
  const accTrain: number[] = [], accTest: number[] = [];
  for (let k = 0; k < K; k++) {
    const y = intColumn(m.factorClasses, n, K, k);
    if (new Set(y).size < 2) continue;
    const model = gradientBoostingFit(m.codes, n, D, y, boosting);
    for (let d = 0; d < D; d++) R[d][k] = Math.abs(model.featureImportances[d]);
    const yTest = intColumn(test.factorClasses, test.n, K, k);
    const hits = (pred: Int32Array, truth: Int32Array) => pred.reduce((a, v, i) => a + (v === truth[i] ? 1 : 0), 0);
    accTrain.push(hits(gradientBoostingPredict(model, m.codes, n), y) / n);
    accTest.push(hits(gradientBoostingPredict(model, test.codes, test.n), yTest) / test.n);
  }
  const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
  const b = { nEstimators: 100, learningRate: 0.1, maxDepth: 3, ...boosting };
  return {
    ...dciFromImportanceDlib(R),
    informativenessTrain: mean(accTrain),
    informativenessTest: mean(accTest),
    importance: R,
    regressor: `gradient-boosting(stages=${b.nEstimators}, rate=${b.learningRate}, depth=${b.maxDepth})`,
  };
}
