/**
 * onnxruntime's C API through Deno's FFI, for kernels that run one small model per call on memory they do not own.
 *
 * Why not the package's Node-API addon (lib/onnx/runtime.ts): under Deno every output the addon returns is copied into
 * a fresh JS ArrayBuffer (Deno's napi_create_external_arraybuffer copies), and that copy with its page faults cost
 * 30 ms for an 8 MB convolution output whose arithmetic takes 1 ms (docs/speed.md). Through the C API a kernel hands
 * onnxruntime pointers into the wasm heap for its inputs AND its pre-allocated outputs, so nothing is copied, and a
 * run is synchronous, as tfjs kernels must be.
 *
 * The library is the one inside the npm package `onnxruntime-node` (installed with the project, for linux x64/arm64,
 * macOS arm64 and Windows x64/arm64). Loading it needs Deno's `--allow-ffi` (granted by `-A`); `loadOrt` never throws
 * and says why when it cannot load.
 *
 * The OrtApi struct is a table of function pointers whose order is frozen by onnxruntime's ABI promise (new functions
 * are only appended). The indices below are those of the C header (onnxruntime_c_api.h, identical since API version
 * 13); `loadOrt` checks the layout with a call whose answer is known before trusting it.
 */
import { createRequire } from "node:module";

const P = "pointer" as const;
const B = "buffer" as const;

/** OrtApi index, parameters and result of each function used. */
const FUNCTIONS = {
  GetErrorMessage: [2, [P], P],
  CreateEnv: [3, ["i32", B, B], P],
  CreateSessionFromArray: [8, [P, B, "usize", P, B], P],
  Run: [9, [P, P, B, B, "usize", B, "usize", B], P],
  CreateSessionOptions: [10, [B], P],
  SetSessionLogSeverityLevel: [22, [P, "i32"], P],
  SetSessionGraphOptimizationLevel: [23, [P, "i32"], P],
  SetIntraOpNumThreads: [24, [P, "i32"], P],
  SetInterOpNumThreads: [25, [P, "i32"], P],
  CreateTensorWithDataAsOrtValue: [49, [P, P, "usize", B, "usize", "i32", B], P],
  CreateCpuMemoryInfo: [69, ["i32", "i32", B], P],
  MemoryInfoGetName: [71, [P, B], P],
  ReleaseStatus: [93, [P], "void"],
  ReleaseSession: [95, [P], "void"],
  ReleaseValue: [96, [P], "void"],
  ReleaseSessionOptions: [100, [P], "void"],
  AddSessionConfigEntry: [130, [P, B, B], P],
} as const;

type Fn = (...args: unknown[]) => Deno.PointerValue;
type Api = Record<keyof typeof FUNCTIONS, Fn>;

const ORT_API_VERSION = 13;
const ORT_LOGGING_LEVEL_ERROR = 3;
const ORT_ENABLE_ALL = 99;
const ONNX_FLOAT = 1;

/** Where the package keeps its native library, per platform (bin/napi-v6/<os>/<arch>/). */
const LIBRARY_NAMES: Record<string, string> = {
  linux: "libonnxruntime.so.1",
  darwin: "libonnxruntime.1.dylib",
  windows: "onnxruntime.dll",
};
const NODE_OS: Record<string, string> = { linux: "linux", darwin: "darwin", windows: "win32" };
const NODE_ARCH: Record<string, string> = { x86_64: "x64", aarch64: "arm64" };

interface Loaded {
  api: Api;
  env: Deno.PointerValue;
  memoryInfo: Deno.PointerValue;
  version: string;
}

export type OrtLoad = { ok: true; version: string } | { ok: false; reason: string };

let loaded: Loaded | null = null;
let failure: string | null = null;

const encoder = new TextEncoder();
const cString = (s: string): Uint8Array => encoder.encode(`${s}\0`);
/** One out-parameter slot (a pointer written by the callee). */
const slot = new BigUint64Array(1);
const slotBytes = new Uint8Array(slot.buffer);
const slotPointer = (): Deno.PointerValue => Deno.UnsafePointer.create(slot[0]);

function check(api: Api, status: Deno.PointerValue, what: string): void {
  if (status === null) return;
  const msg = Deno.UnsafePointerView.getCString(api.GetErrorMessage(status)!);
  api.ReleaseStatus(status);
  throw new Error(`onnxruntime ${what}: ${msg}`);
}

