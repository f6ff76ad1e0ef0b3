/**
 * onnxruntime-node as a synchronous engine, and the process-wide switch of the `native` engine.
 *
 * The npm package ships its native library for linux/macOS/Windows on x64 and arm64; Deno loads its Node-API addon
 * without the package's postinstall script (which only fetches optional CUDA files). The package's JS
 * `InferenceSession.run` is async only because it defers to `setImmediate`: the addon's own `run` is synchronous, and
 * TensorFlow.js kernels and our `encode()`/`generate()` are synchronous, so sessions here call the addon directly.
 *
 * Loading is lazy (`loadOnnxRuntime`) and never throws: where the binary is missing or fails to load, the result says
 * why and callers fall back to TensorFlow.js.
 */

/** A float32 tensor crossing into or out of onnxruntime (row-major). */
export interface NativeTensor {
  data: Float32Array;
  dims: number[];
}

/** One model loaded in onnxruntime. `run` is synchronous. */
export interface NativeSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, NativeTensor>): Record<string, NativeTensor>;
  dispose(): void;
}

export interface SessionOptions {
  /** Threads of the session's intra-op pool (default 1). */
  threads?: number;
}

export interface OnnxRuntime {
  /** The package's version, e.g. "1.30.0". */
  version: string;
  /** A session for the model bytes of a `.onnx` file, on the CPU execution provider. */
  createSession(model: Uint8Array, opts?: SessionOptions): NativeSession;
}

export type RuntimeLoad = { runtime: OnnxRuntime; reason?: undefined } | { runtime: null; reason: string };

/** The addon's session object (onnxruntime-node `dist/binding.d.ts`). */
interface BindingSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  readonly inputMetadata: { name: string }[];
  readonly outputMetadata: { name: string }[];
  run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: object): Record<string, OrtTensorLike>;
  dispose(): void;
}

interface OrtTensorLike {
  type: string;
  dims: readonly number[];
  data: unknown;
}

interface OrtModules {
  binding: { InferenceSession: new () => BindingSession };
  initOrt: () => void;
  Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => OrtTensorLike;
  version: string;
}

// Module names in variables: the addon is only loaded when asked for, never at import time of this file.
const ORT_PACKAGE = "onnxruntime-node";
const ORT_BINDING = "onnxruntime-node/dist/binding.js";

let loading: Promise<RuntimeLoad> | null = null;
/** Sessions created and runs made in this process (tests and benchmarks check that a path really ran natively). */
const counters = { sessions: 0, runs: 0 };
let loaded: RuntimeLoad | null = null;

/** Loads onnxruntime-node once; later calls return the same result. */
export function loadOnnxRuntime(): Promise<RuntimeLoad> {
  loading ??= (async () => {
    loaded = await tryLoad();
    return loaded;
  })();
  return loading;
}

/** The runtime if `loadOnnxRuntime` has already succeeded, else null (for synchronous callers). */
export function loadedOnnxRuntime(): OnnxRuntime | null {
  return loaded?.runtime ?? null;
}

async function tryLoad(): Promise<RuntimeLoad> {
  const platform = `${Deno.build.os}-${Deno.build.arch}`;
  let mods: OrtModules;
  try {
    // deno-lint-ignore no-explicit-any
    const ort: any = await import(ORT_PACKAGE);
    // deno-lint-ignore no-explicit-any
    const b: any = await import(ORT_BINDING);
    const bind = b.default ?? b;
    const api = ort.default ?? ort;
    mods = { binding: bind.binding, initOrt: bind.initOrt, Tensor: api.Tensor, version: api.env?.versions?.node ?? "" };
    mods.initOrt();
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    const reason = /cannot find module|no such file|not a dependency|could not find/i.test(msg)
      ? `onnxruntime-node has no native library for ${platform} here (${msg.split("\n")[0]})`
      : `onnxruntime-node failed to load on ${platform}: ${msg.split("\n")[0]}`;
    return { runtime: null, reason };
  }
  return { runtime: { version: mods.version, createSession: (model, opts) => createSession(mods, model, opts) } };
}

function createSession(mods: OrtModules, model: Uint8Array, opts: SessionOptions = {}): NativeSession {
  const threads = opts.threads ?? 1;
  if (!(Number.isInteger(threads) && threads >= 1)) {
    throw new Error(`onnxruntime: threads must be >= 1, got ${threads}`);
  }
  const s = new mods.binding.InferenceSession();
  s.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    // Idle pool threads sleep instead of spinning: this process shares its cores with the JS thread (and, with
    // `--parallel`, with other training processes), where spinning only burns their time.
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  });
  counters.sessions++;
  const inputNames = s.inputMetadata.map((m) => m.name);
  const outputNames = s.outputMetadata.map((m) => m.name);
  const fetches = Object.fromEntries(outputNames.map((n) => [n, null]));
  let disposed = false;
  return {
    inputNames,
    outputNames,
    run(feeds) {
      if (disposed) throw new Error("onnxruntime: run on a disposed session");
      const inputs: Record<string, unknown> = {};
      for (const name of inputNames) {
        const t = feeds[name];
        if (!t) throw new Error(`onnxruntime: missing input ${name} (the model takes ${inputNames.join(", ")})`);
        inputs[name] = new mods.Tensor("float32", t.data, t.dims);
      }
      const out = s.run(inputs, fetches, {});
      counters.runs++;
      const result: Record<string, NativeTensor> = {};
      for (const name of outputNames) {
        const t = out[name];
        if (t.type !== "float32") throw new Error(`onnxruntime: output ${name} is ${t.type}, expected float32`);
        result[name] = { data: t.data as Float32Array, dims: [...t.dims] };
      }
      return result;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      s.dispose();
    },
  };
}

/** How many onnxruntime sessions were created and runs made in this process so far. */
export function onnxRuntimeCounters(): { sessions: number; runs: number } {
  return { ...counters };
}

// ---- the native engine switch ---------------------------------------------------------------------------------------

let nativeEngine: { threads: number } | null = null;

/**
 * Turns on the `native` engine for this process: trained models then run their whole-network inference
 * (`encode`/`generate`) as onnxruntime sessions with `threads` intra-op threads. Called by the backend picker once
 * `loadOnnxRuntime` has succeeded; throws, naming the reason, when it has not.
 */
export function enableNativeEngine(opts: { threads?: number } = {}): void {
  if (!loadedOnnxRuntime()) {
    throw new Error(
      `the native engine needs onnxruntime-node: ${loaded?.reason ?? "call loadOnnxRuntime() before enabling it"}`,
    );
  }
  const threads = opts.threads ?? 1;
  if (!(Number.isInteger(threads) && threads >= 1)) {
    throw new Error(`native engine: threads must be >= 1, got ${threads}`);
  }
  nativeEngine = { threads };
}

/** Turns the native engine off again (tests, or a backend switch back to plain TensorFlow.js). */
export function disableNativeEngine(): void {
  nativeEngine = null;
}

export function isNativeEngineEnabled(): boolean {
  return nativeEngine !== null;
}

/** Intra-op threads of the native engine's sessions (1 when it is off). */
export function nativeEngineThreads(): number {
  return nativeEngine?.threads ?? 1;
}
