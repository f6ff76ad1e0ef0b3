/**
 * A pool of trained models for model selection: seeds × a small hyperparameter grid, one run folder per member, all
 * under one pool folder:
 *
 *   runs/POOL/pool.json          the pool definition (written atomically) and its member list
 *   runs/POOL/<member>/          an ordinary run folder (config.json, log.jsonl, checkpoint/, samples/, metrics.json)
 *   runs/POOL/logs/<member>.log  the training subprocess's output
 *   runs/POOL/selection.json     written by `deno task select`
 *
 * The paper's pools (paper-facts §7 item 6): InfoGAN-CR is 10 seeds of one setting (lambda 0.05, alpha 2), FactorVAE is
 * gamma ∈ {1, 10, 20, 40} × 10 seeds (`paperGrid`; `deno task pool --model factor-vae --grid gamma=1,10,20,40`).
 * Without `--grid flag=v1,v2` a pool trains seeds only.
 */
import { z } from "zod";
import { writeJsonAtomic } from "../io/atomic.ts";
import { type GanConfig, parseGanConfig, presetFor as ganPresetFor } from "../config/gan.ts";
import { parseVaeConfig, presetFor as vaePresetFor, type VaeConfig } from "../config/vae.ts";
import { formatDuration } from "../train/progress.ts";

export const POOL_MODELS = ["infogan-cr", "infogan", "factor-vae", "beta-vae"] as const;
export type PoolModel = (typeof POOL_MODELS)[number];

export const PoolSpec = z.object({
  dataset: z.enum(["dsprites", "teapots", "celeba"]),
  model: z.enum(POOL_MODELS),
  profile: z.enum(["smoke", "cpu", "paper"]),
  seeds: z.array(z.number().int()).min(1),
  /** Overrides the profile's iteration count (train's --iterations), e.g. for a shorter pool. */
  iterations: z.number().int().positive().optional(),
  /** Train flag name (without "--") → values; every combination is crossed with every seed. */
  grid: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), z.array(z.union([z.number(), z.string()])).min(1)),
}).strict();
export type PoolSpec = z.infer<typeof PoolSpec>;

export interface PoolMember {
  /** Folder name inside the pool folder, e.g. "s3" or "gamma10-s3". */
  name: string;
  seed: number;
  params: Record<string, number | string>;
}

/** The paper's pool grid ([IGCR] config_mc.py): none for GANs, the TC weight gamma ∈ {1, 10, 20, 40} for FactorVAE. */
export function paperGrid(model: PoolModel): Record<string, number[]> {
  return model === "factor-vae" ? { gamma: [1, 10, 20, 40] } : {};
}

/** Every member of the pool, grid-major then seed (so a partial pool still covers every setting early). */
export function poolMembers(spec: PoolSpec): PoolMember[] {
  const keys = Object.keys(spec.grid).sort();
  let combos: Record<string, number | string>[] = [{}];
  for (const k of keys) combos = combos.flatMap((c) => spec.grid[k].map((v) => ({ ...c, [k]: v })));
  const names = new Set<string>();
  const members: PoolMember[] = [];
  for (const seed of spec.seeds) {
    for (const params of combos) {
      const prefix = keys.map((k) => `${k}${String(params[k]).replace(/[^A-Za-z0-9.]/g, "_")}`).join("-");
      const name = `${prefix ? prefix + "-" : ""}s${seed}`;
      if (names.has(name)) {
        throw new Error(`pool: two members would share the folder "${name}" (repeated seed or value?)`);
      }
      names.add(name);
      members.push({ name, seed, params });
    }
  }
  return members;
}

/** The `deno task train` arguments of a member. */
export function trainArgs(spec: PoolSpec, member: PoolMember, runDir: string, resume: boolean): string[] {
  const args = [
    "--dataset",
    spec.dataset,
    "--model",
    spec.model,
    "--profile",
    spec.profile,
    "--seed",
    String(member.seed),
    "--out",
    runDir,
  ];
  if (spec.iterations !== undefined) args.push("--iterations", String(spec.iterations));
  for (const [k, v] of Object.entries(member.params)) args.push(`--${k}`, String(v));
  if (resume) args.push("--resume");
  return args;
}

/** Grid keys `memberConfig` can write into a config (train flags that change the config). */
const CONFIG_GRID_KEYS = ["gamma", "beta", "iterations"];

/**
 * The full config `deno task train` builds from a member's flags (`trainArgs`: the profile's preset, the seed, the
 * iteration override and the grid values), for executors that hand every member a config file (`train --config`).
 */
export function memberConfig(spec: PoolSpec, member: PoolMember): GanConfig | VaeConfig {
  const other = Object.keys(member.params).filter((k) => !CONFIG_GRID_KEYS.includes(k));
  if (other.length) {
    throw new Error(`pool: --grid ${other[0]} has no config field; grid keys are ${CONFIG_GRID_KEYS.join(", ")}`);
  }
  const num = (k: string) => {
    const v = member.params[k];
    if (v === undefined) return undefined;
    if (typeof v !== "number") throw new Error(`pool: --grid ${k}=${v}: a number is expected`);
    return v;
  };
  const iterations = num("iterations") ?? spec.iterations;
  const gamma = num("gamma"), beta = num("beta");
  if (spec.model === "factor-vae" || spec.model === "beta-vae") {
    if (spec.dataset === "celeba") {
      throw new Error("pool: --model factor-vae/beta-vae: datasets are dsprites and teapots");
    }
    if (gamma !== undefined && spec.model !== "factor-vae") throw new Error("pool: gamma applies to factor-vae only");
    if (beta !== undefined && spec.model !== "beta-vae") throw new Error("pool: beta applies to beta-vae only");
    let cfg = parseVaeConfig({
      ...vaePresetFor(spec.dataset, spec.profile, spec.model),
      seed: member.seed,
      ...(gamma !== undefined && { gamma }),
      ...(beta !== undefined && { beta }),
    });
    if (iterations !== undefined) cfg = parseVaeConfig({ ...cfg, iterations });
    return cfg;
  }
  if (gamma !== undefined || beta !== undefined) throw new Error(`pool: gamma and beta apply to the VAE models only`);
  let cfg = ganPresetFor(spec.dataset, spec.profile, { model: spec.model, seed: member.seed });
  if (iterations !== undefined) cfg = parseGanConfig({ ...cfg, iterations });
  return cfg;
}

