/**
 * The native engine's convolution kernels (lib/kernels/native/) against the pure-JS `cpu` backend on random inputs
 * (the cases of the wasm kernels plus dilations and explicit paddings), against central finite differences, and in
 * training: the first iterations' losses match the wasm kernels', and a resumed run is bit-identical to an
 * uninterrupted one.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import {
  disableNativeKernels,
  enableNativeKernels,
  loadOrt,
  nativeBatchMatMul,
  nativeConv2d,
  nativeKernelCalls,
  nativeKernelsEnabled,
} from "../lib/kernels/native/mod.ts";
import { conv2dBackpropFilter } from "../lib/kernels/mod.ts";
import { Rng } from "../lib/rng.ts";
import { train } from "../lib/train/trainer.ts";
import type { ParamSet } from "../lib/models/layers.ts";
import { assertClose, type Case, cases, describe, onBoth, type T4 } from "./conv_cases.ts";
import { tinyConfig, tinySquares } from "./train_helpers.ts";

const load = loadOrt();
if (!load.ok) console.warn(`kernels_native: skipped, onnxruntime's native library does not load here: ${load.reason}`);
const ignore = !load.ok;
if (load.ok) {
  const info = await initBackend({ backend: "native", threads: 2, quiet: true });
  assert.equal(info.name, "native");
  globalThis.addEventListener("unload", () => shutdownBackend());
}

/**
 * A batch larger than one chunk of the space-to-depth kernels (graphs.ts, about 2 MB of patches per chunk): 8 + 3
 * images forward and for the filter gradient, 7 + 4 for the input gradient.
 */
const chunkedCase: Case = { n: 11, h: 32, w: 32, ci: 16, co: 64, k: [4, 4], s: 2, pad: 1 };

/** Forward convolutions with dilations, and explicit (asymmetric) paddings, that only Conv2D takes. */
const forwardOnly: (Case & { d: number; explicit?: [[number, number], [number, number]] })[] = [
  { n: 2, h: 11, w: 9, ci: 3, co: 4, k: [3, 3], s: 1, pad: "same", d: 2 },
  { n: 1, h: 12, w: 12, ci: 2, co: 5, k: [3, 2], s: 1, pad: "valid", d: 3 },
  { n: 2, h: 10, w: 9, ci: 3, co: 2, k: [4, 3], s: 2, pad: 0, d: 1, explicit: [[2, 0], [1, 3]] },
];

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function convShapes(c: Case) {
  const xShape: [number, number, number, number] = [c.n, c.h, c.w, c.ci];
  const fShape: [number, number, number, number] = [c.k[0], c.k[1], c.ci, c.co];
  const info = tf.backend_util.computeConv2DInfo(xShape, fShape, c.s, 1, c.pad);
  const yShape: [number, number, number, number] = [c.n, info.outHeight, info.outWidth, c.co];
  return { xShape, fShape, yShape };
}

Deno.test({
  name: "native kernels: Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter match the cpu backend",
  ignore,
  fn() {
    assert.equal(tf.getKernel("Conv2D", "wasm")?.kernelFunc, nativeConv2d);
    const rng = new Rng(21);
    const before = nativeKernelCalls();
    for (const c of cases) {
      const { xShape, fShape, yShape } = convShapes(c);
      const x = rng.normalArray(c.n * c.h * c.w * c.ci), f = rng.normalArray(fShape.reduce((a, b) => a * b, 1));
      const dy = rng.normalArray(yShape.reduce((a, b) => a * b, 1));
      const [[y, gw, gx], [ry, rw, rx]] = onBoth([x, f, dy], [xShape, fShape, yShape], (xt, ft, dyt) => [
        tf.conv2d(xt as T4, ft as T4, c.s, c.pad),
        tf.engine().runKernel("Conv2DBackpropFilter", { x: xt, dy: dyt }, {
          strides: [c.s, c.s],
          pad: c.pad,
          dataFormat: "NHWC",
          filterShape: fShape,
        } as unknown as tf.NamedAttrMap) as tf.Tensor,
        tf.conv2dTranspose(dyt as T4, ft as T4, xShape, c.s, c.pad),
      ]);
      assertClose(y, ry, `forward ${describe(c)}`);
      assertClose(gw, rw, `filter grad ${describe(c)}`);
      assertClose(gx, rx, `input grad ${describe(c)}`);
    }
    for (const c of forwardOnly) {
      const xShape = [c.n, c.h, c.w, c.ci], fShape = [c.k[0], c.k[1], c.ci, c.co];
      const x = rng.normalArray(c.n * c.h * c.w * c.ci), f = rng.normalArray(fShape.reduce((a, b) => a * b, 1));
      const pad = c.explicit ? [[0, 0], ...c.explicit, [0, 0]] as tf.backend_util.ExplicitPadding : c.pad;
      const [[y], [ry]] = onBoth(
        [x, f],
        [xShape, fShape],
        (xt, ft) => tf.conv2d(xt as T4, ft as T4, c.s, pad, "NHWC", c.d),
      );
      assertClose(y, ry, `forward ${describe(c)} dilation ${c.d} ${c.explicit ? `pads ${c.explicit}` : ""}`);
    }
    // Every call above ran natively: none fell back to the wasm kernels.
    const after = nativeKernelCalls();
    assert.equal(after.Conv2D - before.Conv2D, cases.length + forwardOnly.length);
    assert.equal(after.Conv2DBackpropFilter - before.Conv2DBackpropFilter, cases.length);
    assert.equal(after.Conv2DBackpropInput - before.Conv2DBackpropInput, cases.length);
  },
});

