import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { alphaAt, alphaSwitchIteration, gapAt, parseGanConfig, presetFor } from "../lib/config/gan.ts";
import { createTrainer, train, type Trainer } from "../lib/train/trainer.ts";
import { loadCheckpoint } from "../lib/train/checkpoint.ts";
import { loadTrainedModel } from "../lib/models/load.ts";
import { parseTrainFlags } from "../cli/train.ts";
import type { ParamSet } from "../lib/models/layers.ts";
import { tinyConfig, tinySquares } from "./train_helpers.ts";

await initBackend({ backend: "wasm", quiet: true });
globalThis.addEventListener("unload", () => shutdownBackend());

const data = tinySquares();

function snapshot(t: Trainer): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  const p = t.params();
  for (const [net, set] of Object.entries(p) as [string, ParamSet][]) {
    for (const [k, v] of Object.entries(set.all())) out[`${net}/${k}`] = v.dataSync() as Float32Array;
  }
  return out;
}

Deno.test("config: schedules switch at the configured iterations", () => {
  const tp = presetFor("teapots", "paper");
  assert.equal(alphaAt(tp, 49_999), 0);
  assert.equal(alphaAt(tp, 50_000), 3);
  assert.equal(alphaAt(tp, 124_999), 3, "alpha increases once (times = 1)");
  assert.equal(gapAt(tp, 84_999), 1.9);
  assert.equal(gapAt(tp, 85_000), 0);
  assert.equal(gapAt(tp, 124_999), 0);
  const ds = presetFor("dsprites", "paper");
  assert.equal(alphaSwitchIteration(ds), 288_000);
  assert.equal(alphaAt(ds, 287_999), 0);
  assert.equal(alphaAt(ds, 288_000), 2);
  assert.equal(gapAt(ds, 300_000), 0);
  const ig = presetFor("dsprites", "paper", { model: "infogan" });
  assert.equal(alphaAt(ig, 300_000), 0, "InfoGAN is the same model with alpha = 0");
  assert.equal(alphaSwitchIteration(ig), null);
  const cpu = presetFor("dsprites", "cpu");
  assert.ok(alphaSwitchIteration(cpu)! > 0 && alphaSwitchIteration(cpu)! < cpu.iterations);
  // The cpu profile's documented departures (lib/config/gan.ts): batch 32, lambda 1, a constant CR gap 1.9; rates stay.
  assert.deepEqual([cpu.batchSize, cpu.lr, cpu.infoWeight], [32, { g: 1e-3, d: 2e-3, h: 2e-3 }, 1]);
  assert.equal(gapAt(cpu, 0), 1.9);
  assert.equal(gapAt(cpu, cpu.iterations - 1), 1.9, "the gap never changes, so H is reset only when CR turns on");
  const tc = presetFor("teapots", "cpu");
  assert.deepEqual([alphaSwitchIteration(tc), gapAt(tc, tc.iterations - 1)], [600, 1.9]);
});

Deno.test("config: typos, unknown keys and wrong types are errors naming the key", () => {
  const good = presetFor("dsprites", "smoke");
  assert.throws(() => parseGanConfig({ ...good, batchsize: 8 }), /unknown key "batchsize"/);
  assert.throws(() => parseGanConfig({ ...good, lr: { ...good.lr, gg: 1 } }), /unknown key "lr\.gg"/);
  assert.throws(() => parseGanConfig({ ...good, iterations: "10" }), /iterations:/);
  assert.throws(() => parseGanConfig({ ...good, alpha: { ...good.alpha, every: 0 } }), /alpha\.every:/);
  assert.throws(() => parseGanConfig({ ...good, model: "infogan-rc" }), /model:/);
  assert.throws(() => parseTrainFlags(["--dataset", "dsprites", "--out", "x", "--itertions", "5"]), /itertions/);
  assert.throws(() => parseTrainFlags(["--dataset", "dsprite", "--out", "x"]), /--dataset/);
  assert.throws(() => parseTrainFlags(["--dataset", "dsprites"]), /--out/);
  const f = parseTrainFlags([
    "--dataset",
    "dsprites",
    "--model",
    "infogan",
    "--profile",
    "smoke",
    "--seed",
    "3",
    "--out",
    "r",
  ]);
  assert.deepEqual([f.dataset, f.model, f.profile, f.seed, f.out, f.resume], [
    "dsprites",
    "infogan",
    "smoke",
    3,
    "r",
    false,
  ]);
});

