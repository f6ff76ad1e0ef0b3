/**
 * What the native kernels share: the thread count and convolution method, the cache of plans (the onnxruntime
 * sessions of one kernel and shape, with their scratch buffers), the call counters, and the way back to the wasm
 * kernel a native one replaced.
 */
import type * as tf from "@tensorflow/tfjs";
import type { WasmBackend } from "../wasm.ts";
import type { KernelModel } from "./graphs.ts";
import { OrtSession } from "./ort.ts";

/**
 * How the convolutions are computed: "s2d" = space-to-depth GEMMs per chunk of images (graphs.ts) where they are
 * faster, onnxruntime's Conv / ConvTranspose elsewhere; "ops" = Conv / ConvTranspose wherever they apply (kept to
 * measure one against the other, docs/speed.md).
 */
export type ConvolutionMethod = "s2d" | "ops";

export const settings: { threads: number; method: ConvolutionMethod } = { threads: 1, method: "s2d" };

/** Computes one kernel call: reads the heap views `inputs`, writes `out` (of the sizes the plan was made for). */
export interface Plan {
  run(inputs: Float32Array[], out: Float32Array): void;
  dispose(): void;
}

/** One plan per kernel and shape; null where onnxruntime refused a model (the wasm kernel runs instead). */
const plans = new Map<string, Plan | null>();
const calls: Record<string, number> = {};
/** The wasm kernels replaced while the native ones are on. */
let replaced: Map<string, tf.KernelConfig> | null = null;

export function openSession(m: KernelModel, dims: number[][]): OrtSession {
  return new OrtSession(m.bytes, m.inputs, m.outputs, dims, { threads: settings.threads });
}

/** One model for the whole call. */
export function wholePlan(m: KernelModel, dims: number[][]): Plan {
  const s = openSession(m, dims);
  return { run: (inputs, out) => s.run(inputs, [out]), dispose: () => s.dispose() };
}

/**
 * Plans kept at most (least recently used first out): training needs a few dozen, but inference on ever new batch sizes
 * would otherwise keep adding sessions.
 */
const MAX_PLANS = 256;

/** The cached plan for `key`, made on first use; null if making it failed. */
export function cachedPlan(key: string, make: () => Plan): Plan | null {
  if (plans.has(key)) {
    const p = plans.get(key)!;
    plans.delete(key); // re-insert: Map order is the recency order
    plans.set(key, p);
    return p;
  }
  let p: Plan | null = null;
  try {
    p = make();
  } catch {
    p = null; // e.g. a shape onnxruntime's kernels reject: the wasm kernel handles it
  }
  plans.set(key, p);
  if (plans.size > MAX_PLANS) {
    const [oldest, plan] = plans.entries().next().value!;
    plan?.dispose();
    plans.delete(oldest);
  }
  return p;
}

export function clearPlans(): void {
  for (const p of plans.values()) p?.dispose();
  plans.clear();
}

/** Runs `p` on tensors of the wasm heap and returns its new output of `shape`. */
export function runOnHeap(
  kernel: string,
  p: Plan,
  backend: WasmBackend,
  inputs: tf.TensorInfo[],
  shape: number[],
): tf.TensorInfo {
  const out = backend.makeOutput(shape, "float32");
  // Heap views after the last allocation (a heap growth detaches earlier views).
  try {
    p.run(inputs.map((t) => backend.typedArrayFromHeap(t)), backend.typedArrayFromHeap(out));
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  }
  calls[kernel] = (calls[kernel] ?? 0) + 1;
  return out;
}

/** Hands a call to the wasm kernel that `kernel` replaced. */
export function fallback(kernel: string, args: unknown): tf.TensorInfo {
  const f = replaced?.get(kernel)?.kernelFunc;
  if (!f) throw new Error(`${kernel} (native): no wasm kernel to fall back to`);
  return f(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

export function setReplaced(map: Map<string, tf.KernelConfig> | null): void {
  replaced = map;
}

export function replacedKernels(): Map<string, tf.KernelConfig> | null {
  return replaced;
}

/** Calls that ran natively so far, per kernel. */
export function callCounts(): Record<string, number> {
  return { ...calls };
}
