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
 *
 * `--executor slurm` runs the members as one Slurm job array instead (lib/cluster/slurm_pool.ts): every member's full
 * config and a commented `sbatch` script go into the pool folder, the missing members are submitted, the job id is
 * recorded in POOL/pool-state.json, and the array is followed with the same progress line. `--resume` takes the pool's
 * definition from POOL/pool.json (and its executor and Slurm options from the state file) and runs what is missing.
 */
import { z } from "zod";
import { defineCommand, type Flags, UsageError } from "../lib/cli/command.ts";
import { backendFlag } from "../lib/config/backend.ts";
import { runDenoLogged } from "../lib/io/subprocess.ts";
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
import { checkSlurmFlags, slurmFlags, slurmOptionsFromFlags, slurmPollMs } from "../lib/cluster/slurm_flags.ts";

/** Flags that define the pool: required for a new pool, read from pool.json with --resume. */
const SPEC_FLAGS = ["dataset", "model", "profile", "seeds", "seed-start", "iterations", "grid"] as const;

export const command = defineCommand({
  name: "pool",
  summary: "trains a pool of models for model selection (seeds × a small grid), resumable",
  flags: {
    dataset: {
      type: "string",
      schema: z.enum(["dsprites", "teapots", "celeba"]),
      inUsage: true,
      doc: "the dataset (required unless --resume)",
    },
    model: {
      type: "string",
      schema: z.enum(POOL_MODELS),
      inUsage: true,
      placeholder: "MODEL",
      doc: "the members' model (required unless --resume)",
    },
    profile: {
      type: "string",
      schema: z.enum(["smoke", "cpu", "paper"]),
      inUsage: true,
      doc: "the preset's size (required unless --resume)",
    },
    seeds: {
      type: "number",
      schema: z.number().int().min(1),
      inUsage: true,
      doc: "how many seeds (required unless --resume)",
    },
    out: {
      type: "string",
      schema: z.string().min(1),
      required: true,
      placeholder: "runs/POOL",
      doc: "the pool folder",
    },
    "seed-start": { type: "number", schema: z.number().int(), default: 0, doc: "the first seed" },
    parallel: {
      type: "number",
      schema: z.number().int().min(1).max(16),
      default: 2,
      doc: "members trained at a time (each gets cores / N wasm threads)",
    },
    iterations: {
      type: "number",
      schema: z.number().int().positive(),
      defaultDoc: "the profile's",
      doc: "training length of each member",
    },
    grid: {
      type: "list",
      split: false,
      schema: z.array(z.string().regex(/^[a-z][a-z0-9-]*=.+$/, "expected flag=value1,value2 (e.g. gamma=1,10,20,40)")),
      default: [],
      placeholder: "flag=v1,v2",
      doc: "crosses the seeds with values of a `deno task train` flag",
    },
    evaluate: { type: "boolean", doc: "then score members lacking metrics.json (FactorVAE, infogan-cr protocol)" },
    "dry-run": { type: "boolean", doc: "print the members and the commands, train nothing" },
    resume: {
      type: "boolean",
      inUsage: true,
      doc: "continue the pool in --out: its definition from pool.json, executor and Slurm options from its state file",
    },
    backend: backendFlag,
    ...slurmFlags,
  },
  examples: [
    "deno task pool --dataset dsprites --model infogan-cr --profile cpu --seeds 8 --out runs/pool-dsprites --evaluate",
    "deno task pool --dataset dsprites --model factor-vae --profile cpu --seeds 2 --grid gamma=1,10,20,40 " +
    "--out runs/pool-fvae",
    "deno task pool --dataset dsprites --model infogan-cr --profile paper --seeds 10 --out /shared/pools/igcr " +
    "--evaluate --executor slurm --slurm-partition gpu --slurm-gpus 1 --slurm-time 24:00:00 --slurm-max-running 5",
    "deno task pool --out /shared/pools/igcr --resume",
  ],
  check(flags, given) {
    if (flags.resume) {
      const spec = SPEC_FLAGS.filter((k) => given.has(k));
      if (spec.length) {
        throw new UsageError(`--resume reads the pool from ${flags.out}/pool.json; drop ${spec.map((k) => "--" + k)}`);
      }
    } else {
      const missing = (["dataset", "model", "profile", "seeds"] as const).filter((k) => flags[k] === undefined);
      if (missing.length) {
        throw new UsageError(`${missing.map((k) => "--" + k).join(", ")} required (or --resume to continue a pool)`);
      }
    }
    checkSlurmFlags(flags.executor, given);
    if (flags.executor === "slurm" && given.has("parallel")) {
      throw new UsageError("--parallel is for the local executor; cap a Slurm array with --slurm-max-running K");
    }
    if (flags.executor === "slurm" && flags["dry-run"]) {
      throw new UsageError("--dry-run is for the local executor; --no-submit writes the Slurm script only");
    }
  },
});

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

interface Job {
  member: PoolMember;
  dir: string;
  resume: boolean;
}

async function main(flags: Flags<typeof command.flags>, given: ReadonlySet<string>): Promise<number> {
  const poolDir = flags.out.replace(/\/+$/, "");
  let spec: PoolSpec;
  if (flags.resume) {
    const recorded = await readPoolSpec(poolDir);
    if (!recorded) {
      throw new UsageError(`--resume: ${poolDir}/pool.json does not exist; start the pool with --dataset ...`);
    }
    spec = recorded;
  } else {
    spec = PoolSpec.parse({
      dataset: flags.dataset,
      model: flags.model,
      profile: flags.profile,
      seeds: Array.from({ length: flags.seeds! }, (_, i) => flags["seed-start"] + i),
      grid: parseGrid(flags.grid),
      iterations: flags.iterations,
    });
  }
  const members = poolMembers(spec);
  const writeManifest = async () => {
    if (!flags.resume) await writePoolManifest(poolDir, { spec, members });
  };
  const state = await readPoolState(poolDir);
  const executor = flags.executor ?? state?.executor ?? "local";
  checkSlurmFlags(executor, given);
  if (executor === "slurm") {
    if (given.has("parallel")) {
      throw new UsageError("--parallel is for the local executor; cap a Slurm array with --slurm-max-running K");
    }
    if (flags["dry-run"]) {
      throw new UsageError("--dry-run is for the local executor; --no-submit writes the Slurm script");
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
  await command.run((flags) => main(flags, command.parseAll(Deno.args).given));
}
