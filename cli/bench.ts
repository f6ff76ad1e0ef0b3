/**
 * `deno task bench [--only iteration,torch,parallel,trainer,data,metrics,inference,elementwise] [--json PATH] [--iterations N]
 *  [--warmup N] [--profile] [--threads N] [--backend NAME]`
 *
 * Runs the benchmark sections and prints one table per section plus a summary of the speed goal: our InfoGAN-CR
 * iteration (bench/iteration.ts; on the native engine also on pure wasm) against the PyTorch peer (bench/torch.ts), and
 * two one-thread runs side by side for both (bench/parallel.ts), run back to back in this one invocation so that all
 * see the same machine load. Sections owned by other parts (bench/data.ts, bench/metrics.ts, bench/inference.ts) are
 * loaded when their files exist; `elementwise` (bench/elementwise.ts) times element-wise passes and batch-norm fusion.
 * `--profile` adds a per-kernel table of one iteration (tf.profile) and the convolutions / rest split of ours and of
 * the PyTorch peer (bench/torch_profile.py).
 */
import { z } from "zod";
import { defineCommand, type Flags } from "../lib/cli/command.ts";
import { backendFlag } from "../lib/config/backend.ts";
import { writeJsonAtomic } from "../lib/io/atomic.ts";

const SECTIONS = ["iteration", "torch", "parallel", "trainer", "data", "metrics", "inference", "elementwise"] as const;
type Section = typeof SECTIONS[number];
type Result = Record<string, number | string>;

/** platform-notes.md: ~44 GFLOP per iteration; 2 cores at 128-bit SIMD bound it near 0.4-0.5 s. */
const FLOOR_MS: [number, number] = [400, 500];

export const command = defineCommand({
  name: "bench",
  summary: "speed: one InfoGAN-CR iteration vs PyTorch, data throughput, metric throughput",
  flags: {
    only: {
      type: "list",
      schema: z.array(z.enum(SECTIONS)).min(1),
      default: [...SECTIONS],
      placeholder: "iteration,torch,...",
      inUsage: true,
      doc: "the sections to run",
    },
    iterations: {
      type: "number",
      schema: z.number().int().positive().max(1000),
      default: 10,
      doc: "timed iterations per section",
    },
    warmup: { type: "number", schema: z.number().int().min(0).max(100), default: 3, doc: "untimed iterations first" },
    profile: { type: "boolean", doc: "add a per-kernel table of one iteration (tf.profile)" },
    threads: {
      type: "number",
      schema: z.number().int().positive().max(256),
      defaultDoc: "IGCR_THREADS, else the cores",
      doc: "threads of the engine (wasm, or onnxruntime's with the native engine)",
    },
    json: { type: "string", schema: z.string().min(1), placeholder: "PATH", doc: "also write every number as JSON" },
    backend: backendFlag,
  },
  examples: ["deno task bench --only iteration,torch --iterations 8 --warmup 2"],
});

function fmt(v: number | string): string {
  if (typeof v === "string") return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(3);
}

function printTable(title: string, rows: Result): void {
  const keys = Object.keys(rows);
  const w = Math.max(8, ...keys.map((k) => k.length));
  console.log(`\n## ${title}`);
  for (const k of keys) console.log(`  ${k.padEnd(w)}  ${fmt(rows[k])}`);
}

/** A section file owned by another part of the project, imported only when it exists. */
async function optionalSection(file: string, fn: string): Promise<Result | null> {
  const url = new URL(`../bench/${file}`, import.meta.url);
  try {
    await Deno.stat(url);
  } catch {
    return null;
  }
  const mod = await import(url.href);
  if (typeof mod[fn] !== "function") throw new Error(`bench/${file} does not export ${fn}()`);
  return await mod[fn]();
}

