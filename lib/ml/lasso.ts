/**
 * Lasso regression by cyclic coordinate descent, with the objective of scikit-learn's `Lasso`:
 *
 *   minimise over (w, b):  (1 / (2n)) * ||y - X w - b||^2 + alpha * ||w||_1
 *
 * The intercept is not penalised: X and y are centred, the penalised problem is solved on the centred data, and
 * b = mean(y) - mean(X) . w. Each coordinate update is the closed form
 *
 *   w_j <- S(x_j . r_j / n, alpha) / (x_j . x_j / n),   S(z, a) = sign(z) * max(|z| - a, 0)
 *
 * where r_j is the residual without feature j. Convergence is checked as scikit-learn does: once the largest coordinate
 * step is small relative to the largest coefficient, the duality gap must also be below tol * ||y||^2 (in the n-scaled
 * objective), or the sweeps go on up to maxIter.
 */

export interface LassoFit {
  coef: Float64Array;
  intercept: number;
}

export function lassoFit(
  X: Float64Array,
  n: number,
  p: number,
  y: Float64Array,
  alpha: number,
  opts: { maxIter?: number; tol?: number } = {},
): LassoFit {
  const maxIter = opts.maxIter ?? 1000;
  const tol = opts.tol ?? 1e-4;
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(p) || p < 1) {
    throw new Error(`lassoFit: n and p must be positive integers, got n=${n}, p=${p}`);
  }
  if (X.length !== n * p) throw new Error(`lassoFit: X has length ${X.length}, expected n*p = ${n * p}`);
  if (y.length !== n) throw new Error(`lassoFit: y has length ${y.length}, expected n = ${n}`);
  if (!(alpha >= 0)) throw new Error(`lassoFit: alpha must be >= 0, got ${alpha}`);

  // Centre (column-major copy for cache-friendly coordinate sweeps).
  const xMean = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) xMean[j] += X[i * p + j];
  for (let j = 0; j < p; j++) xMean[j] /= n;
  let yMean = 0;
  for (let i = 0; i < n; i++) yMean += y[i];
  yMean /= n;
  const cols: Float64Array[] = [];
  const colSq = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const c = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      c[i] = X[i * p + j] - xMean[j];
      colSq[j] += c[i] * c[i];
    }
    cols.push(c);
  }
  const yc = new Float64Array(n);
  let yy = 0;
  for (let i = 0; i < n; i++) {
    yc[i] = y[i] - yMean;
    yy += yc[i] * yc[i];
  }

  // Work in scikit-learn's n-scaled form: 0.5 ||r||^2 + (alpha n) ||w||_1.
  const l1 = alpha * n;
  const w = new Float64Array(p);
  const r = Float64Array.from(yc);
  const tolScaled = tol * yy;
  for (let iter = 0; iter < maxIter; iter++) {
    let maxStep = 0, maxW = 0;
    for (let j = 0; j < p; j++) {
      if (colSq[j] === 0) continue;
      const c = cols[j];
      const old = w[j];
      let rho = 0;
      for (let i = 0; i < n; i++) rho += c[i] * r[i];
      rho += old * colSq[j];
      const next = Math.sign(rho) * Math.max(Math.abs(rho) - l1, 0) / colSq[j];
      if (next !== old) {
        const d = next - old;
        for (let i = 0; i < n; i++) r[i] -= d * c[i];
        w[j] = next;
      }
      maxStep = Math.max(maxStep, Math.abs(next - old));
      maxW = Math.max(maxW, Math.abs(next));
    }
    if (maxW === 0 || maxStep / maxW < tol || iter === maxIter - 1) {
      if (dualityGap(cols, r, yc, w, l1) <= tolScaled) break;
    }
  }
  let intercept = yMean;
  for (let j = 0; j < p; j++) intercept -= xMean[j] * w[j];
  return { coef: w, intercept };
}

/** Duality gap of 0.5||r||^2 + l1 ||w||_1 at residual r, with the dual point r scaled into the feasible set. */
function dualityGap(cols: Float64Array[], r: Float64Array, y: Float64Array, w: Float64Array, l1: number): number {
  let dualNorm = 0;
  for (const c of cols) {
    let s = 0;
    for (let i = 0; i < r.length; i++) s += c[i] * r[i];
    dualNorm = Math.max(dualNorm, Math.abs(s));
  }
  let rr = 0, ry = 0, wl1 = 0;
  for (let i = 0; i < r.length; i++) {
    rr += r[i] * r[i];
    ry += r[i] * y[i];
  }
  for (const v of w) wl1 += Math.abs(v);
  const scale = dualNorm > l1 ? l1 / dualNorm : 1;
  return 0.5 * rr * (1 + scale * scale) + l1 * wl1 - scale * ry;
}
