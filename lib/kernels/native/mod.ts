/**
 * The native engine's kernels: the three convolution kernels of the tfjs wasm backend (forward, input gradient =
 * every transposed convolution, filter gradient) run in onnxruntime's native library (MLAS: AVX2 / AVX-512 or NEON,
 * its own thread pool), called synchronously through its C API on the wasm heap in place (ort.ts). Everything else
 * stays on the wasm backend. One small model per kernel and shape (graphs.ts) is built on first use and cached.
 *
 * `enableNativeKernels` swaps them in on top of the wasm kernels (lib/kernels/mod.ts) and `disableNativeKernels`
 * swaps the wasm ones back, so both engines can be compared in one process. Each native kernel hands the cases it
 * does not cover (NCHW, empty tensors, geometries onnxruntime rejects) to the kernel it replaced.
 *
 * Why these three: they are 80-90% of a training iteration's kernel time on wasm, and a native convolution is 2-4x
 * faster per core than XNNPACK's 128-bit wasm SIMD (docs/speed.md).
 */
import * as tf from "@tensorflow/tfjs";
import { type ConvAttrs, normalisePad, pair, type WasmBackend } from "../wasm.ts";
import {
  backpropInputSupported,
  conv2dBackpropFilterModel,
  conv2dBackpropInputModel,
  conv2dModel,
  type ConvGeometry,
  type KernelModel,
} from "./graphs.ts";
import { loadOrt, OrtSession } from "./ort.ts";

export { loadOrt, ortLibraryPath } from "./ort.ts";

const KERNELS = ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"] as const;
type NativeKernel = typeof KERNELS[number];

let threads = 1;
/** The wasm kernels replaced while the native ones are on (restored by disableNativeKernels). */
let replaced: Map<NativeKernel, tf.KernelConfig> | null = null;
/** One session per kernel and geometry; null where onnxruntime refused the model (the wasm kernel runs instead). */
const sessions = new Map<string, OrtSession | null>();
const calls: Record<NativeKernel, number> = { Conv2D: 0, Conv2DBackpropInput: 0, Conv2DBackpropFilter: 0 };

interface Args<I> {
  inputs: I;
  backend: WasmBackend;
  attrs: ConvAttrs & { inputShape?: number[]; filterShape?: number[] };
}

/** The geometry of an NHWC convolution of x [n,h,w,c] with filter [kh,kw,c,co], or null for what we do not cover. */
function geometry(x: number[], filter: number[], attrs: ConvAttrs): ConvGeometry | null {
  if ((attrs.dataFormat ?? "NHWC") !== "NHWC") return null;
  if ([...x, ...filter].some((d) => d === 0)) return null;
  const info = tf.backend_util.computeConv2DInfo(
    x as [number, number, number, number],
    filter as [number, number, number, number],
    pair(attrs.strides, "strides"),
    pair(attrs.dilations, "dilations"),
    normalisePad(attrs) as "same",
    attrs.dimRoundingMode,
  );
  const p = info.padInfo;
  if (info.outHeight <= 0 || info.outWidth <= 0) return null;
  return {
    n: x[0],
    h: x[1],
    w: x[2],
    c: x[3],
    co: filter[3],
    kh: filter[0],
    kw: filter[1],
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    pad: [p.top, p.left, p.bottom, p.right],
    ho: info.outHeight,
    wo: info.outWidth,
  };
}

function session(kernel: NativeKernel, g: ConvGeometry, build: (g: ConvGeometry) => KernelModel): OrtSession | null {
  const key = `${kernel}|${Object.values(g).join(",")}`;
  if (sessions.has(key)) return sessions.get(key)!;
  let s: OrtSession | null = null;
  try {
    const m = build(g);
    const dims = kernel === "Conv2D"
      ? [[g.n, g.h, g.w, g.c], [g.kh, g.kw, g.c, g.co], [g.n, g.ho, g.wo, g.co]]
      : kernel === "Conv2DBackpropInput"
      ? [[g.n, g.ho, g.wo, g.co], [g.kh, g.kw, g.c, g.co], [g.n, g.h, g.w, g.c]]
      : [[g.n, g.h, g.w, g.c], [g.n, g.ho, g.wo, g.co], [g.kh, g.kw, g.c, g.co]];
    s = new OrtSession(m.bytes, m.inputs, m.outputs, dims, { threads });
  } catch {
    s = null; // e.g. a geometry onnxruntime's kernels reject: the wasm kernel handles it
  }
  sessions.set(key, s);
  return s;
}

