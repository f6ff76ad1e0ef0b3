import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { Rng } from "../lib/rng.ts";
import {
  architectureFor,
  contrast,
  discriminate,
  type GanDataset,
  ganModel,
  generate,
  generatorTopology,
  INFERENCE_CHUNK,
  initGan,
  initGenerator,
  updateSpectralNorms,
} from "../lib/models/infogan_cr.ts";
import { normalizedSpectralNorm } from "../lib/models/layers.ts";
import { contrastiveLoss, discriminatorLoss, generatorAdversarialLoss, informationLoss } from "../lib/losses/gan.ts";
import { sampleCrPairs } from "../lib/latents.ts";

await initBackend({ backend: "cpu", quiet: true });

Deno.test("models: output shapes and value ranges per dataset at the paper's sizes", () => {
  const cases: [GanDataset, number[], number, [number, number]][] = [
    ["dsprites", [64, 64, 1], 10, [0, 1]],
    ["teapots", [64, 64, 3], 10, [0, 1]],
    ["celeba", [32, 32, 3], 105, [-1, 1]],
  ];
  for (const [ds, shape, latentDim, range] of cases) {
    const arch = architectureFor(ds);
    assert.deepEqual(arch.imageShape, shape);
    assert.equal(arch.latent.codes + arch.latent.noise, latentDim);
    const p = initGan(arch, new Rng(1));
    tf.tidy(() => {
      const lat = tf.tensor2d(new Rng(2).uniformArray(2 * latentDim, -1, 1), [2, latentDim]);
      for (const training of [true, false]) {
        const x = generate(arch, p.g, lat, { training });
        assert.deepEqual(x.shape, [2, ...shape], `${ds} G output`);
        const v = x.dataSync();
        assert.ok(v.every((a) => a >= range[0] && a <= range[1]), `${ds} G output in ${range}`);
      }
      const x = generate(arch, p.g, lat, { training: false });
      const { dLogit, qMean } = discriminate(arch, p.dq, x);
      assert.deepEqual(dLogit.shape, [2]);
      assert.deepEqual(qMean.shape, [2, 5]);
      assert.deepEqual(contrast(arch, p.h, x, x).shape, [2, 5]);
    });
    // Spot-check the parameter tables against paper-facts §1.
    if (ds === "dsprites") {
      assert.deepEqual(p.g.get("g_fc1/kernel").shape, [128, 1024]);
      assert.deepEqual(p.g.get("g_dc0/kernel").shape, [4, 4, 64, 64]);
      assert.deepEqual(p.dq.get("d_c3/kernel").shape, [4, 4, 64, 64]);
      assert.deepEqual(p.dq.get("d_fc0/kernel").shape, [1024, 128]);
      assert.deepEqual(p.dq.get("q_out/kernel").shape, [128, 5]);
      assert.deepEqual(p.h.get("h_c0/kernel").shape, [4, 4, 2, 32]);
      assert.ok(p.h.state.has("h_fc0/sn_u") && !p.h.state.has("h_out/sn_u"), "H: SN on all but the last layer");
      assert.ok(p.dq.state.has("d_out/sn_u") && p.dq.state.has("q_out/sn_u"), "SN on both heads");
    }
    if (ds === "celeba") {
      assert.deepEqual(p.dq.get("d_c3/kernel").shape, [5, 5, 256, 512]);
      assert.deepEqual(p.dq.get("q_out/kernel").shape, [2048, 5]);
      assert.equal(p.h.state.has("h_c1/sn_u"), false);
      assert.ok(p.h.trainable.has("h_c1_bn/gamma"));
    }
    if (ds === "teapots") assert.equal([...p.h.state.keys()].some((k) => k.endsWith("sn_u")), false);
    for (const s of Object.values(p)) s.dispose();
  }
});

Deno.test("models: weight init is seeded and follows the paper's std", () => {
  const arch = architectureFor("dsprites");
  const a = initGan(arch, new Rng(5)), b = initGan(arch, new Rng(5));
  const k = a.dq.get("d_c1/kernel").dataSync();
  assert.deepEqual(k, b.dq.get("d_c1/kernel").dataSync());
  const std = Math.sqrt(Array.from(k).reduce((s, x) => s + x * x, 0) / k.length);
  assert.ok(std > 0.015 && std < 0.02, `truncated normal(0.02) has std ~0.0176, got ${std}`);
  assert.ok(k.every((x) => Math.abs(x) <= 0.04 + 1e-7), "truncated at 2 std");
  assert.ok(a.g.get("g_dc0/kernel").dataSync().some((x) => Math.abs(x) > 0.04), "deconv init is not truncated");
  for (const s of [...Object.values(a), ...Object.values(b)]) s.dispose();
});

