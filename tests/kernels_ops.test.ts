/**
 * The non-convolution wasm kernels of lib/kernels/mod.ts (BatchMatMul, LeakyRelu and its gradient, Sum/Mean and their
 * gradients, Slice, Concat, SplitV, Tile) against the pure-JS `cpu` backend, on odd shapes that hit both their fast paths and their fallbacks.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { batchMatMul, cast, concat, identity, leakyRelu, slice, splitV, tile, transpose } from "../lib/kernels/mod.ts";
import { Rng } from "../lib/rng.ts";

await initBackend({ backend: "wasm", quiet: true });
const rng = new Rng(21);

function rand(shape: number[]): tf.Tensor {
  return tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);
}

/** f on wasm and on cpu with the same inputs; compares every output (shape and values). */
function same(what: string, inputs: tf.Tensor[], f: (...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[], tol = 1e-5): void {
  const run = (backend: string) => {
    tf.setBackend(backend);
    return tf.tidy(() => {
      const ts = inputs.map((t) => tf.tensor(t.dataSync(), t.shape));
      const out = f(...ts);
      return (Array.isArray(out) ? out : [out]).map((o) => ({ shape: o.shape, data: o.dataSync() as Float32Array }));
    });
  };
  const got = run("wasm"), want = run("cpu");
  tf.setBackend("wasm");
  assert.equal(got.length, want.length, `${what}: number of outputs`);
  got.forEach((g, k) => {
    assert.deepEqual(g.shape, want[k].shape, `${what}: shape of output ${k}`);
    let scale = 1e-6;
    for (const v of want[k].data) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < g.data.length; i++) {
      const e = Math.abs(g.data[i] - want[k].data[i]);
      assert.ok(e <= tol * scale, `${what}: output ${k}[${i}] = ${g.data[i]}, cpu ${want[k].data[i]}`);
    }
  });
  inputs.forEach((t) => t.dispose());
}

Deno.test("kernels: our replacements are the ones registered on wasm", () => {
  const expect: Record<string, unknown> = {
    BatchMatMul: batchMatMul,
    LeakyRelu: leakyRelu,
    Slice: slice,
    Transpose: transpose,
    Identity: identity,
    Cast: cast,
    Concat: concat,
    SplitV: splitV,
    Tile: tile,
  };
  for (const [name, f] of Object.entries(expect)) assert.equal(tf.getKernel(name, "wasm")?.kernelFunc, f, name);
  assert.ok(tf.getKernel("Sum", "wasm") && tf.getKernel("Mean", "wasm"));
});

Deno.test("kernels: BatchMatMul with every transpose combination, rank 2 and batched", () => {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    const a2 = ta ? [7, 5] : [5, 7], b2 = tb ? [3, 7] : [7, 3];
    same(`matMul ${ta} ${tb}`, [rand(a2), rand(b2)], (a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb));
    const a3 = [4, ...a2], b3 = [4, ...b2];
    same(`batched matMul ${ta} ${tb}`, [rand(a3), rand(b3)], (a, b) => tf.matMul(a, b, ta, tb));
  }
});

Deno.test("kernels: LeakyRelu forward and gradient", () => {
  for (const shape of [[6, 5], [2, 3, 4, 7], [9]]) {
    for (const alpha of [0.2, 0.01]) {
      same(`leakyRelu ${shape} ${alpha}`, [rand(shape)], (t) => tf.leakyRelu(t, alpha));
      // The gradient override is global (cpu uses it too), so check it against its definition, not against cpu.
      const x = rand(shape), u = rand(shape);
      x.bufferSync().set(0, ...new Array(shape.length).fill(0)); // an exact zero: tfjs' convention gives the slope
      const g = tf.tidy(() => tf.grad((v) => tf.sum(tf.mul(tf.leakyRelu(v, alpha), u)))(x).dataSync());
      const xs = x.dataSync(), us = u.dataSync();
      for (let i = 0; i < xs.length; i++) {
        const want = us[i] * (xs[i] > 0 ? 1 : alpha);
        assert.ok(
          Math.abs(g[i] - want) <= 1e-6 * Math.max(1, Math.abs(want)),
          `leakyRelu grad [${i}]: ${g[i]} vs ${want}`,
        );
      }
      x.dispose(), u.dispose();
    }
  }
});