/** The GAN team's trainer (lib/train/trainer.ts), timed on its dSprites preset when the module is present. */
async function benchTrainer(iterations: number, warmup: number): Promise<Result | null> {
  const trainerUrl = new URL("../lib/train/trainer.ts", import.meta.url);
  const configUrl = new URL("../lib/config/gan.ts", import.meta.url);
  try {
    await Deno.stat(trainerUrl);
    await Deno.stat(configUrl);
  } catch {
    return null;
  }
  const { createTrainer } = await import(trainerUrl.href);
  const { presetFor, parseGanConfig } = await import(configUrl.href);
  // The paper's dSprites preset (batch 64), with CR on from the first iteration so that an iteration does the same
  // work as the torch peer's (H step, D/Q step, two G steps with the contrastive term).
  const preset = presetFor("dsprites", "paper");
  const config = parseGanConfig({ ...preset, alpha: { ...preset.alpha, start: preset.alpha.increase } });
  const trainer = await createTrainer(config);
  try {
    let last: Record<string, number> = {};
    for (let i = 0; i < warmup; i++) last = await trainer.step();
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      last = await trainer.step();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const m = times.length >> 1;
    const median = times.length % 2 ? times[m] : (times[m - 1] + times[m]) / 2;
    return {
      "trainer step ms (median)": median,
      "trainer step ms (min)": times[0],
      "batch size": config.batchSize,
      "alpha at last step": last.alpha,
      "H trained": Number.isNaN(last.h) ? "no" : "yes",
    };
  } finally {
    trainer.dispose();
  }
}

/** Kernels that are convolutions (each transposed convolution is a Conv2DBackpropInput) and matrix products. */
const CONVOLUTION_KERNELS = new Set(["Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", "FusedConv2D"]);

/**
 * The split that bounds the speed goal: ours (tf.profile wall ms, and the process CPU time outside kernels) and the
 * PyTorch peer's (torch.profiler self CPU ms, one thread) in convolutions, matrix products and the rest.
 */
async function profileSplit(
  rows: { kernel: string; ms: number; cpuMs: number }[],
): Promise<Result> {
  const sum = (f: (k: string) => boolean) => rows.filter((r) => f(r.kernel)).reduce((a, r) => a + r.ms, 0);
  const conv = sum((k) => CONVOLUTION_KERNELS.has(k));
  const matmul = sum((k) => k === "BatchMatMul");
  const other = sum((k) => k !== "(outside kernels)" && !CONVOLUTION_KERNELS.has(k) && k !== "BatchMatMul");
  const split: Result = {
    "ours: convolution kernels ms": conv,
    "ours: matrix products ms": matmul,
    "ours: other kernels ms": other,
    "ours: cpu ms outside kernels": rows.find((r) => r.kernel === "(outside kernels)")?.cpuMs ?? 0,
  };
  const { torchProfile } = await import("../bench/torch.ts");
  const t = await torchProfile();
  if (!t) split.torch = "skipped (the peer cannot run here)";
  else {
    split["torch 1 thread: iteration ms (profiled)"] = t["wall ms per iteration (profiled)"];
    split["torch 1 thread: convolution ms"] = t["convolution self cpu ms"];
    split["torch 1 thread: matrix products ms"] = t["matrix product self cpu ms"];
    split["torch 1 thread: other ms"] = t["other self cpu ms"];
  }
  return split;
}

