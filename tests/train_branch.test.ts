/**
 * Branching runs (lib/train/branch.ts) for the paired design of claim 1: a CR arm branched from the InfoGAN phase is
 * the same run as an uninterrupted one; two arms branched from one checkpoint are bit-identical while CR is off in both
 * and share data order and main latents when CR is on in one; bad branches are refused naming the reason; snapshots.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { type GanConfig, parseGanConfig } from "../lib/config/gan.ts";
import { createTrainer, snapshotPath, train, type Trainer } from "../lib/train/trainer.ts";
import { loadCheckpoint } from "../lib/train/checkpoint.ts";
import { branchRun, checkBranchable, readBranch } from "../lib/train/branch.ts";
import type { ParamSet } from "../lib/models/layers.ts";
import { tinyConfig, tinySquares } from "./train_helpers.ts";

await initBackend({ backend: "wasm", quiet: true });
globalThis.addEventListener("unload", () => shutdownBackend());

const data = tinySquares();

function weights(t: Trainer): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [net, set] of Object.entries(t.params()) as [string, ParamSet][]) {
    for (const [k, v] of Object.entries(set.all())) out[`${net}/${k}`] = v.dataSync() as Float32Array;
  }
  return out;
}

/** As the cpu profile: H untrained while alpha = 0, so the control arm never draws CR pairs. */
function armConfigs(): { phase: GanConfig; cr: GanConfig; control: GanConfig } {
  const cr = parseGanConfig(tinyConfig({
    iterations: 6,
    alpha: { start: 0, increase: 2, every: 3, times: 1 },
    trainHWhileAlphaZero: false,
    checkpointEvery: 100,
    sampleEvery: 100,
    logEvery: 1,
  }));
  return {
    cr,
    control: parseGanConfig({ ...cr, model: "infogan" }),
    phase: parseGanConfig({ ...cr, model: "infogan", iterations: 3 }),
  };
}

async function finish(cfg: GanConfig, dir: string): Promise<Record<string, Float32Array>> {
  const t = await train(cfg, dir, { data, progress: false, grids: false, resume: true });
  try {
    return weights(t);
  } finally {
    t.dispose();
  }
}

