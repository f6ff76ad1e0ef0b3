/**
 * The wasm convolution kernels of lib/kernels/mod.ts against the pure-JS `cpu` backend (the reference), and the
 * gradients of a small conv net against central finite differences.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { conv2dBackpropFilter, conv2dBackpropInput } from "../lib/kernels/mod.ts";
import { Rng } from "../lib/rng.ts";
import { assertClose, cases, describe, onBoth, type T4 } from "./conv_cases.ts";

await initBackend({ backend: "wasm", quiet: true });

Deno.test("kernels: Conv2DBackpropFilter and Conv2DBackpropInput match the cpu backend", () => {
  assert.equal(tf.getKernel("Conv2DBackpropFilter", "wasm")?.kernelFunc, conv2dBackpropFilter);
  assert.equal(tf.getKernel("Conv2DBackpropInput", "wasm")?.kernelFunc, conv2dBackpropInput);
  const rng = new Rng(11);
  for (const c of cases) {
    const x = rng.normalArray(c.n * c.h * c.w * c.ci);
    const f = rng.normalArray(c.k[0] * c.k[1] * c.ci * c.co);
    const xShape: [number, number, number, number] = [c.n, c.h, c.w, c.ci];
    const fShape: [number, number, number, number] = [c.k[0], c.k[1], c.ci, c.co];
    const yShape = tf.tidy(() => tf.conv2d(tf.zeros(xShape) as T4, tf.zeros(fShape) as T4, c.s, c.pad).shape);
    const dy = rng.normalArray(yShape.reduce((a, b) => a * b, 1));
    const [[gw, gx], [rw, rx]] = onBoth([x, f, dy], [xShape, fShape, yShape], (xt, ft, dyt) => [
      tf.engine().runKernel("Conv2DBackpropFilter", { x: xt, dy: dyt }, {
        strides: [c.s, c.s],
        pad: c.pad,
        dataFormat: "NHWC",
        filterShape: fShape,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
      tf.conv2dTranspose(dyt as T4, ft as T4, xShape, c.s, c.pad),
    ]);
    assertClose(gw, rw, `filter grad ${describe(c)}`);
    assertClose(gx, rx, `input grad ${describe(c)}`);
  }
});

Deno.test("kernels: conv2dTranspose with the generator's shapes matches the cpu backend", () => {
  const rng = new Rng(12);
  // dSprites generator: 4x4x64 -> 8x8x64 -> 16x16x32 -> 32x32x32 -> 64x64x1, kernel 4, stride 2, padding "same".
  const layers: [number, number, number][] = [[4, 64, 64], [8, 64, 32], [16, 32, 32], [32, 32, 1]];
  for (const batch of [1, 3]) {
    for (const [hw, cin, cout] of layers) {
      const x = rng.normalArray(batch * hw * hw * cin);
      const f = rng.normalArray(4 * 4 * cout * cin, 0.1);
      const outShape: [number, number, number, number] = [batch, 2 * hw, 2 * hw, cout];
      const [[got], [want]] = onBoth(
        [x, f],
        [[batch, hw, hw, cin], [4, 4, cout, cin]],
        (xt, ft) => tf.conv2dTranspose(xt as tf.Tensor4D, ft as T4, outShape, 2, "same"),
      );
      assertClose(got, want, `conv2dTranspose batch ${batch} ${hw}x${hw}x${cin} -> ${cout}`);
    }
  }
});

Deno.test("kernels: gradients of a small conv net match the cpu backend and finite differences", () => {
  const rng = new Rng(13);
  const xShape = [2, 8, 8, 2];
  const shapes = [xShape, [4, 4, 2, 3], [3, 3, 3, 4], [4, 4, 5, 4]];
  const arrays = shapes.map((s) => rng.normalArray(s.reduce((a, b) => a * b, 1), 0.5));
  // conv (s2, same) -> leaky relu -> conv (s1, valid) -> transposed conv (s2, same) -> weighted sum.
  const weights = rng.normalArray(2 * 8 * 8 * 5);
  const loss = (x: tf.Tensor, w1: tf.Tensor, w2: tf.Tensor, w3: tf.Tensor): tf.Scalar => {
    const a = tf.leakyRelu(tf.conv2d(x as T4, w1 as T4, 2, "same"), 0.2);
    const b = tf.conv2d(a, w2 as T4, 1, "valid"); // 4x4 -> 2x2
    const c = tf.conv2dTranspose(b, w3 as T4, [2, 4, 4, 5], 2, "same");
    const d = tf.conv2dTranspose(c, tf.ones([4, 4, 5, 5]) as T4, [2, 8, 8, 5], 2, "same");
    return tf.sum(tf.mul(d, tf.tensor(weights, [2, 8, 8, 5])));
  };
  const grads = tf.grads((x, w1, w2, w3) => loss(x, w1, w2, w3));
  const [wasm, cpu] = onBoth(arrays, shapes, (...ts) => grads(ts));
  for (let i = 0; i < 4; i++) assertClose(wasm[i], cpu[i], `gradient ${i} vs cpu`);

  // Central differences in float64 would need a float64 net; in float32 with eps 1e-2 the error is ~1e-3 relative.
  tf.setBackend("wasm");
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
      const an = wasm[which][idx];
      assert.ok(
        Math.abs(fd - an) <= 2e-2 * Math.max(1, Math.abs(an)),
        `finite difference for input ${which}[${idx}]: ${fd} vs analytic ${an}`,
      );
    }
  }
});

Deno.test("kernels: no tensors leak from the registered kernels", () => {
  const before = tf.memory().numTensors;
  const beforeBytes = tf.memory().numBytes;
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const beforeIds = backend.numDataIds();
  tf.tidy(() => {
    const x = tf.randomNormal([2, 9, 9, 3]) as T4, f = tf.randomNormal([4, 4, 3, 5]) as T4;
    tf.grads((a, b) => tf.sum(tf.conv2d(a as T4, b as T4, 2, "same")))([x, f]);
    tf.conv2dTranspose(tf.randomNormal([2, 5, 5, 5]) as T4, f, [2, 9, 9, 3], 2, "same");
    // One input channel, 16 output channels: the im2col filter gradient with a narrow patch row.
    const x1 = tf.randomNormal([2, 9, 9, 1]) as T4, f1 = tf.randomNormal([3, 3, 1, 16]) as T4;
    tf.grads((a, b) => tf.sum(tf.conv2d(a as T4, b as T4, 2, "same")))([x1, f1]);
  });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(tf.memory().numBytes, beforeBytes);
  assert.equal(backend.numDataIds(), beforeIds, "wasm buffers left behind by a kernel");
});

globalThis.addEventListener("unload", () => shutdownBackend());