Deno.test({
  name: "native kernels: a batch of several chunks (with a remainder) matches the wasm kernels",
  ignore,
  fn() {
    // The reference is the wasm kernels (checked against cpu in kernels_conv.test.ts): the cpu backend takes tens of
    // seconds at this size.
    const c = chunkedCase, rng = new Rng(24);
    const { xShape, fShape, yShape } = convShapes(c);
    const x = rng.normalArray(size(xShape)), f = rng.normalArray(size(fShape)), dy = rng.normalArray(size(yShape));
    const all = () =>
      tf.tidy(() => {
        const [xt, ft, dyt] = [tf.tensor(x, xShape), tf.tensor(f, fShape), tf.tensor(dy, yShape)] as T4[];
        return [
          tf.conv2d(xt, ft, c.s, c.pad),
          tf.engine().runKernel("Conv2DBackpropFilter", { x: xt, dy: dyt }, {
            strides: [c.s, c.s],
            pad: c.pad,
            dataFormat: "NHWC",
            filterShape: fShape,
          } as unknown as tf.NamedAttrMap) as tf.Tensor,
          tf.conv2dTranspose(dyt, ft, xShape, c.s, c.pad),
        ].map((t) => t.dataSync() as Float32Array);
      });
    const before = nativeKernelCalls();
    const native = all();
    const after = nativeKernelCalls();
    assert.deepEqual(
      [after.Conv2D - before.Conv2D, after.Conv2DBackpropFilter - before.Conv2DBackpropFilter],
      [1, 1],
    );
    assert.equal(after.Conv2DBackpropInput - before.Conv2DBackpropInput, 1);
    disableNativeKernels();
    const wasm = all();
    enableNativeKernels({ threads: 2 });
    ["forward", "filter grad", "input grad"].forEach((what, i) =>
      assertClose(native[i], wasm[i], `${what} ${describe(c)}`)
    );
  },
});

Deno.test({
  name: "native kernels: conv2dTranspose with the generator's shapes matches the cpu backend",
  ignore,
  fn() {
    const rng = new Rng(22);
    const layers: [number, number, number][] = [[4, 64, 64], [8, 64, 32], [16, 32, 32], [32, 32, 1]];
    for (const batch of [1, 3]) {
      for (const [hw, cin, cout] of layers) {
        const x = rng.normalArray(batch * hw * hw * cin);
        const f = rng.normalArray(4 * 4 * cout * cin, 0.1);
        const outShape: [number, number, number, number] = [batch, 2 * hw, 2 * hw, cout];
        const [[got], [want]] = onBoth(
          [x, f],
          [[batch, hw, hw, cin], [4, 4, cout, cin]],
          (xt, ft) => tf.conv2dTranspose(xt as T4, ft as T4, outShape, 2, "same"),
        );
        assertClose(got, want, `conv2dTranspose batch ${batch} ${hw}x${hw}x${cin} -> ${cout}`);
      }
    }
  },
});

