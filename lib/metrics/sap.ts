/**
 * Separated Attribute Predictability (Kumar et al. 2018).
 *
 *   S[d][k] = score of predicting factor k from code d alone
 *   SAP     = (1/K) * sum_k ( S_(1)[k] - S_(2)[k] )        (largest minus second-largest over codes)
 *
 * Protocol `infogan-cr` ([IGCR] metric.py, paper-facts §5): a continuous factor scores cov(z_d, v_k)^2 / (var z_d var v_k)
 * (squared Pearson correlation of the values; orientation treated as linear), a categorical factor (dSprites' shape)
 * scores the training accuracy of LinearSVC(C = 0.01, class_weight = "balanced") on the single code.
 * Protocol `disentanglement-lib`: every factor categorical, the SVC trained on the training rows and scored on held-out
 * rows.
 */
import { linearSvmFit, linearSvmPredict } from "../ml/linear_svm.ts";
import { accuracy } from "../ml/logistic_regression.ts";
import { checkCodesAndFactors, type CodesAndFactors, column, intColumn } from "./matrices.ts";
import { pearson } from "../ml/correlation.ts";

export interface SapOptions {
  /** Per factor: true = categorical (SVC accuracy), false = continuous (squared correlation). */
  categorical: boolean[];
  svmC?: number;
  /** Held-out rows to score categorical factors on (disentanglement-lib); default: the training rows. */
  test?: CodesAndFactors;
}

export interface SapResult {
  score: number;
  /** [codeDim][numFactors] predictability scores. */
  scoreMatrix: number[][];
  perFactor: number[];
}

/** Squared Pearson correlation; 0 when either side is constant. */
export function squaredCorrelation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const r = pearson(a, b);
  return Number.isNaN(r) ? 0 : r * r;
}

export function sap(m: CodesAndFactors, opts: SapOptions): SapResult {
  checkCodesAndFactors(m, "SAP");
  if (opts.categorical.length !== m.numFactors) {
    throw new Error(`SAP: categorical has ${opts.categorical.length} entries, expected numFactors = ${m.numFactors}`);
  }
  const test = opts.test ?? m;
  if (opts.test) checkCodesAndFactors(opts.test, "SAP test rows");
  const C = opts.svmC ?? 0.01;
  const scoreMatrix = Array.from({ length: m.codeDim }, () => new Array<number>(m.numFactors).fill(0));
  for (let d = 0; d < m.codeDim; d++) {
    const z = column(m.codes, m.n, m.codeDim, d);
    const zTest = opts.test ? column(test.codes, test.n, test.codeDim, d) : z;
    for (let k = 0; k < m.numFactors; k++) {
      if (!opts.categorical[k]) {
        scoreMatrix[d][k] = squaredCorrelation(z, column(m.factorValues, m.n, m.numFactors, k));
        continue;
      }
      const y = intColumn(m.factorClasses, m.n, m.numFactors, k);
      const yTest = opts.test ? intColumn(test.factorClasses, test.n, test.numFactors, k) : y;
      if (new Set(y).size < 2) continue; // a constant factor is predicted by nothing in particular
      const model = linearSvmFit(z, m.n, 1, y, { C, classWeight: "balanced" });
      scoreMatrix[d][k] = accuracy(linearSvmPredict(model, zTest, test.n), yTest);
    }
  }
  const perFactor = Array.from({ length: m.numFactors }, (_, k) => {
    const col = scoreMatrix.map((r) => r[k]).sort((a, b) => b - a);
    return col[0] - (col.length > 1 ? col[1] : 0);
  });
  return { score: perFactor.reduce((a, b) => a + b, 0) / perFactor.length, scoreMatrix, perFactor };
}
