/**
 * Table 3: unsupervised model selection on dSprites. From a pool of trained models, ModelCentrality (paper-facts §7)
 * and the UDR baselines (Lasso, Spearman) each pick one model without labels; the table reports the supervised
 * metrics of each pick. Two pools, as in the paper: InfoGAN-CR seeds, and FactorVAE over TC weights × seeds.
 * Used by reproduce.ts and notebooks/04_model_selection.ipynb.
 */
import * as tf from "@tensorflow/tfjs";
import { presetFor as vaePresetFor } from "../config/vae.ts";
import { parseVaeConfig } from "../config/vae.ts";
import type { Encoder, Generator, TrainedModel } from "../models/capabilities.ts";
import { meanKlPerDim, VaeModel } from "../models/vae.ts";
import { Rng } from "../rng.ts";
import { modelCentrality } from "../selection/model_centrality.ts";
import { kendallTauB } from "../selection/rank.ts";
import { udr, UDR_SAMPLES } from "../selection/udr.ts";
import { trainVae } from "../train/vae_trainer.ts";
import { type DataSourceInfo, dataSourceOf, withDataSource } from "../data/source.ts";
import { hasCheckpoint } from "../train/checkpoint.ts";
import { formatCell } from "../report/format.ts";
import type { Cell, ReportFigure, ReportSection, ReportTable } from "../report/types.ts";
import { heatmap, scatter } from "../viz/charts.ts";
import type { ExperimentContext, Profile } from "./context.ts";
import { dspritesConfig, EVAL_SEED, runName } from "./dsprites.ts";
import type { Experiment } from "./experiment.ts";
import { trainAndEvaluate } from "./gan_runs.ts";
import { readTrainWall, type RunJob } from "./parallel_train.ts";
import { table3Row } from "./paper_tables.ts";
import { metricsComparisonTable, type ModelColumn, type Scores } from "./tables.ts";
import { type Dataset, loadDataset, loadRunModel, scoreModel } from "./toolkit.ts";

/** InfoGAN-CR pool seeds per profile (10 in the released config_mc.py). Seeds 1.. are shared with the dSprites runs. */
export const GAN_POOL_SEEDS: Record<Profile, number[]> = {
  smoke: [1, 2, 3],
  cpu: [1, 2, 3, 4, 5, 6, 7, 8],
  paper: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
};

/** FactorVAE pool: TC weights of the paper × seeds (4 × 10 in the released config). */
export const VAE_POOL_GAMMAS = [1, 10, 20, 40];
export const VAE_POOL_SEEDS: Record<Profile, number[]> = {
  smoke: [1],
  cpu: [1],
  paper: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
};

export const SELECTION_SEED = 20203;

export type PoolName = "InfoGAN-CR" | "FactorVAE";

export interface PoolMember {
  name: string;
  /** e.g. "seed 3" or "gamma 10, seed 1". */
  setting: string;
  runDir: string;
  /** Supervised metrics (used only to judge the picks, never by the criteria). */
  scores: Scores;
  wallS: number;
}

export interface CriterionResult {
  scores: number[];
  pick: number;
  /** Pairwise matrix: ModelCentrality's symmetrised A, UDR's pair scores (diagonal NaN). */
  matrix: number[][];
}

export interface PoolSelection {
  pool: PoolName;
  members: PoolMember[];
  mc: CriterionResult;
  udrLasso: CriterionResult;
  udrSpearman: CriterionResult;
  wallS: number;
  /** The images the pool was trained and scored on. */
  dataSource?: DataSourceInfo;
}

/** Trains (resumably) and scores the InfoGAN-CR pool; runs shared with the dSprites experiment are not trained twice. */
export async function ganPool(ctx: ExperimentContext, data: Dataset): Promise<PoolMember[]> {
  const out: PoolMember[] = [];
  for (const seed of GAN_POOL_SEEDS[ctx.profile]) {
    const r = await trainAndEvaluate(ctx, dspritesConfig(ctx.profile, seed), runName(seed), data, EVAL_SEED);
    out.push({
      name: r.name,
      setting: `seed ${seed}`,
      runDir: r.runDir,
      scores: r.after,
      wallS: r.trainWallS + r.evalWallS,
    });
  }
  return out;
}

