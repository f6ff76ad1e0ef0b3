/**
 * The pool's state file, `POOL/pool-state.json`: which executor runs the pool, the Slurm options it was given, and
 * every job array submitted for it (job id, task ids, script), written atomically after each submission. With it,
 * `deno task pool --out POOL --resume` knows how the pool was run and which Slurm jobs to look for; what is *finished*
 * is never read from here but from the run folders themselves (lib/selection/pool.ts `memberStatus`), so a crash between
 * a submission and this file's update cannot make a half-trained member count as done.
 *
 * Also here: resume planning (which array tasks to submit, given what is finished on disk and what Slurm still has in
 * its queue), a pure function.
 */
import { z } from "zod";
import { readJsonIfExists, writeJsonAtomic } from "../io/atomic.ts";
import { SlurmOptions, type TaskRecord } from "./slurm.ts";

export const POOL_STATE_FILE = "pool-state.json";

/** What a job array does: train (and evaluate) pool members, or compute ModelCentrality cells for row blocks. */
export const JOB_KINDS = ["train", "cross-eval"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const SubmittedJob = z.object({
  kind: z.enum(JOB_KINDS),
  jobId: z.string().regex(/^\d+$/),
  /** Array task ids submitted: member indices (train) or row-block indices (cross-eval). */
  tasks: z.array(z.number().int().min(0)),
  /** The script, relative to the pool folder. */
  script: z.string(),
  submittedAt: z.string(),
  /** True for a job found in the queue running this pool's script without having been submitted by the toolkit. */
  adopted: z.boolean().optional(),
  /** cross-eval: the cell cache it fills and its rows per task. */
  cells: z.object({ key: z.string(), rowsPerTask: z.number().int().min(1) }).optional(),
}).strict();
export type SubmittedJob = z.infer<typeof SubmittedJob>;

export const PoolState = z.object({
  schema: z.literal("igcr-pool-state/1"),
  /** The executor that trains the pool; absent when only `select`'s cross-evaluation ran on Slurm. */
  executor: z.literal("slurm").optional(),
  slurm: SlurmOptions,
  /** Members are evaluated (FactorVAE → metrics.json) after training. */
  evaluate: z.boolean(),
  jobs: z.array(SubmittedJob),
}).strict();
export type PoolState = z.infer<typeof PoolState>;

export function emptyPoolState(slurm: SlurmOptions, evaluate: boolean): PoolState {
  return { schema: "igcr-pool-state/1", executor: "slurm", slurm, evaluate, jobs: [] };
}

/** Validates a parsed state file; the error names the file and the first bad key. */
export function parsePoolState(raw: unknown, path = POOL_STATE_FILE): PoolState {
  const r = PoolState.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${path}: ${i.path.join(".") || "(top level)"}: ${i.message}; fix or delete the file`);
  }
  return r.data;
}

/** The pool's state file, or null when the pool has none (never run on Slurm). */
export async function readPoolState(poolDir: string): Promise<PoolState | null> {
  const path = `${poolDir}/${POOL_STATE_FILE}`;
  const raw = await readJsonIfExists(path);
  return raw === null ? null : parsePoolState(raw, path);
}

export async function writePoolState(poolDir: string, state: PoolState): Promise<void> {
  await writeJsonAtomic(`${poolDir}/${POOL_STATE_FILE}`, PoolState.parse(state));
}

/** Job ids of one kind, oldest first. */
export function jobIds(state: PoolState, kind: JobKind): string[] {
  return state.jobs.filter((j) => j.kind === kind).map((j) => j.jobId);
}

export interface ResumePlan {
  /** Finished on disk: never submitted again. */
  finished: number[];
  /** Still queued or running in Slurm: followed, not submitted again. */
  active: number[];
  /** Neither: submit these. */
  submit: number[];
}

/**
 * Which of `count` array tasks to submit: those neither finished on disk nor still in Slurm's queue. A finished task
 * is never resubmitted even if Slurm still lists it (it may be evaluating, or just completing).
 */
export function planResume(count: number, finished: (i: number) => boolean, inQueue: ReadonlySet<number>): ResumePlan {
  const plan: ResumePlan = { finished: [], active: [], submit: [] };
  for (let i = 0; i < count; i++) {
    if (finished(i)) plan.finished.push(i);
    else if (inQueue.has(i)) plan.active.push(i);
    else plan.submit.push(i);
  }
  return plan;
}

/**
 * The record that says how task `taskId` of the latest of `jobIds` that ran it ended: scontrol (current), then sacct,
 * then the jobcomp file (its last line for that task, since a requeued task has one line per attempt).
 */
export function endRecordFor(records: readonly TaskRecord[], jobIdsNewestLast: readonly string[], taskId: number):
  | TaskRecord
  | undefined {
  const rank = { scontrol: 0, sacct: 1, jobcomp: 2 } as const;
  for (const job of [...jobIdsNewestLast].reverse()) {
    const mine = records.map((r, k) => ({ r, k })).filter(({ r }) => r.arrayJobId === job && r.taskId === taskId);
    if (!mine.length) continue;
    mine.sort((a, b) => rank[a.r.source] - rank[b.r.source] || b.k - a.k);
    return mine[0].r;
  }
  return undefined;
}
