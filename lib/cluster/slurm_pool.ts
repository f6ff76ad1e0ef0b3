/**
 * A pool's work on Slurm (the edge behind `deno task pool --executor slurm` and `deno task select --executor slurm`):
 * write the member configs and the job-array script into the pool folder, submit what is missing with `sbatch`, record
 * the job in the pool's state file, and follow the array until every task has left the queue. Slurm does all the
 * scheduling; this module only decides *which* array tasks to submit (lib/cluster/pool_state.ts `planResume`: neither
 * finished on disk nor still queued) and reports how each one ended.
 */
import { resolve } from "node:path";
import { pathExists, writeTextAtomic } from "../io/atomic.ts";
import { memberConfig, memberStatus, type PoolMember, type PoolSpec } from "../selection/pool.ts";
import { arraySpec, type SlurmClient, type SlurmOptions } from "./slurm.ts";
import { followArray, type FollowResult, type FollowUnit } from "./follow.ts";
import {
  emptyPoolState,
  jobIds,
  type JobKind,
  planResume,
  type PoolState,
  readPoolState,
  type SubmittedJob,
  writePoolState,
} from "./pool_state.ts";
import {
  CROSS_EVAL_SCRIPT,
  crossEvalLog,
  crossEvalScript,
  memberConfigPath,
  memberLog,
  rowBlock,
  rowBlockCount,
  TRAIN_SCRIPT,
  trainScript,
} from "./pool_scripts.ts";

/** The toolkit's own folder (where deno.json is): every task runs its commands there. */
export const PROJECT_DIR = resolve(new URL("../..", import.meta.url).pathname);

/** A member counts as finished when its checkpoint reached the config's iterations (and metrics.json exists, if asked). */
export async function memberFinished(runDir: string, evaluate: boolean): Promise<boolean> {
  if ((await memberStatus(runDir)).state !== "done") return false;
  return !evaluate || await pathExists(`${runDir}/metrics.json`);
}

/** Slurm options of this invocation over the recorded ones: a flag given now wins, `args` are replaced when given. */
export function mergeSlurmOptions(recorded: SlurmOptions | undefined, given: Partial<SlurmOptions>): SlurmOptions {
  const out: SlurmOptions = { ...(recorded ?? { args: [] }) };
  for (const [k, v] of Object.entries(given) as [keyof SlurmOptions, unknown][]) {
    if (v === undefined || (k === "args" && (v as string[]).length === 0)) continue;
    (out as Record<string, unknown>)[k] = v;
  }
  out.args ??= [];
  return out;
}

export interface SlurmPoolOptions {
  poolDir: string;
  spec: PoolSpec;
  members: PoolMember[];
  evaluate: boolean;
  slurm: SlurmOptions;
  client: SlurmClient;
  /** false: write the configs and the script only (`--no-submit`). */
  submit: boolean;
  /** Keep member configs already in POOL/configs (a resumed pool, or configs edited by hand); else they must match. */
  keepConfigs: boolean;
  /** Called once the member configs are known to fit (cli/pool.ts writes pool.json there, not before). */
  beforeWrite?: () => Promise<void>;
  backend?: string;
  pollMs?: number;
  print?: (line: string) => void;
}

export interface SlurmPoolResult {
  /** 0: every member finished; 1: some failed (reported by index); 0 as well after --no-submit. */
  exitCode: number;
  jobId?: string;
  submitted: number[];
  follow?: FollowResult;
}

/**
 * Writes POOL/configs/<member>.json for every member; an existing file that differs is kept only with keepConfigs.
 * Every file is checked before any is written, so a refused run changes nothing.
 */
