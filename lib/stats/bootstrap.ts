/**
 * Confidence intervals for a mean over a handful of seeds, and the paired comparison of two arms trained from the same
 * checkpoints (claim 1: CR arm minus control arm, one difference per seed).
 *
 * The interval is the **studentized bootstrap** (bootstrap-t, Efron & Tibshirani 1993 §12.5): resample the n values with
 * replacement, form t* = (mean* − mean) / se* per resample, and invert its quantiles: [mean − t*₀.₉₇₅·se,
 * mean − t*₀.₀₂₅·se]. Why not the percentile or BCa bootstrap: with 6–8 values they are too narrow. Over 1,000
 * simulated samples of 8 normal values each, a nominal 95% percentile interval covered the true mean 87.5% of the time,
 * BCa 87.1%, bootstrap-t 94.4% (6 values: 86.8%, 85.9%, 94.0%; skewed and heavy-tailed samples alike:
 * `/usr/bin/python3 tests/reference/bootstrap_coverage.py`); tests/stats_bootstrap.test.ts re-measures the percentile
 * and bootstrap-t coverage with this module. A difference is called an improvement only when its interval lies above
 * 0.
 *
 * Resamples whose standard deviation is 0 (every draw the same value) have no t* and are skipped; with 8 values that
 * is about one resample in two million.
 */
import type { Rng } from "../rng.ts";

export const INTERVAL_METHOD = "studentized bootstrap (bootstrap-t)";

export interface Interval {
  /** The sample mean. */
  estimate: number;
  /** Lower and upper end; NaN when undefined (fewer than 2 values). */
  lo: number;
  hi: number;
  level: number;
  n: number;
  method: string;
  /** Resamples drawn and resamples used (those with a nonzero standard deviation). */
  resamples: number;
  usedResamples: number;
}

/** The p-quantile of ascending values with linear interpolation (numpy's default, Hyndman & Fan type 7). */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new Error("quantile of an empty list");
  if (!(p >= 0 && p <= 1)) throw new Error(`quantile: p must be in [0, 1], got ${p}`);
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Mean and sample standard deviation (ddof 1; 0 for one value). */
export function meanSd(x: ArrayLike<number>): { mean: number; sd: number } {
  const n = x.length;
  if (n === 0) throw new Error("meanSd of an empty list");
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  const mean = s / n;
  if (n === 1) return { mean, sd: 0 };
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - mean) ** 2;
  return { mean, sd: Math.sqrt(v / (n - 1)) };
}

function checkValues(x: ArrayLike<number>, what: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) throw new Error(`${what}: value ${i} is ${x[i]}, not a finite number`);
  }
}

function checkLevel(level: number): void {
  if (!(level > 0 && level < 1)) throw new Error(`interval level must be in (0, 1), got ${level}`);
}

/**
 * The bootstrap-t interval of the mean from given resamples (each a list of n indices into x). Pure: the tests feed it
 * every one of the n^n resamples of a tiny sample and compare with numpy on the same enumeration.
 */
export function studentizedInterval(
  x: ArrayLike<number>,
  resamples: Iterable<ArrayLike<number>>,
  level = 0.95,
): Interval {
  checkValues(x, "studentizedInterval");
  checkLevel(level);
  const n = x.length;
  const { mean, sd } = n > 0 ? meanSd(x) : { mean: NaN, sd: NaN };
  const base = { estimate: mean, level, n, method: INTERVAL_METHOD };
  if (n < 2) return { ...base, lo: NaN, hi: NaN, resamples: 0, usedResamples: 0 };
  const se = sd / Math.sqrt(n);
  const t: number[] = [];
  let drawn = 0;
  const buf = new Float64Array(n);
  for (const idx of resamples) {
    drawn++;
    if (idx.length !== n) throw new Error(`studentizedInterval: a resample has ${idx.length} indices, expected ${n}`);
    for (let i = 0; i < n; i++) buf[i] = x[idx[i]];
    const r = meanSd(buf);
    if (r.sd > 0) t.push((r.mean - mean) / (r.sd / Math.sqrt(n)));
  }
  // Every value equal: no spread to resample, the interval is the point.
  if (se === 0 || t.length === 0) return { ...base, lo: mean, hi: mean, resamples: drawn, usedResamples: t.length };
  t.sort((a, b) => a - b);
  const alpha = 1 - level;
  return {
    ...base,
    lo: mean - quantileSorted(t, 1 - alpha / 2) * se,
    hi: mean - quantileSorted(t, alpha / 2) * se,
    resamples: drawn,
    usedResamples: t.length,
  };
}

/** `count` resamples of n indices drawn uniformly with replacement from `rng` (lazily, one at a time). */
export function* resampleIndices(n: number, count: number, rng: Rng): Generator<Int32Array> {
  if (!(Number.isInteger(count) && count >= 1)) throw new Error(`resamples must be a positive integer, got ${count}`);
  const idx = new Int32Array(n);
  for (let b = 0; b < count; b++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    yield idx;
  }
}

export interface BootstrapOptions {
  /** Resamples (e.g. 10,000). */
  resamples: number;
  /** Interval level (default 0.95). */
  level?: number;
  /** The seeded stream the resamples come from (lib/rng.ts). */
  rng: Rng;
}

/** The bootstrap-t interval of the mean of x, with seeded resamples. */
export function bootstrapMeanInterval(x: ArrayLike<number>, opts: BootstrapOptions): Interval {
  return studentizedInterval(x, resampleIndices(x.length, opts.resamples, opts.rng), opts.level ?? 0.95);
}

export interface PairedComparison extends Interval {
  /** treated[i] − control[i], in the given order (one per seed). */
  diffs: number[];
  /** Seeds where the treated arm scored higher, lower, the same. */
  improved: number;
  worse: number;
  tied: number;
}

/**
 * Per-seed paired differences treated − control, their mean and its bootstrap-t interval, and how many seeds improved.
 * Both arrays hold one value per seed, in the same seed order.
 */
export function pairedComparison(
  treated: ArrayLike<number>,
  control: ArrayLike<number>,
  opts: BootstrapOptions,
): PairedComparison {
  if (treated.length !== control.length) {
    throw new Error(`pairedComparison: ${treated.length} treated values but ${control.length} control values`);
  }
  if (treated.length === 0) throw new Error("pairedComparison: no pairs");
  checkValues(treated, "pairedComparison (treated)");
  checkValues(control, "pairedComparison (control)");
  const diffs = Array.from(treated, (t, i) => t - control[i]);
  return {
    ...bootstrapMeanInterval(diffs, opts),
    diffs,
    improved: diffs.filter((d) => d > 0).length,
    worse: diffs.filter((d) => d < 0).length,
    tied: diffs.filter((d) => d === 0).length,
  };
}

/** Which side of 0 an interval lies on: "above", "below", or "includes 0" (also when it is undefined). */
export function intervalSide(i: Pick<Interval, "lo" | "hi">): "above" | "below" | "includes 0" {
  if (Number.isFinite(i.lo) && i.lo > 0) return "above";
  if (Number.isFinite(i.hi) && i.hi < 0) return "below";
  return "includes 0";
}
