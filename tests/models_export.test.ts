/**
 * Inference-only exports (data/pretrained/): the copy loads like a run folder and gives the same images and codes as
 * the full training checkpoint, for the final model and the before-CR snapshot, without optimiser or H state.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { exportInferenceModel } from "../lib/models/export.ts";
import { loadTrainedModel } from "../lib/models/load.ts";
import { loadSnapshotBeforeCr } from "../lib/experiments/toolkit.ts";
import { train } from "../lib/train/trainer.ts";
import type { TrainedModel } from "../lib/models/capabilities.ts";
import { tinyConfig, tinySquares } from "./train_helpers.ts";

async function outputs(m: TrainedModel): Promise<[Float32Array, Float32Array]> {
  const c = tf.tensor2d(Array.from({ length: 3 * 5 }, (_, i) => ((i * 37) % 19) / 9.5 - 1), [3, 5]);
  const z = tf.tensor2d(Array.from({ length: 3 * 5 }, (_, i) => ((i * 11) % 13) / 6.5 - 1), [3, 5]);
  const x = m.generate(c, z);
  const e = m.encode(x);
  const r: [Float32Array, Float32Array] = [(await x.data()) as Float32Array, (await e.data()) as Float32Array];
  tf.dispose([c, z, x, e]);
  return r;
}

Deno.test("export: the inference-only copy loads like the run and gives identical outputs", async () => {
  await initBackend({ quiet: true });
  const root = await Deno.makeTempDir({ prefix: "igcr-export-" });
  try {
    const run = join(root, "run");
    const cfg = tinyConfig({
      iterations: 4,
      alpha: { start: 0, increase: 2, every: 2, times: 1 },
      snapshotAt: [3],
    });
    (await train(cfg, run, { data: tinySquares(16), progress: false, grids: false })).dispose();
    const out = join(root, "pretrained", "tiny");
    const files = await exportInferenceModel(run, out, { command: "deno task train (test)" });
    assert.ok(files.includes("config.json") && files.includes("MODEL.md") && files.includes("log.jsonl"));
    assert.ok(!files.some((f) => /adam|contrastive/.test(f)), `no optimiser or H state: ${files.join(", ")}`);
    assert.ok(files.some((f) => f.startsWith("snapshots/before-cr-iter-2/")), "the before-CR snapshot ships");
    assert.ok(!files.some((f) => f.startsWith("snapshots/iter-")), `no learning-curve snapshots: ${files.join(", ")}`);
    const state = JSON.parse(await Deno.readTextFile(join(out, "checkpoint", "state.json")));
    assert.deepEqual(state.groups, ["generator", "discriminator"]);
    assert.match(await Deno.readTextFile(join(out, "MODEL.md")), /deno task train \(test\)/);

    for (
      const [a, b] of [
        [await loadTrainedModel(run), await loadTrainedModel(out)],
        [await loadSnapshotBeforeCr(run), await loadSnapshotBeforeCr(out)],
      ]
    ) {
      assert.ok(a && b, "both have the model");
      const [xa, ea] = await outputs(a);
      const [xb, eb] = await outputs(b);
      assert.deepEqual(xb, xa);
      assert.deepEqual(eb, ea);
      a.dispose();
      b.dispose();
    }
    const slim = await exportInferenceModel(run, join(root, "slim"), { command: "c", snapshots: false });
    assert.ok(!slim.some((f) => f.startsWith("snapshots")), "--no-snapshots leaves them out");
    const entries = [];
    for await (const e of Deno.readDir(join(root, "pretrained"))) entries.push(e.name);
    assert.deepEqual(entries, ["tiny"], "no temporary folder left behind");
    await Deno.remove(join(root, "slim"), { recursive: true });
    await Deno.writeTextFile(join(run, "config.json"), JSON.stringify({ model: "factor-vae" }));
    await assert.rejects(exportInferenceModel(run, join(root, "x"), { command: "" }), /is not a GAN run/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
