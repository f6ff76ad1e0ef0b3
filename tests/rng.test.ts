import assert from "node:assert/strict";
import { Rng } from "../lib/rng.ts";

Deno.test("rng: same seed gives the same stream; different seeds differ", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xa = Array.from({ length: 100 }, () => a.nextU32());
  const xb = Array.from({ length: 100 }, () => b.nextU32());
  const xc = Array.from({ length: 100 }, () => c.nextU32());
  assert.deepEqual(xa, xb);
  assert.notDeepEqual(xa, xc);
});

Deno.test("rng: state round-trips mid-stream (what checkpoints rely on)", () => {
  const a = new Rng(7);
  for (let i = 0; i < 37; i++) a.normal();
  const b = new Rng(a.state());
  for (let i = 0; i < 50; i++) assert.equal(a.normal(), b.normal());
});

Deno.test("rng: uniform mean/variance and normal moments are right", () => {
  const r = new Rng(1);
  const n = 200_000;
  let s = 0, s2 = 0, t = 0, t2 = 0;
  for (let i = 0; i < n; i++) {
    const u = r.next();
    s += u;
    s2 += u * u;
    const g = r.normal();
    t += g;
    t2 += g * g;
  }
  assert.ok(Math.abs(s / n - 0.5) < 0.005);
  assert.ok(Math.abs(s2 / n - 0.25 - 1 / 12) < 0.005);
  assert.ok(Math.abs(t / n) < 0.01);
  assert.ok(Math.abs(t2 / n - 1) < 0.02);
});

Deno.test("rng: permutation is a permutation and forks are independent of each other", () => {
  const r = new Rng(3);
  const p = r.permutation(1000);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  const f1 = r.fork("data"), f2 = r.fork("latents");
  assert.notEqual(f1.nextU32(), f2.nextU32());
  assert.throws(() => r.int(0), /positive integer/);
});
