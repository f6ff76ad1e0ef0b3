/**
 * One sentence per claim, derived from the numbers by fixed rules, so the report never words a result more strongly than
 * its intervals allow:
 *
 * Claim 1 (CR improves disentanglement), judged on the paired FactorVAE difference CR arm − control arm:
 * - "shown" when its 95% interval lies above 0;
 * - "not shown" when it lies below 0 (CR made FactorVAE worse at this scale);
 * - "not decidable at this scale" when it includes 0 (also when it is undefined, e.g. one seed).
 * The sentence adds for how many of the seven metrics the interval lies above and below 0.
 *
 * Claim 2 (ModelCentrality picks better models than UDR), per pool, on the sub-pool analysis:
 * - "not decidable at this scale" when no member scores clearly above the untrained model (nothing was learnt, so
 *   every pick is arbitrary), or when the sub-pools' best models beat a random pick by no more than twice the
 *   evaluation noise (nothing to choose between);
 * - "shown" when ModelCentrality's mean advantage over UDR Lasso, UDR Spearman and a random pick each has a 95%
 *   interval above 0;
 * - "not shown" when any of those intervals lies below 0;
 * - "not decidable at this scale" otherwise.
 * Members that did not learn are named in the sentence: a pool is meant to have none (its training length is chosen
 * for that), but where some seeds fail, telling them apart is exactly what a selection criterion is for.
 * Over both pools: "shown" when shown for both, "not shown" when not shown for either, else not decidable.
 */
import { intervalSide, type PairedComparison } from "../stats/bootstrap.ts";
import type { SelectionQuality } from "../selection/subpools.ts";
import { SELECTOR_LABEL } from "../selection/subpools.ts";
import { METRIC_COLUMNS, type MetricKey } from "./paper_tables.ts";

export type Verdict = "shown" | "not shown" | "not decidable at this scale";

export interface ClaimVerdict {
  verdict: Verdict;
  sentence: string;
}

function signed(v: number, digits = 3): string {
  return `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(digits)}`;
}

/** "+0.031 [−0.004, +0.066]" (or "n/a" ends when undefined). */
export function formatInterval(i: { estimate: number; lo: number; hi: number }, digits = 3): string {
  const end = (v: number) => (Number.isFinite(v) ? signed(v, digits) : "n/a");
  return `${signed(i.estimate, digits)} [${end(i.lo)}, ${end(i.hi)}]`;
}

/** Claim 1 from the paired comparisons (CR arm − control arm) of every metric. */
export function claim1Verdict(
  paired: Partial<Record<MetricKey, PairedComparison>>,
  evalNoiseSd?: number,
): ClaimVerdict {
  const fv = paired.factorVae;
  if (!fv) return { verdict: "not decidable at this scale", sentence: "No FactorVAE scores: claim 1 was not tested." };
  const side = intervalSide(fv);
  const verdict: Verdict = side === "above" ? "shown" : side === "below" ? "not shown" : "not decidable at this scale";
  const above = METRIC_COLUMNS.filter((c) => paired[c.key] && intervalSide(paired[c.key]!) === "above");
  const below = METRIC_COLUMNS.filter((c) => paired[c.key] && intervalSide(paired[c.key]!) === "below");
  const tested = METRIC_COLUMNS.filter((c) => paired[c.key]).length;
  const what = side === "above"
    ? "the CR arm scored higher than the control arm trained for the same iterations from the same checkpoints"
    : side === "below"
    ? "the CR arm scored lower than the control arm trained for the same iterations from the same checkpoints"
    : "the difference between the CR arm and the control arm trained for the same iterations from the same " +
      "checkpoints is within what the seeds' spread allows either way";
  const noise = evalNoiseSd !== undefined && Number.isFinite(evalNoiseSd)
    ? ` (the evaluation alone varies by a standard deviation of ${evalNoiseSd.toFixed(3)})`
    : "";
  const list = (cs: typeof METRIC_COLUMNS[number][]) => (cs.length ? ` (${cs.map((c) => c.label).join(", ")})` : "");
  return {
    verdict,
    sentence: `**Claim 1 (CR improves disentanglement): ${verdict}.** On FactorVAE, ${what}: paired difference ` +
      `${formatInterval(fv)} (mean, 95% ${fv.method} interval over ${fv.n} seeds; ${fv.improved} of ${fv.n} seeds ` +
      `improved)${noise}. Over the ${tested} metrics the interval lies above 0 for ${above.length}${list(above)} and ` +
      `below 0 for ${below.length}${list(below)}; the paper claims an improvement under all seven.`,
  };
}

