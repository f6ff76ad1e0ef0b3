import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { loadCheckpoint } from "../lib/train/checkpoint.ts";
import { createVaeTrainer, trainVae, type VaeLosses, type VaeTrainer } from "../lib/train/vae_trainer.ts";
import { squares, tinyConfig } from "./vae_helpers.ts";

await initBackend({ backend: "cpu", quiet: true });

function weights(tr: VaeTrainer): Record<string, number[]> {
  const p = tr.model().params;
  const out: Record<string, number[]> = {};
  for (const [g, vars] of Object.entries(p) as [string, Record<string, tf.Variable>][]) {
    for (const [k, v] of Object.entries(vars)) out[`${g}/${k}`] = [...v.dataSync()];
  }
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

Deno.test("vae train: a few dozen steps lower the losses on a tiny fixed dataset (FactorVAE and beta-VAE)", async () => {
  for (const model of ["factor-vae", "beta-vae"] as const) {
    const tr = createVaeTrainer(
      tinyConfig(model, { optimVae: { lr: 3e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } }),
      {
        data: squares(16),
      },
    );
    const hist: VaeLosses[] = [];
    for (let i = 0; i < 60; i++) hist.push(await tr.step());
    assert.equal(tr.iteration, 60);
    const first = mean(hist.slice(0, 5).map((l) => l.vae)), last = mean(hist.slice(-5).map((l) => l.vae));
    assert.ok(last < 0.8 * first, `${model}: VAE loss ${first.toFixed(2)} -> ${last.toFixed(2)}`);
    // The logged total is the model's own objective.
    const l = hist.at(-1)!;
    if (model === "beta-vae") {
      assert.ok(Math.abs(l.vae - (l.recon + 4 * l.kl)) < 1e-3 * l.vae, "beta-VAE loss = recon + beta * KL");
      assert.equal(l.tcd, 0);
    } else {
      assert.ok(
        Math.abs(l.vae - (l.recon + l.kl + 40 * l.tc)) < 1e-3 * Math.abs(l.vae),
        "FactorVAE loss = recon + KL + gamma TC",
      );
      assert.ok(l.tcd > 0 && Number.isFinite(l.tcd));
    }
    tr.dispose();
  }
});

Deno.test("vae train: tensor count stays flat across steps (no leaks)", async () => {
  const tr = createVaeTrainer(tinyConfig("factor-vae"), { data: squares() });
  await tr.step();
  await tr.step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 4; i++) await tr.step();
  assert.equal(tf.memory().numTensors, before);
  const m = tr.model();
  const x = tf.zeros([2, 16, 16, 1]) as tf.Tensor4D;
  const n0 = tf.memory().numTensors;
  tf.dispose([m.encode(x), m.generate(tf.zeros([2, 4]))]);
  assert.equal(tf.memory().numTensors, n0 + 1, "only the zeros passed to generate remain");
  x.dispose();
  tr.dispose();
});