Deno.test({
  name: "branch: the CR arm equals an uninterrupted run; arms share batches and main latents, differ after the branch",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "igcr-branch-" });
    try {
      const c = armConfigs();
      const straight = await train(c.cr, join(dir, "straight"), { data, progress: false, grids: false });
      const ref = weights(straight);
      straight.dispose();
      (await train(c.phase, join(dir, "phase"), { data, progress: false, grids: false })).dispose();
      assert.equal(await branchRun(join(dir, "phase"), join(dir, "cr"), c.cr, 3), "created");
      assert.equal(await branchRun(join(dir, "phase"), join(dir, "control"), c.control, 3), "created");
      assert.equal(await branchRun(join(dir, "phase"), join(dir, "control2"), c.control, 3), "created");
      const cr = await finish(c.cr, join(dir, "cr"));
      for (const k of Object.keys(ref)) assert.deepEqual(cr[k], ref[k], `CR arm ${k} differs from the straight run`);
      // The CR arm keeps the paper's snapshot just before CR: the phase's last weights.
      const snap = await loadCheckpoint(join(dir, "cr", "snapshots", "before-cr-iter-3"));
      const phaseCk = await loadCheckpoint(join(dir, "phase", "checkpoint"));
      for (const [k, v] of Object.entries(phaseCk.tensors.generator)) {
        assert.deepEqual(snap.tensors.generator[k].dataSync(), v.dataSync(), `snapshot ${k}`);
      }
      for (const ck of [snap, phaseCk]) for (const g of Object.values(ck.tensors)) tf.dispose(g);

      // CR off in both arms: bit-identical.
      const control = await finish(c.control, join(dir, "control"));
      const control2 = await finish(c.control, join(dir, "control2"));
      for (const k of Object.keys(control)) assert.deepEqual(control2[k], control[k], `control arms differ in ${k}`);
      // CR on in one arm: G differs after the branch...
      assert.notDeepEqual(cr["g/g_fc0/kernel"], control["g/g_fc0/kernel"]);
      // ...but both drew the same batches and main latents (the CR pairs come from their own stream).
      const sCr = await loadCheckpoint(join(dir, "cr", "checkpoint")),
        sCtl = await loadCheckpoint(join(dir, "control", "checkpoint"));
      const st = (ck: typeof sCr) => ck.state as { rng: Record<string, unknown>; batches: unknown; iteration: number };
      assert.equal(st(sCr).iteration, 6);
      assert.deepEqual(st(sCr).batches, st(sCtl).batches, "data order and position");
      assert.deepEqual(st(sCr).rng.latents, st(sCtl).rng.latents, "main latent stream");
      assert.notDeepEqual(st(sCr).rng.pairs, st(sCtl).rng.pairs, "only the CR arm drew pairs");
      for (const ck of [sCr, sCtl]) for (const g of Object.values(ck.tensors)) tf.dispose(g);
      // The arms' logs start with the phase's lines, then go their own ways.
      const log = async (d: string) =>
        (await Deno.readTextFile(join(dir, d, "log.jsonl"))).trim().split("\n").map((l) => JSON.parse(l));
      const [lp, lc, lk] = [await log("phase"), await log("cr"), await log("control")];
      assert.deepEqual(lc.slice(0, 3), lp);
      assert.deepEqual(lk.slice(0, 3), lp);
      assert.deepEqual(lc.map((l) => l.iter), [1, 2, 3, 4, 5, 6]);
      assert.ok(lc[3].g_cr !== null && lk[3].g_cr === null, "CR term only in the CR arm");
      const rec = await readBranch(join(dir, "cr"));
      assert.deepEqual([rec?.parent, rec?.at, rec?.config.model], ["../phase", 3, "infogan-cr"]);
      // Idempotent; another config in the same folder is refused.
      assert.equal(await branchRun(join(dir, "phase"), join(dir, "cr"), c.cr, 3), "exists");
      await assert.rejects(
        branchRun(join(dir, "phase"), join(dir, "cr"), c.control, 3),
        /already a branch of \.\.\/phase at iteration 3 with another config/,
      );
      await assert.rejects(
        branchRun(join(dir, "phase"), join(dir, "straight"), c.cr, 3),
        /already holds a run that is not a branch/,
      );
      await assert.rejects(
        branchRun(join(dir, "cr"), join(dir, "late"), c.control, 3),
        /parent's checkpoint .* is at iteration 6/,
      );
      await assert.rejects(branchRun(join(dir, "nope"), join(dir, "x"), c.cr, 3), /no parent run at .*nope/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("checkBranchable: only the regularizer, the length and cadences may change, consistently before the branch", () => {
  const c = armConfigs();
  checkBranchable(c.phase, c.cr, 3);
  checkBranchable(c.phase, c.control, 3);
  assert.throws(() => checkBranchable(c.phase, { ...c.cr, infoWeight: 0.5 }, 3), /config "infoWeight" is 0\.05/);
  assert.throws(
    () => checkBranchable(c.phase, { ...c.cr, alpha: { ...c.cr.alpha, every: 2 } }, 3),
    /schedules differ at iteration 2/,
  );
  assert.throws(() => checkBranchable(c.phase, { ...c.cr, iterations: 3 }, 3), /stops at 3/);
  assert.throws(() => checkBranchable(c.phase, c.cr, -1), /non-negative integer/);
});

Deno.test({
  name: "snapshotAt: full checkpoints at the listed iterations; iteration 0 holds the initial weights",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "igcr-snap-" });
    try {
      const cfg = parseGanConfig(tinyConfig({ iterations: 4, sampleEvery: 100, snapshotAt: [0, 2, 4] }));
      (await train(cfg, dir, { data, progress: false, grids: false })).dispose();
      const init = await createTrainer(cfg, { data });
      const w0 = weights(init);
      init.dispose();
      for (const it of [0, 2, 4]) {
        const ck = await loadCheckpoint(join(dir, snapshotPath(it)));
        assert.equal((ck.state as { iteration: number }).iteration, it);
        if (it === 0) {
          for (const [k, v] of Object.entries(ck.tensors.generator)) assert.deepEqual(v.dataSync(), w0[`g/${k}`], k);
        }
        for (const g of Object.values(ck.tensors)) tf.dispose(g);
      }
      const names = [...Deno.readDirSync(join(dir, "snapshots"))].map((e) => e.name).sort();
      assert.deepEqual(names, ["before-cr-iter-3", "iter-0", "iter-2", "iter-4"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
