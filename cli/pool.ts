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
import { z } from "zod";
import { defineCommand, type Flags } from "../lib/cli/command.ts";
import { backendFlag } from "../lib/config/backend.ts";
import { runDenoLogged } from "../lib/io/subprocess.ts";
import {
  memberStatus,
  POOL_MODELS,
  type PoolMember,
  poolMembers,
  PoolSpec,
  trainArgs,
  writePoolManifest,
} from "../lib/selection/pool.ts";

export const command = defineCommand({
  name: "pool",
  summary: "trains a pool of models for model selection (seeds × a small grid), resumable",
  flags: {
    dataset: { type: "string", schema: z.enum(["dsprites", "teapots", "celeba"]), required: true, doc: "the dataset" },
    model: {
      type: "string",
      schema: z.enum(POOL_MODELS),
      required: true,
      placeholder: "MODEL",
      doc: "the members' model",
    },
    profile: { type: "string", schema: z.enum(["smoke", "cpu", "paper"]), required: true, doc: "the preset's size" },
    seeds: { type: "number", schema: z.number().int().min(1), required: true, doc: "how many seeds" },
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
    backend: backendFlag,
  },
  examples: [
    "deno task pool --dataset dsprites --model infogan-cr --profile cpu --seeds 8 --out runs/pool-dsprites --evaluate",
    "deno task pool --dataset dsprites --model factor-vae --profile cpu --seeds 2 --grid gamma=1,10,20,40 " +
    "--out runs/pool-fvae",
  ],
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

async function main(flags: Flags<typeof command.flags>): Promise<number> {
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

  // Parallel members share the cores: each child gets cores / parallel wasm threads (at least 1), so `--parallel 2` on
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

if (import.meta.main) await command.run(main);
