/**
 * Logistic regression with an L2 penalty, in the two forms scikit-learn's `LogisticRegression()` has had as its default:
 *
 * - `multinomial` (scikit-learn >= 0.22: solver lbfgs, C = 1, intercept not penalised, up to 100 iterations):
 *     minimise over (W, b):  0.5 * ||W||_F^2 + C * sum_i -ln softmax(W x_i + b)[y_i]
 *   solved with L-BFGS (lbfgs.ts). With two classes scikit-learn's default (multi_class "auto") fits a single binary
 *   model instead, which is the same problem with class 0's row of W and b held at 0; so is this one.
 * - `ovr` (scikit-learn <= 0.21: solver liblinear, one-vs-rest, the intercept fitted as a constant feature of value 1
 *   and therefore penalised): per class c, with t_i = +1 for rows of class c and -1 otherwise,
 *     minimise over w~ = (w, b):  0.5 * ||w~||^2 + C * sum_i ln(1 + exp(-t_i w~ . (x_i, 1)))
 *   solved by Newton's method (the problem is small and smooth); probabilities are the per-class sigmoids normalised to
 *   sum 1, and with two classes one classifier is fitted, the larger label positive (scikit-learn's conventions).
 *
 * The InfoGAN-CR code ran on Python 2.7, whose scikit-learn (<= 0.20) had the `ovr` default, so that is what its
 * BetaVAE and explicitness numbers used; the metrics' protocols choose the form.
 */
import { lbfgsMinimize } from "./lbfgs.ts";
import { choleskySolve } from "./linalg.ts";

export interface LogisticModel {
  multiClass: "multinomial" | "ovr";
  /** Weights, one row of p per class (ovr with two classes: a single row, for class 1), row-major. */
  W: Float64Array;
  /** Intercepts, one per row of W. */
  b: Float64Array;
  numClasses: number;
  numFeatures: number;
  iterations: number;
  converged: boolean;
}

export interface LogisticOptions {
  C?: number;
  maxIter?: number;
  gtol?: number;
  /** Relative objective decrease that ends the optimisation (default 2.2e-9 as scikit-learn). */
  ftol?: number;
  /** Number of classes; default max(y) + 1. */
  numClasses?: number;
  /** Default "multinomial". */
  multiClass?: "multinomial" | "ovr";
}

export function logisticFit(
  X: ArrayLike<number>,
  n: number,
  p: number,
  y: ArrayLike<number>,
  opts: LogisticOptions = {},
): LogisticModel {
  const C = opts.C ?? 1;
  if (!(C > 0)) throw new Error(`logisticFit: C must be > 0, got ${C}`);
  if (X.length !== n * p) throw new Error(`logisticFit: X has length ${X.length}, expected n*p = ${n * p}`);
  if (y.length !== n) throw new Error(`logisticFit: y has length ${y.length}, expected n = ${n}`);
  let k = opts.numClasses ?? 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(y[i]) || y[i] < 0) throw new Error(`logisticFit: y[${i}] = ${y[i]} is not a class id`);
    if (opts.numClasses === undefined) k = Math.max(k, y[i] + 1);
    else if (y[i] >= k) throw new Error(`logisticFit: y[${i}] = ${y[i]} >= numClasses ${k}`);
  }
  if (k < 2) throw new Error(`logisticFit: needs at least 2 classes, got ${k}`);
  const Xf = Float64Array.from(X);
  if (opts.multiClass === "ovr") return fitOvr(Xf, n, p, y, k, C, opts.maxIter ?? 100, opts.gtol ?? 1e-8);
  const stride = p + 1; // per class: p weights then the intercept
  const logits = new Float64Array(k);
  const fg = (theta: Float64Array, g: Float64Array): number => {
    g.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const row = i * p;
      let mx = -Infinity;
      for (let c = 0; c < k; c++) {
        let z = theta[c * stride + p];
        for (let j = 0; j < p; j++) z += theta[c * stride + j] * Xf[row + j];
        logits[c] = z;
        if (z > mx) mx = z;
      }
      let se = 0;
      for (let c = 0; c < k; c++) {
        logits[c] = Math.exp(logits[c] - mx);
        se += logits[c];
      }
      const yi = y[i];
      loss += Math.log(se) - Math.log(logits[yi]);
      for (let c = 0; c < k; c++) {
        const d = C * (logits[c] / se - (c === yi ? 1 : 0));
        if (d === 0) continue;
        for (let j = 0; j < p; j++) g[c * stride + j] += d * Xf[row + j];
        g[c * stride + p] += d;
      }
    }
    // Two classes: scikit-learn's default (multi_class "auto") fits one binary model, i.e. class 0's row held at 0.
    if (k === 2) g.fill(0, 0, stride);
    let pen = 0;
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < p; j++) {
        const w = theta[c * stride + j];
        pen += w * w;
        g[c * stride + j] += w;
      }
    }
    return 0.5 * pen + C * loss;
  };
  const res = lbfgsMinimize(fg, new Float64Array(k * stride), {
    maxIter: opts.maxIter ?? 100,
    gtol: opts.gtol ?? 1e-4,
    ftol: opts.ftol,
  });
  const W = new Float64Array(k * p), b = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < p; j++) W[c * p + j] = res.x[c * stride + j];
    b[c] = res.x[c * stride + p];
  }
  return {
    multiClass: "multinomial",
    W,
    b,
    numClasses: k,
    numFeatures: p,
    iterations: res.iterations,
    converged: res.converged,
  };
}

