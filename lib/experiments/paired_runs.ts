/**
 * The paired design of claim 1 (Table 1): per seed, the InfoGAN phase is trained once, then two arms are branched from
 * its last checkpoint (lib/train/branch.ts) and trained for the same number of iterations: the CR arm (InfoGAN-CR, the
 * preset's run) and the control arm (the same run with CR off: InfoGAN continued). The arms share weights, optimiser
 * state, data order and main latents at the branch point and draw the same batches and latents afterwards, so their
 * difference is the regularizer's effect, not more training. The phase's last checkpoint is also the paper's own
 * comparison, "InfoGAN (modified)": the snapshot just before CR switches on.
 *
 * Runs: `dsprites-infogan-phase-seedN` (InfoGAN to the branch point), `dsprites-infogan-cr-seedN` (the CR arm, which
 * equals an uninterrupted preset run, snapshot included) and `dsprites-infogan-control-seedN`. The CR arms are also the
 * InfoGAN-CR pool of claim 2.
 */
import { join } from "node:path";
import { jsonKey } from "../io/canonical_json.ts";
import { alphaSwitchIteration, type GanConfig, parseGanConfig, presetFor } from "../config/gan.ts";
import { claimsPlan } from "../config/claims.ts";
import { readJsonIfExists } from "../io/atomic.ts";
import type { MetricName } from "../metrics/protocols.ts";
import { loadTrainedModel } from "../models/load.ts";
import { branchRun } from "../train/branch.ts";
import { checkpointIteration } from "../train/checkpoint.ts";
import { withDataSource } from "../data/source.ts";
import type { ExperimentContext, Profile } from "./context.ts";
import { trainWithLivePlot } from "./gan_runs.ts";
import { readTrainWall, type RunJob } from "./parallel_train.ts";
import type { Scores } from "./tables.ts";
import { type Dataset, ensureTrained, reusableScores, scoreModel } from "./toolkit.ts";

/** Metric sampling seed shared by every model, so all are scored on the same factor draws. */
export const EVAL_SEED = 20200;

export type Arm = "phase" | "cr" | "control";
export const ARM_LABEL: Record<Arm, string> = {
  phase: "InfoGAN at the branch point",
  cr: "CR arm (InfoGAN-CR)",
  control: "control arm (InfoGAN continued)",
};

export function phaseRunName(seed: number): string {
  return `dsprites-infogan-phase-seed${seed}`;
}
/** The CR arm: the same name as a plain preset run, which it equals bit for bit. */
export function crRunName(seed: number): string {
  return `dsprites-infogan-cr-seed${seed}`;
}
export function controlRunName(seed: number): string {
  return `dsprites-infogan-control-seed${seed}`;
}
export function armRunName(arm: Arm, seed: number): string {
  return arm === "phase" ? phaseRunName(seed) : arm === "cr" ? crRunName(seed) : controlRunName(seed);
}

export interface PairedConfigs {
  /** InfoGAN (alpha 0) up to the branch point. */
  phase: GanConfig;
  /** The dSprites preset: CR on from the branch point. */
  cr: GanConfig;
  /** The preset with CR off. */
  control: GanConfig;
  /** The iteration at which both arms start (the preset's CR switch). */
  branchAt: number;
}

/** The three configs of one seed. Curve seeds keep snapshots at the plan's iterations (each run those in its range). */
export function pairedConfigs(profile: Profile, seed: number): PairedConfigs {
  const base = presetFor("dsprites", profile, { model: "infogan-cr", seed });
  const branchAt = alphaSwitchIteration(base);
  if (branchAt === null || branchAt === 0) {
    throw new Error(`the dSprites ${profile} preset has no InfoGAN phase to branch from (CR switch ${branchAt})`);
  }
  const plan = claimsPlan(profile);
  const snaps = plan.curveSeeds.includes(seed) ? plan.snapshotAt : [];
  // The branch point and the end are scored as the runs' final models; snapshots there would be duplicates.
  const before = snaps.filter((it) => it < branchAt);
  const after = snaps.filter((it) => it > branchAt && it < base.iterations);
  const withSnaps = (c: Record<string, unknown>, s: number[]) => parseGanConfig(s.length ? { ...c, snapshotAt: s } : c);
  return {
    phase: withSnaps({ ...base, model: "infogan", iterations: branchAt }, before),
    cr: withSnaps({ ...base }, after),
    control: withSnaps({ ...base, model: "infogan" }, after),
    branchAt,
  };
}

/**
 * The runs of the paired design for `reproduce --parallel`: every phase first, then the CR arms (the longer ones),
 * then the control arms, so the last runs to finish are short.
 */
export function pairedJobs(profile: Profile, seeds = claimsPlan(profile).seeds): RunJob[] {
  const cfgs = seeds.map((s) => ({ seed: s, ...pairedConfigs(profile, s) }));
  return [
    ...cfgs.map((c) => ({ name: phaseRunName(c.seed), config: c.phase })),
    ...cfgs.map((c) => ({
      name: crRunName(c.seed),
      config: c.cr,
      branch: { from: phaseRunName(c.seed), at: c.branchAt },
    })),
    ...cfgs.map((c) => ({
      name: controlRunName(c.seed),
      config: c.control,
      branch: { from: phaseRunName(c.seed), at: c.branchAt },
    })),
  ];
}

