/**
 * The solvers against reference values computed with scikit-learn 1.2.1 (Debian python3-sklearn) on the small data set
 * below: Lasso(alpha=0.05), LogisticRegression(multi_class="multinomial") and (solver="liblinear"), LinearSVC(C=0.01, class_weight="balanced")
 * on the first column, RandomForestRegressor(n_estimators=1, max_depth=3, bootstrap=False, max_features=None).
 */
import assert from "node:assert/strict";
import { lassoFit } from "../lib/ml/lasso.ts";
import { logisticFit, logisticPredictProba } from "../lib/ml/logistic_regression.ts";
import { linearSvmFit } from "../lib/ml/linear_svm.ts";
import { randomForestFit } from "../lib/ml/random_forest.ts";
import { Rng } from "../lib/rng.ts";

const X = [
  1.624,
  0.362,
  -0.528,
  -1.073,
  0.221,
  -2.302,
  1.745,
  0.286,
  0.319,
  -0.249,
  1.313,
  -2.06,
  -0.322,
  -0.577,
  1.134,
  -1.1,
  -0.832,
  -0.878,
  0.042,
  0.608,
  -1.101,
  1.145,
  1.589,
  0.502,
  0.901,
  -0.143,
  -0.123,
  -0.936,
  -0.83,
  0.53,
  -0.692,
  -0.812,
  -0.687,
  -0.845,
  -1.178,
  -0.013,
  -1.117,
  -0.436,
  1.66,
  0.742,
  0.253,
  -0.888,
  -0.747,
  1.244,
  0.051,
  -0.637,
  -0.191,
  2.1,
  0.12,
  0.689,
  0.3,
  -0.352,
  -1.354,
  -0.349,
  -0.209,
  0.462,
  0.839,
  0.931,
  0.845,
  0.885,
  -0.754,
  0.801,
  0.513,
  -0.298,
  0.31,
  -0.076,
  1.132,
  2.199,
  2.186,
  -1.396,
  -2.282,
  -0.504,
  0.16,
  0.972,
  0.316,
  -2.022,
  -1.519,
  0.828,
  0.23,
  0.9,
  -0.222,
  -0.201,
  0.066,
  0.41,
  0.198,
  0.238,
  -0.671,
  0.378,
  0.349,
  1.129,
  1.199,
  0.904,
  -0.375,
  -0.639,
  0.04,
  0.077,
  -0.344,
  -0.162,
  -0.62,
  0.698,
  -0.028,
  1.225,
  0.403,
  0.836,
  -1.095,
  0.169,
  0.842,
  -0.954,
  -0.266,
  -0.127,
  -1.373,
  0.315,
  1.035,
  -0.86,
  0.351,
  -1.101,
  -0.039,
  -1.616,
  0.151,
  0.409,
];
const y = [
  2.635,
  -1.076,
  3.127,
  1.434,
  -1.866,
  -0.681,
  1.317,
  1.686,
  0.801,
  -1.184,
  -0.854,
  -1.564,
  -2.955,
  1.743,
  -0.744,
  -2.107,
  0.32,
  -0.961,
  -0.248,
  1.066,
  -1.429,
  -0.467,
  1.258,
  -1.517,
  0.378,
  -3.295,
  0.473,
  -0.156,
  0.682,
  0.457,
  1.793,
  -2.207,
  0.251,
  1.65,
  1.263,
  0.585,
  0.082,
  0.757,
  0.551,
  -3.149,
];
const cls = [
  1,
  0,
  1,
  0,
  2,
  0,
  1,
  2,
  1,
  1,
  0,
  0,
  2,
  1,
  0,
  1,
  1,
  0,
  2,
  2,
  1,
  1,
  2,
  0,
  1,
  1,
  1,
  1,
  1,
  2,
  1,
  0,
  1,
  2,
  1,
  0,
  1,
  1,
  1,
  0,
];
const LASSO_COEF = [1.5402520507955202, 0.0412304616360459, -0.40755309799204953],
  LASSO_INTERCEPT = 0.06529458762150187;
