/**
 * `deno task pool --dataset dsprites --model infogan-cr --profile cpu --seeds 8 --out runs/pool-name
 *   [--parallel 2] [--seed-start 0] [--iterations N] [--grid flag=v1,v2] [--evaluate] [--dry-run]`
 * `deno task pool ... --executor slurm [--slurm-partition P] [--slurm-time 4:00:00] [--slurm-cpus 4] [--slurm-gpus 1]
 *   [--slurm-arg --mem=8G ...] [--slurm-max-running K] [--no-submit]`
 * `deno task pool --out runs/pool-name --resume [--executor slurm] [--slurm-...]`
 *
 * Trains a pool of models for model selection (seeds × a small hyperparameter grid, see lib/selection/pool.ts) by
 * running `deno task train ...` subprocesses, `--parallel` at a time (default 2, so both cores of a 2-vCPU machine stay
 * busy even while one child is in a single-threaded phase: data rendering, logging, checkpointing). Resumable: a member whose checkpoint reached its
 * iteration count is skipped, a partial one is continued with `--resume`, so the same command can be re-run after an
 * interruption. `--iterations` overrides the profile's length (train's --iterations); `--grid flag=v1,v2` crosses the
 * seeds with values of any flag `deno task train` accepts (the paper's FactorVAE pool is `--model factor-vae
 * --grid gamma=1,10,20,40`). `--evaluate` then runs `deno task evaluate` (FactorVAE, infogan-cr protocol) on members lacking
 * metrics.json, which `deno task select` reads as the supervised score.
 *
 * `--executor slurm` runs the members as one Slurm job array instead (lib/cluster/slurm_pool.ts): every member's full
 * config and a commented `sbatch` script go into the pool folder, the missing members are submitted, the job id is
 * recorded in POOL/pool-state.json, and the array is followed with the same progress line. `--resume` takes the pool's
 * definition from POOL/pool.json (and its executor and Slurm options from the state file) and runs what is missing.
 */
import { parseArgs } from "node:util";
import { runDenoLogged } from "../lib/io/subprocess.ts";
import { z } from "zod";
import {
  formatPoolProgress,
  memberStatus,
  POOL_MODELS,
  type PoolMember,
  poolMembers,
  PoolSpec,
  readPoolSpec,
  trainArgs,
  writePoolManifest,
} from "../lib/selection/pool.ts";
import { slurmClient } from "../lib/cluster/slurm.ts";
import { readPoolState } from "../lib/cluster/pool_state.ts";
import { mergeSlurmOptions, runPoolOnSlurm } from "../lib/cluster/slurm_pool.ts";
import {
  slurmFlagOptions,
  SlurmFlags,
  slurmFlagsGiven,
  slurmOptionsFromFlags,
  slurmPollMs,
} from "../lib/cluster/slurm_flags.ts";

/** Flags that define the pool: required for a new pool, taken from pool.json with --resume. */
const SPEC_FLAGS = ["dataset", "model", "profile", "seeds", "seed-start", "iterations", "grid"] as const;

const Flags = z.object({
  dataset: z.enum(["dsprites", "teapots", "celeba"]).optional(),
  model: z.enum(POOL_MODELS).optional(),
  profile: z.enum(["smoke", "cpu", "paper"]).optional(),
  seeds: z.coerce.number().int().min(1).optional(),
  "seed-start": z.coerce.number().int().optional(),
  out: z.string().min(1),
  parallel: z.coerce.number().int().min(1).max(16).optional(),
  iterations: z.coerce.number().int().positive().optional(),
  grid: z.array(z.string()).optional(),
  evaluate: z.boolean().default(false),
  "dry-run": z.boolean().default(false),
  resume: z.boolean().default(false),
  executor: z.enum(["local", "slurm"]).optional(),
  "no-submit": z.boolean().default(false),
}).extend(SlurmFlags.shape).strict();

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
      resume: { type: "boolean" },
      executor: { type: "string" },
      "no-submit": { type: "boolean" },
      ...slurmFlagOptions,
    },
    strict: true,
  });
  const { backend: _backend, ...rest } = values;
  const r = Flags.safeParse(rest);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `--${i.path.join(".") || "?"}: ${i.message}`).join("; ");
    throw new Error(`pool: ${msg}`);
  }
  const f = r.data;
  if (f.resume) {
    const given = SPEC_FLAGS.filter((k) => f[k] !== undefined);
    if (given.length) {
      throw new Error(
        `pool: --resume reads the pool from ${f.out}/pool.json; drop ${given.map((k) => "--" + k).join(", ")}`,
      );
    }
  } else {
    const missing = (["dataset", "model", "profile", "seeds"] as const).filter((k) => f[k] === undefined);
    if (missing.length) {
      throw new Error(`pool: ${missing.map((k) => "--" + k).join(", ")} required (or --resume to continue a pool)`);
    }
  }
  return { ...f, backend: values.backend };
}

