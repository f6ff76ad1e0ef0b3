/**
 * The unit of work of the GAN experiments: train one InfoGAN-CR run, score its "InfoGAN (modified)" snapshot (the model
 * just before CR switches on, paper-facts §0.1) and its final model with the seven metrics, and draw its traversals.
 * Each piece is a resumable step of the experiment context.
 */
import * as tf from "@tensorflow/tfjs";
import { alphaSwitchIteration, type GanConfig } from "../config/gan.ts";
import type { TrainingData } from "../train/trainer.ts";
import { join } from "node:path";
import { jsonKey } from "../io/canonical_json.ts";
import type { Generator } from "../models/capabilities.ts";
import { Rng } from "../rng.ts";
import type { ReportFigure } from "../report/types.ts";
import { lineChart } from "../viz/charts.ts";
import { liveChart } from "../viz/display.ts";
import { codeSweepFrames, traversalGrid, traversalRange, traversalValues } from "../viz/traversal.ts";
import type { ExperimentContext } from "./context.ts";
import {
  type Dataset,
  ensureTrained,
  framesToGif,
  imagesToPng,
  readTrainingLog,
  reusableScores,
  scoreModel,
  snapshotBeforeCr,
} from "./toolkit.ts";
import { loadTrainedModel } from "../models/load.ts";
import { checkpointIteration } from "../train/checkpoint.ts";
import { readJsonIfExists } from "../io/atomic.ts";
import { withDataSource } from "../data/source.ts";
import { readTrainWall } from "./parallel_train.ts";
import type { Scores } from "./tables.ts";

export interface GanRunResult {
  name: string;
  seed: number;
  runDir: string;
  iterations: number;
  /** Iteration at which CR switched on (null: never, e.g. plain InfoGAN). */
  crSwitch: number | null;
  /** Metrics of the snapshot just before CR (the "InfoGAN (modified)" row), null when the run has no snapshot. */
  before: Scores | null;
  /** Metrics of the final model. */
  after: Scores;
  trainWallS: number;
  evalWallS: number;
}

/** The iteration at which CR switches on (null: never), from the config's alpha schedule. */
export function crSwitchIteration(cfg: GanConfig): number | null {
  return alphaSwitchIteration(cfg);
}

/**
 * Trains `cfg` into run `name` (resumable), then evaluates the pre-CR snapshot and the final model on `data` with the
 * metric randomness seeded by `evalSeed` (the same for every model, so all are scored on the same samples).
 */
export async function trainAndEvaluate(
  ctx: ExperimentContext,
  requested: GanConfig,
  name: string,
  data: Dataset,
  evalSeed: number,
): Promise<GanRunResult> {
  // A run on a data file (the original dSprites) records it, so it never passes for a shipped run on built-in images.
  const cfg = withDataSource(requested, data);
  const shipped = ctx.shippedRun(name, cfg);
  const runDir = shipped ?? ctx.runDir(name);
  if (shipped) ctx.log(`using the shipped model ${shipped} (set IGCR_TRAIN=1 to train it from scratch)`);
  const key = await jsonKey(cfg);
  const train = await ctx.step(`train-${name}${shipped ? "-shipped" : ""}`, async () => {
    if (shipped) return { iterations: cfg.iterations, wallS: (await readTrainWall(shipped))?.seconds ?? 0 };
    const t0 = performance.now();
    const iterations = ctx.display
      ? await trainWithLivePlot(cfg, runDir, data, `Training ${name}`)
      : await ensureTrained(cfg, runDir, data);
    // Trained by `reproduce --parallel` before this step: its subprocess recorded what the training took.
    const recorded = await readTrainWall(runDir);
    return { iterations, wallS: recorded?.seconds ?? (performance.now() - t0) / 1000 };
  }, key);
  const evaluated = await ctx.step(`eval-${name}${shipped ? "-shipped" : ""}`, async () => {
    const t0 = performance.now();
    const score = async (sub: string, file: string) => {
      // A shipped model's folder is read-only data: scores at other sizes go to the context's own run folder.
      const saveTo = join(shipped ? ctx.runDir(name) : runDir, file);
      const iteration = await checkpointIteration(join(runDir, sub));
      // Another experiment may have scored this shared run already, with the same seed, sizes and checkpoint: reuse it.
      for (const candidate of new Set([join(runDir, file), saveTo])) {
        const reused = reusableScores(await readJsonIfExists(candidate), {
          seed: evalSeed,
          profile: ctx.profile,
          checkpointIteration: iteration,
        });
        if (reused) return reused;
      }
      const model = await loadTrainedModel(runDir, sub === "checkpoint" ? {} : { checkpoint: sub });
      try {
        return await scoreModel(model, data, evalSeed, ctx.profile, {
          backend: ctx.backend,
          saveTo,
          checkpointIteration: iteration,
        });
      } finally {
        model.dispose();
      }
    };
    const after = await score("checkpoint", "metrics.json");
    const snap = await snapshotBeforeCr(runDir);
    const before = snap ? await score(snap, "metrics-before-cr.json") : null;
    return { before, after, wallS: (performance.now() - t0) / 1000 };
  }, key);
  return {
    name,
    seed: cfg.seed,
    runDir,
    iterations: train.iterations,
    crSwitch: crSwitchIteration(cfg),
    before: evaluated.before,
    after: evaluated.after,
    trainWallS: train.wallS,
    evalWallS: evaluated.wallS,
  };
}

/**
 * Training in a notebook: the run is trained in about `chunks` resumed pieces (the trainer allows a resumed run to
 * change only `iterations`), and the loss plot is redrawn in place after each piece. The result is the same run as one
 * uninterrupted `train`, because resuming restores weights, optimiser and RNG states exactly.
 */
