/**
 * The trainer against the reference's bookkeeping: where G's batch-norm moving statistics come from, and when the
 * spectral-norm vectors move (docs/training.md, "Batch-norm statistics" and "Spectral normalisation").
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { Rng } from "../lib/rng.ts";
import { createTrainer } from "../lib/train/trainer.ts";
import { architectureFor, initGenerator } from "../lib/models/infogan_cr.ts";
import { meanBatchVariances, pairBatches, priorBatches, varianceRatios } from "../lib/models/bn_drift.ts";
import type { ParamSet } from "../lib/models/layers.ts";
import { tinyConfig, tinySquares } from "./train_helpers.ts";

await initBackend({ backend: "wasm", quiet: true });
globalThis.addEventListener("unload", () => shutdownBackend());

const data = tinySquares();

/** sum over channels of a's variances / sum of b's, per layer. */
function ratio(a: Map<string, Float64Array>, b: Map<string, Float64Array>, layer: string): number {
  const s = (x: Float64Array) => x.reduce((p, q) => p + q, 0);
  return s(a.get(layer)!) / s(b.get(layer)!);
}

Deno.test("batch norm: with gap 0 a CR pair batch has a prior batch's statistics; with gap 1.9 it does not", () => {
  // Why the reference's pair updates are harmless at its gap 0 and why they are dropped for every gap: at gap 0 a pair
  // member is a prior draw, so feeding it to the moving averages changes nothing in expectation.
  const arch = architectureFor("dsprites", [16, 16, 1]);
  const g = initGenerator(arch, new Rng(5));
  const rng = new Rng(6);
  const prior = priorBatches(arch, rng, 32, 64), gap0 = pairBatches(arch, rng, 32, 64, 0);
  const gap19 = pairBatches(arch, rng, 32, 64, 1.9);
  const vPrior = meanBatchVariances(arch, g, prior);
  const r0 = ratio(meanBatchVariances(arch, g, gap0), vPrior, "g_fc0_bn");
  const r19 = ratio(meanBatchVariances(arch, g, gap19), vPrior, "g_fc0_bn");
  assert.ok(Math.abs(r0 - 1) < 0.04, `gap 0: pair/prior variance ${r0}`);
  assert.ok(r19 > 1.3, `gap 1.9: pair/prior variance ${r19} (the non-shared codes sit near +-1)`);
  tf.dispose([...prior, ...gap0, ...gap19]);
  g.dispose();
});

Deno.test("batch norm: after CR iterations with gap 1.9, G's moving variance matches prior batches' variance", async () => {
  // CR on from the first iteration, gap 1.9 throughout, batch 32 as the cpu profile. The rates are tiny so that the
  // weights, hence the prior's statistics, stay put: the test is about which batches feed the moving averages, not
  // about how fast they follow a moving target.
  const cfg = tinyConfig({
    batchSize: 32,
    iterations: 8,
    lr: { g: 1e-7, d: 1e-7, h: 1e-7 },
    alpha: { start: 2, increase: 0, every: 1, times: 0 },
    gap: { start: 1.9, decrease: 0, every: 1, times: 0 },
  });
  const t = await createTrainer(cfg, { data });
  const { g } = t.params();
  // Start the moving variances at the prior's (a fresh G's weights are tiny, so the initial value 1 would take a few
  // hundred updates to wash out), then see where eight CR iterations take them.
  const warm = priorBatches(t.arch, new Rng(8), 32, 48);
  for (const [layer, v] of meanBatchVariances(t.arch, g, warm)) {
    g.get(`${layer}/moving_variance`).assign(tf.tensor(Float32Array.from(v)));
  }
  for (let i = 0; i < cfg.iterations; i++) await t.step();
  const lat = priorBatches(t.arch, new Rng(9), 32, 48);
  const r = varianceRatios(g, meanBatchVariances(t.arch, g, lat));
  // With the pair passes feeding the moving averages (the reference's bookkeeping) the first layer's ratio falls to
  // about 0.67 here.
  for (const [layer, v] of Object.entries(r)) {
    assert.ok(Math.abs(v - 1) < 0.05, `${layer}: prior-batch variance / moving variance = ${v.toFixed(3)}`);
  }
  tf.dispose([...warm, ...lat]);
  t.dispose();
});

/** One power iteration of `u` on the layer's current kernel, as the reference's u update. */
function powerStep(p: ParamSet, layer: string, u: tf.Tensor): Float32Array {
  return tf.tidy(() => {
    const w = p.get(`${layer}/kernel`);
    const w2 = tf.reshape(w, [-1, w.shape.at(-1)!]) as tf.Tensor2D;
    const norm = (x: tf.Tensor2D) => tf.div(x, tf.add(tf.norm(x), 1e-12)) as tf.Tensor2D;
    const v = norm(tf.matMul(u as tf.Tensor2D, w2, false, true));
    return norm(tf.matMul(v, w2)).dataSync() as Float32Array;
  });
}

function snLayers(p: ParamSet): string[] {
  return [...p.state.keys()].filter((k) => k.endsWith("/sn_u")).map((k) => k.slice(0, -"/sn_u".length));
}

Deno.test("spectral norm: each iteration moves every u once, on the weights after all optimiser steps; H's reset keeps u", async () => {
  const cfg = tinyConfig({ iterations: 6 }); // alpha switches on (H reset) at iteration 3
  const t = await createTrainer(cfg, { data });
  for (let i = 0; i < cfg.iterations; i++) {
    const before = new Map<string, tf.Tensor>();
    for (const [net, p] of [["dq", t.params().dq], ["h", t.params().h]] as const) {
      for (const l of snLayers(p)) before.set(`${net}:${l}`, tf.clone(p.get(`${l}/sn_u`)));
    }
    await t.step();
    for (const [net, p] of [["dq", t.params().dq], ["h", t.params().h]] as const) {
      const layers = snLayers(p);
      assert.ok(layers.length >= 5, `${net} has spectrally normalised layers`);
      for (const l of layers) {
        const want = powerStep(p, l, before.get(`${net}:${l}`)!);
        const got = p.get(`${l}/sn_u`).dataSync();
        const err = Math.max(...want.map((x, j) => Math.abs(x - got[j])));
        assert.ok(err < 1e-5, `iteration ${i}, ${net} ${l}: u is not one power step from the previous u (${err})`);
      }
    }
    tf.dispose([...before.values()]);
  }
  t.dispose();
});
