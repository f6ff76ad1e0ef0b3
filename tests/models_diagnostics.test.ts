/**
 * The diagnostics behind docs/training.md's measurements (lib/models/bn_drift.ts, lib/models/d_diagnostics.ts), and the
 * property the explanation of D's loss plateau rests on: it is the value of D's loss when D's output carries no
 * information, reached with full-size gradients (not a saturated or vanishing-gradient state of the loss).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { Rng } from "../lib/rng.ts";
import { architectureFor, generate, initDQ, initGenerator } from "../lib/models/infogan_cr.ts";
import { bnDrift, priorBatches, trainInferenceIoU } from "../lib/models/bn_drift.ts";
import { probeDiscriminator } from "../lib/models/d_diagnostics.ts";
import { type LayerSpec, spectralNormUpdate } from "../lib/models/layers.ts";
import { discriminatorLoss } from "../lib/losses/gan.ts";

await initBackend({ backend: "cpu", quiet: true });

Deno.test("D loss: an input-blind D scores at best 2 ln 2 (at logit 0), with gradient +-1/(2n) per logit", () => {
  const n = 8;
  const at = (b: number) =>
    tf.tidy(() => {
      const real = tf.fill([n], b) as tf.Tensor1D, fake = tf.fill([n], b) as tf.Tensor1D;
      const loss = discriminatorLoss(real, fake).dataSync()[0];
      const [gr, gf] = tf.grads((r: tf.Tensor, f: tf.Tensor) => discriminatorLoss(r as tf.Tensor1D, f as tf.Tensor1D))([
        real,
        fake,
      ]);
      return { loss, gr: gr.dataSync()[0], gf: gf.dataSync()[0] };
    });
  const zero = at(0);
  assert.ok(Math.abs(zero.loss - 2 * Math.LN2) < 1e-6, `loss at logit 0: ${zero.loss}`);
  for (const b of [-2, -0.5, 0.3, 1, 4]) assert.ok(at(b).loss > zero.loss, `a constant logit ${b} does better`);
  // d/dlogit of -log sigmoid(l) / n is -(1 - sigmoid(l)) / n = -1/(2n) at 0; of -log(1 - sigmoid(l)) / n, +1/(2n).
  assert.ok(Math.abs(zero.gr + 1 / (2 * n)) < 1e-6 && Math.abs(zero.gf - 1 / (2 * n)) < 1e-6, JSON.stringify(zero));
});

Deno.test("probeDiscriminator: a D whose last layer reads nothing outputs its bias, with a zero input gradient", async () => {
  const arch = architectureFor("dsprites", [16, 16, 1]);
  const dq = initDQ(arch, new Rng(3));
  for (let i = 0; i < 100; i++) spectralNormUpdate(dq, [...arch.trunk, ...arch.dHead, ...arch.qHead]);
  const real = tf.tensor4d(new Rng(4).uniformArray(4 * 256), [4, 16, 16, 1]);
  const fake = tf.tensor4d(new Rng(5).uniformArray(4 * 256), [4, 16, 16, 1]);
  const before = await probeDiscriminator(arch, dq, real, fake);
  for (const s of Object.values(before.layerSigma)) assert.ok(Math.abs(s - 1) < 0.02, `normalised sigma ${s}`);
  assert.ok(before.realGradNorm.mean > 0 && before.imageDistance.mean > 0);
  // Without spectral norm (which cannot normalise a zero kernel), a zero last-layer kernel makes the logit the bias.
  const plain = (l: LayerSpec): LayerSpec => (l.op === "conv" || l.op === "dense" ? { ...l, sn: false } : l);
  const noSn = { ...arch, trunk: arch.trunk.map(plain), dHead: arch.dHead.map(plain), qHead: arch.qHead.map(plain) };
  dq.get("d_out/kernel").assign(tf.zerosLike(dq.get("d_out/kernel")));
  dq.get("d_out/bias").assign(tf.tensor1d([0.7]));
  const after = await probeDiscriminator(noSn, dq, real, fake);
  assert.deepEqual(after.layerSigma, {});
  assert.ok(after.realGradNorm.max === 0 && after.fakeGradNorm.max === 0);
  assert.ok(Math.abs(after.realLogit.mean - 0.7) < 1e-6 && Math.abs(after.fakeLogit.max - 0.7) < 1e-6);
  assert.ok(Math.abs(after.realProb - 1 / (1 + Math.exp(-0.7))) < 1e-6);
  assert.ok(Math.abs(after.outBias - 0.7) < 1e-6);
  tf.dispose([real, fake]);
  dq.dispose();
});

Deno.test("bn_drift: ratio ~1 and IoU ~1 when the moving statistics are the prior's; far off when they are not", () => {
  const arch = architectureFor("dsprites", [16, 16, 1]);
  const g = initGenerator(arch, new Rng(7));
  // A sharper last layer, so that pixels sit far from the 0.5 threshold.
  g.get("g_dc3/kernel").assign(tf.mul(g.get("g_dc3/kernel"), 200));
  // Moving averages := the prior's statistics, from one large training-mode pass.
  const [big] = priorBatches(arch, new Rng(8), 2000, 1);
  tf.tidy(() =>
    generate(arch, g, big, {
      training: true,
      noStatUpdate: true,
      observeBatchStats: (layer, mean, variance) => {
        g.get(`${layer}/moving_mean`).assign(mean);
        g.get(`${layer}/moving_variance`).assign(variance);
      },
    })
  );
  const matched = bnDrift(arch, g, new Rng(9), 32, { batches: 24, iouBatchSize: 400, iouBatches: 1 });
  for (const [layer, r] of Object.entries(matched.varianceRatio)) {
    // Batches of 32 have biased variances, 31/32 of the population's on average.
    assert.ok(Math.abs(r - 31 / 32) < 0.05, `${layer}: ${r}`);
  }
  // Batches of 400 have statistics a little off the population's, so a few pixels near 0.5 flip (0.93 here).
  assert.ok(matched.iou > 0.85, `IoU with matched statistics: ${matched.iou}`);
  // On the very batch whose statistics the moving averages hold, both modes compute the same images.
  assert.ok(Math.abs(trainInferenceIoU(arch, g, [big]) - 1) < 1e-3);
  const mv = g.get("g_fc0_bn/moving_variance");
  mv.assign(tf.mul(mv, 4));
  const off = bnDrift(arch, g, new Rng(9), 32, { batches: 24, iouBatchSize: 400, iouBatches: 1 });
  assert.ok(Math.abs(off.varianceRatio.g_fc0_bn - matched.varianceRatio.g_fc0_bn / 4) < 1e-3);
  assert.ok(off.iou < matched.iou - 0.1, `IoU with the first layer's moving variance x4: ${off.iou} vs ${matched.iou}`);
  tf.dispose(big);
  g.dispose();
});
