/**
 * The ONNX writer (lib/onnx/proto.ts, model.ts) and the synchronous onnxruntime loader (lib/onnx/runtime.ts): models
 * built by the writer run in onnxruntime-node and give the `cpu` backend's results on random inputs, for the three
 * operators our networks are made of (Conv, ConvTranspose, Gemm) with TensorFlow's SAME padding, a symbolic batch
 * dimension, and batch norm in inference mode.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { encodeModel, OnnxGraph } from "../lib/onnx/model.ts";
import { ProtoWriter } from "../lib/onnx/proto.ts";
import {
  disableNativeEngine,
  enableNativeEngine,
  isNativeEngineEnabled,
  loadOnnxRuntime,
  nativeEngineThreads,
} from "../lib/onnx/runtime.ts";
import { Rng } from "../lib/rng.ts";

await initBackend({ backend: "cpu", quiet: true });
const load = await loadOnnxRuntime();

function assertClose(got: Float32Array, want: Float32Array, what: string, tol = 1e-5): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 1e-6;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let worst = 0, at = -1;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= worst)) [worst, at] = [e, i];
  }
  assert.ok(worst <= tol * scale, `${what}: max error ${worst} at ${at} (got ${got[at]}, want ${want[at]})`);
}

/** NHWC -> NCHW of a flat array. */
function toNchw(x: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        for (let ch = 0; ch < c; ch++) out[((b * c + ch) * h + y) * w + xx] = x[((b * h + y) * w + xx) * c + ch];
      }
    }
  }
  return out;
}

/** A tfjs kernel [a, b, c, d] permuted to [axes...] as a flat array. */
function permute(t: tf.Tensor, axes: number[]): Float32Array {
  return tf.tidy(() => tf.transpose(t, axes).dataSync() as Float32Array);
}

