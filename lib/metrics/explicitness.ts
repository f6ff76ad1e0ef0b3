/**
 * Explicitness (Ridgeway & Zemel 2018), as [IGCR] metric.py computes it (paper-facts §5):
 *
 *   for each factor k: fit LogisticRegression() (L2, C = 1; one-vs-rest liblinear form or multinomial, see
 *   lib/ml/logistic_regression.ts) on all codes to predict k's class id;
 *   explicitness_k = macro one-vs-rest ROC AUC of predict_proba against the one-hot class ids
 *   Explicitness   = (1/K) * sum_k explicitness_k
 *
 * Protocol `infogan-cr` scores on the training rows themselves; `disentanglement-lib` passes held-out rows.
 */
import { logisticFit, logisticPredictProba } from "../ml/logistic_regression.ts";
import { rocAucMacroOvR } from "../ml/roc_auc.ts";
import { checkCodesAndFactors, type CodesAndFactors, intColumn } from "./matrices.ts";

export interface ExplicitnessResult {
  score: number;
  perFactor: number[];
}

export function explicitness(
  m: CodesAndFactors,
  opts: { C?: number; test?: CodesAndFactors; multiClass?: "ovr" | "multinomial" } = {},
): ExplicitnessResult {
  checkCodesAndFactors(m, "explicitness");
  const test = opts.test ?? m;
  if (opts.test) checkCodesAndFactors(opts.test, "explicitness test rows");
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
