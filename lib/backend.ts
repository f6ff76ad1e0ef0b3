/**
 * Picks and initialises the TensorFlow.js backend.
 *
 * Order of preference (the first one present wins):
 *   1. `tensorflow` through `@tensorflow/tfjs-node-gpu` (the user installed it and CUDA works),
 *   2. `tensorflow` through `@tensorflow/tfjs-node`,
 *   3. `webgpu` when Deno exposes a real (non-fallback) GPU adapter,
 *   4. `native`: the wasm backend with its convolutions and large matrix products in onnxruntime's native library
 *      (lib/kernels/native/), where the npm package `onnxruntime-node` ships that library for the platform; it also
 *      turns on the native engine switch of lib/onnx/runtime.ts (whole-network inference),
 *   5. `wasm` (always present; our own kernels make it fit for training, see lib/kernels/).
 * `cpu` (pure JS) is never chosen automatically: it is only a reference for kernel tests.
 *
 * Threads (`--threads N`, IGCR_THREADS, default: one per logical CPU) are the wasm backend's, or with `native`
 * onnxruntime's; `native` keeps the wasm side single-threaded (its element-wise kernels lose more to waking a thread
 * pool than they gain, docs/speed.md).
 *
 * Override with `--backend NAME` on any command or the environment variable IGCR_BACKEND.
 */
import * as tf from "@tensorflow/tfjs";
import { BackendChoice } from "./config/backend.ts";
import { registerWasmKernels } from "./kernels/mod.ts";
import { disableNativeKernels, enableNativeKernels, loadOrt } from "./kernels/native/mod.ts";
import { enableWasmThreads, wasmThreadCount } from "./kernels/threads.ts";
import { disableNativeEngine, enableNativeEngine, loadOnnxRuntime } from "./onnx/runtime.ts";

export { BackendChoice } from "./config/backend.ts";

export interface BackendInfo {
  /** What was asked for. */
  requested: BackendChoice;
  /** The engine now active ("tensorflow", "webgpu", "native", "wasm", "cpu"); `native` is tfjs's "wasm" backend. */
  name: string;
  /** Human-readable description, e.g. "wasm (SIMD, 2 threads)". */
  description: string;
  threads: number;
  /** Whether this backend computes on a GPU. */
  gpu: boolean;
}

const INSTALL_HINTS: Record<string, string> = {
  "tensorflow-gpu":
    "install it with `deno add npm:@tensorflow/tfjs-node-gpu` (needs internet access, CUDA 11.2+ and cuDNN 8; see README 'GPU')",
  tensorflow: "install it with `deno add npm:@tensorflow/tfjs-node` (its install script downloads libtensorflow)",
  webgpu: "Deno found no real GPU adapter (navigator.gpu is missing or only offers a software fallback adapter)",
  native: "onnxruntime's native library could not be loaded",
};

let active: BackendInfo | null = null;
/** Whether the wasm module has started in this process (until shutdownBackend removes it). */
let wasmStarted = false;

/** Loads a package by its bare name only if the user added it to deno.json; a string variable keeps `deno check` quiet. */
async function tryImport(name: string): Promise<boolean> {
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}

interface GpuAdapterLike {
  isFallbackAdapter?: boolean;
  info?: { isFallbackAdapter?: boolean; description?: string; device?: string; vendor?: string };
}

/** A real GPU adapter from Deno's WebGPU, or null when there is none or only a software fallback (llvmpipe). */
export async function realGpuAdapter(): Promise<GpuAdapterLike | null> {
  const gpu = (globalThis.navigator as unknown as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
  if (!gpu) return null;
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return null;
    const fallback = adapter.isFallbackAdapter ?? adapter.info?.isFallbackAdapter ?? false;
    const desc = `${adapter.info?.description ?? ""} ${adapter.info?.device ?? ""}`.toLowerCase();
    // A software adapter (llvmpipe) is far slower than wasm; it is only accepted on request, to exercise the WebGPU
    // code path on a machine without a GPU (IGCR_WEBGPU_ALLOW_FALLBACK=1).
    const software = fallback || desc.includes("llvmpipe") || desc.includes("swiftshader");
    if (software && Deno.env.get("IGCR_WEBGPU_ALLOW_FALLBACK") !== "1") return null;
    return adapter;
  } catch {
    return null;
  }
}

async function activate(name: "tensorflow" | "webgpu" | "wasm" | "cpu", threads?: number): Promise<void> {
  if (name === "webgpu") await import("@tensorflow/tfjs-backend-webgpu");
  if (name === "wasm") {
    await import("@tensorflow/tfjs-backend-wasm");
    // The wasm module's thread count is fixed when it starts: a later request (wasm after native) keeps it.
    if (!wasmStarted) await enableWasmThreads(threads);
    wasmStarted = true;
    registerWasmKernels();
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`backend ${name} failed to initialise`);
  await tf.ready();
}

