/**
 * Our networks as ONNX models (lib/models/onnx_{layers,gan,vae}.ts) and the native engine's whole-network inference
 * (lib/models/native_inference.ts): for the dSprites, 3DTeapots and CelebA GANs and the VAE, at the paper's image
 * sizes, the ONNX graph run in onnxruntime gives `encode()`/`generate()`'s numbers (wasm backend) within 1e-4, and with
 * the native engine on, `encode()`/`generate()` themselves give those numbers and follow weight changes.
 *
 * The weights are random but not the initial ones: biases, batch-norm statistics and scales are non-trivial and G's
 * kernels are scaled up, so that a wrong bias, BN or layout mapping changes the outputs visibly.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { architectureFor, type GanDataset, ganModel, initDQ, initGenerator } from "../lib/models/infogan_cr.ts";
import type { LayerSpec, ParamSet } from "../lib/models/layers.ts";
import { ganEncoderOnnx, ganGeneratorOnnx } from "../lib/models/onnx_gan.ts";
import { vaeDecoderOnnx, vaeEncoderOnnx } from "../lib/models/onnx_vae.ts";
import { initVaeParams, VaeModel, vaeSpecOf } from "../lib/models/vae.ts";
import { presetFor as vaePreset } from "../lib/config/vae.ts";
import { disableNativeEngine, enableNativeEngine, loadOnnxRuntime } from "../lib/onnx/runtime.ts";
import { Rng } from "../lib/rng.ts";
import type { TrainedModel } from "../lib/models/capabilities.ts";

await initBackend({ backend: "wasm", quiet: true });
const ort = (await loadOnnxRuntime()).runtime;
if (!ort) console.warn(`skipping the ONNX model tests: ${(await loadOnnxRuntime()).reason}`);

const TOL = 1e-4;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, "lengths");
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function spread(a: Float32Array): number {
  let s = 0, s2 = 0;
  for (const v of a) [s, s2] = [s + v, s2 + v * v];
  return Math.sqrt(Math.max(s2 / a.length - (s / a.length) ** 2, 0));
}

/** Non-trivial values for every bias and BN variable, and kernels scaled to unit fan-in variance when `scale`. */
function perturb(params: ParamSet, specs: LayerSpec[], rng: Rng, scale: boolean): void {
  for (const l of specs) {
    if (l.op === "reshape" || l.op === "flatten") continue;
    const set = (name: string, values: Float32Array) => {
      const v = params.get(name);
      v.assign(tf.tensor(values, v.shape));
    };
    const units = params.get(`${l.name}/bias`).size;
    set(`${l.name}/bias`, rng.normalArray(units, 0.1));
    if (scale) {
      const k = params.get(`${l.name}/kernel`);
      const fanIn = l.op === "dense" ? k.shape[0] : l.op === "conv" ? k.size / k.shape[3]! : k.size / k.shape[2]! / 4;
      set(`${l.name}/kernel`, rng.normalArray(k.size, 1 / Math.sqrt(fanIn)));
    }
    if (l.bn) {
      set(`${l.name}_bn/gamma`, rng.uniformArray(units, 0.5, 1.5));
      set(`${l.name}_bn/beta`, rng.normalArray(units, 0.2));
      set(`${l.name}_bn/moving_mean`, rng.normalArray(units, 0.3));
      set(`${l.name}_bn/moving_variance`, rng.uniformArray(units, 0.5, 2));
    }
  }
}

function randomGan(dataset: GanDataset, seed: number): { model: TrainedModel; g: ParamSet; dq: ParamSet } {
  const arch = architectureFor(dataset);
  const rng = new Rng(seed);
  const g = initGenerator(arch, rng), dq = initDQ(arch, rng);
  perturb(g, arch.g, rng, true);
  perturb(dq, [...arch.trunk, ...arch.qHead, ...arch.dHead], rng, false);
  return { model: ganModel(`random ${dataset}`, arch, g, dq), g, dq };
}

