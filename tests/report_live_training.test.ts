/**
 * The notebooks train in resumed pieces to redraw a live loss plot. That must give exactly the run an uninterrupted
 * training gives (same weights, same log), and calling it again on a finished run must not shrink the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { presetFor } from "../lib/config/gan.ts";
import { trainWithLivePlot } from "../lib/experiments/gan_runs.ts";
import { ensureTrained, loadDataset, loadRunModel, readTrainingLog } from "../lib/experiments/toolkit.ts";

Deno.test({
  name: "training in pieces under a live plot equals one uninterrupted run",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await initBackend({ quiet: true });
    const dir = await Deno.makeTempDir({ prefix: "igcr-live-" });
    try {
      const data = await loadDataset("dsprites");
      const cfg = presetFor("dsprites", "smoke", { seed: 5 });
      const straight = await ensureTrained(cfg, join(dir, "straight"), data, { progress: false });
      const pieces = await trainWithLivePlot(cfg, join(dir, "pieces"), data, "t", 3);
      assert.equal(straight, cfg.iterations);
      assert.equal(pieces, cfg.iterations);

      const logA = await readTrainingLog(join(dir, "straight"));
      const logB = await readTrainingLog(join(dir, "pieces"));
      const strip = (rows: Record<string, number | null>[]) => rows.map(({ time: _t, itPerSec: _r, ...rest }) => rest);
      assert.deepEqual(strip(logB), strip(logA), "same losses at every logged iteration");

      const a = await loadRunModel(join(dir, "straight"));
      const b = await loadRunModel(join(dir, "pieces"));
      const diff = tf.tidy(() => {
        const c = tf.tensor2d(Float32Array.from({ length: 40 }, (_, i) => Math.sin(i)), [8, 5]);
        const z = tf.tensor2d(Float32Array.from({ length: 40 }, (_, i) => Math.cos(i)), [8, 5]);
        return tf.max(tf.abs(tf.sub(a.generate(c, z), b.generate(c, z)))).dataSync()[0];
      });
      a.dispose();
      b.dispose();
      assert.equal(diff, 0, "identical generators");

      // Again on the finished run: no training, and config.json still describes the whole run.
      assert.equal(await trainWithLivePlot(cfg, join(dir, "pieces"), data, "t", 3), cfg.iterations);
      const saved = JSON.parse(await Deno.readTextFile(join(dir, "pieces", "config.json")));
      assert.equal(saved.iterations, cfg.iterations);
    } finally {
      shutdownBackend();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