Deno.test("kernels: Sum and Mean over leading, trailing, middle and all axes", () => {
  const x = [3, 5, 4, 6];
  const axesList: (number | number[] | undefined)[] = [0, [0, 1], [0, 1, 2], [-4, -3], 3, [1, 2], [0, 2], undefined];
  for (const axis of axesList) {
    for (const keep of [false, true]) {
      same(`sum ${axis} keep ${keep}`, [rand(x)], (t) => tf.sum(t, axis, keep));
      same(`mean ${axis} keep ${keep}`, [rand(x)], (t) => tf.mean(t, axis, keep));
    }
  }
  same("moments of a 4-D batch", [rand([8, 3, 3, 5])], (t) => {
    const m = tf.moments(t, [0, 1, 2]);
    return [m.mean, m.variance];
  });
  same("sum of int32 falls back", [tf.tensor([[1, 2], [3, 4]], [2, 2], "int32")], (t) => tf.sum(t, 0));
});

Deno.test("kernels: Transpose for every 4-D permutation, with and without size-1 axes", () => {
  const perms: number[][] = [];
  const permute = (rest: number[], acc: number[]) => {
    if (rest.length === 0) perms.push(acc);
    rest.forEach((r, i) => permute([...rest.slice(0, i), ...rest.slice(i + 1)], [...acc, r]));
  };
  permute([0, 1, 2, 3], []);
  for (const shape of [[3, 5, 4, 6], [2, 1, 7, 3], [17, 3, 1, 19]]) {
    for (const perm of perms) same(`transpose ${shape} ${perm}`, [rand(shape)], (t) => tf.transpose(t, perm));
  }
  same("transpose 2-D tall", [rand([300, 7])], (t) => tf.transpose(t));
});

Deno.test("kernels: leading-axis Sum and Mean of a large tensor (long reductions stay accurate)", () => {
  same("sum [16,32,32,8] over 0,1,2", [rand([16, 32, 32, 8])], (t) => tf.sum(t, [0, 1, 2]), 1e-4);
  same("mean [16,32,32,8] over 0,1,2", [rand([16, 32, 32, 8])], (t) => tf.mean(t, [0, 1, 2]), 1e-4);
});

Deno.test("kernels: Identity and same-dtype Cast share storage safely", () => {
  same("clone", [rand([3, 4])], (t) => tf.clone(t));
  same("cast float32 -> float32", [rand([3, 4])], (t) => tf.cast(t, "float32"));
  same("cast float32 -> int32", [tf.tensor([1.7, -2.2, 3.5])], (t) => tf.cast(t, "int32"));
  // A clone outlives its source, and a variable assigned from a clone keeps its value when the source is disposed.
  const a = tf.tensor([1, 2, 3]);
  const b = tf.clone(a);
  const v = tf.variable(tf.zeros([3]));
  v.assign(tf.cast(b, "float32"));
  a.dispose();
  b.dispose();
  assert.deepEqual(Array.from(v.dataSync()), [1, 2, 3]);
  v.dispose();
});

Deno.test("kernels: Slice contiguous and strided", () => {
  const shape = [4, 3, 5, 2];
  const cases: [number[], number[]][] = [
    [[1, 0, 0, 0], [2, 3, 5, 2]],
    [[2, 1, 0, 0], [1, 2, 5, 2]],
    [[0, 0, 0, 1], [4, 3, 5, 1]], // strided
    [[0, 1, 2, 0], [4, 2, 3, 2]], // strided
    [[3, 2, 4, 1], [1, 1, 1, 1]],
  ];
  for (const [b, s] of cases) same(`slice ${b} ${s}`, [rand(shape)], (t) => tf.slice(t, b, s));
  same("slice with -1 size", [rand([5, 4])], (t) => tf.slice(t, [2, 0], [-1, 4]));
});