/** Members (or blocks of work) by where they stand, for the progress line both executors print. */
export interface PoolCounts {
  queued: number;
  running: number;
  done: number;
  failed: number;
}

/** "pool: 2 queued, 1 running, 3 done, 0 failed; 1m20s elapsed" — the progress line of the local and Slurm executors. */
export function formatPoolProgress(what: string, c: PoolCounts, elapsedS: number): string {
  return `${what}: ${c.queued} queued, ${c.running} running, ${c.done} done, ${c.failed} failed; ` +
    `${formatDuration(elapsedS)} elapsed`;
}

export type MemberState = "new" | "partial" | "done";

export interface MemberStatus {
  state: MemberState;
  /** Completed iterations in the latest checkpoint (0 when none). */
  iteration: number;
  /** Iterations the run's config asks for (null when the run has no config yet). */
  iterations: number | null;
}

async function readJson(path: string): Promise<unknown | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/**
 * Where a member's training stands, from its run folder alone: `done` when the latest checkpoint has reached the
 * config's iteration count, `partial` when some checkpoint or config exists (resume it), `new` otherwise.
 * Reads only the JSON files (config.json, checkpoint/state.json), never the weights.
 */
export async function memberStatus(runDir: string): Promise<MemberStatus> {
  const cfg = (await readJson(`${runDir}/config.json`)) as { iterations?: unknown } | undefined;
  const iterations = typeof cfg?.iterations === "number" ? cfg.iterations : null;
  // checkpoint.ts renames the previous checkpoint to checkpoint.old while a new one is moved in.
  const ck =
    ((await readJson(`${runDir}/checkpoint/state.json`)) ?? (await readJson(`${runDir}/checkpoint.old/state.json`))) as
      | { state?: { iteration?: unknown } }
      | undefined;
  const iteration = typeof ck?.state?.iteration === "number" ? ck.state.iteration : 0;
  if (!cfg && !ck) return { state: "new", iteration: 0, iterations: null };
  if (iterations !== null && iteration >= iterations) return { state: "done", iteration, iterations };
  // A config without a checkpoint: the run died before its first checkpoint; resuming has nothing to resume from.
  return { state: ck ? "partial" : "new", iteration, iterations };
}

export interface PoolManifest {
  spec: PoolSpec;
  members: PoolMember[];
}

/** Writes pool.json atomically (temp file, then rename). */
export async function writePoolManifest(poolDir: string, manifest: PoolManifest): Promise<void> {
  await writeJsonAtomic(`${poolDir}/pool.json`, manifest);
}

export interface ListedMember {
  name: string;
  dir: string;
  seed?: number;
  params?: Record<string, number | string>;
}

/**
 * The members of a pool folder that have a run (config.json): those listed in pool.json when it exists, in its order,
 * else every sub-folder holding a config.json, by name. A pool folder of hand-collected runs therefore works too.
 */
export async function listPoolMembers(poolDir: string): Promise<ListedMember[]> {
  try {
    if (!(await Deno.stat(poolDir)).isDirectory) throw new Error(`pool: ${poolDir} is not a folder`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`pool: no folder ${poolDir}`);
    throw e;
  }
  const hasRun = async (dir: string) => {
    try {
      return (await Deno.stat(`${dir}/config.json`)).isFile;
    } catch {
      return false;
    }
  };
  const raw = await readJson(`${poolDir}/pool.json`);
  if (raw !== undefined) {
    const m = raw as Partial<PoolManifest>;
    if (!Array.isArray(m.members)) throw new Error(`pool: ${poolDir}/pool.json has no "members" list`);
    const out: ListedMember[] = [];
    for (const mem of m.members) {
      const dir = `${poolDir}/${mem.name}`;
      if (await hasRun(dir)) out.push({ name: mem.name, dir, seed: mem.seed, params: mem.params });
    }
    return out;
  }
  const out: ListedMember[] = [];
  for await (const e of Deno.readDir(poolDir)) {
    if (e.isDirectory && (await hasRun(`${poolDir}/${e.name}`))) {
      out.push({ name: e.name, dir: `${poolDir}/${e.name}` });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
}

/** The pool's spec from pool.json, or undefined for a folder without one. */
export async function readPoolSpec(poolDir: string): Promise<PoolSpec | undefined> {
  const raw = (await readJson(`${poolDir}/pool.json`)) as { spec?: unknown } | undefined;
  if (raw === undefined) return undefined;
  const r = PoolSpec.safeParse(raw.spec);
  if (!r.success) throw new Error(`pool: ${poolDir}/pool.json has an invalid spec: ${r.error.issues[0]?.message}`);
  return r.data;
}
