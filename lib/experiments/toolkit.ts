/**
 * The toolkit's modules as the experiments use them: training a run resumably, loading its models, scoring them, and
 * reaching optional modules (datasets that may be absent) through `libModule`, which turns a missing file into
 * `NotImplementedYet` naming it, so an experiment reports "not implemented yet" instead of crashing `reproduce`.
 */
import { join } from "node:path";
import type { GanConfig } from "../config/gan.ts";
import type { GroundTruthData } from "../data/ground_truth.ts";
import { train, type TrainingData } from "../train/trainer.ts";
import { hasCheckpoint } from "../train/checkpoint.ts";
import { memberStatus } from "../selection/pool.ts";
import { sameConfig } from "./pretrained.ts";
import type { Encoder, TrainedModel } from "../models/capabilities.ts";
import { loadTrainedModel } from "../models/load.ts";
import { evaluateMetrics, type MetricsResult } from "../metrics/evaluate.ts";
import type { MetricName } from "../metrics/protocols.ts";
import { framesToGif, imagesToPng } from "../viz/grid.ts";
import { readJsonIfExists, writeJsonAtomic } from "../io/atomic.ts";
import { NotImplementedYet, type Profile } from "./context.ts";
import { METRIC_COLUMNS, type MetricKey } from "./paper_tables.ts";

/** Imports a module of lib/ by its path relative to lib/, or throws NotImplementedYet when the file is missing. */
export async function libModule<T>(relToLib: string, what: string): Promise<T> {
  const url = new URL(`../${relToLib}`, import.meta.url);
  try {
    await Deno.stat(url);
  } catch {
    throw new NotImplementedYet(`${what} (lib/${relToLib} is not in the toolkit)`);
  }
  return (await import(url.href)) as T;
}

export type Dataset = GroundTruthData & TrainingData;

/** A dataset by name, as lib/data/registry.ts gives it (dSprites falls back to its own module). */
export async function loadDataset(
  name: "dsprites" | "teapots" | "celeba",
  opts?: Record<string, unknown>,
): Promise<Dataset> {
  let data: unknown;
  try {
    const reg = await libModule<{ datasetByName(n: string, o?: unknown): unknown }>(
      "data/registry.ts",
      "dataset registry",
    );
    data = await reg.datasetByName(name, opts);
  } catch (e) {
    if (!(e instanceof NotImplementedYet) || name !== "dsprites") throw e;
    const mod = await libModule<{ DSprites: new () => unknown }>("data/dsprites.ts", "dSprites dataset");
    data = new mod.DSprites();
  }
  const d = data as Partial<Dataset>;
  if (typeof d.images !== "function" || typeof d.size !== "number" || !d.imageShape) {
    throw new Error(`dataset ${name} lacks size, imageShape or images(indices)`);
  }
  return d as Dataset;
}

/**
 * Trains (or finishes) the run in `runDir`. The trainer's own checkpoint makes this resumable: a run interrupted
 * mid-way continues from its last checkpoint, and a finished run returns at once. Returns the completed iterations.
 */
export async function ensureTrained(
  config: GanConfig,
  runDir: string,
  data: TrainingData,
  opts: { progress?: boolean } = {},
): Promise<number> {
  // A finished run (e.g. trained by `reproduce --parallel` in a subprocess) is not reopened: building a trainer only to
  // find nothing to do costs seconds and needs the optimiser state.
  const st = await memberStatus(runDir);
  if (st.state === "done" && st.iteration === config.iterations && st.iterations === config.iterations) {
    const onDisk = await readJsonIfExists(join(runDir, "config.json"));
    if (sameConfig(onDisk, config)) return st.iteration;
  }
  const resume = await hasCheckpoint(join(runDir, "checkpoint"));
  const trainer = await train(config, runDir, { data, resume, progress: opts.progress ?? true });
  const it = trainer.iteration;
  trainer.dispose();
  return it;
}

/** The trained model of a finished run (caller disposes). */
export async function loadRunModel(runDir: string): Promise<TrainedModel> {
  return await loadTrainedModel(runDir);
}

/**
 * The folder (relative to the run) of the "InfoGAN (modified)" snapshot the trainer saves just before CR switches on,
 * e.g. `snapshots/before-cr-1500`, or null when the run has none.
 */
