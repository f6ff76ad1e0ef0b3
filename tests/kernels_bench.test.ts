/**
 * The speed benchmark's pieces: the tfjs replica of one InfoGAN-CR iteration (bench/iteration.ts) runs, is seeded,
 * leaks nothing; the torch peer's output line parses and its script is located next to the repository.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { benchIterationProcess, buildIteration } from "../bench/iteration.ts";
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
