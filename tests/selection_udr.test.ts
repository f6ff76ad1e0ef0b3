import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../lib/rng.ts";
import { activeFromKl, relativeStrength, udr, udrFromRepresentations, zScoreColumns } from "../lib/selection/udr.ts";
import { lassoFit } from "../lib/ml/lasso.ts";
import { identity, linearModel, matMul, rotation } from "./selection_helpers.ts";

await tf.setBackend("cpu");

const N = 1000;

/** n × k independent uniform factors. */
function factors(n: number, k: number, rng: Rng): Float32Array {
  return rng.uniformArray(n * k, -1, 1);
}

/**
 * A full factorial design: every combination of `levels` values of k factors (n = levels^k). Its columns are exactly
 * uncorrelated in the sample (Pearson and Spearman), so "identical models" have an exactly diagonal similarity matrix.
 */
function factorial(levels: number, k: number): { f: Float32Array; n: number } {
  const n = levels ** k;
  const f = new Float32Array(n * k);
  for (let r = 0; r < n; r++) {
    let idx = r;
    for (let q = 0; q < k; q++) {
      f[r * k + q] = -1 + (2 * (idx % levels)) / (levels - 1);
      idx = Math.floor(idx / levels);
    }
  }
  return { f, n };
}

/** rep = factors · Mᵀ + noise (row-major n × M.length). */
function linearRep(f: Float32Array, n: number, M: number[][], noise: number, rng: Rng): Float32Array {
  const k = M[0].length, d = M.length;
  const out = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    for (let p = 0; p < d; p++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += M[p][q] * f[r * k + q];
      out[r * d + p] = s + noise * rng.normal();
    }
  }
  return out;
}

/** A k×k permutation (reversal) with sign flips and scales: a representation just as disentangled as the factors. */
function permScaleSign(k: number): number[][] {
  return Array.from(
    { length: k },
    (_, i) => Array.from({ length: k }, (_, j) => (j === k - 1 - i ? (i % 2 ? -3 : 0.5) : 0)),
  );
}

Deno.test("udr: relative strength of hand-made matrices", () => {
  assert.equal(relativeStrength([[0, 1, 0], [0, 0, 1], [1, 0, 0]]), 1);
  assert.ok(Math.abs(relativeStrength([[1, 1], [1, 1]]) - 0.5) < 1e-12);
  // [[1, 0], [1, 0]]: columns: (1²/2 + 0) / 2 = 0.25 (an all-zero column counts 0); rows: (1 + 1) / 2 = 1 → 0.625.
  assert.ok(Math.abs(relativeStrength([[1, 0], [1, 0]]) - 0.625) < 1e-12);
  // [[0.9, 0.1], [0.2, 0.6]]: cols 0.81/1.1, 0.36/0.7; rows 0.81/1.0, 0.36/0.8.
  const want = 0.5 * ((0.81 / 1.1 + 0.36 / 0.7) / 2 + (0.81 / 1.0 + 0.36 / 0.8) / 2);
  assert.ok(Math.abs(relativeStrength([[0.9, 0.1], [0.2, 0.6]]) - want) < 1e-12);
  // Masking keeps only the active rows/columns; nothing active scores 0.
  assert.equal(relativeStrength([[1, 0.5], [0.5, 1]], [0], [0]), 1);
  assert.equal(relativeStrength([[1]], [], [0]), 0);
});

Deno.test("udr: identical (and permuted/sign-flipped/rescaled) models score 1 under Spearman, 1 - alpha under Lasso", () => {
  const rng = new Rng(1);
  const { f, n } = factorial(6, 4);
  const a = linearRep(f, n, identity(4), 0, rng);
  const b = linearRep(f, n, permScaleSign(4), 0, rng);
  const sp = udrFromRepresentations([a, a, b], n, [4, 4, 4], { method: "spearman" });
  for (const s of sp.scores) assert.ok(Math.abs(s - 1) < 1e-9, `spearman ${s}`);
  assert.ok(sp.matrix.every((row, i) => Number.isNaN(row[i])), "the diagonal is never computed");
  // Lasso shrinks a matched coefficient of z-scored data from 1 to 1 - alpha, and relative strength is not scale-free.
  const la = udrFromRepresentations([a, a, b], n, [4, 4, 4], { method: "lasso" });
  for (const s of la.scores) assert.ok(Math.abs(s - 0.9) < 1e-6, `lasso ${s}`);
  const la5 = udrFromRepresentations([a, b], n, [4, 4], { method: "lasso", alpha: 0.05 });
  for (const s of la5.scores) assert.ok(Math.abs(s - 0.95) < 1e-6, `lasso alpha 0.05: ${s}`);
  // On random (not factorial) samples chance correlations of about 1/sqrt(n) pull Spearman's identical-model score below 1.
  const g = factors(N, 4, rng);
  const noisy = udrFromRepresentations(
    [linearRep(g, N, identity(4), 0, rng), linearRep(g, N, identity(4), 0, rng)],
    N,
    [
      4,
      4,
    ],
    { method: "spearman" },
  );
  assert.ok(noisy.scores[0] > 0.9 && noisy.scores[0] < 1, `random-sample identical ${noisy.scores[0]}`);
});

