/**
 * Rank statistics used by model selection: average ranks with ties, Spearman's rho, Kendall's tau-b, and a stable
 * descending order of scores. Plain arrays in, numbers out; no tensors.
 */
import { pearson } from "../ml/correlation.ts";

export { pearson };

/** Rejects arrays that cannot be ranked, naming the argument. */
function checkFinite(name: string, xs: ArrayLike<number>): void {
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i])) throw new Error(`${name}[${i}] is ${xs[i]}: rank statistics need finite numbers`);
  }
}

function checkPair(x: ArrayLike<number>, y: ArrayLike<number>): void {
  if (x.length !== y.length) throw new Error(`rank statistics need equal lengths, got ${x.length} and ${y.length}`);
  checkFinite("x", x);
  checkFinite("y", y);
}

/**
 * 1-based ranks of `xs` in ascending order; tied values share the mean of the ranks they span (the "average" method,
 * which is what Spearman's rho needs so that ties do not bias the correlation).
 */
export function averageRanks(xs: ArrayLike<number>): Float64Array {
  const n = xs.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => xs[a] - xs[b] || a - b);
  const out = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i + 1;
    while (j < n && xs[idx[j]] === xs[idx[i]]) j++;
    const r = (i + 1 + j) / 2; // mean of ranks i+1 .. j
    for (let k = i; k < j; k++) out[idx[k]] = r;
    i = j;
  }
  return out;
}

/** Spearman's rank correlation rho: the Pearson correlation of the average ranks. NaN when either side is constant. */
export function spearmanRho(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y);
  if (x.length < 2) throw new Error(`spearmanRho needs at least 2 points, got ${x.length}`);
  return pearson(averageRanks(x), averageRanks(y));
}

/**
 * Kendall's tau-b: (concordant - discordant) / sqrt((n0 - tiesX) * (n0 - tiesY)), n0 = n(n-1)/2, where tiesX counts
 * pairs tied in x. tau-b (not tau-a) because pool scores can tie, and tau-b still reaches ±1 for identical or reversed
 * orders in that case. O(n²): pools have tens of models. NaN when either ranking is entirely tied.
 */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  checkPair(x, y);
  const n = x.length;
  if (n < 2) throw new Error(`kendallTauB needs at least 2 items, got ${n}`);
  let concordant = 0, discordant = 0, tiesX = 0, tiesY = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = Math.sign(x[i] - x[j]), dy = Math.sign(y[i] - y[j]);
      if (dx === 0) tiesX++;
      if (dy === 0) tiesY++;
      if (dx !== 0 && dy !== 0) {
        if (dx === dy) concordant++;
        else discordant++;
      }
    }
  }
  const n0 = (n * (n - 1)) / 2;
  const denom = Math.sqrt((n0 - tiesX) * (n0 - tiesY));
  return denom === 0 ? NaN : (concordant - discordant) / denom;
}

/** Indices sorted by descending score; ties keep the lower index first so that picks are deterministic. */
export function orderDescending(scores: ArrayLike<number>): number[] {
  checkFinite("scores", scores);
  return Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
}

/** Median (mean of the two middle values for even length). */
export function median(xs: ArrayLike<number>): number {
  if (xs.length === 0) throw new Error("median of an empty list");
  const s = Array.from(xs).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
