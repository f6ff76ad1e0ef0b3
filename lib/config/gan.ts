/**
 * Every hyperparameter of an InfoGAN-CR / InfoGAN run, validated by zod (strict: an unknown key is an error naming it),
 * and the presets per dataset x profile.
 *
 * Profiles:
 * - `paper`: the released configs [IGCR `InfoGAN-CR_<dataset>/config.py`], paper-facts §2–4.
 * - `cpu`: a reduced run for 2 CPU cores that still shows both phases of the paper's recipe (an InfoGAN phase, then CR
 *   switched on with H re-initialised) and lets `reproduce` train a pool of 8 dSprites models in about an hour (two
 *   runs at a time, one wasm thread each: 0.35 s per InfoGAN iteration and 0.78 s per CR iteration at batch 32).
 *   What differs from `paper`, and why (see CPU_INFO_WEIGHT and CPU_BATCH):
 *   - batch 32 instead of 64 (128 for CelebA): half the cost per iteration;
 *   - lambda = 1 on every dataset instead of 0.05 / 0.2 / 2: with the paper's 0.05, a 1,500-iteration dSprites probe
 *     ended with Q no better than chance at recovering the codes (info loss 5.44 of 5.43 for a constant guess) and
 *     FactorVAE 0.46; with lambda = 1 the same run reached FactorVAE 0.63 and MIG 0.12 (cpu metric sizes);
 *   - the CR gap 1.9 on dSprites and 3DTeapots for the whole CR phase (CPU_GAP): with the paper's gap 0 a fresh H
 *     stays at chance for longer than a cpu run's CR phase;
 *   - lengths: dSprites 2,000 iterations, CR from 1,500 (the paired design of lib/experiments/paired_runs.ts trains
 *     the InfoGAN phase to 1,500 and both arms to 2,000); teapots 1,200 (CR from 600); CelebA 400 (CR from 300). The
 *     paper: 322,560 / 125,000 / 90,174. Budget of `reproduce --profile cpu`: docs/training.md#profiles.
 *   H is not trained while alpha = 0: H is reset when CR turns on, so that training is discarded in the paper too, and
 *   skipping it halves the InfoGAN phase's cost. Rates, Adam betas, alpha and the architectures are the paper's.
 * - `smoke`: a few iterations at batch 8, for tests and CI.
 */
import { z } from "zod";
import type { GanDataset } from "../models/infogan_cr.ts";
import { DataSourceRecord } from "../data/source.ts";

export const Profile = z.enum(["smoke", "cpu", "paper"]);
export type Profile = z.infer<typeof Profile>;

export const GanModelName = z.enum(["infogan-cr", "infogan"]);
export type GanModelName = z.infer<typeof GanModelName>;

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();

/** alpha(it) = start + increase * min(times, floor(it / every)) [IGCR cr_coe_start/increase/increase_batch/times]. */
export const AlphaSchedule = z.object({
  start: z.number().nonnegative(),
  increase: z.number().nonnegative(),
  every: posInt,
  times: nonNegInt,
}).strict();

/** gap(it) = max(0, start - decrease * min(times, floor(it / every))) [IGCR gap_start/decrease/decrease_batch/times]. */
export const GapSchedule = z.object({
  start: z.number().min(0).max(2),
  decrease: z.number().nonnegative(),
  every: posInt,
  times: nonNegInt,
}).strict();

