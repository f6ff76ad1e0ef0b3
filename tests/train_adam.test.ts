/**
 * lib/train/adam.ts: TF1's Adam against a float64 reference, the fused wasm kernel against the 12-kernel op path
 * (bit for bit, and against the cpu backend), exact resume from slots, checkpoint validation, and no leaks.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { Adam, adamOptions, adamStepSize } from "../lib/train/adam.ts";
import { Rng } from "../lib/rng.ts";

await initBackend({ backend: "wasm", quiet: true });

const HP = { lr: 2e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 };
// "big" gives the bit-identity test enough elements to catch a single missing float32 rounding.
const SHAPES: Record<string, number[]> = { k: [3, 3, 2, 5], b: [5], one: [1], odd: [7, 3], big: [96, 97] };

let counter = 0;
function makeVars(rng: Rng): Map<string, tf.Variable> {
  return new Map(
    Object.entries(SHAPES).map(([n, s]) => {
      const size = s.reduce((a, b) => a * b, 1);
      return [n, tf.variable(tf.tensor(rng.normalArray(size), s), true, `adamtest${counter++}`)];
    }),
  );
}

/** Gradients for step t: seeded, a few exact zeros and a wide range of magnitudes. */
function gradArrays(t: number): Record<string, Float32Array> {
  const rng = new Rng(1000 + t);
  const out: Record<string, Float32Array> = {};
  for (const [n, s] of Object.entries(SHAPES)) {
    const a = rng.normalArray(s.reduce((x, y) => x * y, 1));
    for (let i = 0; i < a.length; i++) a[i] = i % 5 === 0 ? 0 : a[i] * 10 ** ((i % 7) - 4);
    out[n] = a;
  }
  return out;
}

function step(adam: Adam, vars: Map<string, tf.Variable>, t: number): void {
  const g = gradArrays(t);
  const grads: Record<string, tf.Tensor> = {};
  for (const [n, a] of Object.entries(g)) grads[n] = tf.tensor(a, SHAPES[n]);
  adam.apply(vars, grads);
  tf.dispose(Object.values(grads));
}

function snapshot(vars: Map<string, tf.Variable>): Record<string, Float32Array> {
  return Object.fromEntries([...vars].map(([n, v]) => [n, v.dataSync() as Float32Array]));
}

function run(backend: string, fused: boolean, steps: number): Record<string, Float32Array> {
  tf.setBackend(backend);
  adamOptions.fused = fused;
  try {
    const vars = makeVars(new Rng(5));
    const adam = new Adam(HP);
    for (let t = 1; t <= steps; t++) step(adam, vars, t);
    const out = snapshot(vars);
    adam.dispose();
    for (const v of vars.values()) v.dispose();
    return out;
  } finally {
    adamOptions.fused = true;
    tf.setBackend("wasm");
  }
}

function assertIdentical(a: Record<string, Float32Array>, b: Record<string, Float32Array>, what: string): void {
  for (const n of Object.keys(a)) {
    const i = a[n].findIndex((x, j) => !Object.is(x, b[n][j]));
    assert.equal(i, -1, `${what}: ${n}[${i}] ${a[n][i]} vs ${b[n][i]}`);
  }
}

Deno.test("adam: matches TF1's formulation computed in float64", () => {
  const steps = 6;
  const got = run("wasm", true, steps);
  const rng = new Rng(5);
  for (const [n, s] of Object.entries(SHAPES)) {
    const w = Float64Array.from(rng.normalArray(s.reduce((a, b) => a * b, 1)));
    const m = new Float64Array(w.length), v = new Float64Array(w.length);
    for (let t = 1; t <= steps; t++) {
      const g = gradArrays(t)[n];
      const lrT = HP.lr * Math.sqrt(1 - HP.beta2 ** t) / (1 - HP.beta1 ** t);
      for (let i = 0; i < w.length; i++) {
        m[i] = HP.beta1 * m[i] + (1 - HP.beta1) * g[i];
        v[i] = HP.beta2 * v[i] + (1 - HP.beta2) * g[i] * g[i];
        w[i] -= lrT * m[i] / (Math.sqrt(v[i]) + HP.epsilon);
      }
    }
    for (let i = 0; i < w.length; i++) {
      assert.ok(
        Math.abs(got[n][i] - w[i]) <= 1e-6 * Math.max(1, Math.abs(w[i])),
        `${n}[${i}]: ${got[n][i]} vs ${w[i]}`,
      );
    }
  }
  assert.equal(adamStepSize(HP, 1), HP.lr * Math.sqrt(1 - HP.beta2) / (1 - HP.beta1));
});

