import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import {
  bernoulliReconstruction,
  gaussianKl,
  gaussianKlPerDim,
  permuteDims,
  tcDiscriminatorLoss,
  totalCorrelation,
} from "../lib/losses/vae.ts";
import { Rng } from "../lib/rng.ts";
import { disposeVaeParams, initVaeParams, tcdForward } from "../lib/models/vae.ts";

await initBackend({ backend: "cpu", quiet: true });

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} != ${b}`);
const scalar = (t: tf.Tensor) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};

Deno.test("vae losses: KL to N(0,1) equals its closed form on a hand-made posterior", () => {
  // Row 0: mean (1, 0), var (1, 4); row 1: mean (0, -2), var (0.5, 1).
  const mean = tf.tensor2d([[1, 0], [0, -2]]);
  const logvar = tf.tensor2d([[0, Math.log(4)], [Math.log(0.5), 0]]);
  const kl = (m: number, v: number) => 0.5 * (m * m + v - Math.log(v) - 1);
  const perDim = [(kl(1, 1) + kl(0, 0.5)) / 2, (kl(0, 4) + kl(-2, 1)) / 2];
  const got = gaussianKlPerDim(mean, logvar);
  assert.equal(got.shape[0], 2);
  got.dataSync().forEach((v, j) => close(v, perDim[j]));
  got.dispose();
  close(scalar(gaussianKl(mean, logvar)), perDim[0] + perDim[1]);
  // A posterior equal to the prior has no KL.
  close(scalar(gaussianKl(tf.zeros([3, 2]), tf.zeros([3, 2]))), 0);
  tf.dispose([mean, logvar]);
});

Deno.test("vae losses: Bernoulli reconstruction sums sigmoid cross-entropy over pixels and averages over the batch", () => {
  const logits = tf.tensor4d([0, 2, -1, 3], [2, 1, 2, 1]);
  const images = tf.tensor4d([1, 0, 0.5, 1], [2, 1, 2, 1]);
  const ce = (x: number, t: number) => Math.log(1 + Math.exp(x)) - x * t;
  const want = ((ce(0, 1) + ce(2, 0)) + (ce(-1, 0.5) + ce(3, 1))) / 2;
  close(scalar(bernoulliReconstruction(logits, images)), want);
  // Large logits stay finite (the naive log(sigmoid) form gives -Infinity here).
  const big = bernoulliReconstruction(tf.tensor4d([100, -100], [1, 1, 2, 1]), tf.tensor4d([1, 0], [1, 1, 2, 1]));
  close(scalar(big), 0);
  assert.throws(() => bernoulliReconstruction(logits, tf.zeros([2, 1, 3, 1])), /differ in size/);
  tf.dispose([logits, images]);
});

Deno.test("vae losses: TC estimate and TC discriminator loss equal their closed forms", () => {
  const onZ = tf.tensor2d([[2, 0], [1, 3]]);
  const onPerm = tf.tensor2d([[0, 1], [0.5, -0.5]]);
  close(scalar(totalCorrelation(onZ)), ((2 - 0) + (1 - 3)) / 2);
  const logp = (l: number[], k: number) => l[k] - Math.log(Math.exp(l[0]) + Math.exp(l[1]));
  const want = -0.5 * (logp([2, 0], 0) + logp([1, 3], 0)) / 2 - 0.5 * (logp([0, 1], 1) + logp([0.5, -0.5], 1)) / 2;
  close(scalar(tcDiscriminatorLoss(onZ, onPerm)), want);
  // A discriminator that cannot tell the two apart (equal logits) has loss ln 2.
  close(scalar(tcDiscriminatorLoss(tf.zeros([4, 2]), tf.zeros([4, 2]))), Math.LN2);
  tf.dispose([onZ, onPerm]);
});

Deno.test("vae losses: permuteDims keeps each dimension's values, shuffles each dim independently, is seeded", () => {
  const n = 50, d = 4;
  const vals = Float32Array.from({ length: n * d }, (_, k) => k); // row i, dim j = i*d + j: all distinct
  const z = tf.tensor2d(vals, [n, d]);
  const p = permuteDims(z, new Rng(9));
  const got = p.arraySync();
  for (let j = 0; j < d; j++) {
    const col = got.map((r) => r[j]).sort((a, b) => a - b);
    assert.deepEqual(col, Array.from({ length: n }, (_, i) => i * d + j), `dim ${j} lost or duplicated values`);
  }
  // Each dim is moved, and the dims are not moved together: rows of the result are mostly not rows of z.
  const sourceRow = got.map((r) => r.map((v, j) => (v - j) / d));
  for (let j = 0; j < d; j++) assert.ok(sourceRow.some((r, i) => r[j] !== i), `dim ${j} was not shuffled`);
  const intact = sourceRow.filter((r) => r.every((s) => s === r[0])).length;
  assert.ok(intact < n / 5, `${intact} of ${n} rows kept together: dims not permuted independently`);
  // Same seed, same permutation; different seed, different one.
  assert.deepEqual(permuteDims(z, new Rng(9)).arraySync(), got);
  assert.notDeepEqual(permuteDims(z, new Rng(10)).arraySync(), got);
  tf.dispose([z, p]);
});

Deno.test("vae losses: a TC discriminator trained on its loss detects correlated latents (TC > 0) and not independent ones", () => {
  const spec = { imageShape: [16, 16, 1] as [number, number, number], latentDim: 3, arch: {} as never };
  const rng = new Rng(21);
  const trainAndEstimate = (correlated: boolean): number => {
    // Only the TC-D group is used; the encoder/decoder shapes are irrelevant here.
    const params = initVaeParams({
      ...spec,
      arch: { encoderChannels: [1, 1, 1, 1], encoderHidden: 1, decoderHidden: 1, decoderChannels: [1, 1, 1, 1] },
      tcd: { hidden: 32, layers: 2 },
    }, rng);
    const opt = tf.train.adam(3e-3, 0.5, 0.9);
    const sample = () => {
      const n = 128, a = rng.normalArray(n * 3);
      // Correlated: dim 1 copies dim 0 (plus a little noise), so q(z) is far from the product of its marginals.
      if (correlated) { for (let i = 0; i < n; i++) a[i * 3 + 1] = a[i * 3] + 0.1 * a[i * 3 + 1]; }
      return tf.tensor2d(a, [n, 3]);
    };
    for (let s = 0; s < 150; s++) {
      const z = sample();
      opt.minimize(() => tcDiscriminatorLoss(tcdForward(params.tcd, z), tcdForward(params.tcd, permuteDims(z, rng))));
      z.dispose();
    }
    const z = sample();
    const tc = scalar(totalCorrelation(tcdForward(params.tcd, z)));
    z.dispose();
    opt.dispose();
    disposeVaeParams(params);
    return tc;
  };
  const tcCorrelated = trainAndEstimate(true), tcIndependent = trainAndEstimate(false);
  assert.ok(tcCorrelated > 0.5, `TC estimate on correlated z: ${tcCorrelated}`);
  assert.ok(Math.abs(tcIndependent) < 0.3, `TC estimate on independent z: ${tcIndependent}`);
});