export const GanConfig = z.object({
  kind: z.literal("gan"),
  model: GanModelName,
  dataset: z.enum(["dsprites", "teapots", "celeba"]),
  profile: Profile,
  seed: z.number().int(),
  batchSize: posInt,
  iterations: posInt,
  /** Unregularised noise inputs of G; absent = the paper's (5 for dSprites and 3DTeapots, 100 for CelebA). */
  noiseDims: nonNegInt.optional(),
  /** lambda: weight of the information loss, for G and for D/Q. */
  infoWeight: z.number().nonnegative(),
  /** alpha: weight of the contrastive loss in G's objective (forced to 0 for model "infogan"). */
  alpha: AlphaSchedule,
  gap: GapSchedule,
  lr: z.object({ g: z.number().positive(), d: z.number().positive(), h: z.number().positive() }).strict(),
  adam: z.object({ beta1: z.number().min(0).lt(1), beta2: z.number().min(0).lt(1), epsilon: z.number().positive() })
    .strict(),
  /** G steps per iteration (2 in the paper). */
  gSteps: posInt,
  /** Train H while alpha = 0 (the paper does; H is reset when CR turns on, so it only costs time). */
  trainHWhileAlphaZero: z.boolean(),
  /** Iterations between log.jsonl lines, sample/traversal grids and checkpoints. */
  logEvery: posInt,
  sampleEvery: posInt,
  checkpointEvery: posInt,
  /**
   * Iterations at which to keep a full checkpoint in `snapshots/iter-N/` (0 = the initial weights), e.g. log-spaced
   * for a learning curve. Absent: none.
   */
  snapshotAt: z.array(nonNegInt).optional(),
  /** The data file the run trains on (the original dSprites archive); absent = the toolkit's own images. */
  data: DataSourceRecord.optional(),
}).strict();
export type GanConfig = z.infer<typeof GanConfig>;

/** Validates a config object; errors name every offending key path. */
export function parseGanConfig(raw: unknown): GanConfig {
  const r = GanConfig.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const path = i.path.join(".") || "(root)";
      if (i.code === "unrecognized_keys") {
        const keys = (i as { keys: string[] }).keys;
        return `unknown key${keys.length > 1 ? "s" : ""} ${
          keys.map((k) => `"${path === "(root)" ? k : `${path}.${k}`}"`).join(", ")
        }`;
      }
      return `${path}: ${i.message}`;
    });
    throw new Error(`invalid GAN config: ${lines.join("; ")}`);
  }
  return r.data;
}

/** The contrastive weight alpha at iteration `it` (0-based); always 0 for plain InfoGAN. */
export function alphaAt(cfg: Pick<GanConfig, "alpha" | "model">, it: number): number {
  if (cfg.model === "infogan") return 0;
  const a = cfg.alpha;
  return a.start + a.increase * Math.min(a.times, Math.floor(it / a.every));
}

/** The CR gap at iteration `it`. */
export function gapAt(cfg: Pick<GanConfig, "gap">, it: number): number {
  const g = cfg.gap;
  return Math.max(0, g.start - g.decrease * Math.min(g.times, Math.floor(it / g.every)));
}

/** The first iteration at which alpha becomes positive (the "InfoGAN (modified)" snapshot is taken just before it). */
export function alphaSwitchIteration(cfg: Pick<GanConfig, "alpha" | "model" | "iterations">): number | null {
  if (cfg.model === "infogan") return null;
  for (let k = 0; k <= cfg.alpha.times; k++) {
    const it = k * cfg.alpha.every;
    if (it < cfg.iterations && alphaAt(cfg, it) > 0) return it;
  }
  return null;
}

type Base = Omit<GanConfig, "model" | "seed" | "profile">;

/** The `cpu` profile's batch size (the paper: 64, CelebA 128). */
export const CPU_BATCH = 32;
/** The `cpu` profile's information weight lambda (the paper: 0.05 dSprites, 0.2 3DTeapots, 2 CelebA). */
export const CPU_INFO_WEIGHT = 1.0;
/**
 * The `cpu` profile's CR gap on dSprites and 3DTeapots, constant over the run (the paper: 0 on dSprites; 1.9 then 0 on
 * 3DTeapots). Measured on a trained cpu-profile dSprites generator (iteration 1,500), training a fresh H alone for 200
 * steps at the paper's rate: with gap 0 its cross-entropy stayed at chance (1.610 = ln 5 after 200 steps; 1.607 after
 * 500 CR iterations of a full run), with gap 1.9 it fell to 0.03. A CR term whose H is at chance only adds noise.
 */
export const CPU_GAP = { start: 1.9, decrease: 0, every: 1, times: 0 };

