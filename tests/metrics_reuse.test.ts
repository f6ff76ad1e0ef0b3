/**
 * Saved scores and the checkpoint they describe: a run folder's metrics file is reused only for the checkpoint
 * iteration it scored, so a run trained further in the same folder is scored again instead of reporting the shorter
 * run's numbers.
 */
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend.ts";
import { presetFor } from "../lib/config/gan.ts";
import { DSprites } from "../lib/data/dsprites.ts";
import { ExperimentContext } from "../lib/experiments/context.ts";
import { scoreRunFile } from "../lib/experiments/paired_runs.ts";
import { reusableScores } from "../lib/experiments/toolkit.ts";
import { checkpointIteration } from "../lib/train/checkpoint.ts";
import { createTrainer } from "../lib/train/trainer.ts";

const SAVED = {
  schema: "igcr-metrics/1",
  protocol: "infogan-cr",
  profile: "cpu",
  seed: 20200,
  metrics: ["factor-vae", "mig"],
  checkpointIteration: 1500,
  scores: { factorVae: 0.5, mig: 0.04 },
};

Deno.test("reusableScores: same seed, profile, metrics and checkpoint iteration reuse; any difference scores again", () => {
  const req = { seed: 20200, profile: "cpu" as const, checkpointIteration: 1500, metrics: ["mig", "factor-vae"] };
  assert.deepEqual(reusableScores(SAVED, req), { factorVae: 0.5, mig: 0.04 }, "metric order does not matter");
  assert.equal(reusableScores(SAVED, { ...req, checkpointIteration: 2000 }), null, "trained further since");
  assert.equal(reusableScores({ ...SAVED, checkpointIteration: undefined }, req), null, "an older file without one");
  assert.equal(reusableScores(SAVED, { ...req, checkpointIteration: undefined }), null, "no checkpoint to compare");
  assert.equal(reusableScores(SAVED, { ...req, seed: 1 }), null);
  assert.equal(reusableScores(SAVED, { ...req, profile: "smoke" }), null);
  assert.equal(reusableScores(SAVED, { ...req, metrics: ["factor-vae"] }), null);
  assert.equal(reusableScores(SAVED, { ...req, metrics: undefined }), null, "all seven asked, two saved");
  assert.equal(reusableScores({ ...SAVED, protocol: "disentanglement-lib" }, req), null);
  assert.equal(reusableScores(null, req), null);
});

Deno.test("checkpointIteration: read from state.json, the .old fallback, absent; corrupt names the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "igcr-ckpt-it-" });
  try {
    assert.equal(await checkpointIteration(`${dir}/checkpoint`), undefined);
    await Deno.mkdir(`${dir}/checkpoint.old`);
    await Deno.writeTextFile(
      `${dir}/checkpoint.old/state.json`,
      JSON.stringify({ groups: [], state: { iteration: 7 } }),
    );
    assert.equal(await checkpointIteration(`${dir}/checkpoint/`), 7, "interrupted save: the old checkpoint");
    await Deno.mkdir(`${dir}/checkpoint`);
    await Deno.writeTextFile(`${dir}/checkpoint/state.json`, JSON.stringify({ groups: [], state: { iteration: 9 } }));
    assert.equal(await checkpointIteration(`${dir}/checkpoint`), 9);
    await Deno.writeTextFile(`${dir}/checkpoint/state.json`, "{ not json");
    await assert.rejects(checkpointIteration(`${dir}/checkpoint`), /checkpoint\/state\.json is corrupt/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "scoreRunFile: a run trained further in the same folder is scored again, not given the shorter run's scores",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "igcr-reuse-" });
    try {
      await initBackend({ quiet: true });
      const cfg = presetFor("dsprites", "smoke", { model: "infogan", seed: 3 });
      const run = `${dir}/runs/r`;
      await Deno.mkdir(run, { recursive: true });
      await Deno.writeTextFile(`${run}/config.json`, JSON.stringify(cfg));
      const trainer = await createTrainer(cfg);
      const ctx = new ExperimentContext({
        id: "dsprites",
        profile: "smoke",
        outDir: dir,
        backend: "test",
        log: () => {},
      });
      const data = new DSprites();
      const opts = { metrics: ["factor-vae" as const] };
      try {
        await trainer.save(`${run}/checkpoint`);
        const first = await scoreRunFile(ctx, run, "metrics.json", data, opts);
        const saved = JSON.parse(await Deno.readTextFile(`${run}/metrics.json`));
        assert.equal(saved.checkpointIteration, 0);
        assert.equal(first.factorVae, saved.scores.factorVae);

        // A marker value shows whether the file was reused or the model scored again.
        saved.scores.factorVae = -1;
        await Deno.writeTextFile(`${run}/metrics.json`, JSON.stringify(saved));
        assert.equal((await scoreRunFile(ctx, run, "metrics.json", data, opts)).factorVae, -1, "same checkpoint");

        await trainer.step();
        await trainer.save(`${run}/checkpoint`);
        const again = await scoreRunFile(ctx, run, "metrics.json", data, opts);
        assert.ok(again.factorVae !== undefined && again.factorVae >= 0, `scored again: ${again.factorVae}`);
        assert.equal(JSON.parse(await Deno.readTextFile(`${run}/metrics.json`)).checkpointIteration, 1);
      } finally {
        trainer.dispose();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
