import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { evaluateMetrics } from "../lib/metrics/evaluate.ts";
import { parseMetricList, protocolFor } from "../lib/metrics/protocols.ts";
import { encodeFactorRows, sampleGroupFactors } from "../lib/metrics/sampling.ts";
import { Rng } from "../lib/rng.ts";
import { independentEncoder, linearEncoder, LiteralFactors, perfectEncoder } from "./metrics_fixtures.ts";

await tf.setBackend("cpu");
const data = new LiteralFactors([3, 6, 10, 8, 8]);
const K = 5;

Deno.test("sampling: groups hold their factor fixed (cycled or random, whole group or per pair)", () => {
  const rng = new Rng(1);
  const g = sampleGroupFactors(data, rng, { groups: 10, groupSize: 6, factorChoice: "cycle" });
  assert.deepEqual([...g.fixedFactor], [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  for (let q = 0; q < 10; q++) {
    const k = g.fixedFactor[q];
    const vals = new Set(Array.from({ length: 6 }, (_, r) => g.factors[(q * 6 + r) * K + k]));
    assert.equal(vals.size, 1);
  }
  const p = sampleGroupFactors(data, rng, { groups: 200, groupSize: 8, factorChoice: "random", share: "pairs" });
  let pairValuesDiffer = 0;
  for (let q = 0; q < 200; q++) {
    const k = p.fixedFactor[q];
    for (let b = 0; b < 4; b++) {
      assert.equal(p.factors[(q * 8 + 2 * b) * K + k], p.factors[(q * 8 + 2 * b + 1) * K + k]);
      if (b > 0 && p.factors[(q * 8 + 2 * b) * K + k] !== p.factors[q * 8 * K + k]) pairValuesDiffer++;
    }
  }
  assert.ok(pairValuesDiffer > 100, "different pairs of a group get different values");
  assert.ok(new Set(p.fixedFactor).size === K);
});

Deno.test("sampling: batched encoding equals one-shot encoding and keeps tensors balanced", async () => {
  const enc = perfectEncoder([4, 3, 2, 1, 0], [1, 2, 3, 4, 5]);
  const f = data.sampleFactors(37, new Rng(2));
  const before = tf.memory().numTensors;
  const a = await encodeFactorRows(data, enc, f, 5);
  const b = await encodeFactorRows(data, enc, f, 100);
  assert.deepEqual(a, b);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(a[0 * 5 + 4], f[0]); // code 4 = 1 * factor 0
  assert.ok(Math.abs(a[3 * 5 + 0] - 5 * f[3 * 5 + 4]) < 1e-6);
});

Deno.test("evaluate (infogan-cr, smoke): perfect representation scores 1 on FactorVAE, near 1 elsewhere", async () => {
  const tensorsBefore = tf.memory().numTensors;
  const r = await evaluateMetrics(data, perfectEncoder([3, 0, 4, 1, 2], [2, -1, 0.5, 7, 1]), {
    protocol: "infogan-cr",
    profile: "smoke",
    seed: 0,
    backend: "cpu",
    categorical: new Array(K).fill(false),
  });
  const s = r.scores;
  assert.equal(s.factorVae, 1);
  assert.ok(s.betaVae! > 0.95, `BetaVAE ${s.betaVae}`);
  assert.ok(s.mig! > 0.9, `MIG ${s.mig}`);
  assert.ok(s.sap! > 0.95, `SAP ${s.sap}`);
  assert.ok(s.dci! > 0.9, `DCI ${s.dci}`);
  assert.ok(s.dciLasso! > 0.99, `DCI lasso ${s.dciLasso}`);
  assert.ok(s.modularity! > 0.9, `modularity ${s.modularity}`);
  assert.ok(s.explicitness! > 0.9, `explicitness ${s.explicitness}`);
  // The record says what produced it.
  assert.equal(r.protocol, "infogan-cr");
  assert.equal(r.profile, "smoke");
  assert.equal(r.sampleSizes.factorVaeGroups, 50);
  assert.equal(r.sampleSizes.observational, 1000);
  assert.equal(r.sampleSizes.imagesEncoded, 50 * 20 + 1000); // groups reused by BetaVAE, one observational sample
  assert.deepEqual(r.factors, ["f0", "f1", "f2", "f3", "f4"]);
  JSON.parse(JSON.stringify(r)); // plain JSON
  assert.equal(tf.memory().numTensors, tensorsBefore + 1); // only the encoder's own weight matrix remains
});

Deno.test("evaluate (disentanglement-lib, smoke): perfect representation scores 1 on held-out FactorVAE votes", async () => {
  // BetaVAE's L2-penalised classifier sees only 100 points at smoke size; a code scaled down to 0.2 shrinks its
  // features fivefold and was measured at 0.88 here, so scales stay within [0.5, 3] (at 500 points, 0.5-7 is fine).
  const r = await evaluateMetrics(data, perfectEncoder([1, 2, 3, 4, 0], [1, 1, 3, 1, 0.5]), {
    protocol: "disentanglement-lib",
    profile: "smoke",
    metrics: ["factor-vae", "beta-vae", "mig", "dci"],
  });
  assert.equal(r.scores.factorVae, 1);
  assert.ok(r.scores.betaVae! > 0.95, `BetaVAE ${r.scores.betaVae}`);
  assert.ok(r.scores.mig! > 0.9, `MIG ${r.scores.mig}`);
  assert.ok(r.scores.dci! > 0.9, `DCI ${r.scores.dci}`);
  assert.deepEqual(r.details.factorVae && (r.details.factorVae as { activeDims: number[] }).activeDims, [
    0,
    1,
    2,
    3,
    4,
  ]);
  assert.equal(r.sampleSizes.factorVaeEvalGroups, 50);
  assert.equal(r.sampleSizes.observationalTest, 500);
});

Deno.test("evaluate: independent codes are near chance under each protocol", async () => {
  const enc = independentEncoder(K, 11);
  const paperGroups = await evaluateMetrics(data, enc, {
    protocol: "infogan-cr",
    params: {
      ...protocolFor("infogan-cr", "smoke"),
      factorVae: { ...protocolFor("infogan-cr").factorVae, groupSize: 20 },
    },
    metrics: ["factor-vae", "mig", "sap"],
    categorical: new Array(K).fill(false),
  });
  // 500 groups scored on their own votes: the majority count of each dim beats 1/K by sampling noise (about 0.25-0.3).
  assert.ok(
    paperGroups.scores.factorVae! > 1 / K && paperGroups.scores.factorVae! < 0.35,
    `${paperGroups.scores.factorVae}`,
  );
  assert.ok(paperGroups.scores.mig! < 0.05 && paperGroups.scores.sap! < 0.05);
  const dl = await evaluateMetrics(data, independentEncoder(K, 12), {
    protocol: "disentanglement-lib",
    params: {
      ...protocolFor("disentanglement-lib", "smoke"),
      factorVae: { ...protocolFor("disentanglement-lib", "smoke").factorVae, trainGroups: 500, evalGroups: 500 },
    },
    metrics: ["factor-vae", "beta-vae", "dci"],
  });
  // Held-out votes: about 1/K.
  assert.ok(Math.abs(dl.scores.factorVae! - 1 / K) < 0.07, `DL FactorVAE ${dl.scores.factorVae}`);
  assert.ok(dl.scores.betaVae! < 0.4, `DL BetaVAE ${dl.scores.betaVae}`);
  assert.ok(dl.scores.dci! < 0.2, `DCI ${dl.scores.dci}`);
});

Deno.test("evaluate: duplicating a factor in two codes keeps FactorVAE at 1 but costs MIG; same seed, same scores", async () => {
  const mix: number[][] = [0, 1, 2, 3, 4].map((k) => [0, 1, 2, 3, 4].map((j) => (j === k ? 1 : 0)));
  mix.push([2, 0, 0, 0, 0]); // a sixth code copies factor 0
  const enc = linearEncoder(mix);
  const opts = {
    protocol: "infogan-cr" as const,
    profile: "smoke" as const,
    metrics: parseMetricList("factor-vae,mig"),
  };
  const r = await evaluateMetrics(data, enc, { ...opts, seed: 3 });
  assert.equal(r.scores.factorVae, 1);
  assert.ok(r.scores.mig! < 0.85 && r.scores.mig! > 0.7, `MIG ${r.scores.mig}`); // about (K-1)/K
  const again = await evaluateMetrics(data, enc, { ...opts, seed: 3 });
  assert.deepEqual(again.scores, r.scores);

  const noisy = linearEncoder([[1, 0.6, 0, 0, 0], [0.5, 1, 0, 0, 0], [0, 0, 1, 0.8, 0], [0, 0, 0.7, 1, 0], [
    0,
    0,
    0,
    0,
    1,
  ]]);
  const full = { protocol: "infogan-cr" as const, profile: "smoke" as const, categorical: new Array(K).fill(false) };
  const a = await evaluateMetrics(data, noisy, { ...full, seed: 5 });
  const b = await evaluateMetrics(data, noisy, { ...full, seed: 5 });
  const c = await evaluateMetrics(data, noisy, { ...full, seed: 6 });
  assert.deepEqual(a.scores, b.scores);
  assert.notDeepEqual(a.scores, c.scores);
  // A metric's value does not depend on which other metrics were asked for.
  const only = await evaluateMetrics(data, noisy, { ...full, seed: 5, metrics: ["mig"] });
  assert.equal(only.scores.mig, a.scores.mig);
});

Deno.test("protocols: presets, metric lists and errors", () => {
  const p = protocolFor("infogan-cr", "paper");
  assert.equal(p.factorVae.trainGroups, 500);
  assert.equal(p.factorVae.groupSize, 100);
  assert.equal(p.observational.train, 73_728);
  assert.equal(p.observational.fractionOfData, 0.1); // 10% of the training set: 73,728 dSprites, 20,000 teapots
  assert.equal(protocolFor("infogan-cr", "cpu").observational.fractionOfData, null);
  assert.deepEqual(p.dci.forestDepths, [4, 2, 4, 2, 2]);
  const d = protocolFor("disentanglement-lib", "paper");
  assert.deepEqual([d.factorVae.trainGroups, d.factorVae.evalGroups, d.factorVae.groupSize], [10_000, 5_000, 64]);
  assert.equal(d.factorVae.pruneThreshold, 0.05);
  assert.ok(
    protocolFor("infogan-cr", "smoke").observational.train < protocolFor("infogan-cr", "cpu").observational.train,
  );
  assert.equal(parseMetricList("all").length, 7);
  assert.throws(() => parseMetricList("mig,foo"), /unknown metric "foo"/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => protocolFor("nope" as any), /unknown protocol "nope"/);
});
