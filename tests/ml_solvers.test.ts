import assert from "node:assert/strict";
import { lassoFit } from "../lib/ml/lasso.ts";
import { accuracy, logisticFit, logisticPredict, logisticPredictProba } from "../lib/ml/logistic_regression.ts";
import { linearSvmFit, linearSvmPredict } from "../lib/ml/linear_svm.ts";
import { randomForestFit, randomForestPredict } from "../lib/ml/random_forest.ts";
import { entropyDiscrete, histogramDiscretize, mutualInfoDiscrete } from "../lib/ml/mutual_info.ts";
import { rocAuc, rocAucMacroOvR } from "../lib/ml/roc_auc.ts";
import { Rng } from "../lib/rng.ts";

const close = (a: number, b: number, tol: number, what = "") =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

Deno.test("lasso: orthogonal design gives the soft-threshold closed form; alpha 0 is least squares", () => {
  // Centred orthogonal columns with x_j.x_j / n = 1, so w_j = S(x_j.y / n, alpha).
  const X = new Float64Array([1, 1, 1, -1, -1, 1, -1, -1]);
  const y = new Float64Array([3, 1, -0.2, -2.4]);
  const n = 4, p = 2;
  const ymean = y.reduce((a, b) => a + b) / n;
  const xy = [0, 1].map((j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += X[i * p + j] * y[i];
    return s / n;
  });
  const soft = (z: number, a: number) => Math.sign(z) * Math.max(Math.abs(z) - a, 0);
  for (const alpha of [0, 0.3, 1.0, 2.0]) {
    const fit = lassoFit(X, n, p, y, alpha, { tol: 1e-12, maxIter: 10000 });
    close(fit.coef[0], soft(xy[0], alpha), 1e-9, `w0 at alpha ${alpha}`);
    close(fit.coef[1], soft(xy[1], alpha), 1e-9, `w1 at alpha ${alpha}`);
    close(fit.intercept, ymean, 1e-9, "intercept");
  }
  assert.throws(() => lassoFit(X, n, p, new Float64Array(3), 0.1), /y has length 3/);
});

Deno.test("lasso: correlated design satisfies the KKT conditions", () => {
  const rng = new Rng(5);
  const n = 300, p = 4;
  const X = new Float64Array(n * p), y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const base = rng.normal();
    for (let j = 0; j < p; j++) X[i * p + j] = base * (j < 2 ? 1 : 0) + rng.normal();
    y[i] = 2 * X[i * p] - X[i * p + 1] + 0.1 * rng.normal() + 5;
  }
  const alpha = 0.05;
  const { coef, intercept } = lassoFit(X, n, p, y, alpha, { tol: 1e-10, maxIter: 10000 });
  // Gradient of the smooth part, x_j . r / n, equals alpha*sign(w_j) on the support and is <= alpha off it.
  for (let j = 0; j < p; j++) {
    let g = 0;
    for (let i = 0; i < n; i++) {
      let pred = intercept;
      for (let k = 0; k < p; k++) pred += X[i * p + k] * coef[k];
      g += X[i * p + j] * (y[i] - pred);
    }
    g /= n;
    if (coef[j] !== 0) close(g, alpha * Math.sign(coef[j]), 1e-6, `KKT j=${j}`);
    else assert.ok(Math.abs(g) <= alpha + 1e-6);
  }
  assert.ok(coef[0] > 1.8 && coef[1] < -0.8 && Math.abs(coef[2]) < 0.1);
});

Deno.test("logistic regression: zero features give the class frequencies; stationarity holds", () => {
  const y = Int32Array.from([0, 0, 0, 1, 2, 2]);
  const n = y.length;
  const model = logisticFit(new Float64Array(n), n, 1, y);
  const proba = logisticPredictProba(model, new Float64Array(3), 3);
  close(proba[0], 3 / 6, 1e-4, "p0");
  close(proba[1], 1 / 6, 1e-4, "p1");
  close(proba[2], 2 / 6, 1e-4, "p2");

  // Informative data: at the optimum W = -C * sum_i (p_i - onehot_i) x_i^T.
  const rng = new Rng(9);
  const m = 400, p = 2, k = 3;
  const X = new Float64Array(m * p), yy = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    yy[i] = i % k;
    X[i * p] = yy[i] + 0.8 * rng.normal();
    X[i * p + 1] = rng.normal();
  }
  const fit = logisticFit(X, m, p, yy, { maxIter: 1000, gtol: 1e-7, ftol: 0 });
  const P = logisticPredictProba(fit, X, m);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < p; j++) {
      let g = 0;
      for (let i = 0; i < m; i++) g += (P[i * k + c] - (yy[i] === c ? 1 : 0)) * X[i * p + j];
      close(fit.W[c * p + j], -g, 1e-4, `stationarity c=${c} j=${j}`);
    }
  }
});

Deno.test("logistic regression: separable data is classified perfectly", () => {
  const n = 60;
  const X = new Float64Array(n), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    X[i] = y[i] * 4 + (i % 7) / 7;
  }
  const model = logisticFit(X, n, 1, y);
  assert.equal(accuracy(logisticPredict(model, X, n), y), 1);
});

