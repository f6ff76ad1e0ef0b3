/**
 * Linear support vector classifier with the objective of scikit-learn's `LinearSVC` defaults (squared hinge loss, L2
 * penalty, one-vs-rest, intercept fitted as an extra constant feature of value 1 and therefore penalised):
 *
 *   per class c:  minimise over w~ = (w, b):  0.5 * ||w~||^2 + C * sum_i s_i * max(0, 1 - t_i * w~ . (x_i, 1))^2
 *
 * with t_i = +1 for rows of class c and -1 otherwise, and s_i the class weight of row i's class: 1, or with
 * `classWeight: "balanced"`, n / (k * n_{class}) as scikit-learn computes it. The objective is once differentiable and
 * piecewise quadratic, so Newton's method with the generalised Hessian I + 2C sum_{active} s_i x~_i x~_i^T and a
 * backtracking line search converges in a few steps (the primal route of liblinear, with a dense solve because the
 * metrics here use one to a few features). With two classes one classifier is fitted, the larger label positive.
 * With more, class c's classifier weights its positive rows by s_c and its negative rows by 1, as liblinear does (checked
 * against scikit-learn 1.2's LinearSVC to 1e-6 on a 3-class case).
 */

import { choleskySolve } from "./linalg.ts";

export interface LinearSvmModel {
  /** One row per classifier (k rows, or 1 for two classes): p weights then the intercept. */
  coef: Float64Array[];
  classes: number[];
  numFeatures: number;
}

export interface LinearSvmOptions {
  C?: number;
  classWeight?: "balanced" | null;
  maxIter?: number;
  tol?: number;
}

function fitBinary(
  X: ArrayLike<number>,
  n: number,
  p: number,
  t: Int8Array,
  s: Float64Array,
  C: number,
  maxIter: number,
  tol: number,
): Float64Array {
  const m = p + 1;
  let w = new Float64Array(m);
  const xi = (i: number, j: number) => (j === p ? 1 : X[i * p + j]);
  const objective = (v: Float64Array): number => {
    let f = 0;
    for (let j = 0; j < m; j++) f += 0.5 * v[j] * v[j];
    for (let i = 0; i < n; i++) {
      let z = v[p];
      for (let j = 0; j < p; j++) z += v[j] * X[i * p + j];
      const h = 1 - t[i] * z;
      if (h > 0) f += C * s[i] * h * h;
    }
    return f;
  };
  let f = objective(w);
  for (let it = 0; it < maxIter; it++) {
    const g = Float64Array.from(w);
    const H = new Float64Array(m * m);
    for (let j = 0; j < m; j++) H[j * m + j] = 1;
    for (let i = 0; i < n; i++) {
      let z = w[p];
      for (let j = 0; j < p; j++) z += w[j] * X[i * p + j];
      const h = 1 - t[i] * z;
      if (h <= 0) continue;
      const cs = 2 * C * s[i];
      for (let a = 0; a < m; a++) {
        const xa = xi(i, a);
        g[a] -= cs * h * t[i] * xa;
        for (let b2 = 0; b2 <= a; b2++) H[a * m + b2] += cs * xa * xi(i, b2);
      }
    }
    for (let a = 0; a < m; a++) for (let b2 = 0; b2 < a; b2++) H[b2 * m + a] = H[a * m + b2];
    const gmax = g.reduce((mx, v) => Math.max(mx, Math.abs(v)), 0);
    if (gmax < tol) break;
    const d = choleskySolve(H, g, m);
    let slope = 0;
    for (let j = 0; j < m; j++) slope -= g[j] * d[j];
    let step = 1, accepted = false;
    for (let ls = 0; ls < 40; ls++) {
      const cand = new Float64Array(m);
      for (let j = 0; j < m; j++) cand[j] = w[j] - step * d[j];
      const fc = objective(cand);
      if (fc <= f + 1e-4 * step * slope) {
        const rel = (f - fc) / Math.max(Math.abs(f), 1e-300);
        w = cand;
        f = fc;
        accepted = true;
        if (rel < 1e-12) it = maxIter;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break;
  }
  return w;
}

export function linearSvmFit(
  X: ArrayLike<number>,
  n: number,
  p: number,
  y: ArrayLike<number>,
  opts: LinearSvmOptions = {},
): LinearSvmModel {
  const C = opts.C ?? 1;
  if (!(C > 0)) throw new Error(`linearSvmFit: C must be > 0, got ${C}`);
  if (X.length !== n * p) throw new Error(`linearSvmFit: X has length ${X.length}, expected n*p = ${n * p}`);
  if (y.length !== n) throw new Error(`linearSvmFit: y has length ${y.length}, expected n = ${n}`);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) counts.set(y[i], (counts.get(y[i]) ?? 0) + 1);
  const classes = [...counts.keys()].sort((a, b) => a - b);
  if (classes.length < 2) throw new Error(`linearSvmFit: needs at least 2 classes, got ${classes.length}`);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s[i] = opts.classWeight === "balanced" ? n / (classes.length * counts.get(y[i])!) : 1;
  }
  const targets = classes.length === 2 ? [classes[1]] : classes;
  const t = new Int8Array(n);
  const sc = new Float64Array(n);
  const coef = targets.map((c) => {
    for (let i = 0; i < n; i++) {
      t[i] = y[i] === c ? 1 : -1;
      // liblinear's one-vs-rest weights only the positive class; the "rest" keep cost C. With two classes each side
      // keeps its own weight.
      sc[i] = classes.length === 2 || t[i] === 1 ? s[i] : 1;
    }
    return fitBinary(X, n, p, t, sc, C, opts.maxIter ?? 100, opts.tol ?? 1e-6);
  });
  return { coef, classes, numFeatures: p };
}

export function linearSvmPredict(model: LinearSvmModel, X: ArrayLike<number>, n: number): Float64Array {
  const p = model.numFeatures;
  if (X.length !== n * p) throw new Error(`linearSvmPredict: X has length ${X.length}, expected ${n * p}`);
  const out = new Float64Array(n);
  const score = (w: Float64Array, i: number) => {
    let z = w[p];
    for (let j = 0; j < p; j++) z += w[j] * X[i * p + j];
    return z;
  };
  for (let i = 0; i < n; i++) {
    if (model.coef.length === 1) {
      out[i] = score(model.coef[0], i) > 0 ? model.classes[1] : model.classes[0];
    } else {
      let best = 0, bestScore = -Infinity;
      model.coef.forEach((w, c) => {
        const z = score(w, i);
        if (z > bestScore) {
          bestScore = z;
          best = c;
        }
      });
      out[i] = model.classes[best];
    }
  }
  return out;
}