export async function snapshotBeforeCr(runDir: string): Promise<string | null> {
  let snap: string | null = null;
  try {
    for await (const e of Deno.readDir(join(runDir, "snapshots"))) {
      if (e.isDirectory && e.name.startsWith("before-cr-")) snap = e.name;
    }
  } catch {
    return null;
  }
  return snap ? `snapshots/${snap}` : null;
}

/** The model of `snapshotBeforeCr`, or null when the run has none. */
export async function loadSnapshotBeforeCr(runDir: string): Promise<TrainedModel | null> {
  const sub = await snapshotBeforeCr(runDir);
  return sub ? await loadTrainedModel(runDir, { checkpoint: sub }) : null;
}

/** Reads a run's log.jsonl into rows (NaN losses were written as null). */
export async function readTrainingLog(runDir: string): Promise<Record<string, number | null>[]> {
  const text = await Deno.readTextFile(join(runDir, "log.jsonl"));
  return text.split("\n").filter((l) => l.trim() !== "").map((l, i) => {
    try {
      return JSON.parse(l);
    } catch {
      throw new Error(`${join(runDir, "log.jsonl")} line ${i + 1} is not JSON`);
    }
  });
}

/**
 * The seven metrics (or `opts.metrics`) of an encoder on a ground-truth dataset, infogan-cr protocol at the profile's sample sizes, with
 * the metric randomness from `seed` (use the same seed for models that are compared). The full typed result is
 * written to `saveTo` when given (a run folder's metrics.json), with the scored checkpoint's iteration when given.
 */
export async function scoreModel(
  encoder: Encoder,
  data: GroundTruthData,
  seed: number,
  profile: Profile,
  opts: { backend?: string; saveTo?: string; metrics?: MetricName[]; checkpointIteration?: number } = {},
): Promise<Partial<Record<MetricKey, number>>> {
  const result = await evaluateMetrics(data, encoder, {
    protocol: "infogan-cr",
    profile,
    seed,
    backend: opts.backend,
    metrics: opts.metrics,
  });
  if (opts.checkpointIteration !== undefined) result.checkpointIteration = opts.checkpointIteration;
  if (opts.saveTo) await writeJsonAtomic(opts.saveTo, result);
  return pickScores(result.scores as Record<string, number | undefined>);
}

/** What a saved metrics file must match to be reused instead of scoring again. */
export interface ScoreRequest {
  seed: number;
  profile: Profile;
  /** The iteration of the checkpoint to be scored; a file without one, or with another, is stale. */
  checkpointIteration: number | undefined;
  /** The metrics asked for, or undefined for all seven. */
  metrics?: readonly string[];
}

/**
 * The scores of a saved metrics file (infogan-cr protocol) when it answers `req`: same evaluation seed, profile and
 * metrics, and the same checkpoint iteration (a folder trained further since must be scored again). Else null.
 */
export function reusableScores(previous: unknown, req: ScoreRequest): Partial<Record<MetricKey, number>> | null {
  if (!previous || typeof previous !== "object") return null;
  const p = previous as Partial<MetricsResult>;
  if (p.seed !== req.seed || p.profile !== req.profile || p.protocol !== "infogan-cr" || !p.scores) return null;
  if (req.checkpointIteration === undefined || p.checkpointIteration !== req.checkpointIteration) return null;
  const had = Array.isArray(p.metrics) ? [...p.metrics].sort().join(",") : "";
  if (req.metrics ? had !== [...req.metrics].sort().join(",") : p.metrics?.length !== METRIC_COLUMNS.length) {
    return null;
  }
  return pickScores(p.scores as Record<string, number | undefined>);
}

/** The paper's seven columns out of a metrics result's `scores` (finite values only; a missing metric stays absent). */
export function pickScores(scores: Record<string, number | undefined | null>): Partial<Record<MetricKey, number>> {
  const out: Partial<Record<MetricKey, number>> = {};
  for (const c of METRIC_COLUMNS) {
    const v = scores[c.key];
    if (typeof v === "number" && Number.isFinite(v)) out[c.key] = v;
  }
  return out;
}

export { framesToGif, imagesToPng };