export function vaeRunName(gamma: number, seed: number): string {
  return `dsprites-factor-vae-gamma${gamma}-seed${seed}`;
}

/** Every run of both pools (for `reproduce --parallel`). */
export function selectionJobs(profile: Profile): RunJob[] {
  const jobs: RunJob[] = GAN_POOL_SEEDS[profile].map((seed) => ({
    name: runName(seed),
    config: dspritesConfig(profile, seed),
  }));
  for (const seed of VAE_POOL_SEEDS[profile]) {
    for (const gamma of VAE_POOL_GAMMAS) {
      jobs.push({ name: vaeRunName(gamma, seed), config: vaeConfig(profile, gamma, seed) });
    }
  }
  return jobs;
}

export function vaeConfig(profile: Profile, gamma: number, seed: number) {
  return parseVaeConfig({ ...vaePresetFor("dsprites", profile, "factor-vae"), gamma, seed });
}

/** Trains (resumably) and scores the FactorVAE pool. */
export async function vaePool(ctx: ExperimentContext, data: Dataset): Promise<PoolMember[]> {
  const out: PoolMember[] = [];
  for (const seed of VAE_POOL_SEEDS[ctx.profile]) {
    for (const gamma of VAE_POOL_GAMMAS) {
      const name = vaeRunName(gamma, seed);
      const runDir = ctx.runDir(name);
      const trained = await ctx.step(`train-${name}`, async () => {
        const t0 = performance.now();
        const resume = await hasCheckpoint(`${runDir}/checkpoint`);
        await trainVae(withDataSource(vaeConfig(ctx.profile, gamma, seed), data), runDir, { data, resume });
        const recorded = await readTrainWall(runDir);
        return { wallS: recorded?.seconds ?? (performance.now() - t0) / 1000 };
      });
      const evaluated = await ctx.step(`eval-${name}`, async () => {
        const t0 = performance.now();
        const model = await loadRunModel(runDir);
        try {
          const scores = await scoreModel(model, data, EVAL_SEED, ctx.profile, {
            backend: ctx.backend,
            saveTo: `${runDir}/metrics.json`,
          });
          return { scores, wallS: (performance.now() - t0) / 1000 };
        } finally {
          model.dispose();
        }
      });
      out.push({
        name,
        setting: `gamma ${gamma}, seed ${seed}`,
        runDir,
        scores: evaluated.scores,
        wallS: trained.wallS + evaluated.wallS,
      });
    }
  }
  return out;
}

/** Real dSprites images for UDR (the same for every model of a pool). */
function udrImages(data: Dataset, n: number, rng: Rng): tf.Tensor4D {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = rng.int(data.size);
  const [h, w, c] = data.imageShape;
  return tf.tensor4d(data.images(idx), [n, h, w, c]);
}