Deno.test("adam: the fused wasm kernel is bit-identical to the op path on wasm and on cpu", () => {
  const fused = run("wasm", true, 8);
  assertIdentical(fused, run("wasm", false, 8), "fused vs ops (wasm)");
  assertIdentical(fused, run("cpu", true, 8), "fused (wasm) vs ops (cpu)");
});

Deno.test("adam: 2N steps == N steps, slots saved, load into a fresh optimiser, N steps (bit-exact)", () => {
  for (const fused of [true, false]) {
    adamOptions.fused = fused;
    try {
      const full = run("wasm", fused, 6);
      const vars = makeVars(new Rng(5));
      const first = new Adam(HP);
      for (let t = 1; t <= 3; t++) step(first, vars, t);
      const saved = Object.fromEntries(Object.entries(first.slots()).map(([k, v]) => [k, v.clone()]));
      assert.deepEqual(Object.keys(saved).sort(), [
        "m/b",
        "m/big",
        "m/k",
        "m/odd",
        "m/one",
        "v/b",
        "v/big",
        "v/k",
        "v/odd",
        "v/one",
      ]);
      const t = first.t;
      first.dispose();
      const second = new Adam(HP);
      second.load(saved, t);
      tf.dispose(Object.values(saved));
      for (let s = 4; s <= 6; s++) step(second, vars, s);
      assertIdentical(snapshot(vars), full, `resume (fused ${fused})`);
      second.dispose();
      for (const v of vars.values()) v.dispose();
    } finally {
      adamOptions.fused = true;
    }
  }
});

Deno.test("adam: restore checks every slot and its shape; legacy '<name>/m' keys are accepted", () => {
  const vars = makeVars(new Rng(6));
  const a = new Adam(HP);
  a.init(vars);
  step(a, vars, 1);
  const slots = a.slots();
  const b = new Adam(HP);
  assert.throws(() => b.restore(vars, 1, undefined, "ckpt"), /ckpt: checkpoint has no optimiser state/);
  const missing = { ...slots };
  delete missing["v/odd"];
  assert.throws(() => b.restore(vars, 1, missing, "ckpt"), /ckpt: optimiser slot v\/odd is missing/);
  const wrong = tf.zeros([2]);
  assert.throws(() => b.restore(vars, 1, { ...slots, "m/b": wrong }, "ckpt"), /slot m\/b .*wrong shape/);
  assert.throws(() => b.load({ "x/b": wrong }, 1), /unexpected Adam slot x\/b/);
  assert.throws(() => b.load({}, 1.5), /non-negative integer/);
  const legacy: tf.NamedTensorMap = {};
  for (const [k, v] of Object.entries(slots)) legacy[`${k.slice(2)}/${k[0]}`] = v;
  b.restore(vars, 1, legacy, "ckpt");
  assert.equal(b.t, 1);
  for (const [k, v] of Object.entries(b.slots())) assert.deepEqual(v.dataSync(), slots[k].dataSync(), k);
  wrong.dispose();
  a.dispose();
  b.dispose();
  for (const v of vars.values()) v.dispose();
});

Deno.test("adam: errors name the variable; minimize skips variables off the loss's path", () => {
  const vars = makeVars(new Rng(7));
  const adam = new Adam(HP);
  assert.throws(() => adam.apply(vars, {}), /no gradient for k/);
  assert.throws(() => new Adam({ ...HP, beta1: 1 }), /invalid hyperparameters/);
  const before = snapshot(vars);
  const loss = adam.minimize(vars, () => tf.sum(tf.square(vars.get("k")!)) as tf.Scalar);
  loss.dispose();
  const after = snapshot(vars);
  assert.deepEqual(after.b, before.b, "b is not on the path and must not move");
  assert.notDeepEqual(after.k, before.k);
  assert.equal(adam.t, 1);
  adam.dispose();
  for (const v of vars.values()) v.dispose();
});

Deno.test("adam: no tensors leak across steps, inside a caller's tidy, or after dispose", () => {
  const vars = makeVars(new Rng(8));
  const base = tf.memory().numTensors;
  const adam = new Adam(HP);
  step(adam, vars, 1);
  const afterFirst = tf.memory().numTensors;
  for (let t = 2; t <= 4; t++) tf.tidy(() => step(adam, vars, t));
  assert.equal(tf.memory().numTensors, afterFirst);
  adam.reset();
  assert.equal(adam.t, 0);
  assert.equal(tf.memory().numTensors, base);
  for (const v of vars.values()) v.dispose();
});

globalThis.addEventListener("unload", () => shutdownBackend());