Deno.test("trainer: alpha and gap changes reset H's weights and Adam slots at the configured iterations", async () => {
  // alpha switches on at 3, the gap drops from 1.0 to 0 at 5.
  const cfg = tinyConfig({ iterations: 7, gap: { start: 1, decrease: 1, every: 5, times: 1 } });
  const t = await createTrainer(cfg, { data });
  const hAt: unknown[] = [];
  const hSteps: number[] = [];
  // Median |change| of H's first conv kernel per iteration: a fresh normal(0.02) draw moves it by ~0.02, one Adam step
  // (lr 2e-3) by about 1e-3.
  const kernel = () => t.params().h.get("h_c0/kernel").dataSync().slice();
  const moved: number[] = [];
  for (let i = 0; i < 7; i++) {
    const before = kernel();
    const l = await t.step();
    const after = kernel();
    moved.push(before.map((v, j) => Math.abs(after[j] - v)).sort()[Math.floor(before.length / 2)]);
    assert.equal(l.alpha, i >= 3 ? 2 : 0);
    assert.equal(l.gap, i >= 5 ? 0 : 1);
    hAt.push(t.params().h);
    hSteps.push(t.optimizerSteps().h);
    assert.equal(t.optimizerSteps().g, 2 * (i + 1), "two G steps per iteration");
    assert.equal(t.optimizerSteps().dq, i + 1);
  }
  assert.deepEqual(hSteps, [1, 2, 3, 1, 2, 1, 2], "H's Adam restarts at each schedule change");
  assert.ok(hAt[2] !== hAt[3] && hAt[3] === hAt[4] && hAt[4] !== hAt[5], "H re-initialised at 3 and 5 only");
  const resetAt = moved.map((m, i) => (m > 0.008 ? i : -1)).filter((i) => i >= 0);
  assert.deepEqual(resetAt, [3, 5], `median weight change per iteration: ${moved.map((m) => m.toFixed(4))}`);
  t.dispose();
});

Deno.test("trainer: tensor count stays flat across iterations (no leaks)", async () => {
  const t = await createTrainer(tinyConfig({ iterations: 8 }), { data });
  const before0 = tf.memory().numTensors;
  await t.step();
  await t.step();
  const warm = tf.memory().numTensors;
  for (let i = 0; i < 4; i++) await t.step(); // crosses the alpha switch (H reset) at 3
  assert.equal(tf.memory().numTensors, warm);
  t.dispose();
  assert.ok(tf.memory().numTensors <= before0, "dispose frees everything the trainer made");
});