/** Runs ModelCentrality and both UDR variants on a trained pool (one resumable step per pool). */
export async function selectFromPool(
  ctx: ExperimentContext,
  pool: PoolName,
  members: PoolMember[],
  data: Dataset,
): Promise<PoolSelection> {
  const result = await ctx.step(`select-${pool === "InfoGAN-CR" ? "infogan-cr" : "factor-vae"}`, async () => {
    const t0 = performance.now();
    const models: TrainedModel[] = [];
    try {
      for (const m of members) models.push(await loadRunModel(m.runDir));
      const rng = new Rng(SELECTION_SEED).fork(pool);
      const started = performance.now();
      const mc = await modelCentrality(models as (Encoder & Generator)[], rng.fork("mc"), {
        profile: ctx.profile,
        onProgress: (p) => ctx.progress(`ModelCentrality ${pool}`, p.set, p.sets, started, `set ${p.set + 1}`),
      });
      const images = udrImages(data, UDR_SAMPLES[ctx.profile], rng.fork("udr-images"));
      try {
        // VAEs: UDR masks latents whose mean KL is below 0.01 (Duan et al.); GANs have no KL, so every code counts.
        const activeDims: (boolean[] | null)[] = [];
        for (const m of models) {
          activeDims.push(m instanceof VaeModel ? Array.from(await meanKlPerDim(m, images), (k) => k > 0.01) : null);
        }
        const lasso = await udr(models, images, rng.fork("udr-lasso"), { method: "lasso", activeDims });
        const spear = await udr(models, images, rng.fork("udr-spearman"), { method: "spearman", activeDims });
        return {
          mc: { scores: mc.scores, pick: mc.pick, matrix: mc.A },
          udrLasso: { scores: lasso.scores, pick: lasso.pick, matrix: lasso.matrix.map((r) => r.map(nullIfNaN)) },
          udrSpearman: { scores: spear.scores, pick: spear.pick, matrix: spear.matrix.map((r) => r.map(nullIfNaN)) },
          wallS: (performance.now() - t0) / 1000,
        };
      } finally {
        images.dispose();
      }
    } finally {
      for (const m of models) m.dispose();
    }
  });
  // JSON has no NaN: the never-computed UDR diagonal is stored as null and restored here.
  const back = (c: { scores: number[]; pick: number; matrix: (number | null)[][] }): CriterionResult => ({
    ...c,
    matrix: c.matrix.map((r) => r.map((v) => (v === null ? NaN : v))),
  });
  return {
    pool,
    members,
    mc: back(result.mc),
    udrLasso: back(result.udrLasso),
    udrSpearman: back(result.udrSpearman),
    wallS: result.wallS,
    dataSource: dataSourceOf(data),
  };
}

