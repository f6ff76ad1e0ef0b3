/**
 * Encoded images per second of the InfoGAN-CR dSprites encoder (D/Q trunk + Q head, 64x64x1 images), the forward pass
 * that metric evaluation and ModelCentrality's cross-evaluation repeat hundreds of thousands of times:
 *
 * - `wasm`: `encode()` on the TensorFlow.js wasm backend with this project's kernels;
 * - `native`: the same `encode()` with the native engine on (one onnxruntime session for the whole network,
 *   lib/models/native_inference.ts), tensor in and tensor out as the metrics call it;
 * - `torch`: the same architecture in PyTorch (bench/torch_encoder.py, Debian's python3-torch), when importable.
 *
 * Each at batch 64 and 256, with 1 and 2 threads. The TensorFlow.js thread count is fixed when a process starts its
 * backend, so each thread count runs in a child process (`deno run -A bench/inference.ts --child THREADS`) that times
 * wasm and native alternately. Rate = batch / the best of 5 timed blocks of about 0.3 s each after two warm-up calls
 * (the same rule in the PyTorch script); the best block is the one least disturbed by other work on a shared machine.
 *
 * Run alone: `deno run -A bench/inference.ts`; in the bench: `deno task bench --only inference`.
 */
import process from "node:process";
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { architectureFor, ganModel, initDQ, initGenerator } from "../lib/models/infogan_cr.ts";
import type { TrainedModel } from "../lib/models/capabilities.ts";
import { disableNativeEngine, enableNativeEngine, loadOnnxRuntime } from "../lib/onnx/runtime.ts";
import { Rng } from "../lib/rng.ts";

type Result = Record<string, number | string>;

export const BATCHES = [64, 256];
export const THREADS = [1, 2];
const BLOCKS = 5;
const BLOCK_SECONDS = 0.3;

/**
 * Images per second of `model.encode` on one batch: batch / the best block's time per call, by the wall clock and by
 * this process's CPU time (user + system, all threads). On a shared machine the CPU-time rate of a one-thread run
 * is the steadier figure: time slices lost to other processes do not count.
 */
async function encodeRate(model: TrainedModel, x: tf.Tensor4D): Promise<{ wall: number; cpu: number }> {
  const call = async () => {
    const codes = model.encode(x);
    await codes.data();
    codes.dispose();
  };
  await call();
  await call();
  const t0 = performance.now();
  await call();
  const calls = Math.max(1, Math.floor(BLOCK_SECONDS / Math.max((performance.now() - t0) / 1000, 1e-6)));
  let wall = Infinity, cpu = Infinity;
  for (let b = 0; b < BLOCKS; b++) {
    const t = performance.now(), c = process.cpuUsage();
    for (let i = 0; i < calls; i++) await call();
    const used = process.cpuUsage(c);
    wall = Math.min(wall, (performance.now() - t) / 1000 / calls);
    cpu = Math.min(cpu, (used.user + used.system) / 1e6 / calls);
  }
  return { wall: x.shape[0] / wall, cpu: x.shape[0] / cpu };
}

/** Child process: wasm and native rates with `threads` threads, as one JSON line on stdout. */
async function child(threads: number): Promise<void> {
  await initBackend({ backend: "wasm", threads, quiet: true });
  const load = await loadOnnxRuntime();
  const arch = architectureFor("dsprites");
  const rng = new Rng(0);
  const model = ganModel("random dSprites D/Q", arch, initGenerator(arch, rng), initDQ(arch, rng));
  const out: Result = {};
  for (const batch of BATCHES) {
    const x = tf.tensor4d(new Rng(batch).uniformArray(batch * 64 * 64), [batch, 64, 64, 1]);
    try {
      disableNativeEngine();
      const wasm = await encodeRate(model, x);
      [out[`wasm ${batch}`], out[`wasm ${batch} cpu`]] = [wasm.wall, wasm.cpu];
      if (load.runtime) {
        enableNativeEngine({ threads });
        const native = await encodeRate(model, x);
        [out[`native ${batch}`], out[`native ${batch} cpu`]] = [native.wall, native.cpu];
        disableNativeEngine();
      } else out.native = `skipped: ${load.reason}`;
    } finally {
      x.dispose();
    }
  }
  model.dispose();
  console.log(JSON.stringify(out));
  shutdownBackend();
}

