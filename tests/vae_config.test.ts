import assert from "node:assert/strict";
import { DEFAULT_BETA, DEFAULT_GAMMA, parseVaeConfig, presetFor } from "../lib/config/vae.ts";

Deno.test("vae config: paper presets carry the released FactorVAE settings", () => {
  const f = presetFor("dsprites", "paper", "factor-vae");
  assert.equal(f.model, "factor-vae");
  assert.equal(f.iterations, 311_040);
  assert.equal(f.batchSize, 64);
  assert.equal(f.latentDim, 10);
  assert.deepEqual(f.imageShape, [64, 64, 1]);
  assert.deepEqual(f.optimVae, { lr: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  if (f.model !== "factor-vae") throw new Error("unreachable");
  assert.deepEqual(f.optimTcd, { lr: 1e-4, beta1: 0.5, beta2: 0.9, epsilon: 1e-8 });
  assert.deepEqual(f.tcd, { hidden: 1000, layers: 5 });
  assert.equal(f.gamma, DEFAULT_GAMMA);
  assert.equal(f.representation, "sampled");
  assert.equal(presetFor("teapots", "paper").iterations, 109_375);
  assert.deepEqual(presetFor("teapots", "cpu").imageShape, [64, 64, 3]);
  // The cpu dSprites departures documented in lib/config/vae.ts (the FactorVAE pool of `reproduce --profile cpu`).
  const cpu = presetFor("dsprites", "cpu", "factor-vae");
  assert.deepEqual([cpu.batchSize, cpu.optimVae.lr, cpu.iterations], [32, 1e-4, 3_000]);
  assert.deepEqual([presetFor("teapots", "cpu").batchSize, presetFor("teapots", "cpu").optimVae.lr], [64, 1e-4]);
  const b = presetFor("dsprites", "smoke", "beta-vae");
  assert.equal(b.model, "beta-vae");
  if (b.model !== "beta-vae") throw new Error("unreachable");
  assert.equal(b.beta, DEFAULT_BETA);
  assert.ok(!("gamma" in b) && !("tcd" in b));
  for (const p of ["smoke", "cpu", "paper"] as const) {
    const c = presetFor("dsprites", p);
    assert.ok(c.iterations >= 1 && c.checkpointEvery >= 1);
  }
  assert.ok(presetFor("dsprites", "smoke").iterations < presetFor("dsprites", "cpu").iterations);
  assert.ok(presetFor("dsprites", "cpu").iterations < presetFor("dsprites", "paper").iterations);
});

Deno.test("vae config: typos and wrong types are rejected with a message naming the key", () => {
  const base = presetFor("dsprites", "smoke", "factor-vae") as Record<string, unknown>;
  assert.throws(() => parseVaeConfig({ ...base, gama: 10 }), /unknown key "gama"/);
  assert.throws(() => parseVaeConfig({ ...base, gamma: "10" }), /gamma: .*expected number/);
  assert.throws(
    () => parseVaeConfig({ ...base, arch: { ...(base.arch as object), encoderChanels: [1, 2, 3, 4] } }),
    /unknown key "encoderChanels" at arch/,
  );
  assert.throws(
    () => parseVaeConfig({ ...base, optimVae: { lr: -1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } }),
    /optimVae\.lr/,
  );
  assert.throws(
    () => parseVaeConfig({ ...base, model: "factorvae" }),
    /model: must be one of "factor-vae", "beta-vae"/,
  );
  assert.throws(() => parseVaeConfig({ ...base, representation: "median" }), /representation/);
  assert.throws(() => parseVaeConfig({ ...base, imageShape: [20, 20, 1] }), /multiples of 16/);
  // beta belongs to beta-VAE only: a FactorVAE config with it is a typo-like error, not silently ignored.
  assert.throws(() => parseVaeConfig({ ...base, beta: 4 }), /unknown key "beta"/);
  assert.throws(() => presetFor("celeba" as "dsprites", "paper"), /no VAE preset for dataset "celeba"/);
  // A valid config round-trips through JSON (what config.json stores).
  assert.deepEqual(parseVaeConfig(JSON.parse(JSON.stringify(base))), base);
});
