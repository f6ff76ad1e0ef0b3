/**
 * CelebA, qualitative as in the paper (paper-facts §8: no metric, only latent traversals): train InfoGAN-CR on 32×32
 * faces and sweep each of the 5 codes over 15 values in [-1, 1].
 *
 * The faces come from the user's `img_align_celeba` folder (IGCR_CELEBA_DIR). Without one, the experiment says how to
 * get the data and trains on a small stand-in instead, so the notebook and `reproduce` still run end to end: our
 * rendered teapots, downsampled to 32×32 and mapped to [-1, 1] like the faces. The report labels which was used.
 */
import { jsonKey } from "../io/canonical_json.ts";
import { presetFor } from "../config/gan.ts";
import type { TrainingData } from "../train/trainer.ts";
import type { ReportSection } from "../report/types.ts";
import { formatSeconds } from "../viz/display.ts";
import type { ExperimentContext, Profile } from "./context.ts";
import type { Experiment } from "./experiment.ts";
import { crSwitchIteration, lossFigure, trainWithLivePlot, traversalFigures } from "./gan_runs.ts";
import { ensureTrained, libModule, loadDataset, loadRunModel } from "./toolkit.ts";

export const CELEBA_SEED = 1;
/** Faces used per profile (all 202,599 in the paper). */
export const CELEBA_LIMIT: Record<Profile, number | undefined> = { smoke: 512, cpu: 50_000, paper: undefined };
/** Stand-in images per profile. */
export const STAND_IN_COUNT: Record<Profile, number> = { smoke: 256, cpu: 5_000, paper: 20_000 };

export const HOW_TO_GET_CELEBA = "CelebA is not bundled (its licence forbids redistribution). Download " +
  "`img_align_celeba.zip` from the CelebA page (https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html), unzip it, and set " +
  "`IGCR_CELEBA_DIR=/path/to/img_align_celeba` before running the notebook or `deno task reproduce`.";

export interface CelebaSource {
  data: TrainingData;
  /** "celeba" when real faces were loaded, "stand-in" otherwise. */
  kind: "celeba" | "stand-in";
  description: string;
}

/**
 * Teapots at 32×32 in [-1, 1]: a 2×2 average of the 64×64 renders, so the stand-in has CelebA's shape and value
 * range and a few real factors of variation (view angle, colour) for the codes to pick up.
 */
export async function standInData(count: number): Promise<TrainingData> {
  const teapots = await loadDataset("teapots", { count, seed: 2 });
  const px64 = 64 * 64 * 3, px32 = 32 * 32 * 3;
  return {
    size: count,
    imageShape: [32, 32, 3],
    images(indices: Int32Array, out?: Float32Array): Float32Array {
      const src = teapots.images(indices);
      const dst = out ?? new Float32Array(indices.length * px32);
      for (let i = 0; i < indices.length; i++) {
        for (let y = 0; y < 32; y++) {
          for (let x = 0; x < 32; x++) {
            for (let c = 0; c < 3; c++) {
              const s = i * px64 + (2 * y * 64 + 2 * x) * 3 + c;
              const mean = (src[s] + src[s + 3] + src[s + 64 * 3] + src[s + 64 * 3 + 3]) / 4;
              dst[i * px32 + (y * 32 + x) * 3 + c] = 2 * mean - 1;
            }
          }
        }
      }
      return dst;
    },
  };
}

/** Real CelebA when IGCR_CELEBA_DIR is set, otherwise the stand-in. A set but broken folder is an error, not a fallback. */
export async function celebaSource(profile: Profile): Promise<CelebaSource> {
  const dir = Deno.env.get("IGCR_CELEBA_DIR");
  if (dir) {
    const mod = await libModule<{ loadCeleba(o: { dir: string; limit?: number; size?: 32 }): Promise<TrainingData> }>(
      "data/celeba.ts",
      "CelebA loader",
    );
    const data = await mod.loadCeleba({ dir, limit: CELEBA_LIMIT[profile], size: 32 });
    return { data, kind: "celeba", description: `CelebA from ${dir} (${data.size} faces, 32×32, [-1, 1])` };
  }
  const n = STAND_IN_COUNT[profile];
  return {
    data: await standInData(n),
    kind: "stand-in",
    description: `a stand-in (${n} of our rendered teapots at 32×32 in [-1, 1]), because IGCR_CELEBA_DIR is not set`,
  };
}