Deno.test("losses: information loss equals its closed form on a hand-made case", () => {
  const c = tf.tensor2d([[0.5, -1], [0, 0.2]]);
  const mu = tf.tensor2d([[0, -0.5], [1, 0.2]]);
  // Row 1: 0.5*(0.25 + 0.25) = 0.25; row 2: 0.5*(1 + 0) = 0.5; mean 0.375, plus 2 * 0.5 log(2 pi).
  const expected = 0.375 + Math.log(2 * Math.PI);
  assert.ok(Math.abs(informationLoss(c, mu).dataSync()[0] - expected) < 1e-5);
  // Equals -mean sum log N(c; mu, 1) computed directly.
  const direct = -(([[0.5, -1, 0, -0.5], [0, 0.2, 1, 0.2]] as number[][]).reduce(
    (s, [c1, c2, m1, m2]) =>
      s + Math.log(Math.exp(-0.5 * (c1 - m1) ** 2) / Math.sqrt(2 * Math.PI)) +
      Math.log(Math.exp(-0.5 * (c2 - m2) ** 2) / Math.sqrt(2 * Math.PI)),
    0,
  ) / 2);
  assert.ok(Math.abs(informationLoss(c, mu).dataSync()[0] - direct) < 1e-5);
  tf.dispose([c, mu]);
});

Deno.test("losses: CR loss is the cross-entropy of the shared code's index", () => {
  const logits = tf.tensor2d([[2, 0, 0, 0, 0], [0, 1, 3, 0, -1]]);
  const idx = tf.tensor1d([0, 1], "int32");
  const ce = (row: number[], i: number) => -Math.log(Math.exp(row[i]) / row.reduce((s, x) => s + Math.exp(x), 0));
  const expected = (ce([2, 0, 0, 0, 0], 0) + ce([0, 1, 3, 0, -1], 1)) / 2;
  assert.ok(Math.abs(contrastiveLoss(logits, idx).dataSync()[0] - expected) < 1e-5);
  // A wrong index gives a different value: the target matters.
  const other = tf.tensor1d([0, 2], "int32");
  assert.ok(contrastiveLoss(logits, other).dataSync()[0] < expected - 0.5);
  // Uniform logits give ln 5.
  const flat = tf.zeros([3, 5]) as tf.Tensor2D;
  assert.ok(Math.abs(contrastiveLoss(flat, tf.tensor1d([4, 0, 2], "int32")).dataSync()[0] - Math.log(5)) < 1e-6);
  tf.dispose([logits, idx, other, flat]);
});

Deno.test("losses: adversarial losses match -log(sigmoid + 1e-8) forms", () => {
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const real = tf.tensor1d([2, -1]), fake = tf.tensor1d([0.5, -3]);
  const d = -(Math.log(sig(2) + 1e-8) + Math.log(sig(-1) + 1e-8)) / 2 -
    (Math.log(1 - sig(0.5) + 1e-8) + Math.log(1 - sig(-3) + 1e-8)) / 2;
  assert.ok(Math.abs(discriminatorLoss(real, fake).dataSync()[0] - d) < 1e-5);
  const g = -(Math.log(sig(0.5) + 1e-8) + Math.log(sig(-3) + 1e-8)) / 2;
  assert.ok(Math.abs(generatorAdversarialLoss(fake).dataSync()[0] - g) < 1e-5);
  tf.dispose([real, fake]);
});

Deno.test("latents: CR pairs share code i and the noise, other codes at least the gap apart, within [-1, 1]", () => {
  for (const gap of [0, 0.5, 1.9]) {
    const n = 2000, k = 5, m = 5;
    const p = sampleCrPairs(new Rng(11), n, k, m, gap);
    const counts = new Array(k).fill(0);
    let minOther = Infinity;
    for (let r = 0; r < n; r++) {
      const i = p.index[r];
      counts[i]++;
      assert.equal(p.c1[r * k + i], p.c2[r * k + i], "shared code equal");
      for (let j = 0; j < k; j++) {
        assert.ok(Math.abs(p.c1[r * k + j]) <= 1 && Math.abs(p.c2[r * k + j]) <= 1);
        if (j !== i) minOther = Math.min(minOther, Math.abs(p.c1[r * k + j] - p.c2[r * k + j]));
      }
    }
    assert.ok(minOther >= gap - 1e-6, `gap ${gap}: min other-code distance ${minOther}`);
    if (gap === 0) assert.ok(minOther < 0.01, "without a gap the other codes are independent draws");
    for (const c of counts) assert.ok(c > n / k * 0.8 && c < n / k * 1.2, `index roughly uniform: ${counts}`);
    assert.equal(p.z.length, n * m); // one noise draw per row: x' and x'' are generated from the same z
  }
  assert.deepEqual(sampleCrPairs(new Rng(3), 4, 5, 5, 0), sampleCrPairs(new Rng(3), 4, 5, 5, 0));
  assert.throws(() => sampleCrPairs(new Rng(3), 4, 5, 5, 2.5), /gap must be in \[0, 2\]/);
});

