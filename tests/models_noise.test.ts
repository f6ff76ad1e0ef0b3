/** The `noiseDims` config key: G's unregularised inputs follow it through training, checkpoints and loading. */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { parseGanConfig } from "../lib/config/gan.ts";
import { architectureFor } from "../lib/models/infogan_cr.ts";
import { loadTrainedModel } from "../lib/models/load.ts";
import { train } from "../lib/train/trainer.ts";
import { tinyConfig, tinySquares } from "./train_helpers.ts";

Deno.test("noiseDims: absent = the paper's count; 0 trains, saves and loads a codes-only generator", async () => {
  await initBackend({ quiet: true });
  assert.equal(architectureFor("dsprites").latent.noise, 5);
  assert.equal(architectureFor("celeba").latent.noise, 100);
  assert.equal(architectureFor("teapots", undefined, 2).latent.noise, 2);
  assert.throws(() => architectureFor("dsprites", undefined, -1), /non-negative integer/);
  assert.throws(() => parseGanConfig({ ...tinyConfig(), noiseDims: 1.5 }), /noiseDims/);
  const dir = await Deno.makeTempDir({ prefix: "igcr-noise-" });
  try {
    (await train(tinyConfig({ iterations: 2, noiseDims: 0 }), join(dir, "run"), {
      data: tinySquares(16),
      progress: false,
      grids: true,
    })).dispose();
    const m = await loadTrainedModel(join(dir, "run"));
    assert.equal(m.latent.noise, 0);
    const x = tf.tidy(() => m.generate(tf.zeros([3, 5]) as tf.Tensor2D));
    assert.deepEqual(x.shape, [3, 16, 16, 1]);
    x.dispose();
    m.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