function data(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

for (const dataset of ["dsprites", "teapots", "celeba"] as const) {
  Deno.test({
    name: `onnx ${dataset} GAN: the exported G and encoder give generate()/encode() within 1e-4 in onnxruntime`,
    ignore: !ort,
    fn() {
      const arch = architectureFor(dataset);
      const { model, g, dq } = randomGan(dataset, 11);
      const rng = new Rng(12);
      const n = 6;
      const { codes, noise } = arch.latent;
      const c = tf.tensor2d(rng.uniformArray(n * codes, -1, 1), [n, codes]);
      const z = tf.tensor2d(rng.uniformArray(n * noise, -1, 1), [n, noise]);
      try {
        const images = model.generate(c, z);
        const encoded = model.encode(images);
        const want = { images: data(images), codes: data(encoded) };
        tf.dispose([images, encoded]);
        assert.ok(spread(want.images) > 0.05, `the test images vary (std ${spread(want.images)})`);

        const gs = ort!.createSession(ganGeneratorOnnx(arch, g), { threads: 2 });
        const qs = ort!.createSession(ganEncoderOnnx(arch, dq), { threads: 2 });
        try {
          assert.deepEqual([...gs.inputNames], ["codes", "noise"]);
          const out = gs.run({
            codes: { data: data(c), dims: [n, codes] },
            noise: { data: data(z), dims: [n, noise] },
          });
          assert.deepEqual(out.images.dims, [n, ...arch.imageShape]);
          const dG = maxAbsDiff(out.images.data, want.images);
          assert.ok(dG <= TOL, `G: max |onnx - tfjs| = ${dG}`);
          const q = qs.run({ images: { data: want.images, dims: [n, ...arch.imageShape] } });
          assert.deepEqual(q.codes.dims, [n, codes]);
          const dQ = maxAbsDiff(q.codes.data, want.codes);
          assert.ok(dQ <= TOL * Math.max(1, ...want.codes.map(Math.abs)), `Q: max |onnx - tfjs| = ${dQ}`);
        } finally {
          gs.dispose();
          qs.dispose();
        }
      } finally {
        tf.dispose([c, z]);
        model.dispose();
      }
    },
  });
}

Deno.test({
  name: "onnx VAE: the exported encoder (mean, logvar) and decoder match posterior()/generate() within 1e-4",
  ignore: !ort,
  fn() {
    const spec = vaeSpecOf(vaePreset("dsprites", "paper", "beta-vae"));
    const rng = new Rng(21);
    const params = initVaeParams(spec, rng);
    // Non-zero biases and kernels scaled to unit fan-in variance, so the outputs vary.
    for (const group of [params.encoder, params.decoder]) {
      for (const [name, v] of Object.entries(group)) {
        const [a, b, c, d] = v.shape;
        const fanIn = v.rank === 1 ? 0 : v.rank === 2 ? a : name.startsWith("deconv") ? (a * b * d) / 4 : a * b * c;
        v.assign(tf.tensor(rng.normalArray(v.size, fanIn ? 1 / Math.sqrt(fanIn) : 0.1), v.shape));
      }
    }
    const model = new VaeModel(params, spec, { name: "vae", representation: "mean", encodeSeed: 1, ownsParams: true });
    const n = 5, d = spec.latentDim;
    const codes = tf.tensor2d(rng.normalArray(n * d), [n, d]);
    try {
      const images = model.generate(codes);
      const post = model.posterior(images);
      const want = { images: data(images), mean: data(post.mean), logvar: data(post.logvar) };
      tf.dispose([images, post.mean, post.logvar]);
      assert.ok(spread(want.images) > 0.02, `the test images vary (std ${spread(want.images)})`);
      const dec = ort!.createSession(vaeDecoderOnnx(spec, params.decoder));
      const enc = ort!.createSession(vaeEncoderOnnx(spec, params.encoder));
      try {
        const x = dec.run({ codes: { data: data(codes), dims: [n, d] } });
        assert.ok(maxAbsDiff(x.images.data, want.images) <= TOL, "decoder");
        const e = enc.run({ images: { data: want.images, dims: [n, ...spec.imageShape] } });
        for (const k of ["mean", "logvar"] as const) {
          const scale = Math.max(1, ...want[k].map(Math.abs));
          assert.ok(maxAbsDiff(e[k].data, want[k]) <= TOL * scale, `encoder ${k}: ${maxAbsDiff(e[k].data, want[k])}`);
        }
      } finally {
        dec.dispose();
        enc.dispose();
      }
    } finally {
      codes.dispose();
      model.dispose();
    }
  },
});

Deno.test({
  name: "native engine: GAN encode()/generate() run in onnxruntime, match wasm within 1e-4, follow weight changes",
  ignore: !ort,
  fn() {
    const { model, g } = randomGan("dsprites", 31);
    const rng = new Rng(32);
    const n = 270; // more than one native chunk
    const c = tf.tensor2d(rng.uniformArray(n * 5, -1, 1), [n, 5]);
    const z = tf.tensor2d(rng.uniformArray(n * 5, -1, 1), [n, 5]);
    const both = () => {
      const x = model.generate(c, z);
      const e = model.encode(x);
      const r = { x: data(x), e: data(e), shapes: [x.shape, e.shape] };
      tf.dispose([x, e]);
      return r;
    };
    try {
      const wasm = both();
      enableNativeEngine({ threads: 2 });
      const native = both();
      assert.deepEqual(native.shapes, wasm.shapes);
      assert.ok(maxAbsDiff(native.x, wasm.x) <= TOL, `generate: ${maxAbsDiff(native.x, wasm.x)}`);
      assert.ok(maxAbsDiff(native.e, wasm.e) <= TOL, `encode: ${maxAbsDiff(native.e, wasm.e)}`);
      // A training step reassigns variables: the next call must see the new weights.
      const k = g.get("g_dc3/kernel");
      k.assign(tf.tidy(() => tf.mul(k, -1)));
      const changedNative = both();
      disableNativeEngine();
      const changedWasm = both();
      assert.ok(maxAbsDiff(changedNative.x, native.x) > 0.01, "the weight change shows");
      assert.ok(maxAbsDiff(changedNative.x, changedWasm.x) <= TOL, "native follows the new weights");
      assert.ok(maxAbsDiff(changedNative.e, changedWasm.e) <= TOL, "encode of the new images");
    } finally {
      disableNativeEngine();
      tf.dispose([c, z]);
      model.dispose();
    }
  },
});

Deno.test({
  name: "native engine: VAE encode() (sampled) and generate() match wasm; zero rows work natively",
  ignore: !ort,
  fn() {
    const spec = vaeSpecOf(vaePreset("dsprites", "smoke", "factor-vae"));
    const make = () =>
      new VaeModel(initVaeParams(spec, new Rng(41)), spec, {
        name: "vae",
        representation: "sampled",
        encodeSeed: 7,
        ownsParams: true,
      });
    const run = (m: VaeModel) => {
      const codes = tf.tensor2d(new Rng(42).normalArray(20 * spec.latentDim), [20, spec.latentDim]);
      const x = m.generate(codes);
      const e = m.encode(x);
      const r = { x: data(x), e: data(e) };
      tf.dispose([codes, x, e]);
      m.dispose();
      return r;
    };
    const wasm = run(make());
    enableNativeEngine({ threads: 1 });
    try {
      const native = run(make());
      assert.ok(maxAbsDiff(native.x, wasm.x) <= TOL, "generate");
      assert.ok(maxAbsDiff(native.e, wasm.e) <= TOL, "encode, same eps stream");
      // The native path also takes zero rows (the tfjs path cannot reshape an empty batch).
      const m = make();
      const empty = m.encode(tf.zeros([0, ...spec.imageShape]) as tf.Tensor4D);
      assert.deepEqual(empty.shape, [0, spec.latentDim]);
      tf.dispose(empty);
      m.dispose();
    } finally {
      disableNativeEngine();
    }
  },
});