Deno.test({
  name: "native kernels: gradients of a small conv net match central finite differences",
  ignore,
  fn() {
    const rng = new Rng(23);
    const shapes = [[2, 8, 8, 2], [4, 4, 2, 3], [3, 3, 3, 4], [4, 4, 5, 4]];
    const arrays = shapes.map((s) => rng.normalArray(s.reduce((a, b) => a * b, 1), 0.5));
    const weights = rng.normalArray(2 * 8 * 8 * 5);
    // conv (s2, same) -> leaky relu -> conv (s1, valid) -> transposed conv (s2, same) x2 -> weighted sum.
    const loss = (x: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor, w3: tf.Tensor): tf.Scalar => {
      const a = tf.leakyRelu(tf.conv2d(x as T4, w1 as T4, 2, "same"), 0.2);
      const b = tf.conv2d(a, w2 as T4, 1, "valid");
      const c = tf.conv2dTranspose(b, w3 as T4, [2, 4, 4, 5], 2, "same");
      const d = tf.conv2dTranspose(c, tf.ones([4, 4, 5, 5]) as T4, [2, 8, 8, 5], 2, "same");
      return tf.sum(tf.mul(d, tf.tensor(weights, [2, 8, 8, 5])));
    };
    const before = nativeKernelCalls();
    const analytic = tf.tidy(() => {
      const ts = arrays.map((a, i) => tf.tensor(a, shapes[i]));
      return tf.grads((x, w1, w2, w3) => loss(x, w1, w2, w3))(ts).map((g) => g.dataSync() as Float32Array);
    });
    assert.ok(nativeKernelCalls().Conv2DBackpropFilter > before.Conv2DBackpropFilter, "gradients ran natively");
    const eps = 1e-2;
    for (let which = 0; which < 4; which++) {
      for (let trial = 0; trial < 4; trial++) {
        const idx = rng.int(arrays[which].length);
        const evalAt = (delta: number): number =>
          tf.tidy(() => {
            const ts = arrays.map((a, i) => {
              const b = a.slice();
              if (i === which) b[idx] += delta;
              return tf.tensor(b, shapes[i]);
            });
            return loss(ts[0], ts[1], ts[2], ts[3]).dataSync()[0];
          });
        const fd = (evalAt(eps) - evalAt(-eps)) / (2 * eps);
        const an = analytic[which][idx];
        assert.ok(
          Math.abs(fd - an) <= 2e-2 * Math.max(1, Math.abs(an)),
          `finite difference for input ${which}[${idx}]: ${fd} vs analytic ${an}`,
        );
      }
    }
  },
});

Deno.test({
  name: "native kernels: switching back to the wasm kernels and on again; no tensors or wasm buffers leak",
  ignore,
  fn() {
    disableNativeKernels();
    assert.equal(nativeKernelsEnabled(), false);
    assert.equal(tf.getKernel("Conv2DBackpropFilter", "wasm")?.kernelFunc, conv2dBackpropFilter);
    enableNativeKernels({ threads: 2 });
    assert.equal(tf.getKernel("Conv2D", "wasm")?.kernelFunc, nativeConv2d);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const before = [tf.memory().numTensors, tf.memory().numBytes, backend.numDataIds()];
    tf.tidy(() => {
      const x = tf.randomNormal([2, 9, 9, 3]) as T4, f = tf.randomNormal([4, 4, 3, 5]) as T4;
      tf.grads((a, b) => tf.sum(tf.conv2d(a as T4, b as T4, 2, "same")))([x, f]);
      tf.conv2dTranspose(tf.randomNormal([2, 5, 5, 5]) as T4, f, [2, 9, 9, 3], 2, "same");
    });
    assert.deepEqual([tf.memory().numTensors, tf.memory().numBytes, backend.numDataIds()], before);
  },
});

Deno.test({
  name: "native kernels: BatchMatMul with every transpose combination, batched and broadcast, matches the cpu backend",
  ignore,
  fn() {
    assert.equal(tf.getKernel("BatchMatMul", "wasm")?.kernelFunc, nativeBatchMatMul);
    const rng = new Rng(25);
    let expectNative = 0;
    const before = nativeKernelCalls().BatchMatMul;
    // [m, k, n] products above and below the native threshold (2^20 multiply-adds); batched 3-D and a broadcast one.
    for (
      const [m, k, n, batch, big] of [[64, 1024, 128, 1, true], [70, 130, 129, 1, true], [9, 130, 1000, 3, true], [
        5,
        7,
        3,
        1,
        false,
      ]] as [number, number, number, number, boolean][]
    ) {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
        const aShape = [...(batch > 1 ? [batch] : []), ...(ta ? [k, m] : [m, k])];
        const bShape = [...(batch > 1 ? [batch] : []), ...(tb ? [n, k] : [k, n])];
        const [[got], [want]] = onBoth(
          [rng.normalArray(size(aShape)), rng.normalArray(size(bShape))],
          [aShape, bShape],
          (a, b) => tf.matMul(a, b, ta, tb),
        );
        assertClose(got, want, `matMul ${aShape} x ${bShape} ${ta} ${tb}`);
        if (big) expectNative++;
      }
    }
    // A batch-1 right operand broadcast against a batch of 4.
    const [[got], [want]] = onBoth(
      [rng.normalArray(4 * 64 * 300), rng.normalArray(300 * 80)],
      [[4, 64, 300], [300, 80]],
      (a, b) => tf.matMul(a, b),
    );
    assertClose(got, want, "broadcast matMul");
    assert.equal(nativeKernelCalls().BatchMatMul - before, expectNative + 1, "the big products ran natively");
  },
});