/** Path of the package's native library for this platform, or a reason why there is none. */
export function ortLibraryPath(): { path: string } | { reason: string } {
  const os = NODE_OS[Deno.build.os], arch = NODE_ARCH[Deno.build.arch], file = LIBRARY_NAMES[Deno.build.os];
  const platform = `${Deno.build.os}-${Deno.build.arch}`;
  if (!os || !arch || !file) return { reason: `onnxruntime-node ships no native library for ${platform}` };
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve("onnxruntime-node");
  } catch (e) {
    return { reason: `onnxruntime-node is not installed (${(e as Error).message.split("\n")[0]})` };
  }
  const path = new URL(`../bin/napi-v6/${os}/${arch}/${file}`, `file://${entry}`).pathname;
  try {
    Deno.statSync(path);
  } catch {
    return { reason: `onnxruntime-node has no native library for ${platform} (no ${path})` };
  }
  return { path };
}

/** Loads the library once; later calls return the same answer. Never throws. */
export function loadOrt(): OrtLoad {
  if (loaded) return { ok: true, version: loaded.version };
  if (failure) return { ok: false, reason: failure };
  try {
    loaded = open();
    return { ok: true, version: loaded.version };
  } catch (e) {
    failure = (e as Error).message;
    return { ok: false, reason: failure };
  }
}

function open(): Loaded {
  const where = ortLibraryPath();
  if ("reason" in where) throw new Error(where.reason);
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    throw new Error("the native engine calls onnxruntime through FFI: run deno with --allow-ffi (or -A)");
  }
  const lib = Deno.dlopen(where.path, { OrtGetApiBase: { parameters: [], result: P } });
  const base = new Deno.UnsafePointerView(lib.symbols.OrtGetApiBase()!);
  const getApi = new Deno.UnsafeFnPointer(base.getPointer(0)!, { parameters: ["u32"], result: P });
  const getVersion = new Deno.UnsafeFnPointer(base.getPointer(8)!, { parameters: [], result: P });
  const version = Deno.UnsafePointerView.getCString(getVersion.call()!);
  const table = getApi.call(ORT_API_VERSION);
  if (!table) throw new Error(`onnxruntime ${version} does not offer C API version ${ORT_API_VERSION}`);
  const view = new Deno.UnsafePointerView(table);
  const api = {} as Api;
  for (const [name, [index, parameters, result]] of Object.entries(FUNCTIONS)) {
    const fn = new Deno.UnsafeFnPointer(view.getPointer(index * 8)!, {
      parameters: parameters as unknown as Deno.NativeType[],
      result: result as Deno.NativeResultType,
    });
    api[name as keyof Api] = fn.call.bind(fn) as Fn;
  }
  check(api, api.CreateCpuMemoryInfo(0, /* OrtDeviceAllocator */ 0, /* OrtMemTypeDefault */ slotBytes), "memory info");
  const memoryInfo = slotPointer();
  // The layout check: the CPU memory info's name is "Cpu" (a wrong table would crash or answer something else).
  check(api, api.MemoryInfoGetName(memoryInfo, slotBytes), "memory info name");
  const name = slot[0] ? Deno.UnsafePointerView.getCString(slotPointer()!) : "";
  if (name !== "Cpu") throw new Error(`onnxruntime ${version}: unexpected C API layout (memory info "${name}")`);
  check(api, api.CreateEnv(ORT_LOGGING_LEVEL_ERROR, cString("igcr-native"), slotBytes), "environment");
  return { api, env: slotPointer(), memoryInfo, version };
}

/** A float32 tensor in memory owned by the caller (e.g. a view of the wasm heap). */
export interface Buffer {
  data: Float32Array;
  dims: readonly number[];
}

/**
 * OrtValues (a pointer and a shape) kept per input/output position and address: tfjs's allocator hands the same heap
 * addresses out again iteration after iteration, so most runs reuse them instead of creating and releasing new ones.
 */
const BOUND_PER_POSITION = 64;

/**
 * One model in onnxruntime (CPU execution provider). `run` reads its inputs from, and writes its outputs into, the
 * given buffers; each position's shape is fixed by the model.
 */
export class OrtSession {
  private readonly api: Api;
  private session: Deno.PointerValue;
  private readonly inputNames: BigUint64Array;
  private readonly outputNames: BigUint64Array;
  private readonly names: Uint8Array[];
  private readonly shapes: BigInt64Array[];
  private readonly bound: Map<number, bigint>[];
  private readonly sizes: number[];
  private readonly values: BigUint64Array;
  /** Byte views of the name and value arrays, as FFI "buffer" arguments (made once: runs are frequent). */
  private readonly args: { inNames: Uint8Array; outNames: Uint8Array; inValues: Uint8Array; outValues: Uint8Array };

