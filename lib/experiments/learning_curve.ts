/**
 * Where a short run stands on the way to the paper's: the supervised FactorVAE and MIG scores of the paired runs'
 * snapshots (lib/experiments/paired_runs.ts keeps them at the plan's roughly log-spaced iterations for the curve seeds),
 * from the untrained model to the end of both arms, with the paper's values at 322,560 iterations marked.
 * No extra training: the snapshots are written while the runs train.
 */
import { claimsPlan } from "../config/claims.ts";
import { snapshotPath } from "../train/trainer.ts";
import { learningCurveChart } from "../viz/charts.ts";
import type { ReportFigure } from "../report/types.ts";
import type { ExperimentContext } from "./context.ts";
import { type Arm, armRunName, pairedConfigs, pairedKey, type PairedSeed, scoreRunFile } from "./paired_runs.ts";
import { table1Row } from "./paper_tables.ts";
import type { Dataset } from "./toolkit.ts";

/** The paper's dSprites runs are 322,560 iterations long (paper-facts §4). */
export const PAPER_ITERATIONS = 322_560;

export interface CurvePoint {
  seed: number;
  /** Which run the point comes from; iterations up to the branch point belong to the phase. */
  arm: Arm;
  iteration: number;
  factorVae: number | null;
  mig: number | null;
}

/**
 * Scores every snapshot of the curve seeds with FactorVAE and MIG (one resumable step per seed); the branch point and
 * the ends reuse the paired evaluation's scores.
 */
export async function learningCurve(
  ctx: ExperimentContext,
  data: Dataset,
  paired: PairedSeed[],
): Promise<CurvePoint[]> {
  const plan = claimsPlan(ctx.profile);
  const points: CurvePoint[] = [];
  for (const seed of plan.curveSeeds) {
    const run = paired.find((p) => p.seed === seed);
    if (!run) continue;
    const cfgs = pairedConfigs(ctx.profile, seed);
    const scored = await ctx.step(`curve-seed${seed}`, async () => {
      const out: CurvePoint[] = [];
      for (const arm of ["phase", "cr", "control"] as const) {
        for (const it of cfgs[arm].snapshotAt ?? []) {
          const s = await scoreRunFile(ctx, ctx.runDir(armRunName(arm, seed)), `metrics-iter-${it}.json`, data, {
            checkpoint: snapshotPath(it),
            metrics: ["factor-vae", "mig"],
          });
          out.push({ seed, arm, iteration: it, factorVae: s.factorVae ?? null, mig: s.mig ?? null });
        }
      }
      return out;
    }, await pairedKey(ctx.profile, seed, data));
    points.push(...scored);
    const end = (arm: Arm, iteration: number, s: PairedSeed["cr"]) => ({
      seed,
      arm,
      iteration,
      factorVae: s.factorVae ?? null,
      mig: s.mig ?? null,
    });
    points.push(end("phase", run.branchAt, run.before), end("cr", run.iterations, run.cr));
    points.push(end("control", run.iterations, run.control));
  }
  return points.sort((a, b) => a.seed - b.seed || a.iteration - b.iteration);
}

/** The untrained model's scores (iteration 0 of the curve seeds), or null when the plan has no iteration-0 snapshot. */
export function untrainedFromCurve(points: CurvePoint[]): { factorVae: number[]; mig: number[] } | null {
  const zero = points.filter((p) => p.iteration === 0);
  if (zero.length === 0) return null;
  return {
    factorVae: zero.map((p) => p.factorVae).filter((v): v is number => v !== null),
    mig: zero.map((p) => p.mig).filter((v): v is number => v !== null),
  };
}

/** The learning-curve figure: FactorVAE and MIG against iterations (log axis), one line per seed and arm. */
export async function learningCurveFigure(
  ctx: ExperimentContext,
  points: CurvePoint[],
  branchAt: number,
): Promise<ReportFigure> {
  const lines: { metric: string; iteration: number; value: number; seed: string; arm: string }[] = [];
  for (const p of points) {
    if (p.iteration === 0) continue;
    for (const [metric, v] of [["FactorVAE", p.factorVae], ["MIG", p.mig]] as const) {
      if (v === null) continue;
      const row = { metric, iteration: p.iteration, value: v, seed: `seed ${p.seed}` };
      // The phase belongs to both arms' lines, so each arm's line runs from the first snapshot to its end.
      if (p.arm === "phase") {
        lines.push({ ...row, arm: "CR arm" });
        if (p.iteration === branchAt) lines.push({ ...row, arm: "control arm" });
      } else lines.push({ ...row, arm: p.arm === "cr" ? "CR arm" : "control arm" });
    }
  }
  const ours = table1Row("InfoGAN-CR"), before = table1Row("InfoGAN (modified)");
  const num = (c: unknown) => (typeof c === "object" && c !== null ? (c as { mean: number }).mean : Number(c));
  const references = [
    { metric: "FactorVAE", iteration: PAPER_ITERATIONS, value: num(ours.factorVae), label: "paper InfoGAN-CR" },
    { metric: "FactorVAE", iteration: PAPER_ITERATIONS, value: num(before.factorVae), label: "paper InfoGAN" },
    { metric: "MIG", iteration: PAPER_ITERATIONS, value: num(ours.mig), label: "paper InfoGAN-CR" },
    { metric: "MIG", iteration: PAPER_ITERATIONS, value: num(before.mig), label: "paper InfoGAN" },
  ];
  const untrained = untrainedFromCurve(points);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const baselines = untrained
    ? [
      { metric: "FactorVAE", value: mean(untrained.factorVae), label: "untrained" },
      { metric: "MIG", value: mean(untrained.mig), label: "untrained" },
    ]
    : [];
  const seeds = [...new Set(points.map((p) => p.seed))];
  return await ctx.chart(
    "learning-curve",
    learningCurveChart(lines, {
      title: "FactorVAE and MIG during training (dSprites)",
      references,
      baselines,
      markers: [{ x: branchAt, label: "branch: CR on / off" }],
    }),
    "Learning curve: how far this profile's runs get",
    `Supervised FactorVAE and MIG of snapshots of seeds ${seeds.join(", ")} (infogan-cr protocol, ${ctx.profile} ` +
      `sizes) against training iterations on a log axis, one colour per seed. Solid lines and circles: the InfoGAN ` +
      `phase and then the CR arm; dashed lines and squares: the control arm from the branch point at iteration ` +
      `${branchAt}. The dotted line is the untrained model ` +
      `(iteration 0); the diamonds at ${PAPER_ITERATIONS.toLocaleString("en-US")} iterations are the paper's Table 1 ` +
      "values (reference, 50 runs at paper length).",
  );
}

/** Per iteration: the mean over curve seeds of each arm's FactorVAE and MIG (for the report table and results.json). */
export function curveMeans(points: CurvePoint[]): { iteration: number; arm: Arm; factorVae: number; mig: number }[] {
  const groups = new Map<string, CurvePoint[]>();
  for (const p of points) {
    const key = `${p.arm}:${p.iteration}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const avg = (v: (number | null)[]) => {
    const f = v.filter((x): x is number => x !== null);
    return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
  };
  return [...groups.values()].map((g) => ({
    iteration: g[0].iteration,
    arm: g[0].arm,
    factorVae: avg(g.map((p) => p.factorVae)),
    mig: avg(g.map((p) => p.mig)),
  })).sort((a, b) => a.iteration - b.iteration || a.arm.localeCompare(b.arm));
}
