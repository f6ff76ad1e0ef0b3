/**
 * The metric evaluation's own noise: one trained model scored again with several evaluation seeds (each draws other
 * factor samples and interventional groups). Its spread says how much of a difference between two models the scoring
 * alone can produce; the report prints it beside the paired differences and uses it for "clearly above the untrained
 * model" in the pools.
 */
import type { MetricName } from "../metrics/protocols.ts";
import { meanSd } from "../stats/bootstrap.ts";
import type { ExperimentContext } from "./context.ts";
import { scoreRunFile } from "./paired_runs.ts";
import { METRIC_COLUMNS, type MetricKey } from "./paper_tables.ts";
import type { Scores } from "./tables.ts";
import type { Dataset } from "./toolkit.ts";

export interface EvalNoise {
  /** The run folder name whose final model was re-scored. */
  run: string;
  seeds: number[];
  scores: Scores[];
  /** Per metric: sample standard deviation (ddof 1) and range (max − min) over the evaluation seeds. */
  sd: Scores;
  range: Scores;
}

/** Per-metric standard deviation and range over score sets. */
export function noiseOf(scores: Scores[]): { sd: Scores; range: Scores } {
  const sd: Scores = {}, range: Scores = {};
  for (const { key } of METRIC_COLUMNS) {
    const v = scores.map((s) => s[key]).filter((x): x is number => typeof x === "number");
    if (v.length < 2) continue;
    sd[key as MetricKey] = meanSd(v).sd;
    range[key as MetricKey] = Math.max(...v) - Math.min(...v);
  }
  return { sd, range };
}

/**
 * Scores the final model of run `name` once per evaluation seed (`metrics-evalseed-N.json` in its folder, reused when
 * present) as one resumable step.
 */
export async function evaluationNoise(
  ctx: ExperimentContext,
  name: string,
  data: Dataset,
  seeds: number[],
  metrics?: MetricName[],
  /** What the run's model depends on (a key of its config), so a retrained run is scored again. */
  key?: string,
): Promise<EvalNoise> {
  const scores = await ctx.step(`eval-noise-${name}`, async () => {
    const out: Scores[] = [];
    for (const seed of seeds) {
      out.push(await scoreRunFile(ctx, ctx.runDir(name), `metrics-evalseed-${seed}.json`, data, { seed, metrics }));
    }
    return out;
  }, key);
  return { run: name, seeds, scores, ...noiseOf(scores) };
}