Deno.test("udr: a model with scrambled (mixed) codes ranks last, under both Lasso and Spearman", () => {
  const rng = new Rng(2);
  const f = factors(N, 2, rng);
  const reps = [
    linearRep(f, N, identity(2), 0.05, rng),
    linearRep(f, N, [[0, 2], [-1, 0]], 0.05, rng),
    linearRep(f, N, rotation(5), 0.05, rng),
    linearRep(f, N, [[-1, 0], [0, 0.3]], 0.05, rng),
    linearRep(f, N, rotation(45), 0.05, rng), // scrambled
  ];
  for (const method of ["lasso", "spearman"] as const) {
    const r = udrFromRepresentations(reps, N, [2, 2, 2, 2, 2], { method });
    assert.equal(r.order[4], 4, `${method}: order ${r.order}`);
    assert.ok(r.scores[4] < Math.min(...r.scores.slice(0, 4)) - 0.1, `${method}: ${r.scores}`);
  }
});

Deno.test("udr: inactive (low-KL) dims are masked out; model score is the median over partners as the regressed side", () => {
  const rng = new Rng(3);
  const { f } = factorial(10, 3); // N = 1000 rows below
  const clean = linearRep(f, N, identity(3), 0, rng);
  // Same codes plus a 4th dim of pure noise, as a collapsed VAE latent would give.
  const withDead = new Float32Array(N * 4);
  for (let r = 0; r < N; r++) {
    for (let k = 0; k < 3; k++) withDead[r * 4 + k] = clean[r * 3 + k];
    withDead[r * 4 + 3] = rng.normal();
  }
  const masked = udrFromRepresentations([clean, withDead], N, [3, 4], {
    method: "spearman",
    activeDims: [null, activeFromKl([1.2, 0.8, 0.5, 0.001])],
  });
  const unmasked = udrFromRepresentations([clean, withDead], N, [3, 4], { method: "spearman" });
  assert.ok(Math.abs(masked.scores[1] - 1) < 1e-9, `masked ${masked.scores[1]}`);
  assert.ok(unmasked.scores[1] < masked.scores[1] - 0.05, `unmasked ${unmasked.scores[1]}`);
  assert.deepEqual(activeFromKl([0.02, 0.01, 0]), [true, false, false]);
  assert.throws(
    () => udrFromRepresentations([clean, clean], N, [3, 3], { method: "lasso", activeDims: [[true], null] }),
    /activeDims\[0\] has 1 entries for 3 dims/,
  );
  // Median over partners, reading column b (b regressed on a), as [DL] does.
  const reps = [0, 10, 20, 44].map((d) => linearRep(f, N, [...rotation(d).map((r) => [...r, 0]), [0, 0, 1]], 0, rng));
  const r = udrFromRepresentations(reps, N, [3, 3, 3, 3], { method: "lasso" });
  for (let b = 0; b < 4; b++) {
    const col = [0, 1, 2, 3].filter((a) => a !== b).map((a) => r.matrix[a][b]).sort((x, y) => x - y);
    assert.equal(r.scores[b], col[1]);
  }
});

Deno.test("udr: the tensor entry point encodes the same images with every model and subsamples with the rng", async () => {
  const rng = new Rng(4);
  const { f, n } = factorial(30, 2);
  const images = tf.tensor4d(f, [n, 1, 2, 1]);
  const noise = { noise: 2, noiseScale: 0 };
  const models = [
    linearModel("id", identity(2), identity(2), noise),
    linearModel("swap", identity(2), [[0, 1], [1, 0]], noise),
    linearModel("scale", identity(2), [[3, 0], [0, -1]], noise),
    linearModel("mixed", identity(2), matMul(rotation(45), identity(2)), noise),
  ];
  const before = tf.memory().numTensors;
  const r = await udr(models, images, new Rng(0), { method: "spearman", samples: 400, chunk: 64 });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(r.samples, 400);
  assert.equal(r.order[3], 3);
  for (const s of r.scores.slice(0, 3)) assert.ok(s > 0.85, `score ${s}`);
  assert.ok(r.scores[3] < Math.min(...r.scores.slice(0, 3)) - 0.2, `scores ${r.scores}`);
  // Without subsampling the factorial design is exactly uncorrelated: the three equivalent encoders score exactly 1.
  const all = await udr(models, images, new Rng(0), { method: "spearman" });
  for (const s of all.scores.slice(0, 3)) assert.ok(Math.abs(s - 1) < 1e-9, `score ${s}`);
  const again = await udr(models, images, new Rng(0), { method: "spearman", samples: 400 });
  assert.deepEqual(again.scores, r.scores);
  await assert.rejects(() => udr(models.slice(0, 1), images, rng, { method: "lasso" }), /at least 2 models/);
  images.dispose();
});

Deno.test("udr: z-scoring and the Lasso meet their definitions", () => {
  const z = zScoreColumns(new Float32Array([1, 5, 3, 5, 5, 5]), 3, 2);
  assert.deepEqual(Array.from(z).map((v) => Math.round(v * 1e6) / 1e6), [-1.224745, 0, 0, 0, 1.224745, 0]);
  // With orthonormal (z-scored, uncorrelated) columns the Lasso solution is the soft-thresholded X'y/n.
  const n = 4;
  const X = new Float64Array([1, 1, -1, 1, 1, -1, -1, -1]); // columns are ±1, orthogonal, mean 0
  const y = new Float64Array([2, 0.5, 1, -1.5]); // X'y/n = [1, 0.75]
  const { coef, intercept } = lassoFit(X, n, 2, y, 0.1);
  assert.ok(Math.abs(coef[0] - 0.9) < 1e-9 && Math.abs(coef[1] - 0.65) < 1e-9, `coef ${coef}`);
  assert.ok(Math.abs(intercept - 0.5) < 1e-9);
  assert.deepEqual(Array.from(lassoFit(X, n, 2, y, 1).coef), [0, 0]);
});