/** Reads `--backend X` / `--backend=X` from argv, else IGCR_BACKEND, else "auto". */
export function backendFromArgs(args: string[] = Deno.args): BackendChoice {
  let raw: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--backend") raw = args[i + 1];
    else if (args[i].startsWith("--backend=")) raw = args[i].slice("--backend=".length);
  }
  raw ??= Deno.env.get("IGCR_BACKEND") ?? "auto";
  const parsed = BackendChoice.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`unknown backend "${raw}": choose one of ${BackendChoice.options.join(", ")}`);
  }
  return parsed.data;
}

/**
 * Initialise the best available backend (or the requested one) and report it. Safe to call more than once: later calls
 * return the active backend unless a different one is asked for.
 */
export async function initBackend(
  opts: { backend?: BackendChoice; threads?: number; quiet?: boolean } = {},
): Promise<BackendInfo> {
  const requested = opts.backend ?? backendFromArgs();
  if (active && (requested === "auto" || requested === active.requested)) return active;

  let info: BackendInfo;
  const envThreads = Deno.env.get("IGCR_THREADS");
  const threads = opts.threads ?? (envThreads ? Number(envThreads) : undefined);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new Error(`threads must be a positive integer, got ${threads} (IGCR_THREADS=${envThreads})`);
  }

  let nativeUnavailable: string | null = null;
  const want = async (choice: Exclude<BackendChoice, "auto">): Promise<BackendInfo | null> => {
    if (choice !== "native") {
      // Neither the kernels nor whole-network inference may outlive a switch to another backend.
      disableNativeKernels();
      disableNativeEngine();
    }
    switch (choice) {
      case "tensorflow-gpu":
        if (!(await tryImport("@tensorflow/tfjs-node-gpu"))) return null;
        await activate("tensorflow");
        return {
          requested,
          name: "tensorflow",
          description: "tensorflow (tfjs-node-gpu, CUDA)",
          threads: 0,
          gpu: true,
        };
      case "tensorflow":
        if (!(await tryImport("@tensorflow/tfjs-node"))) return null;
        await activate("tensorflow");
        return { requested, name: "tensorflow", description: "tensorflow (tfjs-node, CPU)", threads: 0, gpu: false };
      case "webgpu": {
        const adapter = await realGpuAdapter();
        if (!adapter) return null;
        await activate("webgpu");
        const desc = adapter.info?.description || adapter.info?.device || "GPU";
        return { requested, name: "webgpu", description: `webgpu (${desc})`, threads: 0, gpu: true };
      }
      case "native": {
        const load = loadOrt();
        if (!load.ok) {
          nativeUnavailable = load.reason;
          return null;
        }
        const n = threads ?? navigator.hardwareConcurrency ?? 1;
        await activate("wasm", 1);
        enableNativeKernels({ threads: n });
        // Whole-network inference of trained models (lib/onnx/runtime.ts) through the package's Node-API addon.
        const addon = await loadOnnxRuntime();
        if (addon.runtime) enableNativeEngine({ threads: n });
        return {
          requested,
          name: "native",
          description: `native (onnxruntime ${load.version} convolutions, ${n} thread${n === 1 ? "" : "s"}; ` +
            `wasm SIMD for the rest)`,
          threads: n,
          gpu: false,
        };
      }
      case "wasm": {
        await activate("wasm", threads);
        const n = wasmThreadCount();
        return {
          requested,
          name: "wasm",
          description: `wasm (SIMD, ${n} thread${n === 1 ? "" : "s"})`,
          threads: n,
          gpu: false,
        };
      }
      case "cpu":
        await activate("cpu");
        return { requested, name: "cpu", description: "cpu (pure JavaScript reference)", threads: 1, gpu: false };
    }
  };

  if (requested === "auto") {
    info = (await want("tensorflow-gpu")) ?? (await want("tensorflow")) ?? (await want("webgpu")) ??
      (await want("native")) ?? (await want("wasm"))!;
  } else {
    const got = await want(requested);
    if (!got) {
      const why = requested === "native" && nativeUnavailable ? nativeUnavailable : INSTALL_HINTS[requested];
      throw new Error(`backend "${requested}" is not available: ${why}`);
    }
    info = got;
  }
  active = info;
  if (!opts.quiet) {
    const note = info.name === "wasm" && nativeUnavailable ? ` (native engine unavailable: ${nativeUnavailable})` : "";
    console.error(`backend: ${info.description}${note}`);
  }
  return info;
}

/** The active backend's info (after initBackend). */
export function backendInfo(): BackendInfo {
  if (!active) throw new Error("no backend initialised: call initBackend() first");
  return active;
}

/** End worker threads so the process can exit (the threaded wasm build keeps it alive otherwise). */
export function shutdownBackend(): void {
  if (active?.name === "native") {
    disableNativeKernels();
    disableNativeEngine();
  }
  if (active?.name === "wasm" || active?.name === "native") {
    try {
      tf.removeBackend("wasm");
    } catch { /* already gone */ }
    wasmStarted = false;
  }
  active = null;
}
