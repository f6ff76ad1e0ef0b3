/**
 * The threaded wasm build under Deno (lib/kernels/threads.ts): asking for 2 threads gives 2 (on any machine, the
 * half-the-cores cap worked around), the result of a threaded computation matches a single-threaded one, and a script
 * that initialises the threaded backend exits by itself after shutdownBackend().
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

/** Runs a small script in a fresh process (threads are per process) with IGCR_THREADS set; returns its stdout. */
async function runScript(
  body: string,
  threads: number,
  timeoutMs = 30_000,
): Promise<{ code: number; out: string; err: string }> {
  const dir = await Deno.makeTempDir({ prefix: "igcr-threads-" });
  const file = `${dir}/script.ts`;
  const lib = new URL("lib/", root).href;
  await Deno.writeTextFile(file, body.replaceAll("LIB/", lib));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", `--config=${new URL("deno.json", root).pathname}`, file],
    env: { IGCR_THREADS: String(threads), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const r = await child.output();
  clearTimeout(timer);
  await Deno.remove(dir, { recursive: true });
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

const SCRIPT = `
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { initBackend, shutdownBackend } from "LIB/backend.ts";
import { Rng } from "LIB/rng.ts";
const info = await initBackend({ backend: "wasm", quiet: true });
const rng = new Rng(5);
const x = tf.tensor(rng.normalArray(8 * 16 * 16 * 8), [8, 16, 16, 8]);
const w = tf.tensor(rng.normalArray(4 * 4 * 8 * 16), [4, 4, 8, 16]);
const y = tf.conv2d(x, w, 2, "same");
const g = tf.grad((f) => tf.sum(tf.square(tf.conv2d(x, f, 2, "same"))))(w);
const sums = [tf.sum(y).dataSync()[0], tf.sum(tf.abs(g)).dataSync()[0]];
console.log(JSON.stringify({ threads: info.threads, wasmThreads: getThreadsCount(), sums }));
shutdownBackend();
`;

Deno.test("threads: 2 threads when asked, same numbers as 1 thread, and the process exits", async () => {
  const t0 = performance.now();
  const two = await runScript(SCRIPT, 2);
  assert.equal(two.code, 0, `threaded script failed or was killed (did not exit?): ${two.err}`);
  const r2 = JSON.parse(two.out.trim().split("\n").at(-1)!);
  assert.equal(r2.threads, 2);
  assert.equal(r2.wasmThreads, 2, "the wasm module itself runs 2 threads");
  const one = await runScript(SCRIPT, 1);
  assert.equal(one.code, 0, one.err);
  const r1 = JSON.parse(one.out.trim().split("\n").at(-1)!);
  assert.equal(r1.wasmThreads, 1);
  for (let i = 0; i < 2; i++) {
    assert.ok(
      Math.abs(r1.sums[i] - r2.sums[i]) <= 1e-4 * Math.abs(r1.sums[i]),
      `sum ${i}: ${r1.sums[i]} vs ${r2.sums[i]}`,
    );
  }
  // Both processes ended on their own, well inside the kill timeout.
  assert.ok(performance.now() - t0 < 60_000);
});

Deno.test("threads: IGCR_THREADS must be a positive integer", async () => {
  const bad = await runScript(SCRIPT, 0);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /IGCR_THREADS/);
});

const GROWTH_SCRIPT = `
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "LIB/backend.ts";
import { Rng } from "LIB/rng.ts";
await initBackend({ backend: "wasm", quiet: true });
const rng = new Rng(6);
const t = (shape) => tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
// Fresh process, small heap: these allocations grow it in the middle of our kernels.
const x = t([64, 16, 16, 32]), f = t([4, 4, 32, 32]);
const y = tf.conv2dTranspose(x, f, [64, 32, 32, 32], 2, "same");
const parts = tf.split(tf.concat([y, y], 3), 2, 3);
const g = tf.grad((w) => tf.sum(tf.conv2d(y, w, 2, "same")))(f);
const vals = [y, parts[1], g].map((v) => Array.from(v.dataSync()));
const ok = vals.every((v) => v.every(Number.isFinite));
const sums = vals.map((v) => v.reduce((a, b) => a + b, 0));
tf.setBackend("cpu");
const want = tf.sum(tf.conv2dTranspose(tf.tensor(x.dataSync(), x.shape), tf.tensor(f.dataSync(), f.shape), [64, 32, 32, 32], 2, "same")).dataSync()[0];
console.log(JSON.stringify({ ok, sums, want }));
shutdownBackend();
`;

Deno.test("threads: single-threaded kernels stay correct while the wasm heap grows under them", async () => {
  const r = await runScript(GROWTH_SCRIPT, 1, 120_000);
  assert.equal(r.code, 0, r.err);
  const { ok, sums, want } = JSON.parse(r.out.trim().split("\n").at(-1)!);
  assert.ok(ok, "non-finite values: a heap view was used after the heap grew");
  assert.ok(Math.abs(sums[0] - want) <= 1e-3 * Math.max(1, Math.abs(want)), `${sums[0]} vs ${want}`);
  assert.ok(Math.abs(sums[1] - sums[0]) <= 1e-3 * Math.max(1, Math.abs(want)));
});
