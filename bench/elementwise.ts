/**
 * `deno task bench --only elementwise`: what an element-wise pass costs on each engine, and whether fusing passes in
 * JavaScript pays, on the largest activation of an InfoGAN-CR iteration at dSprites sizes ([64, 32, 32, 32], 2.1 M
 * floats: G's last batch-normalised layer, D's and H's first convolution outputs).
 *
 * With the convolutions native, the element-wise kernels on the wasm backend take about as long as the convolutions
 * (docs/speed.md). This section measures, in one process:
 *  - one multiply pass, same shape and broadcasting a channel vector: tfjs's wasm kernel, onnxruntime's `Mul` (native
 *    engine only; 1 and 2 threads), and a plain JavaScript loop over the wasm heap;
 *  - training-mode batch norm, forward and backward: as tfjs ops (about seven passes forward and fourteen backward) and
 *    as two JavaScript loops each way (moments then normalise; channel sums then input gradient), the fusion a custom
 *    kernel would do.
 * A JavaScript pass is about three times slower than a wasm SIMD pass, so the fused batch norm saves nothing: fusion
 * pays only in compiled SIMD code (docs/speed.md, "What stands in the way").
 */
import * as tf from "@tensorflow/tfjs";
import type { WasmBackend } from "../lib/kernels/wasm.ts";
import { encodeModel, OnnxGraph } from "../lib/onnx/model.ts";
import { loadOrt, OrtSession } from "../lib/kernels/native/ort.ts";
import { batchNormFused, batchNormOps } from "./fused_batch_norm.ts";
import { type BatchNormFn, buildIteration, median, timeIteration } from "./iteration.ts";

const SHAPE = [64, 32, 32, 32];
const C = SHAPE[3];

/** Median milliseconds of `f` over `n` calls after two warm-up calls. */
function time(f: () => void, n = 25): number {
  f(), f();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

/** A fresh output on the heap, `fill` writing it through heap views taken after the allocation, then freed. */
function withOutput(be: WasmBackend, inputs: tf.Tensor[], fill: (views: Float32Array[], out: Float32Array) => void) {
  const out = be.makeOutput(SHAPE, "float32");
  fill(inputs.map((t) => be.typedArrayFromHeap(t as unknown as tf.TensorInfo)), be.typedArrayFromHeap(out));
  be.disposeData(out.dataId);
}

/** The ceiling of any batch-norm fusion: G without moments or normalisation (scale and shift kept). */
const noNormalisation: BatchNormFn = (x, gamma, beta) => ({
  y: tf.add(tf.mul(x, gamma), beta),
  mean: tf.zerosLike(gamma),
  variance: tf.onesLike(gamma),
});

/** Replica iterations with each batch-norm variant, interleaved `rounds` times: median wall ms and mean CPU ms each. */
async function iterationVariants(rounds: number): Promise<Record<string, number>> {
  const variants: [string, BatchNormFn | undefined][] = [
    ["tensor ops", undefined],
    ["fused JavaScript kernels", batchNormFused],
    ["no normalisation (ceiling)", noNormalisation],
  ];
  const wall = new Map<string, number[]>(), cpu = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of variants) {
      const model = buildIteration(0, { batchNorm: fn });
      try {
        const t = await timeIteration(model, 4, 1);
        wall.set(name, [...(wall.get(name) ?? []), t.medianMs]);
        cpu.set(name, [...(cpu.get(name) ?? []), t.cpuMs]);
      } finally {
        model.dispose();
      }
    }
  }
  const out: Record<string, number> = {};
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const [name] of variants) {
    out[`iteration, batch norm as ${name}: wall ms (median of rounds)`] = median(wall.get(name)!);
    out[`iteration, batch norm as ${name}: cpu ms (mean)`] = mean(cpu.get(name)!);
  }
  return out;
}

export async function benchElementwise(): Promise<Record<string, number | string>> {
  if (tf.getBackend() !== "wasm") return { skipped: `needs the wasm or native engine, not ${tf.getBackend()}` };
  await tf.ready();
  const be = tf.backend() as unknown as WasmBackend;
  const x = tf.randomNormal(SHAPE, 0.5, 2, "float32", 1), y = tf.randomNormal(SHAPE, 0, 1, "float32", 2);
  const gamma = tf.randomNormal([C], 1, 0.1, "float32", 3), beta = tf.randomNormal([C], 0, 0.1, "float32", 4);
  const r: Record<string, number | string> = { "tensor shape": `[${SHAPE}]` };
  try {
    r["multiply, same shape: tfjs wasm ms"] = time(() => tf.mul(x, y).dispose());
    r["multiply, channel vector: tfjs wasm ms"] = time(() => tf.mul(x, gamma).dispose());
    r["multiply, same shape: JavaScript loop ms"] = time(() =>
      withOutput(be, [x, y], ([a, b], o) => {
        for (let i = 0; i < o.length; i++) o[i] = a[i] * b[i];
      })
    );
    r["multiply, channel vector: JavaScript loop ms"] = time(() =>
      withOutput(be, [x, gamma], ([a, g], o) => {
        for (let i = 0; i < o.length; i += C) for (let j = 0; j < C; j++) o[i + j] = a[i + j] * g[j];
      })
    );
    if (loadOrt().ok) {
      for (const threads of [1, 2]) {
        for (const [label, other] of [["same shape", y], ["channel vector", gamma]] as const) {
          const g = new OnnxGraph("mul");
          const a = g.input("a", SHAPE), b = g.input("b", other.shape);
          const o = g.node("Mul", [a, b], "o");
          g.output(o, SHAPE);
          const s = new OrtSession(encodeModel(g, { producer: "bench" }), [a, b], [o], [SHAPE, other.shape, SHAPE], {
            threads,
          });
          try {
            r[`multiply, ${label}: onnxruntime ${threads} thread(s) ms`] = time(() =>
              withOutput(be, [x, other], (inputs, out) => s.run(inputs, [out]))
            );
          } finally {
            s.dispose();
          }
        }
      }
    } else r["onnxruntime"] = "not loaded: native rows skipped";
    for (const [label, fn] of [["tfjs ops", batchNormOps], ["fused JavaScript kernels", batchNormFused]] as const) {
      r[`batch norm forward: ${label} ms`] = time(() => tf.tidy(() => void fn(x, gamma, beta, 1e-5)));
      const grad = tf.grads((t: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(fn(t, g, b, 1e-5).y, y)));
      r[`batch norm forward + gradients: ${label} ms`] = time(() => tf.tidy(() => void grad([x, gamma, beta])), 15);
    }
    Object.assign(r, await iterationVariants(3));
    r.note = "one process; gradient rows include one multiply and one sum for the loss; iterations: bench/iteration.ts";
    return r;
  } finally {
    tf.dispose([x, y, gamma, beta]);
  }
}
