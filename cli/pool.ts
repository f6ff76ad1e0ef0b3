/**
 * `deno task pool --dataset dsprites --model infogan-cr --profile cpu --seeds 8 --out runs/pool-name
 *   [--parallel 2] [--seed-start 0] [--iterations N] [--grid flag=v1,v2] [--evaluate] [--dry-run]`
 *
 * Trains a pool of models for model selection (seeds × a small hyperparameter grid, see lib/selection/pool.ts) by
 * running `deno task train ...` subprocesses, `--parallel` at a time (default 2, so both cores of a 2-vCPU machine stay
 * busy even while one child is in a single-threaded phase: data rendering, logging, checkpointing). Resumable: a member whose checkpoint reached its
 * iteration count is skipped, a partial one is continued with `--resume`, so the same command can be re-run after an
 * interruption. `--iterations` overrides the profile's length (train's --iterations); `--grid flag=v1,v2` crosses the
 * seeds with values of any flag `deno task train` accepts (the paper's FactorVAE pool is `--model factor-vae
 * --grid gamma=1,10,20,40`). `--evaluate` then runs `deno task evaluate` (FactorVAE, infogan-cr protocol) on members lacking
 * metrics.json, which `deno task select` reads as the supervised score.
 */
import { parseArgs } from "node:util";
import { runDenoLogged } from "../lib/io/subprocess.ts";
import { z } from "zod";
import {
  memberStatus,
  POOL_MODELS,
  type PoolMember,
  poolMembers,
  PoolSpec,
  trainArgs,
  writePoolManifest,
} from "../lib/selection/pool.ts";

const Flags = z.object({
  dataset: z.enum(["dsprites", "teapots", "celeba"]),
  model: z.enum(POOL_MODELS),
  profile: z.enum(["smoke", "cpu", "paper"]),
  seeds: z.coerce.number().int().min(1),
  "seed-start": z.coerce.number().int().default(0),
  out: z.string().min(1),
  parallel: z.coerce.number().int().min(1).max(16).default(2),
  iterations: z.coerce.number().int().positive().optional(),
  grid: z.array(z.string()).default([]),
  evaluate: z.boolean().default(false),
  "dry-run": z.boolean().default(false),
}).strict();

/** `--grid key=v1,v2` → { key: [v1, v2] } (numbers where they parse). */
export function parseGrid(items: string[]): Record<string, (number | string)[]> {
  const grid: Record<string, (number | string)[]> = {};
  for (const item of items) {
    const m = /^([a-z][a-z0-9-]*)=(.+)$/.exec(item);
    if (!m) throw new Error(`--grid "${item}": expected flag=value1,value2 (e.g. gamma=1,10,20,40)`);
    grid[m[1]] = m[2].split(",").map((v) => (v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : v.trim()));
  }
  return grid;
}

function parseFlags(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      dataset: { type: "string" },
      model: { type: "string" },
      profile: { type: "string" },
      seeds: { type: "string" },
      "seed-start": { type: "string" },
      out: { type: "string" },
      parallel: { type: "string" },
      iterations: { type: "string" },
      grid: { type: "string", multiple: true },
      evaluate: { type: "boolean" },
      "dry-run": { type: "boolean" },
      backend: { type: "string" },
    },
    strict: true,
  });
  const { backend: _backend, ...rest } = values;
  const r = Flags.safeParse(rest);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `--${i.path.join(".") || "?"}: ${i.message}`).join("; ");
    throw new Error(`pool: ${msg}`);
  }
  return { ...r.data, backend: values.backend };
}

interface Job {
  member: PoolMember;
  dir: string;
  resume: boolean;
}

async function main(): Promise<number> {
  const flags = parseFlags(Deno.args);
  const spec = PoolSpec.parse({
    dataset: flags.dataset,
    model: flags.model,
    profile: flags.profile,
    seeds: Array.from({ length: flags.seeds }, (_, i) => flags["seed-start"] + i),
    grid: parseGrid(flags.grid),
    iterations: flags.iterations,
  });
  const members = poolMembers(spec);
  const poolDir = flags.out.replace(/\/+$/, "");
  await writePoolManifest(poolDir, { spec, members });
  await Deno.mkdir(`${poolDir}/logs`, { recursive: true });

  const jobs: Job[] = [];
  for (const member of members) {
    const dir = `${poolDir}/${member.name}`;
    const st = await memberStatus(dir);
    const what = st.state === "done"
      ? `done (${st.iteration}/${st.iterations}), skipped`
      : st.state === "partial"
      ? `partial (${st.iteration}/${st.iterations ?? "?"}), resuming`
      : "new";
    console.log(`${member.name}: ${what}`);
    if (st.state !== "done") jobs.push({ member, dir, resume: st.state === "partial" });
  }
  console.log(
    `pool ${poolDir}: ${members.length} members (${spec.model}, ${spec.dataset}, ${spec.profile}), ` +
      `${jobs.length} to train, ${flags.parallel} at a time`,
  );

  // Parallel members share the cores: each child gets cores / parallel threads (at least 1), so `--parallel 2` on
  // 2 vCPUs runs two single-threaded members instead of four threads fighting over two cores. IGCR_THREADS overrides.
  const env: Record<string, string> = {};
  if (flags.backend) env.IGCR_BACKEND = flags.backend;
  if (!Deno.env.get("IGCR_THREADS")) {
    env.IGCR_THREADS = String(Math.max(1, Math.floor(navigator.hardwareConcurrency / flags.parallel)));
  }
  const failed: string[] = [];
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      const args = ["task", "train", ...trainArgs(spec, job.member, job.dir, job.resume)];
      if (flags["dry-run"]) {
        console.log(`would run: deno ${args.join(" ")}`);
        continue;
      }
      const log = `${poolDir}/logs/${job.member.name}.log`;
      const start = performance.now();
      console.log(`${job.member.name}: training (log: ${log})`);
      const code = await runDenoLogged(args, log, env);
      const secs = ((performance.now() - start) / 1000).toFixed(0);
      if (code !== 0) {
        failed.push(job.member.name);
        console.log(`${job.member.name}: FAILED (exit ${code}) after ${secs} s, see ${log}`);
      } else {
        console.log(`${job.member.name}: trained in ${secs} s`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(flags.parallel, Math.max(jobs.length, 1)) }, worker));

  if (flags.evaluate && !flags["dry-run"]) {
    const todo: PoolMember[] = [];
    for (const member of members) {
      const dir = `${poolDir}/${member.name}`;
      if (failed.includes(member.name) || (await memberStatus(dir)).state !== "done") continue;
      try {
        await Deno.stat(`${dir}/metrics.json`);
      } catch {
        todo.push(member);
      }
    }
    let k = 0;
    const evaluator = async () => {
      while (k < todo.length) {
        const member = todo[k++];
        const dir = `${poolDir}/${member.name}`;
        const args = ["task", "evaluate", "--checkpoint", dir, "--metrics", "factor-vae", "--protocol", "infogan-cr"];
        console.log(`${member.name}: evaluating`);
        const code = await runDenoLogged(args, `${poolDir}/logs/${member.name}.log`, env);
        if (code !== 0) failed.push(`${member.name} (evaluate)`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(flags.parallel, Math.max(todo.length, 1)) }, evaluator));
  }
  console.log(`pool finished in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (failed.length) {
    console.error(`failed: ${failed.join(", ")}; re-run the same command to resume them`);
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
}