async function runChild(threads: number): Promise<Result> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--child", String(threads)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(r.stdout).trim().split("\n").at(-1) ?? "";
  if (!r.success) {
    throw new Error(
      `inference bench child (${threads} threads) failed: ${new TextDecoder().decode(r.stderr).slice(-400)}`,
    );
  }
  return JSON.parse(text);
}

function pythonPath(): string {
  return Deno.env.get("IGCR_PYTHON") ?? "/usr/bin/python3";
}

/** PyTorch rates per batch with `threads` threads, or a reason it cannot run here. */
async function torchRates(
  threads: number,
): Promise<{ version: string; rates: Record<number, number>; cpuRates: Record<number, number> } | string> {
  const script = new URL("./torch_encoder.py", import.meta.url).pathname;
  let r: Deno.CommandOutput;
  try {
    r = await new Deno.Command(pythonPath(), {
      args: [script, String(threads), ...BATCHES.map(String)],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    return `${pythonPath()} cannot run: ${(e as Error).message}`;
  }
  const text = new TextDecoder().decode(r.stdout);
  if (!r.success) {
    const err = new TextDecoder().decode(r.stderr);
    if (/No module named 'torch'/.test(err)) {
      return `PyTorch is not importable by ${pythonPath()} (install it: apt-get install -y python3-torch)`;
    }
    throw new Error(`bench/torch_encoder.py failed: ${err.slice(-400)}`);
  }
  const rates: Record<number, number> = {}, cpuRates: Record<number, number> = {};
  let version = "";
  for (const m of text.matchAll(/torch (\S+) threads \d+ batch (\d+) images\/s ([\d.]+) images\/cpu-s ([\d.]+)/g)) {
    version = m[1];
    rates[Number(m[2])] = Number(m[3]);
    cpuRates[Number(m[2])] = Number(m[4]);
  }
  if (!version) throw new Error(`unexpected output from bench/torch_encoder.py: ${text.slice(-300)}`);
  return { version, rates, cpuRates };
}

/**
 * The bench section: encoded images per second per engine, batch and thread count, and the ratios; for one thread
 * also images per CPU-second (see `encodeRate`).
 */
export async function benchInference(): Promise<Result> {
  const out: Result = { encoder: "dSprites D/Q trunk + Q head (64x64x1 -> 5 codes), random weights" };
  for (const threads of THREADS) {
    const ours = await runChild(threads);
    const torch = await torchRates(threads);
    const t = threads === 1 ? "1 thread" : `${threads} threads`;
    if (typeof torch === "string") out[`torch ${t}`] = `skipped: ${torch}`;
    else out["torch version"] = torch.version;
    if (typeof ours.native === "string") out[`native ${t}`] = ours.native;
    for (const batch of BATCHES) {
      const rate = (engine: string, cpu: boolean): number | undefined => {
        if (engine === "torch") {
          return typeof torch === "string" ? undefined : (cpu ? torch.cpuRates : torch.rates)[batch];
        }
        const v = ours[`${engine} ${batch}${cpu ? " cpu" : ""}`];
        return typeof v === "number" ? v : undefined;
      };
      for (const cpu of threads === 1 ? [false, true] : [false]) {
        const unit = cpu ? "images/cpu-s" : "images/s";
        const [w, n, p] = ["wasm", "native", "torch"].map((e) => rate(e, cpu));
        for (const [engine, v] of [["wasm", w], ["native", n], ["torch", p]] as const) {
          if (v !== undefined) out[`${engine} ${t} batch ${batch} ${unit}`] = v;
        }
        if (n !== undefined && w !== undefined) out[`native / wasm, ${t}, batch ${batch}, ${unit}`] = n / w;
        if (n !== undefined && p !== undefined) out[`native / torch, ${t}, batch ${batch}, ${unit}`] = n / p;
      }
    }
  }
  return out;
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--child");
  if (i >= 0) await child(Number(Deno.args[i + 1]));
  else {
    const r = await benchInference();
    for (const [k, v] of Object.entries(r)) {
      console.log(`  ${k.padEnd(44)}  ${typeof v === "number" ? v.toFixed(v >= 100 ? 0 : 2) : v}`);
    }
  }
}
