/**
 * Explicitness (Ridgeway & Zemel 2018), as [IGCR] metric.py computes it (paper-facts §5):
 *
 *   for each factor k: fit LogisticRegression() (L2, C = 1; one-vs-rest liblinear form or multinomial, see
 *   lib/ml/logistic_regression.ts) on all codes to predict k's class id;
 *   explicitness_k = macro one-vs-rest ROC AUC of predict_proba against the one-hot class ids
 *   Explicitness   = (1/K) * sum_k explicitness_k
 *
 * Protocol `infogan-cr` scores on the training rows themselves, on the raw codes ([IGCR] metric.py). Protocol
 * `disentanglement-lib` first standardises the codes with the training rows' mean and std (ddof 0), applied to both
 * sets ([DL] modularity_explicitness.py with utils.normalize_data), and scores the held-out rows. The L2 penalty makes
 * the metric depend on the codes' scale, so the two differ for codes far from unit scale.
 */
import { logisticFit, logisticPredictProba } from "../ml/logistic_regression.ts";
import { rocAucMacroOvR } from "../ml/roc_auc.ts";
import { checkCodesAndFactors, type CodesAndFactors, intColumn } from "./matrices.ts";

/** Codes of `rows` shifted by `mean` and divided by `std` per column (a zero std leaves the column at 0). */
function standardized(rows: CodesAndFactors, mean: Float64Array, std: Float64Array): CodesAndFactors {
  const D = rows.codeDim;
  const codes = new Float32Array(rows.codes.length);
  for (let i = 0; i < rows.n; i++) {
    for (let d = 0; d < D; d++) {
      codes[i * D + d] = std[d] > 0 ? (rows.codes[i * D + d] - mean[d]) / std[d] : 0;
    }
  }
  return { ...rows, codes };
}

/** Per-code mean and std (ddof 0) over the rows, as numpy's mean and std. */
function columnMoments(m: CodesAndFactors): { mean: Float64Array; std: Float64Array } {
  const D = m.codeDim, mean = new Float64Array(D), std = new Float64Array(D);
  for (let i = 0; i < m.n; i++) for (let d = 0; d < D; d++) mean[d] += m.codes[i * D + d];
  for (let d = 0; d < D; d++) mean[d] /= m.n;
  for (let i = 0; i < m.n; i++) for (let d = 0; d < D; d++) std[d] += (m.codes[i * D + d] - mean[d]) ** 2;
  for (let d = 0; d < D; d++) std[d] = Math.sqrt(std[d] / m.n);
  return { mean, std };
}

export interface ExplicitnessResult {
  score: number;
  perFactor: number[];
}

export function explicitness(
  rows: CodesAndFactors,
  opts: { C?: number; test?: CodesAndFactors; multiClass?: "ovr" | "multinomial"; standardize?: boolean } = {},
): ExplicitnessResult {
  checkCodesAndFactors(rows, "explicitness");
  if (opts.test) checkCodesAndFactors(opts.test, "explicitness test rows");
  // Standardised codes are stored in float32 like the raw ones ([DL] standardises float32 codes in float32).
  const moments = opts.standardize ? columnMoments(rows) : null;
  const m = moments ? standardized(rows, moments.mean, moments.std) : rows;
  const test = opts.test ? (moments ? standardized(opts.test, moments.mean, moments.std) : opts.test) : m;
  const perFactor: number[] = [];
  for (let k = 0; k < m.numFactors; k++) {
    const y = intColumn(m.factorClasses, m.n, m.numFactors, k);
    const yTest = intColumn(test.factorClasses, test.n, test.numFactors, k);
    let numClasses = 0;
    for (const v of y) numClasses = Math.max(numClasses, v + 1);
    for (const v of yTest) numClasses = Math.max(numClasses, v + 1);
    if (new Set(y).size < 2) continue; // constant factor: nothing to explain
    const model = logisticFit(m.codes, m.n, m.codeDim, y, { C: opts.C ?? 1, numClasses, multiClass: opts.multiClass });
    const proba = logisticPredictProba(model, test.codes, test.n);
    perFactor.push(rocAucMacroOvR(proba, test.n, numClasses, yTest).auc);
  }
  if (perFactor.length === 0) throw new Error("explicitness: every factor is constant in the sample");
  return { score: perFactor.reduce((a, b) => a + b, 0) / perFactor.length, perFactor };
}