async function main(flags: Flags<typeof command.flags>): Promise<void> {
  const tf = await import("@tensorflow/tfjs");
  const { initBackend, shutdownBackend } = await import("../lib/backend.ts");
  const { benchIterationEngines, buildIteration, profileIteration } = await import("../bench/iteration.ts");
  const { benchParallel } = await import("../bench/parallel.ts");
  const { benchTorch } = await import("../bench/torch.ts");
  const results: Record<string, Result> = {};
  const conditions: Result = {
    date: new Date().toISOString(),
    cpus: navigator.hardwareConcurrency,
    "load average (1 min) at start": Deno.loadavg()[0],
  };
  const needsBackend = flags.only.some((s) =>
    s === "iteration" || s === "trainer" || s === "metrics" || s === "elementwise"
  );
  let engine = "";
  if (needsBackend) {
    const info = await initBackend({ backend: flags.backend, threads: flags.threads });
    conditions.backend = info.description;
    engine = info.name;
  }

  const counts = { iterations: flags.iterations, warmup: flags.warmup };
  for (const section of flags.only) {
    let r: Result | null = null;
    switch (section) {
      case "iteration":
        r = await benchIterationEngines({ engine, threads: flags.threads, ...counts });
        break;
      case "parallel":
        r = await benchParallel({ backend: flags.backend, ...counts });
        break;
      case "torch":
        r = await benchTorch({ iterations: flags.iterations });
        break;
      case "trainer":
        r = await benchTrainer(flags.iterations, flags.warmup);
        break;
      case "data":
        r = await optionalSection("data.ts", "benchData");
        break;
      case "metrics":
        r = await optionalSection("metrics.ts", "benchMetrics");
        break;
      case "inference":
        r = await optionalSection("inference.ts", "benchInference");
        break;
      case "elementwise":
        r = await optionalSection("elementwise.ts", "benchElementwise");
        break;
    }
    if (r === null) {
      console.log(`\n## ${section}: skipped (its module is not present)`);
      continue;
    }
    results[section] = r;
    printTable(section, r);
  }

  if (flags.profile && flags.only.includes("iteration")) {
    const model = buildIteration(0);
    try {
      const rows = await profileIteration(model);
      const total = rows.reduce((a, r) => a + r.ms, 0), cpu = rows.reduce((a, r) => a + r.cpuMs, 0);
      const table: Result = {
        "all kernels ms (cpu ms incl. outside kernels)": `${total.toFixed(1)} (${cpu.toFixed(1)})`,
      };
      for (const r of rows.slice(0, 25)) {
        table[`${r.kernel}${r.calls ? ` (${r.calls} calls)` : ""} ms (cpu ms)`] = `${r.ms.toFixed(1)} (${
          r.cpuMs.toFixed(1)
        })`;
      }
      results.profile = table;
      printTable("per-kernel profile of one iteration (tf.profile wall ms; process cpu ms)", table);
      const split = await profileSplit(rows);
      results.profileSplit = split;
      printTable("convolutions against the rest, ours and PyTorch's (one iteration, ms)", split);
    } finally {
      model.dispose();
    }
  }

  const ours = results.iteration?.["iteration ms (median)"];
  const torchBest = results.torch?.["torch best ms"];
  const summary: Result = { ...conditions };
  if (typeof ours === "number") summary["ours ms/iteration"] = ours;
  const oursWasm = results.iteration?.["wasm iteration ms (median)"];
  if (typeof oursWasm === "number") summary["ours ms/iteration, pure wasm"] = oursWasm;
  if (results.torch) {
    for (const k of ["torch 1 thread ms", "torch 2 threads ms"]) {
      if (k in results.torch) summary[k] = results.torch[k];
    }
    if ("skipped" in results.torch) summary.torch = `skipped: ${results.torch.skipped}`;
  }
  if (typeof ours === "number" && typeof torchBest === "number") summary["ours / best torch"] = ours / torchBest;
  for (const k of ["ours iterations/s (machine)", "torch iterations/s (machine)", "ours / torch iterations/s"]) {
    const v = results.parallel?.[k];
    if (v !== undefined) summary[`two one-thread runs: ${k}`] = v;
  }
  if (engine === "wasm") {
    summary["arithmetic floor ms (2 cores, 128-bit SIMD)"] = `${FLOOR_MS[0]}-${FLOOR_MS[1]}`;
    if (typeof ours === "number") summary["ours / floor"] = ours / FLOOR_MS[1];
  }
  results.summary = summary;
  printTable("summary", summary);

  if (flags.json) {
    await writeJsonAtomic(flags.json, results);
    console.log(`\nwrote ${flags.json}`);
  }
  if (tf.getBackend()) shutdownBackend();
}

if (import.meta.main) await command.run(main);