/**
 * Scores a run folder's model (or one of its checkpoints) with the infogan-cr protocol at the context's profile sizes,
 * writing `<runDir>/<file>`; a file already there with the same seed, profile, protocol, metrics and checkpoint iteration
 * is reused (another experiment of the report may have scored the same run).
 */
export async function scoreRunFile(
  ctx: ExperimentContext,
  runDir: string,
  file: string,
  data: Dataset,
  opts: { seed?: number; checkpoint?: string; metrics?: MetricName[] } = {},
): Promise<Scores> {
  const seed = opts.seed ?? EVAL_SEED;
  const path = join(runDir, file);
  const checkpoint = opts.checkpoint ?? "checkpoint";
  const iteration = await checkpointIteration(join(runDir, checkpoint));
  const reused = reusableScores(await readJsonIfExists(path), {
    seed,
    profile: ctx.profile,
    checkpointIteration: iteration,
    metrics: opts.metrics,
  });
  if (reused) return reused;
  const model = await loadTrainedModel(runDir, opts.checkpoint ? { checkpoint: opts.checkpoint } : {});
  try {
    return await scoreModel(model, data, seed, ctx.profile, {
      backend: ctx.backend,
      saveTo: path,
      metrics: opts.metrics,
      checkpointIteration: iteration,
    });
  } finally {
    model.dispose();
  }
}

/** Trains `cfg` into `ctx.runDir(name)` (resumable), branching it from `branch` first when given. */
async function trainRun(
  ctx: ExperimentContext,
  name: string,
  requested: GanConfig,
  data: Dataset,
  branch?: { from: string; at: number },
  live = false,
): Promise<number> {
  // A run on a data file (the original dSprites) records it in its config, as `reproduce --parallel` writes it.
  const cfg = withDataSource(requested, data);
  return await ctx.step(`train-${name}`, async () => {
    const t0 = performance.now();
    const dir = ctx.runDir(name);
    if (branch) await branchRun(ctx.runDir(branch.from), dir, cfg, branch.at);
    if (live && ctx.display) await trainWithLivePlot(cfg, dir, data, `Training ${name}`);
    else await ensureTrained(cfg, dir, data);
    // Trained by `reproduce --parallel` before this step: its subprocess recorded what the training took.
    return (await readTrainWall(dir))?.seconds ?? (performance.now() - t0) / 1000;
  }, await jsonKey(cfg));
}

/** The key of steps that score a seed's three runs: their configs as trained on `data`. */
export async function pairedKey(profile: Profile, seed: number, data: Dataset): Promise<string> {
  const c = pairedConfigs(profile, seed);
  return await jsonKey([c.phase, c.cr, c.control].map((cfg) => withDataSource(cfg, data)));
}

export interface PairedSeed {
  seed: number;
  branchAt: number;
  iterations: number;
  /** The phase's last model: the paper's "InfoGAN (modified)" (the snapshot just before CR). */
  before: Scores;
  cr: Scores;
  control: Scores;
  trainWallS: Record<Arm, number>;
  evalWallS: number;
}

/** Trains (resumably) and scores the three runs of every seed of the plan. */
export async function pairedRuns(ctx: ExperimentContext, data: Dataset, seeds?: number[]): Promise<PairedSeed[]> {
  const out: PairedSeed[] = [];
  for (const [k, seed] of (seeds ?? claimsPlan(ctx.profile).seeds).entries()) {
    const c = pairedConfigs(ctx.profile, seed);
    const branch = { from: phaseRunName(seed), at: c.branchAt };
    // In a notebook, the first seed's runs train under a live loss plot.
    const trainWallS: Record<Arm, number> = {
      phase: await trainRun(ctx, phaseRunName(seed), c.phase, data, undefined, k === 0),
      cr: await trainRun(ctx, crRunName(seed), c.cr, data, branch, k === 0),
      control: await trainRun(ctx, controlRunName(seed), c.control, data, branch, k === 0),
    };
    const evaluated = await ctx.step(`eval-paired-seed${seed}`, async () => {
      const t0 = performance.now();
      const before = await scoreRunFile(ctx, ctx.runDir(phaseRunName(seed)), "metrics.json", data);
      const cr = await scoreRunFile(ctx, ctx.runDir(crRunName(seed)), "metrics.json", data);
      const control = await scoreRunFile(ctx, ctx.runDir(controlRunName(seed)), "metrics.json", data);
      return { before, cr, control, wallS: (performance.now() - t0) / 1000 };
    }, await pairedKey(ctx.profile, seed, data));
    out.push({
      seed,
      branchAt: c.branchAt,
      iterations: c.cr.iterations,
      before: evaluated.before,
      cr: evaluated.cr,
      control: evaluated.control,
      trainWallS,
      evalWallS: evaluated.wallS,
    });
  }
  return out;
}
