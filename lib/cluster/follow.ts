/**
 * Following a job array until every task has left Slurm's queue, with the pool's progress display (units queued /
 * running / done / failed and the elapsed time, the same line the local executor prints). A unit is one array task:
 * a pool member, or a block of ModelCentrality rows.
 *
 * Slurm says where a task is; the disk says whether it finished. A task that left the queue counts as done only when
 * `isFinished` (the run folder / the cell files) says so, and as failed otherwise, with Slurm's record of how it ended
 * (state, exit code, node) and the path of its log. A task that Slurm reports COMPLETED but whose files are not there yet
 * gets a few more polls first, for shared file systems that show another node's writes late.
 */
import { formatPoolProgress, type PoolCounts } from "../selection/pool.ts";
import { formatDuration } from "../train/progress.ts";
import { describeRecord, type QueueEntry, type SlurmClient } from "./slurm.ts";
import { endRecordFor } from "./pool_state.ts";

export interface FollowUnit {
  /** Array task id. */
  index: number;
  /** e.g. "member 2 (s2)" or "rows 0-7". */
  label: string;
  log: string;
}

export interface FailedUnit extends FollowUnit {
  reason: string;
}

export interface FollowOptions {
  slurm: SlurmClient;
  /** Job ids whose tasks are followed, oldest first (a later job's task replaces an earlier one's). */
  jobIds: string[];
  /** The script, so a job submitted by hand is followed too. */
  script?: string;
  units: FollowUnit[];
  isFinished: (index: number) => Promise<boolean>;
  /** Label of the progress line ("pool", "cross-eval"). */
  what: string;
  pollMs?: number;
  /** Polls to wait for the files of a task that Slurm reports COMPLETED (default 3). */
  graceCompleted?: number;
  /** The progress line is repeated at least this often even when nothing changes (default 60 s). */
  heartbeatMs?: number;
  print?: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** Called with every new job id seen in the queue (a hand-submitted job), so the caller can record it. */
  onJobSeen?: (jobId: string, tasks: number[]) => Promise<void> | void;
}

export interface FollowResult {
  done: number[];
  failed: FailedUnit[];
  elapsedS: number;
}

type Phase = "queued" | "running" | "done" | "failed";

/** For each task id, the entry of the newest job that lists it (a resubmitted task has one entry per job). */
function byTask(entries: QueueEntry[], jobOrder: string[]): Map<number, QueueEntry> {
  const rank = (id: string) => {
    const k = jobOrder.indexOf(id);
    return k < 0 ? Number(id) : 1e12 + k; // known jobs in their order; others (adopted) by id
  };
  const m = new Map<number, QueueEntry>();
  for (const e of entries) {
    if (e.taskId === null) continue;
    const prev = m.get(e.taskId);
    if (!prev || rank(e.arrayJobId) >= rank(prev.arrayJobId)) m.set(e.taskId, e);
  }
  return m;
}

/** Polls Slurm until no unit is queued or running; prints a line per change and the progress line. */
export async function followArray(opts: FollowOptions): Promise<FollowResult> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = opts.now ?? (() => performance.now());
  const pollMs = opts.pollMs ?? 10_000;
  const heartbeatMs = opts.heartbeatMs ?? 60_000;
  const graceCompleted = opts.graceCompleted ?? 3;
  const t0 = now();
  const jobOrder = [...opts.jobIds];
  const phase = new Map<number, Phase>();
  const ran = new Map<number, number>();
  const grace = new Map<number, number>();
  const failed: FailedUnit[] = [];
  let lastLine = -Infinity;

  const counts = (): PoolCounts => {
    const c: PoolCounts = { queued: 0, running: 0, done: 0, failed: 0 };
    for (const u of opts.units) c[phase.get(u.index) ?? "queued"]++;
    return c;
  };
  const progress = () => {
    print(formatPoolProgress(opts.what, counts(), (now() - t0) / 1000));
    lastLine = now();
  };

  for (;;) {
    const entries = await opts.slurm.queue(jobOrder, opts.script);
    for (const e of entries) {
      if (!jobOrder.includes(e.arrayJobId)) {
        jobOrder.push(e.arrayJobId);
        const tasks = entries.filter((x) => x.arrayJobId === e.arrayJobId && x.taskId !== null).map((x) => x.taskId!);
        await opts.onJobSeen?.(e.arrayJobId, tasks);
      }
    }
    const inQueue = byTask(entries, jobOrder);
    let changed = false;
    let endedRecords: Awaited<ReturnType<SlurmClient["ended"]>> | undefined;
    for (const u of opts.units) {
      const before = phase.get(u.index);
      if (before === "done" || before === "failed") continue;
      const e = inQueue.get(u.index);
      if (e && e.phase !== "ended") {
        ran.set(u.index, e.elapsedS);
        const p: Phase = e.phase;
        if (p !== before) {
          phase.set(u.index, p);
          changed = true;
          if (p === "running") {
            print(`${u.label}: running on ${e.where} (job ${e.arrayJobId}_${u.index}, log ${u.log})`);
          }
        }
        continue;
      }
      if (await opts.isFinished(u.index)) {
        phase.set(u.index, "done");
        changed = true;
        const secs = ran.get(u.index);
        print(`${u.label}: done${secs !== undefined && Number.isFinite(secs) ? ` (ran ${formatDuration(secs)})` : ""}`);
        continue;
      }
      endedRecords ??= await opts.slurm.ended(jobOrder);
      const rec = endRecordFor(endedRecords, jobOrder, u.index);
      const g = grace.get(u.index) ?? 0;
      if (rec && /^COMPLETED/.test(rec.state) && g < graceCompleted) {
        grace.set(u.index, g + 1); // its files may not be visible here yet
        continue;
      }
      phase.set(u.index, "failed");
      changed = true;
      const reason = rec
        ? /^COMPLETED/.test(rec.state)
          ? `${describeRecord(rec)}, but its output is not complete on disk`
          : describeRecord(rec)
        : "left the queue without finishing (Slurm keeps no record of it here)";
      failed.push({ ...u, reason });
      print(`${u.label}: FAILED (${reason}), see ${u.log}`);
    }
    const c = counts();
    if (changed || now() - lastLine >= heartbeatMs) progress();
    if (c.queued + c.running === 0) break;
    await sleep(pollMs);
  }
  const done = opts.units.filter((u) => phase.get(u.index) === "done").map((u) => u.index);
  return { done, failed, elapsedS: (now() - t0) / 1000 };
}