Deno.test("linear SVM: 1-D symmetric case matches w = 2Cn / (1 + 2Cn); balanced weights restore symmetry", () => {
  const C = 0.3;
  const X = new Float64Array([1, 1, -1, -1]), y = Int32Array.from([1, 1, 0, 0]);
  const m = linearSvmFit(X, 4, 1, y, { C });
  // Each class has 2 points with margin 1 - w; the intercept is 0 by symmetry. dL/dw = w - 2C*4*(1 - w) = 0.
  close(m.coef[0][0], (8 * C) / (1 + 8 * C), 1e-9, "w");
  close(m.coef[0][1], 0, 1e-9, "b");

  // 3 positives, 1 negative: balanced weights 2/3 and 2 make the summed weights equal, so the fit is symmetric again.
  const X2 = new Float64Array([1, 1, 1, -1]), y2 = Int32Array.from([1, 1, 1, 0]);
  const m2 = linearSvmFit(X2, 4, 1, y2, { C, classWeight: "balanced" });
  close(m2.coef[0][0], (8 * C) / (1 + 8 * C), 1e-9, "balanced w");
  close(m2.coef[0][1], 0, 1e-9, "balanced b");
  const m3 = linearSvmFit(X2, 4, 1, y2, { C });
  assert.ok(m3.coef[0][1] > 0.05, "unbalanced fit leans to the majority class");
});

Deno.test("linear SVM: one-vs-rest on three separated clusters", () => {
  const X: number[] = [], y: number[] = [];
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < 10; i++) {
      X.push(c === 0 ? 5 : 0, c === 1 ? 5 : 0);
      y.push(c);
    }
  }
  const m = linearSvmFit(X, 30, 2, y, { C: 1 });
  assert.deepEqual([...linearSvmPredict(m, X, 30)], y);
});

Deno.test("random forest: importances on a 2x2 grid are the variance shares; stumps split at the midpoint", () => {
  // y = a + 0.5 b with a, b in {0,1} on a balanced grid: Var = 0.25 + 0.0625, a's share 0.8.
  const X: number[] = [], y: number[] = [];
  for (let r = 0; r < 25; r++) {
    for (const a of [0, 1]) {
      for (const b of [0, 1]) {
        X.push(a, b, 0.5);
        y.push(a + 0.5 * b);
      }
    }
  }
  const n = y.length;
  const rf = randomForestFit(X, n, 3, y, new Rng(0), { nEstimators: 3, maxDepth: 2, bootstrap: false });
  close(rf.featureImportances[0], 0.8, 1e-9, "a");
  close(rf.featureImportances[1], 0.2, 1e-9, "b");
  assert.equal(rf.featureImportances[2], 0);
  assert.deepEqual([...randomForestPredict(rf, X, n)], y);
  const stump = randomForestFit(X, n, 3, y, new Rng(0), { nEstimators: 1, maxDepth: 1, bootstrap: false });
  assert.equal(stump.trees[0].feature[0], 0);
  assert.equal(stump.trees[0].threshold[0], 0.5);
  // Bootstrapped forest: still almost all importance on a, and same seed -> same forest.
  const b1 = randomForestFit(X, n, 3, y, new Rng(1), { maxDepth: 2 });
  const b2 = randomForestFit(X, n, 3, y, new Rng(1), { maxDepth: 2 });
  assert.deepEqual(b1.featureImportances, b2.featureImportances);
  assert.ok(b1.featureImportances[0] > 0.7);
});

Deno.test("mutual information: MI(x, x) = H(x); independent grid -> 0; known value", () => {
  const a = [0, 1, 2, 3, 0, 1, 2, 3];
  close(mutualInfoDiscrete(a, a), Math.log(4), 1e-12, "MI(a,a)");
  close(entropyDiscrete(a), Math.log(4), 1e-12, "H(a)");
  close(mutualInfoDiscrete([0, 0, 1, 1], [0, 1, 0, 1]), 0, 1e-12, "independent");
  // b = a mod 2 carries 1 bit of a: I = ln 2.
  close(mutualInfoDiscrete(a, a.map((v) => v % 2)), Math.log(2), 1e-12, "a mod 2");
  assert.throws(() => mutualInfoDiscrete([0, 1], [0]), /differ in length/);
});

Deno.test("histogram discretisation matches np.digitize(x, np.histogram(x, 5)[1][:-1]) - 1", () => {
  const x = Array.from({ length: 11 }, (_, i) => i);
  assert.deepEqual([...histogramDiscretize(x, 5)], [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4]);
  assert.deepEqual([...histogramDiscretize([2, 2, 2], 20)], [10, 10, 10]);
});

Deno.test("ROC AUC: known ranking, ties, macro one-vs-rest", () => {
  close(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75, 1e-12, "sklearn doc example");
  close(rocAuc([1, 1, 1, 1], [0, 1, 0, 1]), 0.5, 1e-12, "all tied");
  close(rocAuc([1, 2, 3], [0, 1, 1]), 1, 1e-12, "perfect");
  // Perfect probabilities for 3 classes.
  const proba = [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8];
  assert.equal(rocAucMacroOvR(proba, 3, 3, [0, 1, 2]).auc, 1);
  assert.throws(() => rocAuc([1, 2], [1, 1]), /needs both classes/);
});