/** One penalised-intercept binary logistic regression per class (liblinear's L2R_LR primal), by Newton's method. */
function fitOvr(
  X: Float64Array,
  n: number,
  p: number,
  y: ArrayLike<number>,
  k: number,
  C: number,
  maxIter: number,
  gtol: number,
): LogisticModel {
  const m = p + 1;
  // Rows with the constant intercept feature appended.
  const Xa = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) Xa[i * m + j] = X[i * p + j];
    Xa[i * m + p] = 1;
  }
  const targets = k === 2 ? [1] : Array.from({ length: k }, (_, c) => c);
  const W = new Float64Array(targets.length * p), b = new Float64Array(targets.length);
  let iterations = 0, converged = true;
  const softplus = (u: number) => (u > 0 ? u + Math.log1p(Math.exp(-u)) : Math.log1p(Math.exp(u)));
  /** 0.5 ||w||^2 + C sum ln(1 + exp(-t z)) at margins z. */
  const objective = (w: Float64Array, z: Float64Array, t: Int8Array): number => {
    let f = 0;
    for (let j = 0; j < m; j++) f += 0.5 * w[j] * w[j];
    let loss = 0;
    for (let i = 0; i < n; i++) loss += softplus(-t[i] * z[i]);
    return f + C * loss;
  };
  const t = new Int8Array(n);
  const z = new Float64Array(n), dz = new Float64Array(n), zc = new Float64Array(n);
  targets.forEach((c, row) => {
    for (let i = 0; i < n; i++) t[i] = y[i] === c ? 1 : -1;
    let w = new Float64Array(m);
    z.fill(0);
    let f = objective(w, z, t);
    let done = false;
    for (let it = 0; it < maxIter && !done; it++) {
      iterations++;
      const g = Float64Array.from(w);
      const H = new Float64Array(m * m);
      for (let j = 0; j < m; j++) H[j * m + j] = 1;
      for (let i = 0; i < n; i++) {
        const s = 1 / (1 + Math.exp(-z[i])); // P(t = +1)
        const r = C * (s - (t[i] === 1 ? 1 : 0));
        const h = C * s * (1 - s);
        const o = i * m;
        for (let a = 0; a < m; a++) {
          const xa = Xa[o + a];
          g[a] += r * xa;
          const hx = h * xa;
          for (let c2 = 0; c2 <= a; c2++) H[a * m + c2] += hx * Xa[o + c2];
        }
      }
      for (let a = 0; a < m; a++) for (let c2 = 0; c2 < a; c2++) H[c2 * m + a] = H[a * m + c2];
      if (g.reduce((mx, v) => Math.max(mx, Math.abs(v)), 0) < gtol) break;
      const d = choleskySolve(H, g, m);
      let slope = 0;
      for (let j = 0; j < m; j++) slope -= g[j] * d[j];
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < m; j++) s += Xa[i * m + j] * d[j];
        dz[i] = s;
      }
      let step = 1, accepted = false;
      for (let ls = 0; ls < 40; ls++) {
        const cand = new Float64Array(m);
        for (let j = 0; j < m; j++) cand[j] = w[j] - step * d[j];
        for (let i = 0; i < n; i++) zc[i] = z[i] - step * dz[i];
        const fc = objective(cand, zc, t);
        if (fc <= f + 1e-4 * step * slope) {
          if (f - fc <= 1e-15 * Math.max(Math.abs(f), 1)) done = true;
          w = cand;
          z.set(zc);
          f = fc;
          accepted = true;
          break;
        }
        step *= 0.5;
      }
      if (!accepted) done = true;
      if (it === maxIter - 1 && !done) converged = false;
    }
    for (let j = 0; j < p; j++) W[row * p + j] = w[j];
    b[row] = w[p];
  });
  return { multiClass: "ovr", W, b, numClasses: k, numFeatures: p, iterations, converged };
}

/** Class probabilities (n x k, row-major). */
export function logisticPredictProba(model: LogisticModel, X: ArrayLike<number>, n: number): Float64Array {
  const { W, b, numClasses: k, numFeatures: p } = model;
  if (X.length !== n * p) throw new Error(`logisticPredictProba: X has length ${X.length}, expected ${n * p}`);
  const out = new Float64Array(n * k);
  if (model.multiClass === "ovr") {
    const rows = b.length;
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let r = 0; r < rows; r++) {
        let z = b[r];
        for (let j = 0; j < p; j++) z += W[r * p + j] * X[i * p + j];
        const s = 1 / (1 + Math.exp(-z));
        if (rows === 1) {
          out[i * k] = 1 - s;
          out[i * k + 1] = s;
        } else {
          out[i * k + r] = s;
          sum += s;
        }
      }
      if (rows > 1) { for (let c = 0; c < k; c++) out[i * k + c] /= sum; }
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    let mx = -Infinity;
    for (let c = 0; c < k; c++) {
      let z = b[c];
      for (let j = 0; j < p; j++) z += W[c * p + j] * X[i * p + j];
      out[i * k + c] = z;
      if (z > mx) mx = z;
    }
    let se = 0;
    for (let c = 0; c < k; c++) {
      out[i * k + c] = Math.exp(out[i * k + c] - mx);
      se += out[i * k + c];
    }
    for (let c = 0; c < k; c++) out[i * k + c] /= se;
  }
  return out;
}

/** Most probable class per row. */
export function logisticPredict(model: LogisticModel, X: ArrayLike<number>, n: number): Int32Array {
  const proba = logisticPredictProba(model, X, n);
  const k = model.numClasses;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (proba[i * k + c] > proba[i * k + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** Fraction of rows whose predicted class equals the label. */
export function accuracy(pred: ArrayLike<number>, y: ArrayLike<number>): number {
  if (pred.length !== y.length) throw new Error(`accuracy: ${pred.length} predictions for ${y.length} labels`);
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) ok++;
  return ok / y.length;
}
