/**
 * The native engine's kernels: the three convolution kernels of the tfjs wasm backend (forward, input gradient =
 * every transposed convolution, filter gradient) run in onnxruntime's native library (MLAS: AVX2 / AVX-512 or NEON,
 * its own thread pool), called synchronously through its C API on the wasm heap in place (ort.ts). Everything else
 * stays on the wasm backend. The small models of each kernel and shape (graphs.ts) are built on first use and cached.
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
  chunkImages,
  conv2dBackpropInputModel,
  conv2dModel,
  type ConvGeometry,
  filterChunkModel,
  filterResultModel,
  filterShape,
  forwardChunkModel,
  forwardFilterModel,
  inputChunkModel,
  inputFilterModel,
  type KernelModel,
  s2dShape,
  withBatch,
  xShape,
  yShape,
} from "./graphs.ts";
import { loadOrt, OrtSession } from "./ort.ts";

export { loadOrt, ortLibraryPath } from "./ort.ts";

const KERNELS = ["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"] as const;
type NativeKernel = typeof KERNELS[number];

/**
 * How the convolutions are computed: "s2d" = space-to-depth GEMMs per chunk of images (graphs.ts) where they are
 * faster, onnxruntime's Conv / ConvTranspose elsewhere; "ops" = Conv / ConvTranspose wherever they apply (kept to
 * measure one against the other, docs/speed.md).
 */
export type ConvolutionMethod = "s2d" | "ops";

let threads = 1;
let method: ConvolutionMethod = "s2d";
/** The wasm kernels replaced while the native ones are on (restored by disableNativeKernels). */
let replaced: Map<NativeKernel, tf.KernelConfig> | null = null;
/** One plan per kernel and geometry; null where onnxruntime refused a model (the wasm kernel runs instead). */
const plans = new Map<string, Plan | null>();
const calls: Record<NativeKernel, number> = { Conv2D: 0, Conv2DBackpropInput: 0, Conv2DBackpropFilter: 0 };

interface Args<I> {
  inputs: I;
  backend: WasmBackend;
  attrs: ConvAttrs & { inputShape?: number[]; filterShape?: number[] };
}

/** Computes one kernel call: reads the heap views a and b, writes out (all of the sizes the plan was made for). */
interface Plan {
  run(a: Float32Array, b: Float32Array, out: Float32Array): void;
  dispose(): void;
}