Deno.test("spectral norm: power iterations bring the largest singular value of W/sigma near 1", async () => {
  const arch = architectureFor("dsprites", [16, 16, 1]);
  const p = initGan(arch, new Rng(4));
  // Make a weight with a dominant direction so sigma is far from the init's.
  const w = p.dq.get("d_fc0/kernel");
  w.assign(tf.tidy(() => tf.add(w, tf.mul(tf.outerProduct(tf.ones([w.shape[0]]), tf.linspace(0, 1, 128)), 0.3))));
  for (let i = 0; i < 150; i++) updateSpectralNorms(arch, p);
  for (const layer of ["d_c0", "d_c3", "d_fc0", "d_out", "q_fc0", "q_out"]) {
    const s = await normalizedSpectralNorm(p.dq, layer);
    assert.ok(Math.abs(s - 1) < 0.03, `${layer}: largest singular value ${s}`);
  }
  assert.ok(Math.abs(await normalizedSpectralNorm(p.h, "h_c2") - 1) < 0.02);
  // Scaling W does not change W / sigma(W): the bound holds whatever the raw weight's norm (here about 10x larger).
  const c3 = p.dq.get("d_c3/kernel");
  c3.assign(tf.tidy(() => tf.mul(c3, 10)));
  assert.ok(Math.abs(await normalizedSpectralNorm(p.dq, "d_c3") - 1) < 0.03);
  for (const s of Object.values(p)) s.dispose();
});

Deno.test("models: encode and generate in inference mode, chunked for large inputs, same rows either way", () => {
  const arch = architectureFor("dsprites", [16, 16, 1]);
  const p = initGan(arch, new Rng(8));
  const model = ganModel("t", arch, p.g, p.dq);
  const n = INFERENCE_CHUNK + 37;
  const c = tf.tensor2d(new Rng(1).uniformArray(n * 5, -1, 1), [n, 5]);
  const z = tf.tensor2d(new Rng(2).uniformArray(n * 5, -1, 1), [n, 5]);
  const x = model.generate(c, z);
  assert.deepEqual(x.shape, [n, 16, 16, 1]);
  const tail = model.generate(c.slice(n - 3, 3), z.slice(n - 3, 3));
  const a = x.slice(n - 3, 3).dataSync(), b = tail.dataSync();
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(a[i] - b[i]) < 1e-5, "inference BN: rows do not depend on the batch");
  }
  const e = model.encode(x);
  assert.deepEqual(e.shape, [n, 5]);
  const eTail = model.encode(tail);
  const ea = e.slice(n - 3, 3).dataSync(), eb = eTail.dataSync();
  for (let i = 0; i < ea.length; i++) assert.ok(Math.abs(ea[i] - eb[i]) < 1e-5);
  assert.throws(() => model.generate(c), /needs 5 noise columns/);
  assert.throws(() => model.encode(tf.zeros([1, 8, 8, 1]) as tf.Tensor4D), /takes 16x16x1/);
  tf.dispose([c, z, x, tail, e, eTail]);
  model.dispose();
  p.h.dispose();
});

Deno.test("models: G exports as a tfjs LayersModel that matches inference-mode generate (dSprites and CelebA orderings)", async () => {
  for (const [ds, shape] of [["dsprites", [16, 16, 1]], ["celeba", [16, 16, 3]]] as const) {
    const arch = architectureFor(ds, [...shape]);
    const g = initGenerator(arch, new Rng(9));
    // Non-trivial BN statistics, so a wrong BN placement or epsilon shows.
    for (const [name, v] of g.state) {
      v.assign(tf.tidy(() => tf.add(tf.mul(tf.onesLike(v), 0.3), name.endsWith("variance") ? 1 : 0)));
    }
    const { data, specs } = await tf.io.encodeWeights(g.all());
    const lm = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: generatorTopology(arch), weightSpecs: specs, weightData: data }),
    );
    const dim = arch.latent.codes + arch.latent.noise;
    const latent = tf.tensor2d(new Rng(3).uniformArray(4 * dim, -1, 1), [4, dim]);
    const a = generate(arch, g, latent, { training: false }).dataSync();
    const b = (lm.predict(latent) as tf.Tensor).dataSync();
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    assert.ok(maxDiff < 1e-4, `${ds}: LayersModel differs by ${maxDiff}`);
    lm.dispose();
    g.dispose();
    latent.dispose();
  }
});