export interface PoolEvidence {
  pool: string;
  quality: SelectionQuality;
  /** Members whose FactorVAE is not clearly above the untrained model (labels), empty when all are. */
  notAbove: string[];
  /** Standard deviation of the evaluation noise of the supervised FactorVAE score (NaN when unknown). */
  noiseSd: number;
}

/** Claim 2 for one pool. */
export function claim2PoolVerdict(e: PoolEvidence): ClaimVerdict {
  const q = e.quality;
  const mean = (s: string) => q.summaries.find((x) => x.selector === s)!.mean;
  const gap = mean("oracle") - mean("random");
  const adv = q.advantages.map((a) => `${SELECTOR_LABEL[a.versus]} ${formatInterval(a.interval)}`).join(", ");
  const head = `${e.pool} pool (${q.poolSize} models, ${q.subpools} sub-pools of ${q.k})`;
  const failed = e.notAbove.length === 0
    ? " Every member scores clearly above the untrained model."
    : ` ${e.notAbove.length} of its ${q.poolSize} models (${e.notAbove.join("; ")}) ` +
      `${e.notAbove.length === 1 ? "does" : "do"} not score clearly above the untrained model.`;
  if (e.notAbove.length === q.poolSize) {
    return {
      verdict: "not decidable at this scale",
      sentence: `${head}: not decidable at this scale, because none of its models scores clearly above the ` +
        `untrained model, so every pick is arbitrary. ModelCentrality's mean advantage in picked FactorVAE: ${adv}.`,
    };
  }
  const noise = Number.isFinite(e.noiseSd) ? 2 * e.noiseSd : 0;
  if (!(gap > noise)) {
    return {
      verdict: "not decidable at this scale",
      sentence: `${head}: not decidable at this scale: the sub-pools' best models beat a random pick by ` +
        `${gap.toFixed(3)} in FactorVAE on average, no more than twice the evaluation noise, so there is nothing to ` +
        `choose between.${failed}`,
    };
  }
  const sides = q.advantages.map((a) => intervalSide(a.interval));
  const verdict: Verdict = sides.every((s) => s === "above")
    ? "shown"
    : sides.some((s) => s === "below")
    ? "not shown"
    : "not decidable at this scale";
  return {
    verdict,
    sentence: `${head}: ${verdict}. ModelCentrality's mean advantage in the supervised FactorVAE score of its pick ` +
      `(mean over sub-pools, 95% ${q.advantages[0].interval.method} interval) against ${adv}; its mean regret ` +
      `${regret(q, "modelCentrality")} against UDR Lasso ${regret(q, "udrLasso")} and UDR Spearman ` +
      `${regret(q, "udrSpearman")} (oracle − pick).${failed}`,
  };
}

function regret(q: SelectionQuality, s: string): string {
  return q.summaries.find((x) => x.selector === s)!.regret.toFixed(3);
}

/** Claim 2 over both pools. */
export function claim2Verdict(pools: ClaimVerdict[]): Verdict {
  if (pools.length > 0 && pools.every((p) => p.verdict === "shown")) return "shown";
  if (pools.some((p) => p.verdict === "not shown")) return "not shown";
  return "not decidable at this scale";
}