// ---- training: the native engine against the wasm kernels ----------------------------------------------------------

const data = tinySquares();

function snapshot(params: Record<string, ParamSet>): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [net, set] of Object.entries(params)) {
    for (const [k, v] of Object.entries(set.all())) out[`${net}/${k}`] = v.dataSync() as Float32Array;
  }
  return out;
}

async function losses(dir: string): Promise<Record<string, number>[]> {
  const text = await Deno.readTextFile(`${dir}/log.jsonl`);
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

/**
 * Relative tolerance of the losses per iteration. Both engines sum in float32 in different orders; the first
 * iteration agrees to the last bit or nearly, after which Adam turns last-bit differences of gradient entries near
 * zero into steps of the full learning rate (m / sqrt(v) keeps only their sign), so the runs drift apart: measured
 * 1e-6 relative at iteration 2, 4e-4 at 3, 1e-2 at 5 (tiny smoke config, CR on). A wrong kernel is off by far more
 * from iteration 1 on.
 */
const TOLERANCE = [1e-5, 1e-4, 2e-3];

Deno.test({
  name: "native kernels: a smoke run's first iterations give the wasm kernels' losses (float tolerance)",
  ignore,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "igcr-native-" });
    try {
      // CR on from the start, so that H's convolutions and the contrastive gradients are exercised as well.
      const base = tinyConfig({ iterations: 3, checkpointEvery: 100, sampleEvery: 100, logEvery: 1 });
      const cfg = { ...base, alpha: { ...base.alpha, start: base.alpha.increase } };
      disableNativeKernels();
      (await train(cfg, `${dir}/wasm`, { data, progress: false })).dispose();
      enableNativeKernels({ threads: 2 });
      const before = nativeKernelCalls().Conv2DBackpropInput;
      (await train(cfg, `${dir}/native`, { data, progress: false })).dispose();
      assert.ok(nativeKernelCalls().Conv2DBackpropInput > before, "the native run used the native kernels");
      const [a, b] = [await losses(`${dir}/wasm`), await losses(`${dir}/native`)];
      assert.equal(a.length, 3);
      for (let i = 0; i < a.length; i++) {
        for (const [k, v] of Object.entries(a[i])) {
          if (typeof v !== "number" || k === "iter" || /time|ms|sec/i.test(k) || !Number.isFinite(v)) continue;
          const tol = TOLERANCE[i] * Math.max(1e-3, Math.abs(v));
          assert.ok(Math.abs(b[i][k] - v) <= tol, `iteration ${i + 1} ${k}: native ${b[i][k]} vs wasm ${v}`);
        }
      }
    } finally {
      enableNativeKernels({ threads: 2 });
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "native kernels: train 2N == train N, checkpoint, resume, train N (bit for bit)",
  ignore,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "igcr-native-" });
    try {
      const cfg = tinyConfig({ iterations: 4, checkpointEvery: 100, sampleEvery: 100, logEvery: 1 });
      const full = await train(cfg, `${dir}/full`, { data, progress: false });
      const a = snapshot(full.params() as unknown as Record<string, ParamSet>);
      full.dispose();
      (await train({ ...cfg, iterations: 2 }, `${dir}/split`, { data, progress: false })).dispose();
      const resumed = await train(cfg, `${dir}/split`, { data, progress: false, resume: true });
      const b = snapshot(resumed.params() as unknown as Record<string, ParamSet>);
      resumed.dispose();
      assert.deepEqual(Object.keys(b), Object.keys(a));
      for (const k of Object.keys(a)) assert.deepEqual(b[k], a[k], `${k} differs after resume`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
