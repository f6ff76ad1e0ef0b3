/**
 * Shipped pretrained models (data/pretrained/): an experiment context that allows them uses a shipped run whose config
 * is exactly the one asked for, without training and without writing into the shipped folder; a different config (or
 * a context that does not allow them, IGCR_TRAIN=1) trains its own run. The notebook's default profile follows.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { initBackend } from "../lib/backend.ts";
import { presetFor } from "../lib/config/gan.ts";
import { ExperimentContext } from "../lib/experiments/context.ts";
import { trainAndEvaluate } from "../lib/experiments/gan_runs.ts";
import { defaultNotebookProfile } from "../lib/experiments/notebook.ts";
import { pretrainedRunDir, sameConfig } from "../lib/experiments/pretrained.ts";
import { ensureTrained, loadDataset } from "../lib/experiments/toolkit.ts";
import { exportInferenceModel } from "../lib/models/export.ts";

Deno.test("sameConfig ignores key order; pretrainedRunDir needs an exact config match", async () => {
  assert.ok(sameConfig({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 }));
  assert.ok(!sameConfig({ a: 1 }, { a: 2 }));
  const root = await Deno.makeTempDir({ prefix: "igcr-shipped-" });
  try {
    const cfg = presetFor("dsprites", "smoke", { seed: 1 });
    await Deno.mkdir(join(root, "run-a"));
    await Deno.writeTextFile(join(root, "run-a", "config.json"), JSON.stringify(cfg));
    assert.equal(pretrainedRunDir("run-a", { ...cfg }, root), join(root, "run-a"));
    assert.equal(pretrainedRunDir("run-a", { ...cfg, seed: 2 }, root), null);
    assert.equal(pretrainedRunDir("missing", cfg, root), null);
    assert.equal(defaultNotebookProfile("dsprites", root), "smoke", "no dsprites-* folder: smoke");
    await Deno.mkdir(join(root, "dsprites-infogan-cr-seed1"));
    assert.equal(defaultNotebookProfile("dsprites", root), "cpu");
    assert.equal(defaultNotebookProfile("teapots", root), "smoke");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("trainAndEvaluate uses a shipped run with the same config instead of training", async () => {
  await initBackend({ quiet: true });
  const root = await Deno.makeTempDir({ prefix: "igcr-shipped-run-" });
  try {
    const data = await loadDataset("dsprites");
    const cfg = { ...presetFor("dsprites", "smoke", { seed: 4 }), sampleEvery: 100 };
    const name = "dsprites-test-seed4";
    await ensureTrained(cfg, join(root, "training", name), data, { progress: false });
    const shippedRoot = join(root, "pretrained");
    await exportInferenceModel(join(root, "training", name), join(shippedRoot, name), { command: "test" });
    const before = [...Deno.readDirSync(join(shippedRoot, name))].map((e) => e.name).sort();

    const lines: string[] = [];
    const ctx = new ExperimentContext({
      id: "dsprites",
      profile: "smoke",
      outDir: join(root, "out"),
      backend: "test",
      pretrained: true,
      pretrainedRoot: shippedRoot,
      log: (l) => lines.push(l),
    });
    const r = await trainAndEvaluate(ctx, cfg, name, data, 5);
    assert.equal(r.runDir, join(shippedRoot, name));
    assert.ok(lines.some((l) => /using the shipped model/.test(l)), lines.join("\n"));
    assert.ok(!lines.some((l) => /step train-dsprites-test-seed4: running/.test(l)), "no training step");
    assert.ok(r.after.factorVae !== undefined && r.before?.factorVae !== undefined, "both snapshots scored");
    const after = [...Deno.readDirSync(join(shippedRoot, name))].map((e) => e.name).sort();
    assert.deepEqual(after, before, "nothing written into the shipped folder");
    await Deno.stat(join(root, "out", "work", "runs", name, "metrics.json")); // scores went to the context's folder

    // A context without shipped models, or another seed, trains its own run.
    const own = new ExperimentContext({
      id: "dsprites",
      profile: "smoke",
      outDir: join(root, "out2"),
      backend: "test",
      pretrainedRoot: shippedRoot,
      log: () => {},
    });
    const r2 = await trainAndEvaluate(own, cfg, name, data, 5);
    assert.equal(r2.runDir, join(root, "out2", "work", "runs", name));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