Deno.test({
  name: "trainer: train 2N == train N, checkpoint, resume, train N (exact, across the CR switch)",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "igcr-gan-" });
    try {
      const cfg = tinyConfig({ iterations: 6, checkpointEvery: 100, sampleEvery: 100, logEvery: 1 });
      const full = await train(cfg, `${dir}/full`, { data, progress: false });
      const a = snapshot(full);
      const aSteps = full.optimizerSteps();
      full.dispose();

      const half = await train({ ...cfg, iterations: 3 }, `${dir}/split`, { data, progress: false });
      half.dispose();
      const resumed = await train(cfg, `${dir}/split`, { data, progress: false, resume: true });
      const b = snapshot(resumed);
      assert.deepEqual(resumed.optimizerSteps(), aSteps);
      resumed.dispose();
      assert.deepEqual(Object.keys(b), Object.keys(a));
      for (const k of Object.keys(a)) assert.deepEqual(b[k], a[k], `${k} differs after resume`);

      // The log of the resumed run has each iteration once; the snapshot before CR exists in both runs.
      const log = (await Deno.readTextFile(`${dir}/split/log.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(log.map((l) => l.iter), [1, 2, 3, 4, 5, 6]);
      assert.ok(log.every((l) => Number.isFinite(l.d) && Number.isFinite(l.g)));
      const snap = await loadCheckpoint(`${dir}/split/snapshots/before-cr-iter-3`);
      assert.equal(snap.state.iteration, 3);
      for (const m of Object.values(snap.tensors)) tf.dispose(m);
      const snapModel = await loadTrainedModel(`${dir}/split`, { checkpoint: "snapshots/before-cr-iter-3" });
      assert.match(snapModel.name, /before-cr-iter-3/);
      snapModel.dispose();
      // Sample and traversal grids are written at the end.
      const samples = [...Deno.readDirSync(`${dir}/full/samples`)].map((e) => e.name).sort();
      assert.deepEqual(samples, ["samples-iter-0000006.png", "traversal-iter-0000006.png"]);
      // Resuming with a changed hyperparameter is refused, naming it.
      await assert.rejects(
        train({ ...cfg, iterations: 8, infoWeight: 0.1 }, `${dir}/split`, { data, progress: false, resume: true }),
        /config "infoWeight"/,
      );
      await assert.rejects(train(cfg, `${dir}/split`, { data, progress: false }), /already holds a checkpoint/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "trainer: save -> loadTrainedModel gives identical encode and generate outputs; G weights in tfjs format",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "igcr-gan-" });
    try {
      const cfg = tinyConfig({ iterations: 2, sampleEvery: 100 });
      const t = await train(cfg, dir, { data, progress: false });
      const live = t.model();
      const loaded = await loadTrainedModel(dir);
      assert.equal(loaded.codeSize, 5);
      assert.deepEqual(loaded.latent, { codes: 5, noise: 5, prior: "uniform" });
      const c = tf.tensor2d(new Float32Array(15).map((_, i) => Math.sin(i)), [3, 5]);
      const z = tf.tensor2d(new Float32Array(15).map((_, i) => Math.cos(i)), [3, 5]);
      const x1 = live.generate(c, z), x2 = loaded.generate(c, z);
      assert.deepEqual(x2.shape, [3, 16, 16, 1]);
      assert.deepEqual(x1.dataSync(), x2.dataSync());
      const e1 = live.encode(x1), e2 = loaded.encode(x1);
      assert.deepEqual(e1.shape, [3, 5]);
      assert.deepEqual(e1.dataSync(), e2.dataSync());
      tf.dispose([c, z, x1, x2, e1, e2]);
      loaded.dispose();
      t.dispose();
      // Any tfjs user can read G's weights with the standard manifest.
      const manifest = JSON.parse(await Deno.readTextFile(`${dir}/checkpoint/generator/model.json`));
      const names = manifest.weightsManifest[0].weights.map((w: { name: string }) => w.name);
      assert.ok(
        names.includes("g_fc0/kernel") && names.includes("g_dc3/bias") && names.includes("g_fc0_bn/moving_mean"),
      );
      await assert.rejects(loadTrainedModel(`${dir}/nope`), /cannot read .*nope\/config\.json/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "trainer: a NaN loss stops training with an error naming it and the iteration; the checkpoint stays intact",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "igcr-gan-" });
    try {
      const cfg = tinyConfig({ iterations: 6, checkpointEvery: 2, sampleEvery: 100 });
      await assert.rejects(
        train(cfg, dir, { data, progress: false, poison: (it) => it === 3 }),
        /loss d_adv is NaN at iteration 3 .*checkpoint in .* is intact/,
      );
      const ck = await loadCheckpoint(`${dir}/checkpoint`);
      assert.equal(ck.state.iteration, 2);
      for (const group of Object.values(ck.tensors)) {
        for (const t of Object.values(group)) assert.ok(t.dataSync().every(Number.isFinite));
        tf.dispose(group);
      }
      // And the run resumes from it.
      const t = await train(cfg, dir, { data, progress: false, resume: true });
      assert.equal(t.iteration, 6);
      t.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "trainer: the checkpoint's generator/model.json loads as a plain tfjs LayersModel with the same outputs",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "igcr-gan-" });
    try {
      const t = await train(tinyConfig({ iterations: 2, sampleEvery: 100 }), dir, { data, progress: false });
      const json = JSON.parse(await Deno.readTextFile(`${dir}/checkpoint/generator/model.json`));
      assert.equal(json.format, "layers-model");
      const bin = await Deno.readFile(`${dir}/checkpoint/generator/weights.bin`);
      const lm = await tf.loadLayersModel(tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest[0].weights,
        weightData: bin.buffer,
      }));
      const latent = tf.tensor2d(new Float32Array(40).map((_, i) => Math.sin(3 * i)), [4, 10]);
      const y = lm.predict(latent) as tf.Tensor;
      const x = t.model().generate(latent.slice([0, 0], [4, 5]), latent.slice([0, 5], [4, 5]));
      assert.deepEqual(y.shape, [4, 16, 16, 1]);
      const a = x.dataSync(), b = y.dataSync();
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
      assert.ok(maxDiff < 1e-4, `LayersModel differs from generate by ${maxDiff}`);
      tf.dispose([latent, x, y]);
      lm.dispose();
      t.dispose();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