Deno.test("kernels: Concat and split along inner axes, with their gradients", () => {
  const a = [3, 4, 5, 1];
  same("concat 2 on last axis", [rand(a), rand(a)], (x, y) => tf.concat([x, y], 3));
  same("concat 3 on axis 1", [rand(a), rand(a), rand(a)], (x, y, z) => tf.concat([x, y, z], 1));
  same("concat unequal (fallback)", [rand([3, 2]), rand([3, 5])], (x, y) => tf.concat([x, y], 1));
  same("concat axis 0", [rand([2, 3]), rand([2, 3])], (x, y) => tf.concat([x, y], 0));
  same("split last axis", [rand([3, 4, 5, 2])], (x) => tf.split(x, 2, 3));
  same("split uneven axis 1", [rand([3, 7, 2])], (x) => tf.split(x, [2, 4, 1], 1));
  same("split axis 0", [rand([6, 2])], (x) => tf.split(x, 3, 0));
  const w = rand([3, 4, 5, 2]);
  same(
    "concat gradient",
    [rand(a), rand(a), w],
    (x, y, u) => tf.grads((p, q) => tf.sum(tf.mul(tf.concat([p, q], 3), u)))([x, y]),
  );
});

Deno.test("kernels: the replacements leave no tensors or wasm buffers behind", () => {
  // Warm-up creates the cached constants (slopes, reduction vectors) once.
  const work = () =>
    tf.tidy(() => {
      const x = rand([4, 6, 6, 3]);
      tf.grad((v) => tf.sum(tf.mean(tf.leakyRelu(v, 0.2), [0, 1, 2])))(x);
      tf.split(tf.concat([x, x], 3), 2, 3);
      tf.matMul(rand([5, 4]) as tf.Tensor2D, rand([5, 3]) as tf.Tensor2D, true, false);
      tf.slice(x, [1], [2]);
    });
  work();
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const before = tf.memory().numTensors, ids = backend.numDataIds();
  work();
  assert.equal(tf.memory().numTensors, before);
  assert.equal(backend.numDataIds(), ids);
});

Deno.test("kernels: Tile repeating leading axes, and the other tilings through the stock kernel", () => {
  for (
    const [shape, reps] of [
      [[1, 1, 1, 5], [3, 4, 2, 1]], // leading repeat (the Mean/Sum gradient of batch moments)
      [[1, 7], [9, 1]],
      [[1, 1, 3], [1, 5, 1]],
      [[2, 3], [1, 4]], // inner repeat: stock kernel
      [[2, 1, 3], [2, 3, 1]], // repeat after a non-1 axis: stock kernel
      [[4], [3]],
    ] as [number[], number[]][]
  ) same(`tile ${shape} x ${reps}`, [rand(shape)], (t) => tf.tile(t, reps), 0);
});

Deno.test("kernels: Sum and Mean gradients equal dy broadcast (/ size), bit for bit, on every axis pattern", () => {
  const cases: [number[], number | number[] | undefined][] = [
    [[4, 3, 5, 6], [0, 1, 2]],
    [[6, 7], 0],
    [[6, 7], 1],
    [[2, 3, 4], [0, 2]],
    [[5, 4], undefined],
    [[3, 4, 5], -1],
  ];
  for (const [shape, axis] of cases) {
    for (const keepDims of [false, true]) {
      const x = rand(shape), u0 = tf.tidy(() => tf.sum(tf.zeros(shape), axis, keepDims));
      const u = rand(u0.shape);
      u0.dispose();
      for (const op of ["sum", "mean"] as const) {
        const f = (v: tf.Tensor) =>
          tf.sum(tf.mul(op === "sum" ? tf.sum(v, axis, keepDims) : tf.mean(v, axis, keepDims), u));
        const got = tf.tidy(() => tf.grad(f)(x).dataSync());
        // The definition: d/dx_i of sum_j u_j * reduce(x)_j is u at i's reduced position (divided by the size).
        const want = tf.tidy(() => {
          const axes = axis === undefined
            ? shape.map((_, i) => i)
            : [axis].flat().map((a) => (a < 0 ? a + shape.length : a));
          const expanded = shape.map((d, i) => (axes.includes(i) ? 1 : d));
          const n = axes.reduce((p, a) => p * shape[a], 1);
          const g = tf.mul(tf.reshape(u, expanded), tf.ones(shape));
          return (op === "mean" ? tf.div(g, n) : g).dataSync();
        });
        assert.deepEqual(got, want, `${op} gradient ${shape} axis ${axis} keepDims ${keepDims}`);
      }
      tf.dispose([x, u]);
    }
  }
});

globalThis.addEventListener("unload", () => shutdownBackend());