function size(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

function open(m: KernelModel, dims: number[][]): OrtSession {
  return new OrtSession(m.bytes, m.inputs, m.outputs, dims, { threads });
}

/** One model for the whole call (Conv, ConvTranspose). */
function wholePlan(m: KernelModel, dims: number[][]): Plan {
  const s = open(m, dims);
  return { run: (a, b, out) => s.run([a, b], [out]), dispose: () => s.dispose() };
}

/** Sessions for chunks of `nb` images and for the remainder, and the chunk boundaries of a batch of n. */
function chunked(g: ConvGeometry, nb: number, make: (g: ConvGeometry) => OrtSession) {
  const full = make(withBatch(g, nb));
  const rest = g.n % nb ? make(withBatch(g, g.n % nb)) : null;
  const chunks: { s: OrtSession; first: number; count: number }[] = [];
  for (let first = 0; first < g.n; first += nb) {
    const count = Math.min(nb, g.n - first);
    chunks.push({ s: count === nb ? full : rest!, first, count });
  }
  return { chunks, dispose: () => [full, rest].forEach((s) => s?.dispose()) };
}

/** y = conv(x, w): W2 once, then patches x W2 per chunk, written straight into y's rows. */
function forwardPlan(g: ConvGeometry): Plan {
  const { taps } = s2dShape(g);
  const prep = open(forwardFilterModel(g), [filterShape(g), [taps, g.co]]);
  const w2 = new Float32Array(taps * g.co);
  const per = { x: g.h * g.w * g.c, y: g.ho * g.wo * g.co };
  const c = chunked(
    g,
    chunkImages(g, "forward"),
    (cg) => open(forwardChunkModel(cg), [xShape(cg), [taps, g.co], [cg.n * g.ho * g.wo, g.co]]),
  );
  return {
    run(x, w, y) {
      prep.run([w], [w2]);
      for (const { s, first, count } of c.chunks) {
        s.run([x.subarray(first * per.x, (first + count) * per.x), w2], [
          y.subarray(first * per.y, (first + count) * per.y),
        ]);
      }
    },
    dispose: () => {
      prep.dispose();
      c.dispose();
    },
  };
}

/** dW = sum over chunks of patches(x)^T dy, accumulated in two scratch buffers, then rearranged into dW. */
function filterPlan(g: ConvGeometry): Plan {
  const { taps } = s2dShape(g);
  const zeros = new Float32Array(taps * g.co);
  const acc = [new Float32Array(taps * g.co), new Float32Array(taps * g.co)];
  const result = open(filterResultModel(g), [[taps, g.co], filterShape(g)]);
  const per = { x: g.h * g.w * g.c, y: g.ho * g.wo * g.co };
  const c = chunked(
    g,
    chunkImages(g, "filter"),
    (cg) => open(filterChunkModel(cg), [xShape(cg), [cg.n * g.ho * g.wo, g.co], [taps, g.co], [taps, g.co]]),
  );
  return {
    run(x, dy, dw) {
      let from = zeros;
      c.chunks.forEach(({ s, first, count }, i) => {
        const to = acc[i % 2];
        s.run([
          x.subarray(first * per.x, (first + count) * per.x),
          dy.subarray(first * per.y, (first + count) * per.y),
          from,
        ], [to]);
        from = to;
      });
      result.run([from], [dw]);
    },
    dispose: () => {
      result.dispose();
      c.dispose();
    },
  };
}

/** dx = the transposed convolution of dy, per chunk, written straight into dx's rows. */
function inputPlan(g: ConvGeometry): Plan {
  const { th, tw } = s2dShape(g);
  const w2Shape = [th * tw * g.co, g.sh * g.sw * g.c];
  const prep = open(inputFilterModel(g), [filterShape(g), w2Shape]);
  const w2 = new Float32Array(size(w2Shape));
  const per = { x: g.h * g.w * g.c, y: g.ho * g.wo * g.co };
  const c = chunked(g, chunkImages(g, "input"), (cg) => open(inputChunkModel(cg), [yShape(cg), w2Shape, xShape(cg)]));
  return {
    run(dy, w, dx) {
      prep.run([w], [w2]);
      for (const { s, first, count } of c.chunks) {
        s.run([dy.subarray(first * per.y, (first + count) * per.y), w2], [
          dx.subarray(first * per.x, (first + count) * per.x),
        ]);
      }
    },
    dispose: () => {
      prep.dispose();
      c.dispose();
    },
  };
}

/** Few channels make the input gradient's product narrow (s*s*c columns): ConvTranspose is faster there. */
const S2D_INPUT_MIN_CHANNELS = 8;

function makePlan(kernel: NativeKernel, g: ConvGeometry): Plan {
  const s2d = method === "s2d";
  switch (kernel) {
    case "Conv2D":
      if (s2d && g.dh === 1 && g.dw === 1) return forwardPlan(g);
      return wholePlan(conv2dModel(g), [xShape(g), filterShape(g), yShape(g)]);
    case "Conv2DBackpropFilter":
      return filterPlan(g);
    case "Conv2DBackpropInput":
      if (!backpropInputSupported(g) || (s2d && g.c >= S2D_INPUT_MIN_CHANNELS)) return inputPlan(g);
      return wholePlan(conv2dBackpropInputModel(g), [yShape(g), filterShape(g), xShape(g)]);
  }
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

function plan(kernel: NativeKernel, g: ConvGeometry): Plan | null {
  const key = `${kernel}|${Object.values(g).join(",")}`;
  if (plans.has(key)) return plans.get(key)!;
  let p: Plan | null = null;
  try {
    p = makePlan(kernel, g);
  } catch {
    p = null; // e.g. a geometry onnxruntime's kernels reject: the wasm kernel handles it
  }
  plans.set(key, p);
  return p;
}

/** Runs `p` on tensors of the wasm heap: inputs a, b, and a new output of `shape`. */
function runOnHeap(
  kernel: NativeKernel,
  p: Plan,
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  shape: number[],
): tf.TensorInfo {
  const out = backend.makeOutput(shape, "float32");
  // Heap views after the last allocation (a heap growth detaches earlier views).
  try {
    p.run(backend.typedArrayFromHeap(a), backend.typedArrayFromHeap(b), backend.typedArrayFromHeap(out));
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
  const p = g && plan("Conv2D", g);
  if (!g || !p) return fallback("Conv2D", args);
  return runOnHeap("Conv2D", p, backend, x, filter, yShape(g));
}

export function nativeConv2dBackpropInput(
  args: Args<{ dy: tf.TensorInfo; filter: tf.TensorInfo }>,
): tf.TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const g = attrs.inputShape ? geometry(attrs.inputShape, filter.shape, attrs) : null;
  const ok = g && g.dh === 1 && g.dw === 1 && dy.shape[1] === g.ho && dy.shape[2] === g.wo;
  const p = ok ? plan("Conv2DBackpropInput", g) : null;
  if (!g || !p) return fallback("Conv2DBackpropInput", args);
  return runOnHeap("Conv2DBackpropInput", p, backend, dy, filter, xShape(g));
}

export function nativeConv2dBackpropFilter(args: Args<{ x: tf.TensorInfo; dy: tf.TensorInfo }>): tf.TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args;
  const g = attrs.filterShape ? geometry(x.shape, attrs.filterShape, attrs) : null;
  const ok = g && g.dh === 1 && g.dw === 1 && dy.shape[1] === g.ho && dy.shape[2] === g.wo;
  const p = ok ? plan("Conv2DBackpropFilter", g) : null;
  if (!g || !p) return fallback("Conv2DBackpropFilter", args);
  return runOnHeap("Conv2DBackpropFilter", p, backend, x, dy, filterShape(g));
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
export function enableNativeKernels(
  opts: { threads?: number; method?: ConvolutionMethod } = {},
): { version: string } {
  const load = loadOrt();
  if (!load.ok) throw new Error(`native kernels: ${load.reason}`);
  const n = opts.threads ?? 1;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`native kernels: threads must be >= 1, got ${n}`);
  const m = opts.method ?? "s2d";
  if (n !== threads || m !== method) clearPlans();
  threads = n;
  method = m;
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
  clearPlans();
}

export function nativeKernelsEnabled(): boolean {
  return replaced !== null;
}

/** Calls that ran natively so far, per kernel (the rest went to the wasm kernels). */
export function nativeKernelCalls(): Readonly<Record<NativeKernel, number>> {
  return { ...calls };
}

function clearPlans(): void {
  for (const p of plans.values()) p?.dispose();
  plans.clear();
}