/** Runs `s` on tensors of the wasm heap: inputs a, b, and a new output of `shape`. */
function runOnHeap(
  kernel: NativeKernel,
  s: OrtSession,
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  shape: number[],
): tf.TensorInfo {
  const out = backend.makeOutput(shape, "float32");
  // Heap views after the last allocation (a heap growth detaches earlier views).
  try {
    s.run([backend.typedArrayFromHeap(a), backend.typedArrayFromHeap(b)], [backend.typedArrayFromHeap(out)]);
  } catch (e) {
    backend.disposeData(out.dataId);
    throw e;
  }
  calls[kernel]++;
  return out;
}

function fallback(kernel: NativeKernel, args: unknown): tf.TensorInfo {
  const f = replaced?.get(kernel)?.kernelFunc;
  if (!f) throw new Error(`${kernel} (native): no wasm kernel to fall back to`);
  return f(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

export function nativeConv2d(args: Args<{ x: tf.TensorInfo; filter: tf.TensorInfo }>): tf.TensorInfo {
  const { inputs: { x, filter }, backend, attrs } = args;
  const g = x.dtype === "float32" ? geometry(x.shape, filter.shape, attrs) : null;
  const s = g && session("Conv2D", g, conv2dModel);
  if (!g || !s) return fallback("Conv2D", args);
  return runOnHeap("Conv2D", s, backend, x, filter, [g.n, g.ho, g.wo, g.co]);
}

export function nativeConv2dBackpropInput(
  args: Args<{ dy: tf.TensorInfo; filter: tf.TensorInfo }>,
): tf.TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const g = attrs.inputShape ? geometry(attrs.inputShape, filter.shape, attrs) : null;
  const ok = g && backpropInputSupported(g) && dy.shape[1] === g.ho && dy.shape[2] === g.wo;
  const s = ok ? session("Conv2DBackpropInput", g, conv2dBackpropInputModel) : null;
  if (!g || !s) return fallback("Conv2DBackpropInput", args);
  return runOnHeap("Conv2DBackpropInput", s, backend, dy, filter, [g.n, g.h, g.w, g.c]);
}

export function nativeConv2dBackpropFilter(args: Args<{ x: tf.TensorInfo; dy: tf.TensorInfo }>): tf.TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args;
  const g = attrs.filterShape ? geometry(x.shape, attrs.filterShape, attrs) : null;
  const ok = g && g.dh === 1 && g.dw === 1 && dy.shape[1] === g.ho && dy.shape[2] === g.wo;
  const s = ok ? session("Conv2DBackpropFilter", g, conv2dBackpropFilterModel) : null;
  if (!g || !s) return fallback("Conv2DBackpropFilter", args);
  return runOnHeap("Conv2DBackpropFilter", s, backend, x, dy, [g.kh, g.kw, g.c, g.co]);
}

const FUNCTIONS: Record<NativeKernel, unknown> = {
  Conv2D: nativeConv2d,
  Conv2DBackpropInput: nativeConv2dBackpropInput,
  Conv2DBackpropFilter: nativeConv2dBackpropFilter,
};

/**
 * Puts the native kernels in place of the wasm ones, with `threads` threads in onnxruntime's pool. Call after
 * registerWasmKernels(); throws, naming the reason, when onnxruntime cannot be loaded. Calling it again changes the
 * thread count (for sessions created from then on).
 */
export function enableNativeKernels(opts: { threads?: number } = {}): { version: string } {
  const load = loadOrt();
  if (!load.ok) throw new Error(`native kernels: ${load.reason}`);
  const n = opts.threads ?? 1;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`native kernels: threads must be >= 1, got ${n}`);
  if (n !== threads) clearSessions();
  threads = n;
  if (!replaced) {
    replaced = new Map();
    for (const name of KERNELS) {
      const existing = tf.getKernel(name, "wasm");
      if (!existing) throw new Error(`native kernels: the wasm backend has no ${name} to replace`);
      replaced.set(name, existing);
      tf.unregisterKernel(name, "wasm");
      // Keep the wasm kernel's setupFunc: the fallback path still calls that kernel, whose wasm binding it creates.
      tf.registerKernel({
        kernelName: name,
        backendName: "wasm",
        kernelFunc: FUNCTIONS[name] as tf.KernelFunc,
        setupFunc: existing.setupFunc,
      });
    }
  }
  return { version: load.version };
}

/** Puts the wasm kernels back and frees the sessions. */
export function disableNativeKernels(): void {
  if (!replaced) return;
  for (const [name, config] of replaced) {
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(config);
  }
  replaced = null;
  clearSessions();
}

export function nativeKernelsEnabled(): boolean {
  return replaced !== null;
}

/** Calls that ran natively so far, per kernel (the rest went to the wasm kernels). */
export function nativeKernelCalls(): Readonly<Record<NativeKernel, number>> {
  return { ...calls };
}

function clearSessions(): void {
  for (const s of sessions.values()) s?.dispose();
  sessions.clear();
}
