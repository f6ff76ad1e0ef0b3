/**
 * Threads for the tfjs wasm backend under Deno.
 *
 * The threaded-SIMD build of `@tensorflow/tfjs-backend-wasm` does not start in Deno out of the box, for three reasons
 * (measured, see /work/shared/platform-notes.md):
 *  1. tfjs decides that a Node-like runtime has no thread support (`WASM_HAS_MULTITHREAD_SUPPORT` is false when
 *     `IS_NODE`), so it picks the single-threaded build;
 *  2. once forced, the emscripten glue creates its pthread workers through `node:worker_threads` with a `blob:` URL
 *     for the worker script, which Deno's `Worker` rejects (`ERR_WORKER_PATH`), and later tells each worker to import
 *     the glue from a `Blob`, which the worker cannot read from disk;
 *  3. the C++ side caps the pool at half of `os.cpus().length`, so a 2-vCPU machine gets 1 thread whatever we ask.
 *
 * The fix, without touching node_modules: swap the `Worker` class exported by `node:worker_threads` for a subclass that
 * evaluates the worker source (shipped in the package's `wasm-out/`) with `eval: true`, prefixed with a prelude that
 * makes Deno's getter-only `location`/`onmessage` globals writable, and rewrites the worker's "load" message to point
 * at the threaded glue file on disk; and report enough CPUs to the C++ side while the backend initialises.
 *
 * A threaded backend keeps the process alive until `tf.removeBackend("wasm")` terminates the workers:
 * `shutdownBackend()` in lib/backend.ts does that.
 */
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";

// The wasm package reaches `os` and `worker_threads` through CommonJS `require`, so patch those objects (an ES module
// namespace would be read-only anyway).
const nodeRequire = createRequire(import.meta.url);
const os = nodeRequire("os") as { cpus(): unknown[] };
const workerThreads = nodeRequire("worker_threads") as { Worker: new (src: string, opts?: object) => WorkerLike };
interface WorkerLike {
  postMessage(msg: unknown, transfer?: readonly unknown[]): void;
}

let threads = 1;
let shimInstalled = false;

/** Directory of the wasm package's `wasm-out/` folder (the emscripten glue and worker sources). */
function wasmOutDir(): string {
  const entry = new URL(import.meta.resolve("@tensorflow/tfjs-backend-wasm"));
  return new URL("../wasm-out/", entry).pathname;
}

/**
 * Replaces `node:worker_threads`' Worker with one that can run emscripten's pthread worker in Deno. Idempotent.
 */
function installWorkerShim(): void {
  if (shimInstalled) return;
  const dir = wasmOutDir();
  const glue = `${dir}tfjs-backend-wasm-threaded-simd.js`;
  const source: string = nodeRequire(`${dir}tfjs-backend-wasm-threaded-simd.worker.js`).wasmWorkerContents;
  if (typeof source !== "string") throw new Error(`no wasmWorkerContents in ${dir}: tfjs-backend-wasm layout changed`);
  // Deno's worker global defines location/onmessage as accessors without setters; the emscripten worker assigns both.
  const prelude = [
    `for (const k of ["location", "onmessage"]) {`,
    `  Object.defineProperty(globalThis, k, { value: undefined, writable: true, configurable: true, enumerable: true });`,
    `}`,
    `var __filename = ${JSON.stringify(glue)};`,
  ].join("\n");
  const Base = workerThreads.Worker;
  class EmscriptenWorker extends Base {
    constructor(_path: string, options: Record<string, unknown> = {}) {
      // The source is one line whose string literals hold raw newlines (tfjs escapes them the same way).
      super(`${prelude}\n${source.replace(/\n/g, "\\n")}`, { ...options, eval: true });
    }
    override postMessage(msg: unknown, transfer?: readonly unknown[]): void {
      const m = msg as { cmd?: string; urlOrBlob?: unknown };
      if (m && typeof m === "object" && m.cmd === "load") msg = { ...m, urlOrBlob: glue };
      super.postMessage(msg, transfer);
    }
  }
  Object.defineProperty(workerThreads, "Worker", { value: EmscriptenWorker, writable: true, configurable: true });
  shimInstalled = true;
}

function threadsFromEnv(): number | undefined {
  const raw = Deno.env.get("IGCR_THREADS");
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`IGCR_THREADS must be a positive integer, got "${raw}"`);
  return n;
}

/**
 * Ask the wasm backend for `requested` threads (default: IGCR_THREADS, else all logical CPUs). Must run BEFORE the
 * wasm backend initialises (`tf.setBackend("wasm")`). One thread selects the single-threaded SIMD build.
 */
export function enableWasmThreads(requested?: number): Promise<void> {
  const n = requested ?? threadsFromEnv() ?? os.cpus().length;
  if (!Number.isInteger(n) || n < 1) throw new Error(`wasm threads must be a positive integer, got ${n}`);
  if (n === 1) {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    threads = 1;
    return Promise.resolve();
  }
  installWorkerShim();
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  setThreadsCount(n);
  // The C++ side clamps the pool to half the logical cores it sees (os.cpus() in a Node-like runtime); let it see
  // twice what we ask for until the backend has started (wasmThreadCount() puts the real function back).
  if (!realCpus) {
    realCpus = os.cpus;
    const real = realCpus;
    setCpus(() => {
      const cpus = real.call(os);
      while (cpus.length < 2 * n) cpus.push(cpus[0]);
      return cpus;
    });
  }
  threads = n;
  return Promise.resolve();
}

let realCpus: (() => unknown[]) | null = null;

function setCpus(f: () => unknown[]): void {
  Object.defineProperty(os, "cpus", { value: f, writable: true, configurable: true });
}

/**
 * Threads the wasm backend runs with: the module's own count once it has initialised (what was asked for before).
 * Also ends the os.cpus() override set up by enableWasmThreads, which is only needed while the module starts.
 */
export function wasmThreadCount(): number {
  let actual: number | null = null;
  try {
    actual = getThreadsCount();
  } catch {
    // not initialised yet
  }
  if (actual !== null && realCpus) {
    setCpus(realCpus);
    realCpus = null;
  }
  return actual ?? threads;
}
