/**
 * Spectral normalisation against [IGCR `sn.py`]: the gradient of W / sigma(W) flows through the power iteration (u and
 * v are functions of W there), checked against central finite differences of the whole computation in float64.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { Rng } from "../lib/rng.ts";
import { spectralNormalize } from "../lib/models/layers.ts";

await initBackend({ backend: "cpu", quiet: true });

/** W / sigma(W) of `sn.py` in float64: v = norm(u W^T), u' = norm(v W), sigma = v W u'^T; W is rows x cols. */
function normalizedF64(w: Float64Array, rows: number, cols: number, u: Float64Array): Float64Array {
  const v = new Float64Array(rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) v[r] += u[c] * w[r * cols + c];
  const nv = Math.hypot(...v) + 1e-12;
  for (let r = 0; r < rows; r++) v[r] /= nv;
  const u2 = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) u2[c] += v[r] * w[r * cols + c];
  const nu = Math.hypot(...u2) + 1e-12;
  for (let c = 0; c < cols; c++) u2[c] /= nu;
  let sigma = 0;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) sigma += v[r] * w[r * cols + c] * u2[c];
  return w.map((x) => x / sigma);
}

/** The test loss: a fixed linear functional of the normalised weight. */
function lossF64(w: Float64Array, rows: number, cols: number, u: Float64Array, coef: Float64Array): number {
  return normalizedF64(w, rows, cols, u).reduce((s, x, i) => s + x * coef[i], 0);
}

function gradient(kshape: number[], w: Float32Array, u: Float32Array, coef: Float32Array, stop: boolean): Float32Array {
  return tf.tidy(() => {
    const ut = tf.tensor2d(u, [1, kshape.at(-1)!]);
    const ct = tf.tensor(coef, kshape);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(spectralNormalize(x, ut, stop), ct)))(tf.tensor(w, kshape));
    return g.dataSync() as Float32Array;
  });
}

Deno.test("spectral norm: the gradient through the power iteration matches finite differences of sn.py's computation", () => {
  const rng = new Rng(11);
  // A conv kernel [kh, kw, in, out] (reshaped to (-1, out) = 12 x 4) and a dense one; u far from converged, as after
  // initialisation, where the power iteration's own gradient matters most.
  for (const kshape of [[2, 2, 3, 4], [6, 5]]) {
    const cols = kshape.at(-1)!, rows = kshape.reduce((a, b) => a * b, 1) / cols;
    const w = rng.normalArray(rows * cols, 0.3), u = rng.normalArray(cols), coef = rng.normalArray(rows * cols);
    const w64 = Float64Array.from(w), u64 = Float64Array.from(u), c64 = Float64Array.from(coef);
    const h = 1e-6;
    const fd = w64.map((_, i) => {
      const plus = w64.slice(), minus = w64.slice();
      plus[i] += h;
      minus[i] -= h;
      return (lossF64(plus, rows, cols, u64, c64) - lossF64(minus, rows, cols, u64, c64)) / (2 * h);
    });
    const scale = Math.max(...fd.map(Math.abs));
    const err = (g: Float32Array) => Math.max(...g.map((x, i) => Math.abs(x - fd[i]))) / scale;
    const full = err(gradient(kshape, w, u, coef, false));
    const stopped = err(gradient(kshape, w, u, coef, true));
    assert.ok(full < 1e-3, `[${kshape}]: max relative error of the gradient ${full}`);
    // The stop-gradient variant differentiates a different function: far off here (0.1-1 of the gradient's scale).
    assert.ok(stopped > 0.05, `[${kshape}]: the stop-gradient variant should differ, error ${stopped}`);
  }
});

Deno.test("spectral norm: the forward value is the same with and without the stop-gradient variant", () => {
  const rng = new Rng(12);
  const w = tf.tensor(rng.normalArray(48, 0.3), [2, 2, 3, 4]), u = tf.tensor2d(rng.normalArray(4), [1, 4]);
  const a = spectralNormalize(w, u, false), b = spectralNormalize(w, u, true);
  assert.deepEqual(a.dataSync(), b.dataSync());
  const w64 = Float64Array.from(w.dataSync()), ref = normalizedF64(w64, 12, 4, Float64Array.from(u.dataSync()));
  const got = a.dataSync();
  assert.ok(ref.every((x, i) => Math.abs(x - got[i]) < 1e-5 * (1 + Math.abs(x))));
  tf.dispose([w, u, a, b]);
});