export function celebaConfig(profile: Profile) {
  return presetFor("celeba", profile, { model: "infogan-cr", seed: CELEBA_SEED });
}

async function run(ctx: ExperimentContext): Promise<ReportSection> {
  const source = await celebaSource(ctx.profile);
  const cfg = celebaConfig(ctx.profile);
  const name = `celeba-${source.kind}-infogan-cr-seed${CELEBA_SEED}`;
  // Step names carry the source so a stand-in step is never reused for real faces.
  const runDir = ctx.runDir(name);
  const trained = await ctx.step(`train-${name}`, async () => {
    const t0 = performance.now();
    const iterations = ctx.display
      ? await trainWithLivePlot(cfg, runDir, source.data, `Training ${name}`)
      : await ensureTrained(cfg, runDir, source.data);
    return { iterations, wallS: (performance.now() - t0) / 1000 };
  }, await jsonKey(cfg));
  const figures = await ctx.figures(`figures-${source.kind}`, async () => {
    const model = await loadRunModel(runDir);
    try {
      const travs = await traversalFigures(ctx, model, [-1, 1], {
        name,
        title: `Traversals of InfoGAN-CR on ${source.kind === "celeba" ? "CelebA" : "the CelebA stand-in"}`,
        seed: 20202,
        steps: 15,
        scale: 3,
      });
      const losses = await lossFigure(
        ctx,
        { name, runDir, crSwitch: crSwitchIteration(cfg) },
        `Training losses, ${source.kind}`,
      );
      return [...travs, losses];
    } finally {
      model.dispose();
    }
  });
  const paragraphs = [
    `Data: ${source.description}.`,
    `Trained InfoGAN-CR (seed ${CELEBA_SEED}) for ${trained.iterations} iterations at batch ${cfg.batchSize} ` +
    `(lambda ${cfg.infoWeight}, CR alpha ${cfg.alpha.increase} from iteration ${cfg.alpha.every}; learning rates ` +
    `G ${cfg.lr.g}, D ${cfg.lr.d}, as the paper's CelebA config) in ${formatSeconds(trained.wallS)} on ` +
    `${ctx.backend}, profile ${ctx.profile}.`,
    "The paper reports no metric on CelebA, only traversals; so does this section. Read the grid row by row: a " +
    "disentangled code changes one attribute (such as hair colour, head turn or smile) along its row.",
  ];
  if (source.kind === "stand-in") paragraphs.push(`**No CelebA folder was given.** ${HOW_TO_GET_CELEBA}`);
  return {
    id: "celeba",
    title: CELEBA.title,
    claim: CELEBA.claim,
    // Stand-in runs do not examine the claim: they only show that the pipeline works.
    status: source.kind === "celeba" ? "ok" : "partial",
    paragraphs,
    tables: [],
    figures,
    numbers: { data: source.kind, iterations: trained.iterations, trainWallS: trained.wallS, seed: CELEBA_SEED },
    wallTimeS: ctx.wallTimeS(),
  };
}

export const CELEBA: Experiment = {
  id: "celeba",
  title: "CelebA: latent traversals",
  claim: "On CelebA, InfoGAN-CR's codes capture distinct, interpretable attributes of faces (qualitative traversals).",
  estimateS: { smoke: 20, cpu: 700, paper: 40000 },
  run,
  // A stand-in result must not stand in for real faces once the user has given a folder.
  resumeKey: () => `data=${Deno.env.get("IGCR_CELEBA_DIR") || "stand-in"}`,
};