async function writeMemberConfigs(
  poolDir: string,
  spec: PoolSpec,
  members: PoolMember[],
  keep: boolean,
  beforeWrite?: () => Promise<void>,
) {
  const todo: [string, string][] = [];
  for (const m of members) {
    const path = memberConfigPath(poolDir, m.name);
    const text = JSON.stringify(memberConfig(spec, m), null, 2) + "\n";
    let existing: string | null = null;
    try {
      existing = await Deno.readTextFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (existing === null) todo.push([path, text]);
    else if (existing !== text && !keep) {
      throw new Error(
        `${path} differs from the config these flags give (edited by hand, or other flags?): ` +
          `keep it with \`deno task pool --out ${poolDir} --resume\`, or delete it`,
      );
    }
  }
  await beforeWrite?.();
  for (const [path, text] of todo) await writeTextAtomic(path, text);
}

async function recordJob(poolDir: string, state: PoolState, job: SubmittedJob): Promise<void> {
  state.jobs.push(job);
  await writePoolState(poolDir, state);
}

/**
 * Runs (or resumes) a pool's training on Slurm: configs and `slurm/train.sbatch` in the pool folder, then one
 * `sbatch --array=…` for the members that are neither finished nor in the queue, then follows them (and any still
 * queued from an earlier submission) to the end. A failed member is reported by index with its log; the others go on.
 */
export async function runPoolOnSlurm(o: SlurmPoolOptions): Promise<SlurmPoolResult> {
  const print = o.print ?? ((l: string) => console.log(l));
  const pool = resolve(o.poolDir);
  await writeMemberConfigs(pool, o.spec, o.members, o.keepConfigs, o.beforeWrite);
  await Deno.mkdir(`${pool}/logs`, { recursive: true });
  const script = `${pool}/${TRAIN_SCRIPT}`;
  await writeTextAtomic(
    script,
    trainScript({
      project: PROJECT_DIR,
      pool,
      members: o.members.map((m) => m.name),
      evaluate: o.evaluate,
      slurm: o.slurm,
      backend: o.backend,
      description: `${o.spec.model} on ${o.spec.dataset}, profile ${o.spec.profile}` +
        (o.spec.iterations !== undefined ? `, ${o.spec.iterations} iterations` : ""),
    }),
  );
  await Deno.chmod(script, 0o755).catch(() => {});
  const state: PoolState = (await readPoolState(pool)) ?? emptyPoolState(o.slurm, o.evaluate);
  state.executor = "slurm";
  state.slurm = o.slurm;
  state.evaluate = o.evaluate;
  await writePoolState(pool, state);
  if (!o.submit) {
    print(
      `wrote ${script} (${o.members.length} array tasks) and the member configs in ${pool}/configs; submit it with ` +
        `\`sbatch ${script}\`, or let \`deno task pool --out ${o.poolDir} --resume\` submit and follow it`,
    );
    return { exitCode: 0, submitted: [] };
  }

  const finished = await Promise.all(o.members.map((m) => memberFinished(`${pool}/${m.name}`, o.evaluate)));
  const queue = await o.client.queue(jobIds(state, "train"), script);
  const plan = planResume(o.members.length, (i) => finished[i], new Set(queue.flatMap((e) => e.taskId ?? [])));
  const name = (i: number) => `member ${i} (${o.members[i].name})`;
  print(
    `pool ${o.poolDir}: ${o.members.length} members; ${plan.finished.length} finished, ` +
      `${plan.active.length} still in Slurm's queue, ${plan.submit.length} to submit`,
  );
  if (plan.active.length) print(`already queued or running: ${plan.active.map(name).join(", ")}`);
  let jobId: string | undefined;
  if (plan.submit.length) {
    const array = arraySpec(plan.submit, o.slurm.maxRunning);
    jobId = await o.client.submit(script, array);
    await recordJob(pool, state, {
      kind: "train",
      jobId,
      tasks: plan.submit,
      script: TRAIN_SCRIPT,
      submittedAt: new Date().toISOString(),
    });
    print(`submitted job ${jobId} (--array=${array}); state in ${pool}/pool-state.json`);
  }
  const follow = [...plan.active, ...plan.submit].sort((a, b) => a - b);
  if (!follow.length) {
    print("every member is finished");
    return { exitCode: 0, jobId, submitted: [] };
  }
  const units: FollowUnit[] = follow.map((i) => ({
    index: i,
    label: name(i),
    log: memberLog(pool, o.members[i].name),
  }));
  const result = await followArray({
    slurm: o.client,
    jobIds: jobIds(state, "train"),
    script,
    units,
    isFinished: (i) => memberFinished(`${pool}/${o.members[i].name}`, o.evaluate),
    what: "pool",
    pollMs: o.pollMs,
    print,
    onJobSeen: (id, tasks) => adopt(pool, state, "train", id, tasks, TRAIN_SCRIPT, print),
  });
  return { exitCode: reportEnd(result, o.poolDir, "pool", print), jobId, submitted: plan.submit, follow: result };
}

async function adopt(
  pool: string,
  state: PoolState,
  kind: JobKind,
  jobId: string,
  tasks: number[],
  script: string,
  print: (l: string) => void,
): Promise<void> {
  if (state.jobs.some((j) => j.jobId === jobId)) return;
  print(`found job ${jobId} running ${script} (submitted by hand?): following it and recording it`);
  await recordJob(pool, state, { kind, jobId, tasks, script, submittedAt: new Date().toISOString(), adopted: true });
}

function reportEnd(r: FollowResult, poolDir: string, what: string, print: (l: string) => void): number {
  if (!r.failed.length) return 0;
  print(`${r.failed.length} failed:`);
  for (const f of r.failed) print(`  ${f.label}: ${f.reason}; log ${f.log}`);
  print(
    what === "pool"
      ? `the others went on; \`deno task pool --out ${poolDir} --resume\` resubmits only what is missing`
      : `re-run the same \`deno task select\` to resubmit the blocks with missing cells`,
  );
  return 1;
}

export interface CrossEvalSlurmOptions {
  poolDir: string;
  /** Members in matrix order (those select found). */
  n: number;
  rowsPerTask: number;
  profile: string;
  seed: number;
  chunk: number;
  cellsKey: string;
  /** Whether all cells of row i are in the cache (re-reads the files). */
  rowComplete: (i: number) => Promise<boolean>;
  slurm: SlurmOptions;
  client: SlurmClient;
  submit: boolean;
  backend?: string;
  pollMs?: number;
  print?: (line: string) => void;
}

/**
 * ModelCentrality's cross-evaluation as a job array over row blocks: writes `slurm/cross-eval.sbatch`, submits the
 * blocks with missing cells (none already in the queue for this cache), follows them. The caller assembles the matrix.
 */
export async function runCrossEvalOnSlurm(o: CrossEvalSlurmOptions): Promise<SlurmPoolResult> {
  const print = o.print ?? ((l: string) => console.log(l));
  const pool = resolve(o.poolDir);
  await Deno.mkdir(`${pool}/logs`, { recursive: true });
  const script = `${pool}/${CROSS_EVAL_SCRIPT}`;
  await writeTextAtomic(
    script,
    crossEvalScript({
      project: PROJECT_DIR,
      pool,
      n: o.n,
      rowsPerTask: o.rowsPerTask,
      profile: o.profile,
      seed: o.seed,
      chunk: o.chunk,
      cellsKey: o.cellsKey,
      slurm: o.slurm,
      backend: o.backend,
    }),
  );
  await Deno.chmod(script, 0o755).catch(() => {});
  const blocks = rowBlockCount(o.n, o.rowsPerTask);
  if (!o.submit) {
    print(`wrote ${script} (${blocks} array tasks of ${o.rowsPerTask} rows); submit it with \`sbatch ${script}\``);
    return { exitCode: 0, submitted: [] };
  }
  const blockDone = async (b: number) => {
    const [first, last] = rowBlock(b, o.rowsPerTask, o.n);
    for (let i = first; i <= last; i++) if (!(await o.rowComplete(i))) return false;
    return true;
  };
  const state: PoolState = (await readPoolState(pool)) ?? { ...emptyPoolState(o.slurm, false), executor: undefined };
  // Only jobs that fill this very cache with these blocks can stand for a block.
  const mine = state.jobs.filter((j) =>
    j.kind === "cross-eval" && j.cells?.key === o.cellsKey && j.cells.rowsPerTask === o.rowsPerTask
  ).map((j) => j.jobId);
  const queue = await o.client.queue(mine);
  const done: boolean[] = [];
  for (let b = 0; b < blocks; b++) done.push(await blockDone(b));
  const plan = planResume(blocks, (b) => done[b], new Set(queue.flatMap((e) => e.taskId ?? [])));
  const label = (b: number) => {
    const [first, last] = rowBlock(b, o.rowsPerTask, o.n);
    return `rows ${first}-${last}`;
  };
  print(
    `cross-eval: ${o.n}×${o.n} cells in ${blocks} row blocks of ${o.rowsPerTask}; ${plan.finished.length} complete, ` +
      `${plan.active.length} in Slurm's queue, ${plan.submit.length} to submit`,
  );
  let jobId: string | undefined;
  if (plan.submit.length) {
    const array = arraySpec(plan.submit, o.slurm.maxRunning);
    jobId = await o.client.submit(script, array);
    mine.push(jobId);
    await recordJob(pool, state, {
      kind: "cross-eval",
      jobId,
      tasks: plan.submit,
      script: CROSS_EVAL_SCRIPT,
      submittedAt: new Date().toISOString(),
      cells: { key: o.cellsKey, rowsPerTask: o.rowsPerTask },
    });
    print(`submitted job ${jobId} (--array=${array})`);
  }
  const follow = [...plan.active, ...plan.submit].sort((a, b) => a - b);
  if (!follow.length) return { exitCode: 0, jobId, submitted: [] };
  const result = await followArray({
    slurm: o.client,
    jobIds: mine,
    units: follow.map((b) => {
      const [first, last] = rowBlock(b, o.rowsPerTask, o.n);
      return { index: b, label: label(b), log: crossEvalLog(pool, first, last) };
    }),
    isFinished: blockDone,
    what: "cross-eval",
    pollMs: o.pollMs,
    print,
  });
  return {
    exitCode: reportEnd(result, o.poolDir, "cross-eval", print),
    jobId,
    submitted: plan.submit,
    follow: result,
  };
}