  constructor(model: Uint8Array, inputs: string[], outputs: string[], dims: number[][], opts: { threads: number }) {
    if (!loaded) throw new Error("onnxruntime is not loaded (call loadOrt first)");
    const { api, env } = loaded;
    this.api = api;
    check(api, api.CreateSessionOptions(slotBytes), "session options");
    const so = slotPointer();
    try {
      check(api, api.SetIntraOpNumThreads(so, opts.threads), "threads");
      check(api, api.SetInterOpNumThreads(so, 1), "threads");
      check(api, api.SetSessionGraphOptimizationLevel(so, ORT_ENABLE_ALL), "optimisation level");
      check(api, api.SetSessionLogSeverityLevel(so, ORT_LOGGING_LEVEL_ERROR), "log level");
      // Idle pool threads sleep instead of spinning: between two kernels this process runs element-wise work on the
      // JS thread (and, in parallel runs, other processes share the cores), where a spinning pool only steals time.
      check(
        api,
        api.AddSessionConfigEntry(so, cString("session.intra_op.allow_spinning"), cString("0")),
        "spinning",
      );
      check(api, api.CreateSessionFromArray(env, model, model.byteLength, so, slotBytes), "session");
      this.session = slotPointer();
    } finally {
      api.ReleaseSessionOptions(so);
    }
    this.names = [...inputs, ...outputs].map(cString);
    const addresses = this.names.map((n) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(n))));
    this.inputNames = BigUint64Array.from(addresses.slice(0, inputs.length));
    this.outputNames = BigUint64Array.from(addresses.slice(inputs.length));
    if (dims.length !== inputs.length + outputs.length) throw new Error("OrtSession: one shape per input and output");
    this.shapes = dims.map((d) => BigInt64Array.from(d, (v) => BigInt(v)));
    this.bound = dims.map(() => new Map());
    this.sizes = dims.map((d) => d.reduce((a, b) => a * b, 1));
    this.values = new BigUint64Array(dims.length);
    this.args = {
      inNames: new Uint8Array(this.inputNames.buffer),
      outNames: new Uint8Array(this.outputNames.buffer),
      inValues: new Uint8Array(this.values.buffer, 0, inputs.length * 8),
      outValues: new Uint8Array(this.values.buffer, inputs.length * 8),
    };
  }

  /** Runs the model on `inputs`, writing `outputs` in place. Buffer sizes must match the model's shapes. */
  run(inputs: Float32Array[], outputs: Float32Array[]): void {
    if (this.session === null) throw new Error("OrtSession: run after dispose");
    const nIn = this.inputNames.length;
    if (inputs.length !== nIn || outputs.length !== this.outputNames.length) {
      throw new Error("OrtSession: wrong number of buffers");
    }
    for (let i = 0; i < nIn; i++) this.values[i] = this.bind(i, inputs[i]);
    for (let i = 0; i < outputs.length; i++) this.values[nIn + i] = this.bind(nIn + i, outputs[i]);
    const a = this.args;
    check(
      this.api,
      this.api.Run(
        this.session,
        null,
        a.inNames,
        a.inValues,
        nIn,
        a.outNames,
        this.outputNames.length,
        a.outValues,
      ),
      "run",
    );
  }

  /** The OrtValue describing `data` at position i (cached per address, see BOUND_PER_POSITION). */
  private bind(i: number, data: Float32Array): bigint {
    if (data.length !== this.sizes[i]) {
      throw new Error(`OrtSession: buffer ${i} has ${data.length} values, the model wants ${this.sizes[i]}`);
    }
    const pointer = Deno.UnsafePointer.of(data);
    const address = Number(Deno.UnsafePointer.value(pointer));
    const cache = this.bound[i];
    const known = cache.get(address);
    if (known !== undefined) return known;
    const shape = this.shapes[i];
    check(
      this.api,
      this.api.CreateTensorWithDataAsOrtValue(
        loaded!.memoryInfo,
        pointer,
        data.byteLength,
        new Uint8Array(shape.buffer),
        shape.length,
        ONNX_FLOAT,
        slotBytes,
      ),
      "tensor",
    );
    if (cache.size >= BOUND_PER_POSITION) {
      const [oldest, value] = cache.entries().next().value!;
      this.api.ReleaseValue(Deno.UnsafePointer.create(value));
      cache.delete(oldest);
    }
    cache.set(address, slot[0]);
    return slot[0];
  }

  dispose(): void {
    if (this.session === null) return;
    for (const cache of this.bound) {
      for (const value of cache.values()) this.api.ReleaseValue(Deno.UnsafePointer.create(value));
      cache.clear();
    }
    this.api.ReleaseSession(this.session);
    this.session = null;
  }
}
