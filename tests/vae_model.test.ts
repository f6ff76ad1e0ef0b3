import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { presetFor } from "../lib/config/vae.ts";
import { gaussianKlPerDim } from "../lib/losses/vae.ts";
import {
  decoderForward,
  disposeVaeParams,
  encoderForward,
  initVaeParams,
  loadVaeModel,
  meanKlPerDim,
  tcdForward,
  vaeSpecOf,
} from "../lib/models/vae.ts";
import { Rng } from "../lib/rng.ts";
import { createVaeTrainer } from "../lib/train/vae_trainer.ts";
import { squares, tinyConfig } from "./vae_helpers.ts";

await initBackend({ backend: "cpu", quiet: true });

Deno.test("vae model: paper-sized networks give the paper's shapes (dSprites 64x64x1, teapots 64x64x3)", () => {
  for (const dataset of ["dsprites", "teapots"] as const) {
    const cfg = presetFor(dataset, "paper", "factor-vae");
    const spec = vaeSpecOf(cfg);
    const p = initVaeParams(spec, new Rng(1));
    const c = cfg.imageShape[2];
    // Encoder trunk ends in 4x4x64 = 1024 features, then FC 128, then two 10-d heads.
    assert.deepEqual(p.encoder["fc/kernel"].shape, [1024, 128]);
    assert.deepEqual(p.decoder["fc1/kernel"].shape, [128, 1024]);
    assert.deepEqual(p.tcd["fc4/kernel"].shape, [1000, 1000]);
    assert.equal(p.tcd["fc5/kernel"], undefined);
    const x = tf.zeros([2, 64, 64, c]) as tf.Tensor4D;
    const { mean, logvar } = encoderForward(p.encoder, x);
    assert.deepEqual(mean.shape, [2, 10]);
    assert.deepEqual(logvar.shape, [2, 10]);
    const logits = decoderForward(p.decoder, spec, mean);
    assert.deepEqual(logits.shape, [2, 64, 64, c]);
    assert.deepEqual(tcdForward(p.tcd, mean).shape, [2, 2]);
    tf.dispose([x, mean, logvar, logits]);
    disposeVaeParams(p);
  }
  const beta = initVaeParams(vaeSpecOf(presetFor("dsprites", "paper", "beta-vae")), new Rng(1));
  assert.equal(Object.keys(beta.tcd).length, 0, "beta-VAE has no TC discriminator");
  disposeVaeParams(beta);
});

Deno.test("vae model: init is a function of the seed; encode/generate have the TrainedModel shapes and ranges", () => {
  const cfg = tinyConfig("factor-vae");
  const spec = vaeSpecOf(cfg);
  const a = initVaeParams(spec, new Rng(3)), b = initVaeParams(spec, new Rng(3)), c = initVaeParams(spec, new Rng(4));
  assert.deepEqual(a.encoder["conv0/kernel"].dataSync(), b.encoder["conv0/kernel"].dataSync());
  assert.notDeepEqual(a.encoder["conv0/kernel"].dataSync(), c.encoder["conv0/kernel"].dataSync());
  // Truncated normal: nothing beyond 2 std of 0.02.
  assert.ok(a.encoder["conv1/kernel"].dataSync().every((v) => Math.abs(v) <= 0.04));
  [a, b, c].forEach(disposeVaeParams);

  const tr = createVaeTrainer(cfg, { data: squares() });
  const m = tr.model();
  assert.equal(m.codeSize, 4);
  assert.deepEqual(m.latent, { codes: 4, noise: 0, prior: "gaussian" });
  const imgs = tf.tensor4d(squares().images(Int32Array.from([0, 1, 2])), [3, 16, 16, 1]);
  const z = m.encode(imgs);
  assert.deepEqual(z.shape, [3, 4]);
  const g = m.generate(z);
  assert.deepEqual(g.shape, [3, 16, 16, 1]);
  const gv = g.dataSync();
  assert.ok(gv.every((v) => v > 0 && v < 1), "generate returns sigmoid probabilities");
  assert.throws(() => m.encode(tf.zeros([1, 8, 8, 1]) as tf.Tensor4D), /expects 16x16x1/);
  assert.throws(() => m.generate(tf.zeros([1, 3]) as tf.Tensor2D), /expects 4/);
  tf.dispose([imgs, z, g]);
  m.dispose();
  tr.dispose();
});