Deno.test("vae train: 2N steps == N steps + save + resume + N steps (weights, optimiser state, data order, RNG)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vae_resume_" });
  try {
    // Batch 8 over 20 images: 2 batches per epoch, so the resumed run crosses an epoch boundary mid-way.
    const data = squares(20);
    const cfg = tinyConfig("factor-vae");
    const a = createVaeTrainer(cfg, { data });
    const la: VaeLosses[] = [];
    for (let i = 0; i < 6; i++) la.push(await a.step());

    const b = createVaeTrainer(cfg, { data });
    for (let i = 0; i < 3; i++) await b.step();
    await b.save(`${dir}/ck`);
    b.dispose();
    const ck = await loadCheckpoint(`${dir}/ck`);
    const c = createVaeTrainer(cfg, { data, checkpoint: ck });
    for (const g of Object.values(ck.tensors)) tf.dispose(g);
    assert.equal(c.iteration, 3);
    const lc: VaeLosses[] = [];
    for (let i = 0; i < 3; i++) lc.push(await c.step());
    assert.deepEqual(lc, la.slice(3));
    assert.deepEqual(weights(c), weights(a));
    a.dispose();
    c.dispose();

    // A checkpoint of the other model kind is refused by name.
    const ck2 = await loadCheckpoint(`${dir}/ck`);
    assert.throws(() => createVaeTrainer(tinyConfig("beta-vae"), { data, checkpoint: ck2 }), /model "factor-vae"/);
    for (const g of Object.values(ck2.tensors)) tf.dispose(g);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vae train: trainVae writes config/log/checkpoint, resumes exactly, and refuses to overwrite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vae_run_" });
  const strip = (text: string) => text.trim().split("\n").map((l) => ({ ...JSON.parse(l), time: 0, itPerSec: 0 }));
  try {
    const data = squares(20);
    const full = tinyConfig("beta-vae", { iterations: 6, checkpointEvery: 3 });
    const progress: number[] = [];
    await trainVae(full, `${dir}/a`, { data, progress: false, onProgress: (p) => progress.push(p.iteration) });
    assert.deepEqual(progress, [1, 2, 3, 4, 5, 6]);
    const cfgSaved = JSON.parse(await Deno.readTextFile(`${dir}/a/config.json`));
    assert.equal(cfgSaved.model, "beta-vae");

    await trainVae({ ...full, iterations: 4 }, `${dir}/b`, { data, progress: false });
    await assert.rejects(trainVae(full, `${dir}/b`, { data, progress: false }), /already holds a checkpoint/);
    await assert.rejects(
      trainVae(tinyConfig("beta-vae", { iterations: 6, checkpointEvery: 3, beta: 2 }), `${dir}/b`, {
        data,
        resume: true,
      }),
      /config differs in beta/,
    );
    await trainVae(full, `${dir}/b`, { data, resume: true, progress: false });

    const logA = strip(await Deno.readTextFile(`${dir}/a/log.jsonl`));
    const logB = strip(await Deno.readTextFile(`${dir}/b/log.jsonl`));
    assert.equal(logA.length, 6);
    assert.deepEqual(logB, logA);
    const ca = await loadCheckpoint(`${dir}/a/checkpoint`), cb = await loadCheckpoint(`${dir}/b/checkpoint`);
    assert.equal(cb.state.iteration, 6);
    for (const [g, ts] of Object.entries(ca.tensors)) {
      for (const [k, t] of Object.entries(ts)) assert.deepEqual(cb.tensors[g][k].dataSync(), t.dataSync(), `${g}/${k}`);
    }
    for (const c of [ca, cb]) for (const g of Object.values(c.tensors)) tf.dispose(g);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vae train: a NaN loss stops training with a clear error and keeps the last good checkpoint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vae_nan_" });
  try {
    const good = squares(20);
    // The 6th batch is poisoned with a NaN pixel.
    const data = {
      size: 20,
      images(idx: Int32Array) {
        const out = good.images(idx);
        if (good.calls === 6) out[0] = NaN;
        return out;
      },
    };
    const cfg = tinyConfig("factor-vae", { iterations: 10, checkpointEvery: 2 });
    await assert.rejects(trainVae(cfg, `${dir}/run`, { data, progress: false }), /loss "recon" is NaN at iteration 6/);
    const ck = await loadCheckpoint(`${dir}/run/checkpoint`);
    assert.equal(ck.state.iteration, 4);
    for (const t of Object.values(ck.tensors.encoder)) assert.ok(t.dataSync().every(Number.isFinite));
    for (const g of Object.values(ck.tensors)) tf.dispose(g);
    const log = (await Deno.readTextFile(`${dir}/run/log.jsonl`)).trim().split("\n");
    assert.equal(log.length, 5);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vae train: sample grids are PNGs; the default dataset comes from the registry and must match imageShape", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vae_grid_" });
  try {
    const cfg = tinyConfig("beta-vae", { iterations: 3, sampleEvery: 2 });
    await trainVae(cfg, `${dir}/run`, { data: squares(), progress: false });
    const files = [...Deno.readDirSync(`${dir}/run/samples`)].map((e) => e.name).sort();
    assert.deepEqual(files, [
      "samples-iter-0000002.png",
      "samples-iter-0000003.png",
      "traversal-iter-0000002.png",
      "traversal-iter-0000003.png",
    ]);
    const png = await Deno.readFile(`${dir}/run/samples/traversal-iter-0000003.png`);
    assert.deepEqual([...png.slice(1, 4)], [80, 78, 71]); // "PNG"
    // Without `data`, the config's dataset (dSprites, 64x64x1) is loaded, which this 16x16 config cannot take.
    await assert.rejects(trainVae(cfg, `${dir}/other`, { progress: false }), /dataset images are 64x64x1.*16x16x1/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
