import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../lib/rng.ts";
import {
  centralityScores,
  labelledLatents,
  modelCentrality,
  type ModelCentralityProgress,
  resolveSizes,
  symmetrise,
} from "../lib/selection/model_centrality.ts";
import { identity, linearModel, matMul, rotatedModel, rotation } from "./selection_helpers.ts";

await tf.setBackend("cpu");

const SMALL = { groupsPerCode: 300, groupSize: 10, priorSamples: 1000 };

Deno.test("model centrality: the medoid of a pool of rotated codes is picked (pool built so the middle angle is central)", async () => {
  // Model k renders R(θ_k)c + noise and encodes with R(-θ_k), so S[i][j] only depends on |θ_i - θ_j| and falls as it
  // grows towards 45°: the model at 20° is nearest to all others.
  const models = [0, 10, 20, 30, 40].map((d) => rotatedModel(`rot${d}`, d, 0.7));
  const shuffled = [3, 0, 4, 2, 1].map((k) => models[k]); // the pick must not depend on the pool order
  const r = await modelCentrality(shuffled, new Rng(5), SMALL);
  assert.equal(shuffled[r.pick].name, "rot20");
  assert.equal(r.order[0], r.pick);
  // The two extremes are the least central.
  assert.deepEqual(new Set(r.order.slice(3).map((k) => shuffled[k].name)), new Set(["rot0", "rot40"]));
  const sorted = [...r.scores].sort((a, b) => b - a);
  assert.ok(sorted[0] - sorted[1] > 0.005, `margin ${sorted[0] - sorted[1]}`);
  assert.deepEqual(r.order.map((k) => r.scores[k]), sorted);
});

Deno.test("model centrality: S[i][j] uses model i's ENCODER on model j's GENERATED set (swap is caught)", async () => {
  // a: identity generator and encoder. b: generator mixes codes by 40°, encoder is the identity.
  // S[b][a] = E_b∘G_a = identity → near 1. S[a][b] = E_a∘G_b = R(40°) → far lower.
  const a = linearModel("a", identity(2), identity(2), { noise: 2, noiseScale: 0.3 });
  const b = linearModel("b", rotation(40), identity(2), { noise: 2, noiseScale: 0.3 });
  const r = await modelCentrality([a, b], new Rng(1), SMALL);
  assert.ok(r.S[1][0] > 0.95, `S[b][a] = ${r.S[1][0]}`);
  assert.ok(r.S[0][1] < 0.8, `S[a][b] = ${r.S[0][1]}`);
  assert.ok(r.S[0][0] > 0.95, `S[a][a] = ${r.S[0][0]}`);
  assert.ok(Math.abs(r.S[1][1] - r.S[0][1]) < 0.05, "b on its own set sees the same 40° mixing as a does");
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) assert.equal(r.A[i][j], (r.S[i][j] + r.S[j][i]) / 2);
});

Deno.test("model centrality: the normaliser is model i's own code std on set j (a 100× scaled encoder scores the same)", async () => {
  const base = linearModel("id", identity(2), identity(2), { noise: 2, noiseScale: 0.3 });
  // Encoder scales code 0 by 100: without the per-dim std of ITS codes every vote would go to dim 1.
  const scaled = linearModel("scaled", identity(2), [[100, 0], [0, 1]], { noise: 2, noiseScale: 0.3 });
  const r = await modelCentrality([base, scaled], new Rng(2), SMALL);
  assert.ok(r.S[0][0] > 0.95);
  assert.ok(Math.abs(r.S[1][0] - r.S[0][0]) < 1e-9, `scaled ${r.S[1][0]} vs base ${r.S[0][0]}`);
  assert.ok(Math.abs(r.S[1][1] - r.S[0][1]) < 1e-9);
});