const PAPER: Record<GanDataset, Base> = {
  dsprites: {
    kind: "gan",
    dataset: "dsprites",
    batchSize: 64,
    iterations: 322_560, // 28 epochs x 11,520
    infoWeight: 0.05,
    alpha: { start: 0, increase: 2, every: 288_000, times: 1 },
    gap: { start: 0, decrease: 0, every: 1, times: 0 },
    lr: { g: 1e-3, d: 2e-3, h: 2e-3 },
    adam: { beta1: 0.5, beta2: 0.999, epsilon: 1e-8 }, // TF's Adam defaults for beta2 and epsilon
    gSteps: 2,
    trainHWhileAlphaZero: true,
    logEvery: 100,
    sampleEvery: 11_520,
    checkpointEvery: 11_520,
  },
  teapots: {
    kind: "gan",
    dataset: "teapots",
    batchSize: 64,
    iterations: 125_000,
    infoWeight: 0.2,
    alpha: { start: 0, increase: 3, every: 50_000, times: 1 },
    gap: { start: 1.9, decrease: 1.9, every: 85_000, times: 1 },
    lr: { g: 1e-3, d: 2e-3, h: 2e-3 },
    adam: { beta1: 0.5, beta2: 0.999, epsilon: 1e-8 },
    gSteps: 2,
    trainHWhileAlphaZero: true,
    logEvery: 100,
    sampleEvery: 3_125,
    checkpointEvery: 3_125,
  },
  celeba: {
    kind: "gan",
    dataset: "celeba",
    batchSize: 128,
    iterations: 90_174,
    infoWeight: 2.0,
    alpha: { start: 0, increase: 1, every: 80_000, times: 1 },
    gap: { start: 0, decrease: 0, every: 1, times: 0 },
    lr: { g: 2e-3, d: 2e-4, h: 2e-4 },
    adam: { beta1: 0.5, beta2: 0.999, epsilon: 1e-8 },
    gSteps: 2,
    trainHWhileAlphaZero: true,
    logEvery: 100,
    sampleEvery: 1_582,
    checkpointEvery: 1_582,
  },
};

function cpu(dataset: GanDataset): Base {
  const p = PAPER[dataset];
  const common = {
    trainHWhileAlphaZero: false,
    batchSize: CPU_BATCH,
    infoWeight: CPU_INFO_WEIGHT,
    logEvery: 25,
    sampleEvery: 250,
    checkpointEvery: 250,
  };
  switch (dataset) {
    case "dsprites":
      return { ...p, ...common, iterations: 2_000, alpha: { ...p.alpha, every: 1_500 }, gap: CPU_GAP };
    case "teapots":
      // InfoGAN, then CR with the gap (the paper's first stage of progressive training) to the end: the paper's second
      // stage (gap 0, H reset) would leave a fresh H at chance for the few hundred iterations a cpu run has left.
      return { ...p, ...common, iterations: 1_200, alpha: { ...p.alpha, every: 600 }, gap: CPU_GAP };
    case "celeba":
      // 400 iterations (CR from 300; 800 / 600 before): about 10 minutes with 2 threads, for the traversal figure.
      return { ...p, ...common, iterations: 400, alpha: { ...p.alpha, every: 300 } };
  }
}

function smoke(dataset: GanDataset): Base {
  const p = PAPER[dataset];
  return {
    ...p,
    batchSize: 8,
    iterations: 6,
    alpha: { ...p.alpha, every: 3 },
    gap: dataset === "teapots" ? { ...p.gap, every: 5 } : p.gap,
    trainHWhileAlphaZero: true,
    logEvery: 1,
    sampleEvery: 3,
    checkpointEvery: 3,
  };
}

/** The preset for a dataset x profile (validated). */
export function presetFor(
  dataset: GanDataset,
  profile: Profile,
  opts: { model?: GanModelName; seed?: number } = {},
): GanConfig {
  if (!(dataset in PAPER)) {
    throw new Error(`no GAN preset for dataset "${dataset}" (choose dsprites, teapots or celeba)`);
  }
  const base = profile === "paper" ? PAPER[dataset] : profile === "cpu" ? cpu(dataset) : smoke(dataset);
  return parseGanConfig({ ...base, model: opts.model ?? "infogan-cr", seed: opts.seed ?? 0, profile });
}