function nullIfNaN(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

const CRITERIA = [
  { key: "udrLasso", label: "UDR Lasso", paper: "UDR Lasso" },
  { key: "udrSpearman", label: "UDR Spearman", paper: "UDR Spearman" },
  { key: "mc", label: "ModelCentrality", paper: "ModelCentrality" },
] as const;

/**
 * Table 3 for one pool: each criterion's pick, ours beside the paper's, plus the pool's mean and median (per metric)
 * and the oracle pick.
 */
export function table3Models(sel: PoolSelection): ModelColumn[] {
  const cols: ModelColumn[] = CRITERIA.map((c) => ({
    label: c.label,
    ours: [sel.members[sel[c.key].pick].scores],
    paper: table3Row(sel.pool, c.paper).values,
  }));
  cols.push({ label: "Pool mean", ours: sel.members.map((m) => m.scores), paper: null });
  cols.push({ label: "Pool median", ours: [medianScores(sel.members.map((m) => m.scores))], paper: null });
  const oracle = bestBy(sel.members, "factorVae");
  cols.push({ label: "Oracle (best FactorVAE in pool)", ours: [sel.members[oracle].scores], paper: null });
  return cols;
}

/** The per-metric median over a pool (each metric over the models that have it). */
export function medianScores(all: Scores[]): Scores {
  const out: Scores = {};
  const keys = new Set(all.flatMap((s) => Object.keys(s))) as Set<keyof Scores>;
  for (const k of keys) {
    const v = all.map((s) => s[k]).filter((x): x is number => typeof x === "number").sort((a, b) => a - b);
    if (v.length) out[k] = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
  return out;
}

function bestBy(members: PoolMember[], key: keyof Scores): number {
  let best = 0;
  members.forEach((m, i) => {
    if ((m.scores[key] ?? -Infinity) > (members[best].scores[key] ?? -Infinity)) best = i;
  });
  return best;
}

/** Per-model listing: supervised FactorVAE and MIG next to each criterion's score, picks marked. */
export function poolTable(ctx: ExperimentContext, sel: PoolSelection, seeds: number[]): ReportTable {
  const rows = sel.members.map((m, i) => {
    const mark = (c: CriterionResult) => `${c.scores[i].toFixed(3)}${c.pick === i ? " ◀" : ""}`;
    return {
      model: m.setting,
      factorVae: m.scores.factorVae ?? null,
      mig: m.scores.mig ?? null,
      mc: mark(sel.mc),
      udrLasso: mark(sel.udrLasso),
      udrSpearman: mark(sel.udrSpearman),
    } as Record<string, Cell>;
  });
  const tau = (c: CriterionResult) => agreement(c.scores, sel.members.map((m) => m.scores.factorVae ?? NaN));
  rows.push({
    model: "Kendall tau vs FactorVAE",
    factorVae: null,
    mig: null,
    mc: tau(sel.mc),
    udrLasso: tau(sel.udrLasso),
    udrSpearman: tau(sel.udrSpearman),
  });
  return {
    id: `pool-${sel.pool}`,
    title: `The ${sel.pool} pool: every model's criterion scores (◀ = the criterion's pick)`,
    caption: "Supervised FactorVAE and MIG judge the picks; the criteria never see them. The last row is Kendall's " +
      "tau-b between each criterion's scores and the supervised FactorVAE score over the pool.",
    columns: [
      { key: "model", label: "Model" },
      { key: "factorVae", label: "FactorVAE", source: "ours" },
      { key: "mig", label: "MIG", source: "ours" },
      { key: "mc", label: "ModelCentrality", source: "ours" },
      { key: "udrLasso", label: "UDR Lasso", source: "ours" },
      { key: "udrSpearman", label: "UDR Spearman", source: "ours" },
    ],
    rows,
    provenance: ctx.provenance(
      seeds,
      sel.wallS + sel.members.reduce((s, m) => s + m.wallS, 0),
      undefined,
      sel.dataSource,
    ),
    digits: 3,
  };
}

/** Kendall tau-b, or "n/a" text when it is undefined (a pool too small or with all-equal scores). */
function agreement(criterion: number[], supervised: number[]): Cell {
  if (criterion.length < 2 || supervised.some((v) => !Number.isFinite(v))) return "n/a";
  const t = kendallTauB(criterion, supervised);
  return Number.isFinite(t) ? t : "n/a (ties)";
}

async function run(ctx: ExperimentContext): Promise<ReportSection> {
  const data = await loadDataset("dsprites");
  const gan = await selectFromPool(ctx, "InfoGAN-CR", await ganPool(ctx, data), data);
  const vae = await selectFromPool(ctx, "FactorVAE", await vaePool(ctx, data), data);
  const tables: ReportTable[] = [];
  const figures: ReportFigure[] = [];
  const numbers: Record<string, unknown> = {};
  for (const sel of [gan, vae]) {
    const seeds = sel.pool === "InfoGAN-CR" ? GAN_POOL_SEEDS[ctx.profile] : VAE_POOL_SEEDS[ctx.profile];
    const wall = sel.wallS + sel.members.reduce((s, m) => s + m.wallS, 0);
    const models = table3Models(sel);
    tables.push(metricsComparisonTable({
      id: `table3-${sel.pool}`,
      title: `Table 3 (dSprites), ${sel.pool} pool of ${sel.members.length}: metrics of the model each criterion picks`,
      caption: "Ours: the supervised metrics of the one model each criterion picked (no std: one pick per pool). " +
        "Pool mean, median and the oracle (best supervised FactorVAE) bracket what a selection can achieve.",
      models,
      provenance: ctx.provenance(
        seeds,
        wall,
        `ModelCentrality and UDR at ${ctx.profile} sizes (UDR on ${UDR_SAMPLES[ctx.profile]} images)`,
        sel.dataSource,
      ),
    }));
    tables.push(poolTable(ctx, sel, seeds));
    numbers[sel.pool] = {
      members: sel.members.map((m) => ({ name: m.name, setting: m.setting, scores: m.scores })),
      modelCentrality: { scores: sel.mc.scores, pick: sel.mc.pick },
      udrLasso: { scores: sel.udrLasso.scores, pick: sel.udrLasso.pick },
      udrSpearman: { scores: sel.udrSpearman.scores, pick: sel.udrSpearman.pick },
      picks: Object.fromEntries(models.slice(0, 3).map((m) => [m.label, m.ours[0]])),
    };
  }
  figures.push(
    ...await ctx.figures("figures", async () => {
      const labels = gan.members.map((m) => m.setting);
      return [
        await ctx.chart(
          "mc-similarity",
          heatmap(gan.mc.matrix, {
            title: "ModelCentrality similarity A, InfoGAN-CR pool",
            rowLabels: labels,
            colLabels: labels,
          }),
          "ModelCentrality's pairwise similarity",
          "A[i][j] = (S[i][j] + S[j][i]) / 2, where S[i][j] is the FactorVAE score of model i's encoder on images that " +
            "model j generated with one of its own codes held fixed. A model's centrality is the mean of its row " +
            "without the diagonal; the most central model is picked.",
        ),
        await ctx.chart(
          "centrality-vs-factorvae",
          scatter(
            [gan, vae].flatMap((sel) =>
              sel.members.map((m, i) => ({
                x: sel.mc.scores[i],
                y: m.scores.factorVae ?? NaN,
                group: `${sel.pool} pool`,
                label: sel.mc.pick === i ? "pick" : "",
              }))
            ).filter((p) => Number.isFinite(p.y)),
            {
              title: "Centrality vs supervised FactorVAE score",
              xTitle: "ModelCentrality score (no labels)",
              yTitle: "FactorVAE metric (labels)",
            },
          ),
          "Does centrality find the well-disentangled models?",
          "Each point is one model of a pool. If ModelCentrality works, the most central model (labelled) sits near " +
            "the top of its pool.",
        ),
      ];
    }),
  );
  const g = tables[0].rows[0], v = tables[2].rows[0];
  return {
    id: "selection",
    title: SELECTION.title,
    claim: SELECTION.claim,
    status: "ok",
    paragraphs: [
      `Pools: ${gan.members.length} InfoGAN-CR models (seeds ${GAN_POOL_SEEDS[ctx.profile].join(", ")}, the dSprites ` +
      `preset of profile ${ctx.profile}) and ${vae.members.length} FactorVAE models (TC weight in ` +
      `{${VAE_POOL_GAMMAS.join(", ")}} × seeds ${VAE_POOL_SEEDS[ctx.profile].join(", ")}).`,
      `FactorVAE metric of the picks, InfoGAN-CR pool: ModelCentrality ${formatCell(g.ours2, 3)}, UDR Lasso ` +
      `${formatCell(g.ours0, 3)}, UDR Spearman ${formatCell(g.ours1, 3)} (paper: 0.92, 0.86, 0.84). FactorVAE pool: ` +
      `ModelCentrality ${formatCell(v.ours2, 3)}, UDR Lasso ${formatCell(v.ours0, 3)}, UDR Spearman ` +
      `${formatCell(v.ours1, 3)} (paper: 0.84, 0.81, 0.79).`,
      ctx.profile === "smoke"
        ? "With the tiny pools and 6-iteration models of the smoke profile the picks are close to arbitrary: the " +
          "comparison with the paper only becomes meaningful with trained models."
        : "Judge a criterion by where its pick sits against the pool's best, median and mean, and by the Kendall tau " +
          "of its ranking with the supervised score (pool tables). A pool whose models all score alike (e.g. " +
          "barely trained ones) gives every criterion an arbitrary choice; only the `paper` profile trains as long " +
          "as the paper.",
    ],
    tables,
    figures,
    numbers,
    wallTimeS: ctx.wallTimeS(),
  };
}

export const SELECTION: Experiment = {
  id: "selection",
  title: "Model selection without labels: ModelCentrality vs UDR (Table 3)",
  claim:
    "ModelCentrality, which needs no ground-truth labels, selects better-disentangled models than UDR (Lasso and " +
    "Spearman) from the same pool, for both InfoGAN-CR and FactorVAE pools, and its InfoGAN-CR pick beats the " +
    "supervised hyperparameter tuning of Table 1.",
  estimateS: { smoke: 60, cpu: 4 * 3000, paper: 50 * 86400 },
  run,
  trainingJobs: selectionJobs,
};