Deno.test("vae model: 'sampled' encode is mean + sigma*eps from a seeded stream; 'mean' is the posterior mean", async () => {
  const data = squares();
  const imgs = tf.tensor4d(data.images(Int32Array.from([3, 4, 5, 6])), [4, 16, 16, 1]);
  const tr = createVaeTrainer(tinyConfig("factor-vae", { representation: "sampled" }), { data });
  for (let i = 0; i < 2; i++) await tr.step();
  const m1 = tr.model(), m2 = tr.model();
  const post = m1.posterior(imgs);
  const s1 = m1.encode(imgs), s1b = m1.encode(imgs), s2 = m2.encode(imgs);
  // Same call sequence, same numbers; successive calls draw new eps.
  assert.deepEqual(s1.dataSync(), s2.dataSync());
  assert.notDeepEqual(s1.dataSync(), s1b.dataSync());
  const mean = post.mean.dataSync(), sd = post.logvar.exp().sqrt().dataSync(), s = s1.dataSync();
  // The implied eps is O(1): the sample is spread around the mean on the posterior's own scale.
  const eps = Array.from(s, (v, k) => (v - mean[k]) / sd[k]);
  assert.ok(eps.every((e) => Math.abs(e) < 6) && eps.some((e) => Math.abs(e) > 0.05));
  tr.dispose();

  const trm = createVaeTrainer(tinyConfig("factor-vae", { representation: "mean" }), { data });
  for (let i = 0; i < 2; i++) await trm.step();
  const mm = trm.model();
  const pm = mm.posterior(imgs), e1 = mm.encode(imgs), e2 = mm.encode(imgs);
  assert.deepEqual(e1.dataSync(), pm.mean.dataSync());
  assert.deepEqual(e2.dataSync(), e1.dataSync());
  tf.dispose([imgs, post.mean, post.logvar, s1, s1b, s2, pm.mean, pm.logvar, e1, e2]);
  trm.dispose();
});

Deno.test("vae model: meanKlPerDim is the per-dim KL averaged over all images (across chunks)", async () => {
  const data = squares(300);
  const tr = createVaeTrainer(tinyConfig("beta-vae"), { data });
  for (let i = 0; i < 3; i++) await tr.step();
  const m = tr.model();
  const idx = Int32Array.from({ length: 300 }, (_, i) => i);
  const imgs = tf.tensor4d(data.images(idx), [300, 16, 16, 1]); // > one 256-image chunk
  const got = await meanKlPerDim(m, imgs);
  const { mean, logvar } = m.posterior(imgs);
  const want = gaussianKlPerDim(mean, logvar);
  assert.equal(got.length, 4);
  want.dataSync().forEach((v, j) =>
    assert.ok(Math.abs(v - got[j]) < 1e-5 * Math.max(1, v), `dim ${j}: ${got[j]} vs ${v}`)
  );
  assert.ok(got.every((v) => v >= 0));
  tf.dispose([imgs, mean, logvar, want]);
  tr.dispose();
});

Deno.test("vae model: save -> loadVaeModel gives identical encodings (mean and sampled) and generations", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vae_load_" });
  try {
    const data = squares();
    for (const model of ["factor-vae", "beta-vae"] as const) {
      const cfg = tinyConfig(model);
      const tr = createVaeTrainer(cfg, { data });
      for (let i = 0; i < 3; i++) await tr.step();
      const run = `${dir}/${model}`;
      await Deno.mkdir(run);
      await tr.save(`${run}/checkpoint`);
      await Deno.writeTextFile(`${run}/config.json`, JSON.stringify(cfg));
      const live = tr.model();
      const loaded = await loadVaeModel(run);
      assert.equal(loaded.codeSize, 4);
      const imgs = tf.tensor4d(data.images(Int32Array.from([1, 7, 9])), [3, 16, 16, 1]);
      const codes = tf.tensor2d(new Rng(2).normalArray(12), [3, 4]);
      const pairs: [tf.Tensor, tf.Tensor][] = [
        [live.posterior(imgs).mean, loaded.posterior(imgs).mean],
        [live.encode(imgs), loaded.encode(imgs)], // sampled (the config's default), same seeded eps stream
        [live.generate(codes), loaded.generate(codes)],
      ];
      for (const [x, y] of pairs) assert.deepEqual(y.dataSync(), x.dataSync());
      // A trained model differs from a fresh one: the comparison above is not vacuous.
      const fresh = createVaeTrainer(cfg, { data });
      const f = fresh.model().generate(codes);
      assert.notDeepEqual(f.dataSync(), pairs[2][0].dataSync());
      tf.dispose([imgs, codes, f, ...pairs.flat()]);
      fresh.dispose();
      loaded.dispose();
      tr.dispose();
    }
    await assert.rejects(loadVaeModel(`${dir}/nothing`), /cannot read .*nothing\/config.json/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
