/**
 * The delete-one jackknife interval of a statistic computed from n units (here: the n models of a pool). Used for the
 * model-selection comparison, whose statistic (a criterion's mean advantage over all sub-pools of size k) is an average
 * over overlapping sub-pools: the sub-pools are not independent draws, but the models are, so the uncertainty is
 * estimated by leaving one model out at a time (Efron & Stein 1981; the jackknife variance of such U-statistic-like
 * averages is consistent). Interval: estimate ± t_{n−1, 1−α/2} · se_jack.
 */
import { tQuantile } from "./student_t.ts";

export interface JackknifeInterval {
  estimate: number;
  lo: number;
  hi: number;
  se: number;
  level: number;
  n: number;
  method: "delete-one jackknife over models, Student t";
}

/**
 * `full` is the statistic on all n units, `leaveOneOut[m]` the statistic without unit m. Returns NaN ends when n < 2
 * or a leave-one-out value is not finite.
 */
export function jackknifeInterval(full: number, leaveOneOut: number[], level = 0.95): JackknifeInterval {
  if (!(level > 0 && level < 1)) throw new Error(`interval level must be in (0, 1), got ${level}`);
  const n = leaveOneOut.length;
  const base = { estimate: full, level, n, method: "delete-one jackknife over models, Student t" as const };
  if (n < 2 || !Number.isFinite(full) || leaveOneOut.some((v) => !Number.isFinite(v))) {
    return { ...base, lo: NaN, hi: NaN, se: NaN };
  }
  const mean = leaveOneOut.reduce((a, b) => a + b, 0) / n;
  const se = Math.sqrt(((n - 1) / n) * leaveOneOut.reduce((a, v) => a + (v - mean) ** 2, 0));
  const q = tQuantile(1 - (1 - level) / 2, n - 1);
  return { ...base, lo: full - q * se, hi: full + q * se, se };
}
