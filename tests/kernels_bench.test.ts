/**
 * The speed benchmark's pieces: the tfjs replica of one InfoGAN-CR iteration (bench/iteration.ts) runs, is seeded,
 * leaks nothing; the torch peer's output line parses and its script is located next to the repository.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { benchIterationProcess, buildIteration } from "../bench/iteration.ts";
import { batchNormFused, batchNormOps } from "../bench/fused_batch_norm.ts";
import { parseTorchLine, TORCH_SCRIPT_NAME, torchScriptPath } from "../bench/torch.ts";

await initBackend({ backend: "wasm", quiet: true });

Deno.test("bench: one replica iteration gives finite, seed-determined losses and leaks no tensors", async () => {
  const before = tf.memory().numTensors;
  const run = async () => {
    const m = buildIteration(3);
    try {
      m.step();
      return await m.losses();
    } finally {
      m.dispose();
    }
  };
  const a = await run();
  assert.equal(tf.memory().numTensors, before, "tensors left after dispose");
  for (const v of Object.values(a)) assert.ok(Number.isFinite(v) && v > 0, `loss ${v}`);
  // Cross-entropy over 5 codes starts near ln 5 for an untrained H.
  assert.ok(Math.abs(a.h - Math.log(5)) < 0.5, `H loss ${a.h}`);
  const b = await run();
  assert.deepEqual(b, a, "same seed, same losses");
});

Deno.test("bench: the fused batch-norm kernels compute the ops' function and its gradients", () => {
  // A loss that uses all three outputs, so the gradient through the mean and variance outputs is checked too.
  const w = tf.randomNormal([6, 3, 2, 4], 0, 1, "float32", 7);
  const loss = (fn: typeof batchNormOps) => (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const r = fn(x, g, b, 1e-5);
    return tf.addN([tf.sum(tf.mul(r.y, w)), tf.sum(tf.mul(r.mean, 0.3)), tf.sum(tf.mul(tf.square(r.variance), 0.7))]);
  };
  const x = tf.randomNormal([6, 3, 2, 4], 2, 1.5, "float32", 8);
  const g = tf.randomNormal([4], 1, 0.3, "float32", 9), b = tf.randomNormal([4], 0, 0.3, "float32", 10);
  const near = (a: tf.Tensor, e: tf.Tensor, tol: number, what: string) => {
    const d = tf.max(tf.abs(tf.sub(a, e))).dataSync()[0], s = tf.max(tf.abs(e)).dataSync()[0];
    assert.ok(d <= tol * Math.max(1, s), `${what}: max difference ${d} (scale ${s})`);
  };
  const fo = batchNormOps(x, g, b, 1e-5), ff = batchNormFused(x, g, b, 1e-5);
  near(ff.y, fo.y, 1e-5, "y"), near(ff.mean, fo.mean, 1e-5, "mean"), near(ff.variance, fo.variance, 1e-5, "variance");
  const go = tf.grads(loss(batchNormOps))([x, g, b]), gf = tf.grads(loss(batchNormFused))([x, g, b]);
  ["dx", "dgamma", "dbeta"].forEach((n, i) => near(gf[i], go[i], 1e-4, n));
  // Central finite differences of the fused loss at a few entries of x (float64 arithmetic is not available, so the
  // step is large and the tolerance loose; a wrong formula is off by O(1)).
  const xs = x.arraySync() as number[][][][];
  const dx = gf[0].arraySync() as number[][][][];
  for (const [i, j, k, c] of [[0, 0, 0, 0], [3, 1, 1, 2], [5, 2, 0, 3]]) {
    const at = (h: number) => {
      const v = structuredClone(xs);
      v[i][j][k][c] += h;
      return loss(batchNormFused)(tf.tensor(v), g, b).dataSync()[0];
    };
    const fd = (at(1e-2) - at(-1e-2)) / 2e-2;
    assert.ok(
      Math.abs(fd - dx[i][j][k][c]) < 2e-2 * Math.max(1, Math.abs(fd)),
      `dx[${i},${j},${k},${c}] ${dx[i][j][k][c]} vs ${fd}`,
    );
  }
});

Deno.test("bench: the replica trains with the fused batch norm to the same losses as with ops", async () => {
  const run = async (fused: boolean) => {
    const m = buildIteration(3, fused ? { batchNorm: batchNormFused } : {});
    try {
      m.step();
      m.step();
      return await m.losses();
    } finally {
      m.dispose();
    }
  };
  const a = await run(false), b = await run(true);
  // Adam's normalised steps carry last-bit differences of the gradients into the weights: equal within 1%.
  for (const k of ["h", "d", "g"] as const) assert.ok(Math.abs(a[k] - b[k]) < 1e-2 * a[k], `${k}: ${a[k]} vs ${b[k]}`);
});

Deno.test("bench: torch output line parses; bad output is a clear error", () => {
  assert.deepEqual(parseTorchLine("torch 1.13.0a0 threads 2 ms/iteration 612.3 images/s 105\n"), {
    version: "1.13.0a0",
    threads: 2,
    ms: 612.3,
  });
  assert.throws(() => parseTorchLine("Traceback (most recent call last): ..."), /unexpected output/);
});

Deno.test("bench: the torch script is found at ../shared/bench, or where IGCR_TORCH_SCRIPT says", () => {
  const saved = Deno.env.get("IGCR_TORCH_SCRIPT");
  try {
    Deno.env.delete("IGCR_TORCH_SCRIPT");
    const repoParent = new URL("../../", import.meta.url).pathname;
    assert.equal(torchScriptPath(), `${repoParent}shared/bench/${TORCH_SCRIPT_NAME}`);
    Deno.env.set("IGCR_TORCH_SCRIPT", "/elsewhere/peer.py");
    assert.equal(torchScriptPath(), "/elsewhere/peer.py");
  } finally {
    if (saved === undefined) Deno.env.delete("IGCR_TORCH_SCRIPT");
    else Deno.env.set("IGCR_TORCH_SCRIPT", saved);
  }
});

Deno.test({
  name: "bench: the replica runs in a fresh process on the engine asked for (one-thread runs, wasm next to native)",
  sanitizeResources: false,
  fn: async () => {
    const r = await benchIterationProcess({ backend: "wasm", iterations: 1, warmup: 0, env: { IGCR_THREADS: "1" } });
    assert.equal(r.backend, "wasm (SIMD, 1 thread)");
    assert.ok((r["iteration ms (median)"] as number) > 0 && Number.isFinite(r["iteration cpu ms (all threads)"]));
    await assert.rejects(
      benchIterationProcess({ backend: "tensorflow-gpu", iterations: 1, warmup: 0 }),
      /bench iteration \(tensorflow-gpu\) failed: .*not available/,
    );
  },
});

globalThis.addEventListener("unload", () => shutdownBackend());
