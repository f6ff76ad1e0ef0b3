/**
 * The native engine's kernels: the convolution kernels of the tfjs wasm backend (forward, input gradient = every
 * transposed convolution, filter gradient; conv.ts) and its large matrix products (matmul.ts) run in onnxruntime's
 * native library (MLAS: AVX2 / AVX-512 or NEON, its own thread pool), called synchronously through its C API on the
 * wasm heap in place (ort.ts). Everything else stays on the wasm backend. The small models of each kernel and shape
 * (graphs.ts) are built on first use and cached (plans.ts).
 *
 * `enableNativeKernels` swaps them in on top of the wasm kernels (lib/kernels/mod.ts) and `disableNativeKernels`
 * swaps the wasm ones back, so both engines can be compared in one process. Each native kernel hands the cases it
 * does not cover (NCHW, empty tensors, small products, shapes onnxruntime rejects) to the kernel it replaced.
 *
 * Why these: the convolutions are 80-90% of a training iteration's kernel time on wasm, and a native convolution is
 * 2-4x faster per core than XNNPACK's 128-bit wasm SIMD (docs/speed.md).
 */
import * as tf from "@tensorflow/tfjs";
import { nativeConv2d, nativeConv2dBackpropFilter, nativeConv2dBackpropInput } from "./conv.ts";
import { nativeBatchMatMul } from "./matmul.ts";
import { loadOrt } from "./ort.ts";
import { callCounts, clearPlans, type ConvolutionMethod, replacedKernels, setReplaced, settings } from "./plans.ts";

export { nativeConv2d, nativeConv2dBackpropFilter, nativeConv2dBackpropInput } from "./conv.ts";
export { nativeBatchMatMul } from "./matmul.ts";
export { loadOrt, ortLibraryPath } from "./ort.ts";
export type { ConvolutionMethod } from "./plans.ts";

const FUNCTIONS: Record<string, unknown> = {
  Conv2D: nativeConv2d,
  Conv2DBackpropInput: nativeConv2dBackpropInput,
  Conv2DBackpropFilter: nativeConv2dBackpropFilter,
  BatchMatMul: nativeBatchMatMul,
};
export type NativeKernel = "Conv2D" | "Conv2DBackpropInput" | "Conv2DBackpropFilter" | "BatchMatMul";

/**
 * Puts the native kernels in place of the wasm ones, with `threads` threads in onnxruntime's pool. Call after
 * registerWasmKernels(); throws, naming the reason, when onnxruntime cannot be loaded. Calling it again changes the
 * thread count or method (for the plans made from then on).
 */
export function enableNativeKernels(
  opts: { threads?: number; method?: ConvolutionMethod } = {},
): { version: string } {
  const load = loadOrt();
  if (!load.ok) throw new Error(`native kernels: ${load.reason}`);
  const n = opts.threads ?? 1;
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`native kernels: threads must be >= 1, got ${n}`);
  const m = opts.method ?? "s2d";
  if (n !== settings.threads || m !== settings.method) clearPlans();
  settings.threads = n;
  settings.method = m;
  if (!replacedKernels()) {
    const replaced = new Map<string, tf.KernelConfig>();
    for (const [name, f] of Object.entries(FUNCTIONS)) {
      const existing = tf.getKernel(name, "wasm");
      if (!existing) throw new Error(`native kernels: the wasm backend has no ${name} to replace`);
      replaced.set(name, existing);
      tf.unregisterKernel(name, "wasm");
      // Keep the wasm kernel's setupFunc: the fallback path still calls that kernel, whose wasm binding it creates.
      tf.registerKernel({
        kernelName: name,
        backendName: "wasm",
        kernelFunc: f as tf.KernelFunc,
        setupFunc: existing.setupFunc,
      });
    }
    setReplaced(replaced);
  }
  return { version: load.version };
}

/** Puts the wasm kernels back and frees the sessions. */
export function disableNativeKernels(): void {
  const replaced = replacedKernels();
  if (!replaced) return;
  for (const [name, config] of replaced) {
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel(config);
  }
  setReplaced(null);
  clearPlans();
}

export function nativeKernelsEnabled(): boolean {
  return replacedKernels() !== null;
}

/** Calls that ran natively so far, per kernel (the rest went to the wasm kernels). */
export function nativeKernelCalls(): Readonly<Record<NativeKernel, number>> {
  const c = callCounts();
  return {
    Conv2D: c.Conv2D ?? 0,
    Conv2DBackpropInput: c.Conv2DBackpropInput ?? 0,
    Conv2DBackpropFilter: c.Conv2DBackpropFilter ?? 0,
    BatchMatMul: c.BatchMatMul ?? 0,
  };
}