interface Job {
  member: PoolMember;
  dir: string;
  resume: boolean;
}

async function main(): Promise<number> {
  const flags = parseFlags(Deno.args);
  const poolDir = flags.out.replace(/\/+$/, "");
  let spec: PoolSpec;
  if (flags.resume) {
    const recorded = await readPoolSpec(poolDir);
    if (!recorded) {
      throw new Error(`pool: --resume: ${poolDir}/pool.json does not exist; start the pool with --dataset ...`);
    }
    spec = recorded;
  } else {
    spec = PoolSpec.parse({
      dataset: flags.dataset,
      model: flags.model,
      profile: flags.profile,
      seeds: Array.from({ length: flags.seeds! }, (_, i) => (flags["seed-start"] ?? 0) + i),
      grid: parseGrid(flags.grid ?? []),
      iterations: flags.iterations,
    });
  }
  const members = poolMembers(spec);
  const writeManifest = async () => {
    if (!flags.resume) await writePoolManifest(poolDir, { spec, members });
  };
  const state = await readPoolState(poolDir);
  const executor = flags.executor ?? state?.executor ?? "local";
  const slurmGiven = slurmFlagsGiven(flags);
  if (executor === "slurm") {
    if (flags.parallel !== undefined) {
      throw new Error("pool: --parallel is for the local executor; cap a Slurm array with --slurm-max-running K");
    }
    if (flags["dry-run"]) {
      throw new Error("pool: with --executor slurm, --no-submit writes the script without submitting");
    }
    const r = await runPoolOnSlurm({
      poolDir,
      spec,
      members,
      evaluate: flags.evaluate || (flags.resume && (state?.evaluate ?? false)),
      slurm: mergeSlurmOptions(state?.slurm, slurmOptionsFromFlags(flags)),
      client: slurmClient(),
      submit: !flags["no-submit"],
      keepConfigs: flags.resume,
      beforeWrite: writeManifest,
      backend: flags.backend,
      pollMs: slurmPollMs(flags),
    });
    return r.exitCode;
  }
  if (slurmGiven.length || flags["no-submit"]) {
    throw new Error(`pool: ${slurmGiven.length ? "--" + slurmGiven[0] : "--no-submit"} needs --executor slurm`);
  }
  const parallel = flags.parallel ?? 2;
  await writeManifest();
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
      `${jobs.length} to train, ${parallel} at a time`,
  );

  // Parallel members share the cores: each child gets cores / parallel wasm threads (at least 1), so `--parallel 2` on
  // 2 vCPUs runs two single-threaded members instead of four threads fighting over two cores. IGCR_THREADS overrides.
  const env: Record<string, string> = {};
  if (flags.backend) env.IGCR_BACKEND = flags.backend;
  if (!Deno.env.get("IGCR_THREADS")) {
    env.IGCR_THREADS = String(Math.max(1, Math.floor(navigator.hardwareConcurrency / parallel)));
  }
  const failed: string[] = [];
  const t0 = performance.now();
  let next = 0;
  // The same progress line as the Slurm executor: members queued / running / done / failed, elapsed time.
  const counts = { queued: jobs.length, running: 0, done: 0, failed: 0 };
  const progress = () => console.log(formatPoolProgress("pool", counts, (performance.now() - t0) / 1000));
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
      counts.queued--;
      counts.running++;
      progress();
      const code = await runDenoLogged(args, log, env);
      const secs = ((performance.now() - start) / 1000).toFixed(0);
      counts.running--;
      if (code !== 0) {
        failed.push(job.member.name);
        counts.failed++;
        console.log(`${job.member.name}: FAILED (exit ${code}) after ${secs} s, see ${log}`);
      } else {
        counts.done++;
        console.log(`${job.member.name}: trained in ${secs} s`);
      }
      progress();
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, Math.max(jobs.length, 1)) }, worker));

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
    await Promise.all(Array.from({ length: Math.min(parallel, Math.max(todo.length, 1)) }, evaluator));
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