Deno.test("model centrality: A is symmetric, centrality leaves out the diagonal, a scrambled model ranks last", async () => {
  const noise = { noise: 2, noiseScale: 0.3 };
  const swap = [[0, 1], [1, 0]];
  const models = [
    linearModel("id", identity(2), identity(2), noise),
    rotatedModel("rot5", 5, 0.3),
    // Permuted and sign-flipped codes are equally good: the FactorVAE metric ignores code order and sign.
    linearModel("swapped", swap, swap, noise),
    linearModel("flipped", [[-1, 0], [0, 1]], [[-1, 0], [0, 1]], noise),
    // Scrambled: its generator mixes its codes at 45°, its encoder mixes the other way.
    linearModel("scrambled", rotation(45), matMul(rotation(45), swap), noise),
  ];
  const r = await modelCentrality(models, new Rng(3), SMALL);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) assert.equal(r.A[i][j], r.A[j][i]);
  assert.equal(models[r.order[4]].name, "scrambled");
  assert.ok(r.scores[4] < Math.min(...r.scores.slice(0, 4)) - 0.1);
  // Hand-built A: the diagonal must not count.
  const A = [[100, 0.5, 0.7], [0.5, 100, 0.1], [0.7, 0.1, 100]];
  centralityScores(A).forEach((c, i) => assert.ok(Math.abs(c - [0.6, 0.3, 0.4][i]) < 1e-12, `centrality ${i} = ${c}`));
  assert.deepEqual(symmetrise([[1, 0.2], [0.6, 1]]), [[1, 0.4], [0.4, 1]]);
});

Deno.test("model centrality: results do not depend on the chunk size, are seeded, and leak no tensors", async () => {
  const models = [0, 20, 35].map((d) => rotatedModel(`rot${d}`, d, 0.5));
  const opts = { groupsPerCode: 50, groupSize: 10, priorSamples: 300 };
  const before = tf.memory().numTensors;
  const progress: ModelCentralityProgress[] = [];
  const r1 = await modelCentrality(models, new Rng(9), { ...opts, chunk: 7, onProgress: (p) => progress.push(p) });
  assert.equal(tf.memory().numTensors, before);
  const r2 = await modelCentrality(models, new Rng(9), { ...opts, chunk: 100_000 });
  const r3 = await modelCentrality(models, new Rng(9), { ...opts, chunk: 333 });
  assert.deepEqual(r1.S, r2.S);
  assert.deepEqual(r1.S, r3.S);
  const r4 = await modelCentrality(models, new Rng(10), { ...opts, chunk: 333 });
  assert.notDeepEqual(r1.S, r4.S);
  // Progress covers each set to its end: groups × L + prior images.
  const lastOfSet = [0, 1, 2].map((j) => progress.filter((p) => p.set === j).at(-1)!);
  for (const p of lastOfSet) assert.equal(p.imagesDone, 2 * 50 * 10 + 300);
  assert.deepEqual(r1.sizes, opts);
});

Deno.test("model centrality: labelled latents hold code g mod K fixed within each group, and only that code", () => {
  const lat = labelledLatents(
    { codes: 3, noise: 2, prior: "gaussian" },
    { groups: 7, groupSize: 4, priorSamples: 5 },
    new Rng(4),
  );
  assert.equal(lat.codes.length, (7 * 4 + 5) * 3);
  assert.equal(lat.noise.length, (7 * 4 + 5) * 2);
  assert.deepEqual(Array.from(lat.fixedFactor), [0, 1, 2, 0, 1, 2, 0]);
  for (let g = 0; g < 7; g++) {
    for (let k = 0; k < 3; k++) {
      const vals = new Set(Array.from({ length: 4 }, (_, r) => lat.codes[(g * 4 + r) * 3 + k]));
      assert.equal(vals.size, k === g % 3 ? 1 : 4, `group ${g} code ${k}`);
    }
  }
  assert.ok(lat.codes.some((v) => Math.abs(v) > 1), "a Gaussian prior reaches beyond [-1, 1]");
});

Deno.test("model centrality: bad input is a clear error naming the thing", async () => {
  const m = rotatedModel("m", 0, 0.1);
  await assert.rejects(() => modelCentrality([m], new Rng(0)), /at least 2 models, got 1/);
  const bad = { ...rotatedModel("bad", 0, 0.1), codeSize: 3 };
  await assert.rejects(
    () => modelCentrality([m, bad], new Rng(0), { profile: "smoke" }),
    /bad: encode returned shape \[\d+,2\], expected \[\d+, 3\]/,
  );
  assert.throws(() => resolveSizes({ groupSize: 1 }), /groupSize must be at least 2/);
  assert.throws(() => resolveSizes({ profile: "huge" as "cpu" }), /unknown selection profile "huge"/);
  assert.deepEqual(resolveSizes({ profile: "paper" }), { groupsPerCode: 100, groupSize: 100, priorSamples: 73_728 });
});
