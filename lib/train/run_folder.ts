/**
 * What the GAN and the VAE training loops share around their trainers (lib/train/trainer.ts, vae_trainer.ts): the run
 * folder (config.json, log.jsonl, checkpoint/), the bookkeeping that makes `--resume` exact (which config keys may
 * change, the log trimmed back to the checkpoint), the loop's cadences (log line, grids, checkpoint, progress line) and
 * the stop on a non-finite loss.
 */
import { hasCheckpoint } from "./checkpoint.ts";
import { Progress } from "./progress.ts";
import { writeTextAtomic } from "../io/atomic.ts";

/** Config keys that may differ between a checkpoint and the run resuming it (lengths and output cadences). */
export const RESUMABLE_CHANGES = new Set(["iterations", "logEvery", "sampleEvery", "checkpointEvery", "snapshotAt"]);

/** Keys outside RESUMABLE_CHANGES whose values differ between two configs, in `a`'s then `b`'s key order. */
export function nonResumableDifferences(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !RESUMABLE_CHANGES.has(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/** A NaN or infinite loss; training stops and leaves the last checkpoint as it was. */
export class NonFiniteLossError extends Error {
  constructor(message: string, readonly loss: string, readonly iteration: number) {
    super(message);
    this.name = "NonFiniteLossError";
  }
}

/** The first loss (in key order) that is not finite, ignoring the keys `skip` names; null when all are finite. */
export function firstNonFinite(
  losses: Record<string, number>,
  skip: (key: string) => boolean = () => false,
): { key: string; value: number } | null {
  for (const [key, value] of Object.entries(losses)) {
    if (!skip(key) && !Number.isFinite(value)) return { key, value };
  }
  return null;
}

/**
 * The folder (relative to the run) of a snapshot named either by its path (`snapshots/iter-500`) or by its name alone
 * (`iter-500`). An unknown one is an error naming the snapshots the run has.
 */
export async function resolveSnapshot(runDir: string, given: string): Promise<string> {
  const name = given.replace(/^\.?\/+/, "").replace(/\/+$/, "");
  const candidates = name.startsWith("snapshots/") ? [name] : [`snapshots/${name}`, name];
  for (const c of candidates) if (await hasCheckpoint(`${runDir}/${c}`)) return c;
  const have: string[] = [];
  try {
    for await (const e of Deno.readDir(`${runDir}/snapshots`)) if (e.isDirectory) have.push(e.name);
  } catch { /* no snapshots folder */ }
  have.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  throw new Error(
    `snapshot "${given}": ${runDir} has no such snapshot (${
      have.length ? `it has ${have.join(", ")}` : "it has no snapshots/ folder"
    })`,
  );
}

/** Refuses to start a fresh run in a folder that already holds a checkpoint. */
export async function refuseOverwrite(runDir: string): Promise<void> {
  if (await hasCheckpoint(`${runDir}/checkpoint`)) {
    throw new Error(`${runDir} already holds a checkpoint: pass --resume to continue it, or choose a new --out`);
  }
}

/**
 * Starts the run's log.jsonl: empty for a fresh run (`resumedAt` null); for a resume, the lines up to the checkpoint's
 * iteration, so that the log reads as one uninterrupted run (the iterations after it will be run again).
 */
export async function startLog(logPath: string, resumedAt: number | null): Promise<void> {
  let text = "";
  if (resumedAt !== null) {
    try {
      text = await Deno.readTextFile(logPath);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  const kept = text.split("\n").filter((l) => l.trim() && (JSON.parse(l) as { iter: number }).iter <= resumedAt!);
  await writeTextAtomic(logPath, kept.map((l) => l + "\n").join(""));
}

/** Writes the run's full config as config.json. */
export async function writeRunConfig(runDir: string, config: unknown): Promise<void> {
  await writeTextAtomic(`${runDir}/config.json`, JSON.stringify(config, null, 2) + "\n");
}

/** The cadences of a run (every config has them). */
export interface Cadence {
  iterations: number;
  logEvery: number;
  sampleEvery: number;
  checkpointEvery: number;
}

export interface LoopSteps<L> {
  /** Completed iterations. */
  iteration(): number;
  /** One iteration; its losses. */
  step(): Promise<L>;
  /** Runs before each step, with the iteration about to run (the GAN's snapshot before CR switches on). */
  beforeStep?(iteration: number): Promise<void>;
  /** The losses as log.jsonl fields (after `iter`, before `time` and `itPerSec`). */
  logFields(losses: L): Record<string, unknown>;
  /** The losses the progress line shows. */
  shown(losses: L): Record<string, number>;
  /** Writes the sample/traversal grids tagged with the iteration; absent = no grids. */
  grids?(tag: string): Promise<void>;
  /** Writes the checkpoint into runDir/checkpoint. */
  save(): Promise<void>;
  /** After each checkpoint. */
  afterCheckpoint?(): Promise<void> | void;
  /** After each iteration, with the seconds since the loop started. */
  afterIteration?(iteration: number, losses: L, elapsedSec: number): void;
}

/**
 * Runs the trainer to `cadence.iterations`: the progress line, a log.jsonl line every `logEvery` iterations and at the
 * end (`{iter, ...losses, time, itPerSec}`, NaN as null), grids every `sampleEvery`, a checkpoint every
 * `checkpointEvery` and at the end.
 */
export async function runLoop<L>(
  runDir: string,
  cadence: Cadence,
  label: string,
  steps: LoopSteps<L>,
  showProgress: boolean,
): Promise<void> {
  const start = steps.iteration();
  const progress = showProgress ? new Progress({ total: cadence.iterations, start, label }) : null;
  const log = await Deno.open(`${runDir}/log.jsonl`, { append: true, create: true });
  const enc = new TextEncoder();
  const t0 = performance.now();
  try {
    while (steps.iteration() < cadence.iterations) {
      await steps.beforeStep?.(steps.iteration());
      const losses = await steps.step();
      const it = steps.iteration();
      const last = it === cadence.iterations;
      const elapsed = (performance.now() - t0) / 1000;
      progress?.update(it, steps.shown(losses));
      if (it % cadence.logEvery === 0 || last) {
        const line = {
          iter: it,
          ...steps.logFields(losses),
          time: Date.now() / 1000,
          itPerSec: (it - start) / elapsed,
        };
        await log.write(enc.encode(JSON.stringify(line, (_k, v) => Number.isNaN(v) ? null : v) + "\n"));
      }
      if (steps.grids && (it % cadence.sampleEvery === 0 || last)) {
        await steps.grids(`iter-${String(it).padStart(7, "0")}`);
      }
      if (it % cadence.checkpointEvery === 0 || last) {
        await steps.save();
        await steps.afterCheckpoint?.();
      }
      steps.afterIteration?.(it, losses, elapsed);
    }
  } finally {
    log.close();
    progress?.done();
  }
}