const LR_PROBA_FIRST5 = [
  0.026086834390082216,
  0.8826292193215377,
  0.09128394628837994,
  0.9161941368403693,
  0.0836634655886756,
  0.00014239757095501428,
  0.0073958684069204824,
  0.6669871551525288,
  0.3256169764405508,
  0.6870874837103753,
  0.3111758450804048,
  0.0017366712092199458,
  0.07296001586919557,
  0.516377370505062,
  0.4106626136257424,
];
const SVC_COEF = [-0.2010722424983044, 0.09755510236207512, 0.12015341064575759],
  SVC_INTERCEPT = [-0.18087600858269712, -0.06376530817265272, -0.1938195639455615];
const RF_IMPORTANCES = [0.8917484660550412, 0.0, 0.10825153394495876];
const LR_OVR_PROBA_FIRST5 = [
  0.05275468023534623,
  0.7675488456212575,
  0.17969647414339648,
  0.6419799202949369,
  0.3559480047613307,
  0.0020720749437324743,
  0.015832702825282575,
  0.6063058055855505,
  0.3778614915891669,
  0.5477257893590973,
  0.44535192694340825,
  0.006922283697494438,
  0.12226711219203135,
  0.4307141901220345,
  0.44701869768593416,
];
const LR_BINARY_COEF = [1.267501337333165, 0.2309675487012423, 1.0593593207443606],
  LR_BINARY_INTERCEPT = 1.2858601838199726;
const n = 40, p = 3;

const near = (got: ArrayLike<number>, want: number[], tol: number, what: string) => {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${what}[${i}]: ${got[i]} vs scikit-learn ${want[i]}`);
  }
};

Deno.test("lasso matches scikit-learn's Lasso", () => {
  // scikit-learn stops at its default tol 1e-4 (duality gap), so its coefficients are within about 1e-4 of the optimum.
  const fit = lassoFit(Float64Array.from(X), n, p, Float64Array.from(y), 0.05, { tol: 1e-10 });
  near(fit.coef, LASSO_COEF, 2e-4, "coef");
  near([fit.intercept], [LASSO_INTERCEPT], 2e-4, "intercept");
  const same = lassoFit(Float64Array.from(X), n, p, Float64Array.from(y), 0.05);
  near(same.coef, LASSO_COEF, 1e-5, "coef at the default tol");
});

Deno.test("logistic regression matches scikit-learn's multinomial LogisticRegression()", () => {
  const m = logisticFit(X, n, p, cls);
  near(logisticPredictProba(m, X.slice(0, 5 * p), 5), LR_PROBA_FIRST5, 1e-4, "proba");
});

Deno.test("one-vs-rest logistic regression matches scikit-learn's LogisticRegression(solver='liblinear')", () => {
  const m = logisticFit(X, n, p, cls, { multiClass: "ovr" });
  near(logisticPredictProba(m, X.slice(0, 5 * p), 5), LR_OVR_PROBA_FIRST5, 1e-6, "proba");
  const yb = cls.map((c) => (c > 0 ? 1 : 0));
  const bin = logisticFit(X, n, p, yb, { multiClass: "ovr" });
  near(bin.W, LR_BINARY_COEF, 1e-6, "binary coef");
  near(bin.b, [LR_BINARY_INTERCEPT], 1e-6, "binary intercept");
});

Deno.test("linear SVM matches scikit-learn's LinearSVC(C=0.01, class_weight='balanced') one-vs-rest", () => {
  const m = linearSvmFit(X.filter((_, i) => i % p === 0), n, 1, cls, { C: 0.01, classWeight: "balanced" });
  near(m.coef.map((c) => c[0]), SVC_COEF, 1e-6, "coef");
  near(m.coef.map((c) => c[1]), SVC_INTERCEPT, 1e-6, "intercept");
});

Deno.test("regression tree importances match scikit-learn's (no bootstrap, all features)", () => {
  const rf = randomForestFit(X, n, p, y, new Rng(0), { nEstimators: 1, maxDepth: 3, bootstrap: false });
  near(rf.featureImportances, RF_IMPORTANCES, 1e-9, "importances");
});
