/**
 * Shared by the convolution kernel tests (tests/kernels_conv.test.ts for the wasm kernels, tests/kernels_native.test.ts
 * for the native ones): convolution cases over strides, paddings, odd sizes, batches and channel counts, and the
 * comparison against the pure-JS `cpu` backend.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";

export type T4 = tf.Tensor4D;
export type Pad = "same" | "valid" | number;

/** Runs f on both backends with the same inputs and returns [wasm, cpu] results as flat arrays. */
export function onBoth(inputs: Float32Array[], shapes: number[][], f: (...t: tf.Tensor[]) => tf.Tensor | tf.Tensor[]) {
  const res: Float32Array[][] = [];
  for (const b of ["wasm", "cpu"]) {
    tf.setBackend(b);
    res.push(tf.tidy(() => {
      const ts = inputs.map((a, i) => tf.tensor(a, shapes[i]));
      const out = f(...ts);
      return (Array.isArray(out) ? out : [out]).map((o) => o.dataSync() as Float32Array);
    }));
  }
  tf.setBackend("wasm");
  return res;
}

export function assertClose(got: Float32Array, want: Float32Array, what: string, tol = 1e-4): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 1e-6;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  let worst = 0, at = -1;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= worst)) [worst, at] = [e, i];
  }
  assert.ok(
    worst <= tol * scale,
    `${what}: max error ${worst} at ${at} (scale ${scale}, got ${got[at]}, want ${want[at]})`,
  );
}

export interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: [number, number];
  s: number;
  pad: Pad;
}

export const cases: Case[] = [
  { n: 2, h: 8, w: 8, ci: 3, co: 4, k: [4, 4], s: 2, pad: "same" },
  { n: 1, h: 9, w: 7, ci: 2, co: 5, k: [3, 3], s: 2, pad: "same" },
  { n: 3, h: 9, w: 7, ci: 2, co: 5, k: [3, 3], s: 2, pad: "valid" },
  { n: 2, h: 10, w: 11, ci: 4, co: 3, k: [4, 4], s: 2, pad: "valid" },
  { n: 2, h: 7, w: 6, ci: 3, co: 2, k: [3, 2], s: 1, pad: "same" },
  { n: 1, h: 6, w: 6, ci: 1, co: 6, k: [4, 4], s: 1, pad: "valid" },
  { n: 2, h: 12, w: 12, ci: 1, co: 8, k: [4, 4], s: 2, pad: 1 }, // the paper's explicit padding of 1
  { n: 2, h: 11, w: 9, ci: 2, co: 3, k: [5, 5], s: 2, pad: 2 },
  { n: 1, h: 8, w: 8, ci: 2, co: 2, k: [1, 1], s: 2, pad: "valid" }, // kernel smaller than stride: some taps empty
  { n: 5, h: 5, w: 5, ci: 7, co: 9, k: [2, 2], s: 2, pad: "same" },
  { n: 2, h: 10, w: 8, ci: 2, co: 3, k: [3, 3], s: 2, pad: "valid" }, // last input row/column reached by no tap
  // Eight or more input channels take the one-convolution-per-phase path of Conv2DBackpropInput.
  { n: 2, h: 9, w: 7, ci: 9, co: 4, k: [3, 3], s: 2, pad: "same" },
  { n: 1, h: 10, w: 11, ci: 8, co: 3, k: [4, 4], s: 2, pad: "valid" },
  { n: 2, h: 11, w: 9, ci: 8, co: 2, k: [1, 1], s: 2, pad: "valid" }, // phases without any tap
  { n: 2, h: 12, w: 13, ci: 8, co: 5, k: [5, 5], s: 3, pad: "same" },
  { n: 3, h: 8, w: 8, ci: 16, co: 8, k: [4, 4], s: 2, pad: 1 },
  // Few input channels, many output channels (the filter gradient's im2col product with a narrow patch row).
  { n: 2, h: 12, w: 12, ci: 1, co: 32, k: [4, 4], s: 2, pad: 1 }, // the image layers' shape, small
  { n: 3, h: 9, w: 7, ci: 1, co: 20, k: [3, 3], s: 1, pad: "valid" },
  { n: 2, h: 11, w: 10, ci: 2, co: 24, k: [3, 2], s: 2, pad: "same" },
  { n: 1, h: 10, w: 13, ci: 3, co: 13, k: [2, 2], s: 3, pad: "same" },
  { n: 2, h: 9, w: 9, ci: 4, co: 40, k: [3, 3], s: 2, pad: 2 },
  { n: 2, h: 7, w: 8, ci: 2, co: 5, k: [1, 1], s: 2, pad: "valid" }, // kernel smaller than stride
];

export function describe(c: Case): string {
  return `n${c.n} ${c.h}x${c.w}x${c.ci} -> ${c.co}, k${c.k.join("x")} s${c.s} pad ${c.pad}`;
}
