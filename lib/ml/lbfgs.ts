/**
 * Limited-memory BFGS with a backtracking (Armijo) line search, for the smooth convex objectives of the classifiers here.
 */

export interface LbfgsOptions {
  maxIter?: number;
  /** Stop when the largest absolute gradient entry falls below this (scikit-learn's lbfgs `pgtol`). */
  gtol?: number;
  /** Number of correction pairs kept. */
  memory?: number;
  /** Stop when f decreases by less than this relative amount in one step (scikit-learn: factr 1e7 * eps = 2.2e-9). */
  ftol?: number;
}

/** Minimises f starting from x0 (not modified). `fg` returns f(x) and writes the gradient into g. */
export function lbfgsMinimize(
  fg: (x: Float64Array, g: Float64Array) => number,
  x0: Float64Array,
  opts: LbfgsOptions = {},
): { x: Float64Array; f: number; iterations: number; converged: boolean } {
  const maxIter = opts.maxIter ?? 100;
  const gtol = opts.gtol ?? 1e-4;
  const m = opts.memory ?? 10;
  const ftol = opts.ftol ?? 2.2e-9;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fg(x, g);
  const S: Float64Array[] = [], Y: Float64Array[] = [], rho: number[] = [];
  const dir = new Float64Array(n);
  const alphas = new Float64Array(m);
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i] * b[i];
    return s;
  };
  const maxAbs = (a: Float64Array) => a.reduce((mx, v) => Math.max(mx, Math.abs(v)), 0);
  let iter = 0;
  for (; iter < maxIter; iter++) {
    if (maxAbs(g) < gtol) return { x, f, iterations: iter, converged: true };
    // Two-loop recursion: dir = -H g.
    for (let i = 0; i < n; i++) dir[i] = -g[i];
    for (let k = S.length - 1; k >= 0; k--) {
      alphas[k] = rho[k] * dot(S[k], dir);
      for (let i = 0; i < n; i++) dir[i] -= alphas[k] * Y[k][i];
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last], Y[last]) / dot(Y[last], Y[last]);
      for (let i = 0; i < n; i++) dir[i] *= gamma;
    } else {
      // First step: a unit-length move along -g.
      const gn = Math.sqrt(dot(g, g));
      for (let i = 0; i < n; i++) dir[i] /= Math.max(gn, 1);
    }
    for (let k = 0; k < S.length; k++) {
      const beta = rho[k] * dot(Y[k], dir);
      for (let i = 0; i < n; i++) dir[i] += (alphas[k] - beta) * S[k][i];
    }
    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let i = 0; i < n; i++) dir[i] = -g[i];
      slope = dot(g, dir);
    }
    let step = 1;
    const xNew = new Float64Array(n);
    const gNew = new Float64Array(n);
    let fNew = f;
    let accepted = false;
    for (let ls = 0; ls < 40; ls++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * dir[i];
      fNew = fg(xNew, gNew);
      if (fNew <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) return { x, f, iterations: iter, converged: false };
    const s = new Float64Array(n), y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    const rel = Math.abs(f - fNew) / Math.max(Math.abs(f), Math.abs(fNew), 1);
    x = xNew;
    g = gNew;
    f = fNew;
    if (rel < ftol) return { x, f, iterations: iter + 1, converged: true };
  }
  return { x, f, iterations: iter, converged: maxAbs(g) < gtol };
}