export async function trainWithLivePlot(
  cfg: GanConfig,
  runDir: string,
  data: TrainingData,
  title: string,
  chunks = 8,
): Promise<number> {
  const live = liveChart("losses");
  const step = Math.max(1, Math.ceil(cfg.iterations / chunks));
  const cr = crSwitchIteration(cfg);
  // Start from where an interrupted run stopped (its log), so no piece asks for fewer iterations than it already has.
  let done = 0;
  try {
    done = Math.min(Number((await readTrainingLog(runDir)).at(-1)?.iter ?? 0), cfg.iterations);
  } catch {
    // no log yet: a new run
  }
  if (done >= cfg.iterations) return await ensureTrained(cfg, runDir, data, { progress: false });
  while (done < cfg.iterations) {
    const target = Math.min(cfg.iterations, done + step);
    done = await ensureTrained({ ...cfg, iterations: target }, runDir, data, { progress: false });
    const rows = await readTrainingLog(runDir);
    if (rows.length > 0) {
      await live.update(lineChart(rows, {
        y: ["d", "g", "h", "d_info", "g_cr"],
        title: `${title}: iteration ${done} of ${cfg.iterations}`,
        xTitle: "iteration",
        yTitle: "loss",
        markers: cr !== null && cr <= done ? [{ x: cr, label: "CR on" }] : [],
      }));
    }
  }
  return done;
}

/** The run's training losses (D, G, and H's contrastive cross-entropy), with the CR switch marked in the title. */
export async function lossFigure(
  ctx: ExperimentContext,
  run: Pick<GanRunResult, "name" | "runDir" | "crSwitch">,
  title: string,
): Promise<ReportFigure> {
  const rows = await readTrainingLog(run.runDir);
  const spec = lineChart(rows, {
    x: "iter",
    y: ["d", "g", "h", "d_info", "g_cr"],
    title,
    yTitle: "loss",
    xTitle: "iteration",
    markers: run.crSwitch === null ? [] : [{ x: run.crSwitch, label: "CR on" }],
  });
  const cr = run.crSwitch === null ? "no CR phase" : `CR switches on at iteration ${run.crSwitch}`;
  return await ctx.chart(
    `losses-${run.name}`,
    spec,
    title,
    `Losses logged every few iterations of run ${run.name} (${cr}): d = D/Q total, g = G total, h = H's cross-entropy ` +
      `on CR pairs (chance is ln 5 = 1.61), d_info = Q's information loss, g_cr = the contrastive term in G's loss.`,
  );
}

/** Upscales a small image grid by an integer factor (nearest neighbour) so 64×64 tiles stay crisp in reports. */
function upscale(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  if (factor === 1) return x.clone();
  return tf.image.resizeNearestNeighbor(x, [x.shape[1] * factor, x.shape[2] * factor]);
}

/**
 * Traversal figures of a generator: one Figure-1 style grid (row i = code i swept over `steps` values) and, when
 * `gifs`, one animated GIF per code showing 8 random images while that code sweeps back and forth. In the smoke profile
 * only the first code gets a GIF: an untrained generator's animations show nothing, and CI time is short.
 */
export async function traversalFigures(
  ctx: ExperimentContext,
  gen: Generator,
  valueRange: [number, number],
  o: { name: string; title: string; seed: number; steps?: number; gifs?: boolean; scale?: number },
): Promise<ReportFigure[]> {
  const values = traversalValues(o.steps ?? 6, ...traversalRange(gen.latent));
  // Latents depend on the seed only, so two models drawn with the same seed are compared on the same inputs.
  const rng = new Rng(o.seed).fork("traversal");
  const t = await traversalGrid(gen, values, rng);
  const scale = o.scale ?? 2;
  const big = tf.tidy(() => upscale(tf.tensor4d(t.images, [t.n, t.h, t.w, t.c]), scale));
  let png: Uint8Array;
  try {
    png = await imagesToPng(big, t.n, t.h * scale, t.w * scale, t.c, { cols: t.cols, pad: 2, valueRange });
  } finally {
    big.dispose();
  }
  const figs = [
    await ctx.image(
      `traversal-${o.name}`,
      png,
      o.title,
      `Row i varies code ci over ${values.map((v) => v.toFixed(1)).join(", ")} with every other input fixed ` +
        `(paper Figure 1 layout). A disentangled code changes one factor along its row.`,
      Math.min(900, t.cols * t.w * scale * 1.5),
    ),
  ];
  if (o.gifs ?? true) {
    // The animation uses 7 values whatever the grid's count: smooth enough, and the frame count stays small.
    const gifValues = traversalValues(7, ...traversalRange(gen.latent));
    const sweep = [...gifValues, ...gifValues.slice(1, -1).reverse()];
    const gifCodes = ctx.profile === "smoke" ? 1 : gen.latent.codes;
    for (let code = 0; code < gifCodes; code++) {
      const frames = await codeSweepFrames(gen, code, sweep, 8, rng.fork(`gif-${code}`));
      const pngs: Uint8Array[] = [];
      // GIFs stay at 1:1 (they are 8 tiles wide and animate; scaling would multiply their size by scale²).
      for (const f of frames) {
        pngs.push(await imagesToPng(f.images, f.n, f.h, f.w, f.c, { cols: 8, pad: 2, valueRange }));
      }
      const gif = await framesToGif(pngs, { delayMs: 250 });
      figs.push(
        await ctx.image(
          `sweep-${o.name}-c${code + 1}`,
          gif,
          `${o.title}: code c${code + 1} animated`,
          `Eight random latents; only code c${code + 1} moves, back and forth over [${gifValues[0]}, ${
            gifValues.at(-1)
          }].`,
          600,
        ),
      );
    }
  }
  return figs;
}