/** TensorFlow SAME padding along one axis: [before, after]. */
function samePads(inSize: number, k: number, s: number): [number, number] {
  const out = Math.ceil(inSize / s);
  const total = Math.max((out - 1) * s + k - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

Deno.test("protobuf writer: varints (incl. negative int64), floats and nesting follow the wire format", () => {
  const w = new ProtoWriter().int(1, 300).int(2, -1).float(3, 1.5).string(4, "ab");
  w.message(5, new ProtoWriter().int(1, 7));
  assert.deepEqual(
    [...w.finish()],
    [
      0x08,
      0xac,
      0x02, // field 1 varint 300
      0x10,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0x01, // field 2 varint -1 (10 bytes)
      0x1d,
      0x00,
      0x00,
      0xc0,
      0x3f, // field 3 fixed32 1.5
      0x22,
      0x02,
      0x61,
      0x62, // field 4 "ab"
      0x2a,
      0x02,
      0x08,
      0x07, // field 5 { field 1 = 7 }
    ],
  );
  assert.deepEqual([...new ProtoWriter().packedInts(1, [1, 128]).finish()], [0x0a, 0x03, 0x01, 0x80, 0x01]);
  assert.throws(() => new ProtoWriter().int(1, 0.5), /not an integer/);
});

Deno.test("onnx graph: names are checked", () => {
  const g = new OnnxGraph("g");
  g.input("x", ["batch", 3]);
  assert.throws(() => g.node("Relu", ["y"], "r"), /reads undefined y/);
  assert.throws(() => g.input("x", [1]), /defined twice/);
  assert.throws(() => encodeModel(g, { producer: "test" }), /no outputs/);
});

Deno.test({
  name: "onnxruntime loads, or says why not",
  fn() {
    if (!load.runtime) {
      assert.match(load.reason, /onnxruntime-node/);
      console.warn(`skipping the onnxruntime tests: ${load.reason}`);
      return;
    }
    assert.equal(load.runtime.version, "1.30.0");
  },
});

const ort = load.runtime;

Deno.test({
  name: "onnx writer + runtime: Conv (SAME, stride 2) + bias + LeakyRelu match tfjs cpu, any batch",
  ignore: !ort,
  fn() {
    const rng = new Rng(1);
    for (const [h, w, ci, co, k] of [[8, 8, 3, 4, 4], [9, 7, 2, 5, 5], [16, 16, 1, 8, 4]]) {
      const kernel = tf.tensor4d(rng.normalArray(k * k * ci * co), [k, k, ci, co]);
      const bias = tf.tensor1d(rng.normalArray(co));
      const g = new OnnxGraph("conv");
      const x = g.input("x", ["batch", ci, h, w]);
      const [pt, pb] = samePads(h, k, 2), [pl, pr] = samePads(w, k, 2);
      const y = g.node(
        "Conv",
        [
          x,
          g.constant("W", permute(kernel, [3, 2, 0, 1]), [co, ci, k, k]),
          g.constant("B", bias.dataSync() as Float32Array, [co]),
        ],
        "conv",
        {
          kernel_shape: { ints: [k, k] },
          strides: { ints: [2, 2] },
          pads: { ints: [pt, pl, pb, pr] },
        },
      );
      const out = g.node("LeakyRelu", [y], "y", { alpha: { float: 0.2 } });
      g.output(out, ["batch", co, Math.ceil(h / 2), Math.ceil(w / 2)]);
      const s = ort!.createSession(encodeModel(g, { producer: "test" }), { threads: 2 });
      try {
        for (const n of [1, 3]) {
          const input = rng.normalArray(n * h * w * ci);
          const want = tf.tidy(() => {
            const r = tf.leakyRelu(tf.conv2d(tf.tensor4d(input, [n, h, w, ci]), kernel, 2, "same").add(bias), 0.2);
            return toNchw(r.dataSync() as Float32Array, r.shape);
          });
          const got = s.run({ x: { data: toNchw(input, [n, h, w, ci]), dims: [n, ci, h, w] } });
          assert.deepEqual(got.y.dims, [n, co, Math.ceil(h / 2), Math.ceil(w / 2)]);
          assertClose(got.y.data, want, `conv ${h}x${w}x${ci}->${co} k${k} batch ${n}`);
        }
      } finally {
        s.dispose();
        tf.dispose([kernel, bias]);
      }
    }
  },
});

Deno.test({
  name: "onnx writer + runtime: ConvTranspose (SAME, stride 2) matches tfjs conv2dTranspose on cpu",
  ignore: !ort,
  fn() {
    const rng = new Rng(2);
    for (const [h, w, ci, co, k] of [[4, 4, 3, 2, 4], [4, 6, 2, 3, 5], [8, 8, 8, 1, 4]]) {
      // tfjs conv2dTranspose filter: [k, k, out, in]; ONNX ConvTranspose W: [in, out, k, k].
      const kernel = tf.tensor4d(rng.normalArray(k * k * ci * co), [k, k, co, ci]);
      const g = new OnnxGraph("deconv");
      const x = g.input("x", ["batch", ci, h, w]);
      // The transposed convolution is the gradient of a SAME conv from 2h x 2w to h x w: that conv's padding.
      const [pt, pb] = samePads(2 * h, k, 2), [pl, pr] = samePads(2 * w, k, 2);
      const y = g.node("ConvTranspose", [x, g.constant("W", permute(kernel, [3, 2, 0, 1]), [ci, co, k, k])], "y", {
        kernel_shape: { ints: [k, k] },
        strides: { ints: [2, 2] },
        pads: { ints: [pt, pl, pb, pr] },
      });
      g.output(y, ["batch", co, 2 * h, 2 * w]);
      const s = ort!.createSession(encodeModel(g, { producer: "test" }));
      try {
        const n = 2;
        const input = rng.normalArray(n * h * w * ci);
        const want = tf.tidy(() => {
          const r = tf.conv2dTranspose(tf.tensor4d(input, [n, h, w, ci]), kernel, [n, 2 * h, 2 * w, co], 2, "same");
          return toNchw(r.dataSync() as Float32Array, r.shape);
        });
        const got = s.run({ x: { data: toNchw(input, [n, h, w, ci]), dims: [n, ci, h, w] } });
        assertClose(got.y.data, want, `deconv ${h}x${w}x${ci}->${co} k${k}`);
      } finally {
        s.dispose();
        kernel.dispose();
      }
    }
  },
});

Deno.test({
  name: "onnx writer + runtime: Gemm + BatchNormalization (inference) + Sigmoid match tfjs cpu; inputs may be views",
  ignore: !ort,
  fn() {
    const rng = new Rng(3);
    const [din, dout, n] = [7, 5, 4];
    const kernel = rng.normalArray(din * dout), bias = rng.normalArray(dout);
    const gamma = rng.uniformArray(dout, 0.5, 2), beta = rng.normalArray(dout);
    const mean = rng.normalArray(dout), variance = rng.uniformArray(dout, 0.1, 3);
    const g = new OnnxGraph("dense");
    const x = g.input("x", ["batch", din]);
    const d = g.node("Gemm", [x, g.constant("K", kernel, [din, dout]), g.constant("b", bias, [dout])], "d");
    const bn = g.node(
      "BatchNormalization",
      [
        d,
        g.constant("gamma", gamma, [dout]),
        g.constant("beta", beta, [dout]),
        g.constant("mean", mean, [dout]),
        g.constant("var", variance, [dout]),
      ],
      "bn",
      { epsilon: { float: 1e-5 } },
    );
    g.output(g.node("Sigmoid", [bn], "y"), ["batch", dout]);
    const s = ort!.createSession(encodeModel(g, { producer: "test" }));
    try {
      // The input is a view into a larger buffer: the session must honour its byte offset.
      const backing = rng.normalArray(3 + n * din);
      const input = backing.subarray(3);
      const want = tf.tidy(() => {
        const dd = tf.matMul(tf.tensor2d(input, [n, din]), tf.tensor2d(kernel, [din, dout])).add(tf.tensor1d(bias));
        const scale = tf.rsqrt(tf.tensor1d(variance).add(1e-5)).mul(tf.tensor1d(gamma));
        return tf.sigmoid(dd.sub(tf.tensor1d(mean)).mul(scale).add(tf.tensor1d(beta))).dataSync() as Float32Array;
      });
      const got = s.run({ x: { data: input, dims: [n, din] } });
      assertClose(got.y.data, want, "gemm+bn+sigmoid");
      assert.throws(() => s.run({}), /missing input x/);
    } finally {
      s.dispose();
    }
    assert.throws(() => s.run({ x: { data: new Float32Array(din), dims: [1, din] } }), /disposed/);
  },
});

Deno.test({
  name: "native engine switch: on with a thread count, off again",
  ignore: !ort,
  fn() {
    assert.equal(isNativeEngineEnabled(), false);
    enableNativeEngine({ threads: 2 });
    assert.equal(isNativeEngineEnabled(), true);
    assert.equal(nativeEngineThreads(), 2);
    assert.throws(() => enableNativeEngine({ threads: 0 }), /threads must be >= 1/);
    disableNativeEngine();
    assert.equal(isNativeEngineEnabled(), false);
  },
});
