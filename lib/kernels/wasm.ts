/**
 * The tfjs wasm backend as our kernels see it: the subset of its API they use, direct calls to registered kernels,
 * zero-cost reshapes, cached constants, and kernel replacement that remembers the stock implementation (so that a
 * replacement can hand the cases it does not speed up back to it).
 *
 * Rule for every kernel: take heap views (typedArrayFromHeap) only after the kernel's last allocation before their
 * use. In the single-threaded build a heap growth detaches all earlier views.
 */
import * as tf from "@tensorflow/tfjs";

/** The subset of tfjs-backend-wasm's BackendWasm that the kernels use. */
export interface WasmBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

export type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];

export interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad | "explicit";
  explicitPaddings?: number[];
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  dilations?: number | [number, number];
}

const stock: Partial<Record<string, tf.KernelFunc>> = {};

/**
 * Runs a wasm kernel directly (no engine bookkeeping, no tape). The stock implementation is used when we replaced the
 * kernel, so that a replacement can delegate the cases it does not speed up.
 */
export function call(
  name: string,
  backend: WasmBackend,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown> = {},
): tf.TensorInfo {
  const f = stock[name] ?? tf.getKernel(name, "wasm")?.kernelFunc;
  if (!f) throw new Error(`wasm kernel ${name} is not registered`);
  return f({
    inputs,
    backend: backend as unknown as tf.KernelBackend,
    attrs: attrs as tf.NamedAttrMap,
  }) as tf.TensorInfo;
}

/** Same storage, another shape (reshape is free in tfjs: the shape lives in the TensorInfo). */
export function view(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

export function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Small constant tensors the kernels reuse (PReLU slopes). Stable ids also let XNNPACK keep its packed operators. Tied to one backend instance: a re-created backend starts a fresh cache.
 */
const constants = new Map<string, tf.TensorInfo>();
let constantsOwner: WasmBackend | null = null;

export function constant(backend: WasmBackend, key: string, n: number, value: number): tf.TensorInfo {
  if (constantsOwner !== backend) {
    constants.clear();
    constantsOwner = backend;
  }
  let t = constants.get(key);
  if (!t) {
    t = backend.makeOutput([n], "float32");
    backend.typedArrayFromHeap(t).fill(value);
    constants.set(key, t);
  }
  return t;
}

export function free(backend: WasmBackend, ...infos: tf.TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

export function pair(v: number | [number, number] | undefined, name: string): [number, number] {
  if (v === undefined) return [1, 1];
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= 1)) throw new Error(`${name} must be positive integers, got ${v}`);
  return p;
}

/** tfjs passes explicit padding either as `pad` (a 4x2 array) or as `pad: "explicit"` + a flat `explicitPaddings`. */
export function normalisePad(attrs: ConvAttrs): Pad {
  if (attrs.pad === "explicit") {
    const e = attrs.explicitPaddings ?? [];
    return [[e[0], e[1]], [e[2], e[3]], [e[4], e[5]], [e[6], e[7]]];
  }
  return attrs.pad;
}

/** Whether our XNNPACK-based path handles these attributes (else the stock kernel, if any, is used). */
export function supported(attrs: ConvAttrs): boolean {
  const [dh, dw] = pair(attrs.dilations, "dilations");
  return (attrs.dataFormat ?? "NHWC") === "NHWC" && dh === 1 && dw === 1;
}

export function normaliseAxes(axis: number | number[] | undefined | null, rank: number): number[] {
  const list = axis === undefined || axis === null ? [...Array(rank).keys()] : Array.isArray(axis) ? axis : [axis];
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
}

/** The stock implementation of a kernel we replaced, if any. */
export function stockKernel(name: string): tf.KernelFunc | undefined {
  return stock[name];
}

export function replaceKernel(kernelName: string, kernelFunc: tf.KernelFunc): void {
  const existing = tf.getKernel(kernelName, "wasm");
  if (existing) {
    stock[kernelName] ??= existing.kernelFunc;
    tf.unregisterKernel(kernelName, "wasm");
  }
  // Keep the stock setupFunc: the fallback path still calls the stock kernel, whose wasm binding it creates.
  tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc, setupFunc: existing?.setupFunc });
}
