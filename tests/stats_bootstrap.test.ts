/**
 * The statistics of claim 1: the studentized bootstrap interval against numpy on an exhaustive bootstrap, its coverage
 * over many seeded samples (where the percentile bootstrap, a plausible wrong choice, under-covers), Student t
 * quantiles against scipy, the jackknife, and the paired comparison. Reference numbers:
 * `/usr/bin/python3 tests/reference/stats_reference.py` (numpy 1.24, scipy 1.10, Debian).
 */
import assert from "node:assert/strict";
import { Rng } from "../lib/rng.ts";
import {
  bootstrapMeanInterval,
  intervalSide,
  meanSd,
  pairedComparison,
  quantileSorted,
  resampleIndices,
  studentizedInterval,
} from "../lib/stats/bootstrap.ts";
import { jackknifeInterval } from "../lib/stats/jackknife.ts";
import { tCdf, tQuantile } from "../lib/stats/student_t.ts";

const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tolerance ${tol})`);

Deno.test("quantileSorted is numpy's linear quantile", () => {
  const v = [3, -1, 4, 1.5, 9, 2].sort((a, b) => a - b);
  const ref: Record<string, number> = { "0.025": -0.6875, "0.3": 1.75, "0.5": 2.5, "0.975": 8.375 };
  for (const [p, q] of Object.entries(ref)) close(quantileSorted(v, Number(p)), q, 1e-12, `q(${p})`);
  assert.equal(quantileSorted([5], 0.3), 5);
  assert.throws(() => quantileSorted([], 0.5), /empty/);
});

Deno.test("tQuantile matches scipy.stats.t.ppf; tCdf inverts it", () => {
  const ref: Record<string, number> = {
    "0.975|1": 12.706204736432095,
    "0.975|2": 4.302652729911275,
    "0.975|4": 2.7764451051977987,
    "0.975|7": 2.3646242510102993,
    "0.975|30": 2.0422724563012373,
    "0.995|1": 63.65674116287399,
    "0.995|7": 3.4994832973505026,
    "0.9|2": 1.8856180831641507,
    "0.9|30": 1.3104150225671307,
  };
  for (const [k, q] of Object.entries(ref)) {
    const [p, df] = k.split("|").map(Number);
    close(tQuantile(p, df), q, 1e-8 * Math.max(1, q), `t ${k}`);
    close(tQuantile(1 - p, df), -q, 1e-8 * Math.max(1, q), `t ${1 - p}|${df}`);
    // scipy's own ppf is accurate to about 5e-10 here (its cdf of its ppf(0.9, 30) gives 0.8999999995 too).
    close(tCdf(q, df), p, 1e-9, `cdf ${k}`);
  }
  assert.throws(() => tQuantile(1, 3), /0 < p < 1/);
});

Deno.test("bootstrap-t over every one of the 5^5 resamples equals numpy's", () => {
  const x = [0.12, -0.05, 0.31, 0.07, 0.02];
  function* every(n: number) {
    const idx = new Int32Array(n);
    for (let c = 0; c < n ** n; c++) {
      let r = c;
      for (let i = n - 1; i >= 0; i--) {
        idx[i] = r % n;
        r = Math.floor(r / n);
      }
      yield idx;
    }
  }
  const ci = studentizedInterval(x, every(5), 0.95);
  close(ci.estimate, 0.094, 1e-15, "mean");
  close(ci.lo, -0.026000000000000023, 1e-12, "lo");
  close(ci.hi, 0.3422028519934952, 1e-12, "hi");
  assert.equal(ci.resamples, 3125);
  assert.equal(ci.usedResamples, 3120, "the 5 constant resamples have no t* and are left out");
});

/** The nominal-95% percentile bootstrap interval (the plausible wrong choice) from the same kind of resamples. */
function percentileInterval(x: number[], resamples: number, rng: Rng): [number, number] {
  const means: number[] = [];
  for (const idx of resampleIndices(x.length, resamples, rng)) means.push(meanSd(Array.from(idx, (i) => x[i])).mean);
  means.sort((a, b) => a - b);
  return [quantileSorted(means, 0.025), quantileSorted(means, 0.975)];
}

Deno.test("coverage: with 8 values the bootstrap-t interval covers the true mean about 95% of the time", () => {
  // 600 seeded samples of 8 values (normal with mean 0.03, sd 0.05: a plausible paired FactorVAE difference) and of 8
  // centred exponentials (skewed). Standard error of a coverage estimate near 0.95 over 600 trials: 0.009.
  const trials = 600, n = 8, B = 1_000;
  const rng = new Rng(2024);
  let tNormal = 0, pNormal = 0, tSkewed = 0;
  for (let k = 0; k < trials; k++) {
    const normal = Array.from({ length: n }, () => 0.03 + 0.05 * rng.normal());
    const skewed = Array.from({ length: n }, () => -Math.log(1 - rng.next()) - 1);
    const a = bootstrapMeanInterval(normal, { resamples: B, rng: rng.fork(`t${k}`) });
    if (a.lo <= 0.03 && 0.03 <= a.hi) tNormal++;
    const [lo, hi] = percentileInterval(normal, B, rng.fork(`p${k}`));
    if (lo <= 0.03 && 0.03 <= hi) pNormal++;
    const s = bootstrapMeanInterval(skewed, { resamples: B, rng: rng.fork(`s${k}`) });
    if (s.lo <= 0 && 0 <= s.hi) tSkewed++;
  }
  const cov = (c: number) => c / trials;
  assert.ok(cov(tNormal) >= 0.925 && cov(tNormal) <= 0.975, `bootstrap-t coverage (normal) ${cov(tNormal)}`);
  assert.ok(cov(tSkewed) >= 0.9, `bootstrap-t coverage (skewed) ${cov(tSkewed)}`);
  // The same check fails the percentile interval: it is too narrow with 8 values.
  assert.ok(cov(pNormal) < 0.925, `percentile coverage ${cov(pNormal)} (expected below nominal)`);
});

Deno.test("bootstrapMeanInterval: seeded, so the same seed gives the same interval; degenerate samples", () => {
  const x = [0.05, 0.01, -0.02, 0.08, 0.03, 0.04];
  const a = bootstrapMeanInterval(x, { resamples: 500, rng: new Rng(1) });
  const b = bootstrapMeanInterval(x, { resamples: 500, rng: new Rng(1) });
  assert.deepEqual(a, b);
  assert.ok(a.lo < a.estimate && a.estimate < a.hi);
  const one = bootstrapMeanInterval([0.2], { resamples: 100, rng: new Rng(1) });
  assert.ok(Number.isNaN(one.lo) && Number.isNaN(one.hi), "one value has no interval");
  const same = bootstrapMeanInterval([0.1, 0.1, 0.1], { resamples: 100, rng: new Rng(1) });
  assert.equal(same.lo, same.estimate);
  assert.equal(same.hi, same.estimate);
  assert.throws(() => bootstrapMeanInterval([0.1, NaN], { resamples: 10, rng: new Rng(1) }), /value 1 is NaN/);
});

Deno.test("pairedComparison: per-seed differences in order, counts, and which side of 0", () => {
  const cr = [0.62, 0.55, 0.71, 0.48], control = [0.6, 0.56, 0.65, 0.48];
  const p = pairedComparison(cr, control, { resamples: 2_000, rng: new Rng(3) });
  p.diffs.forEach((d, i) => close(d, cr[i] - control[i], 1e-15, `diff ${i}`));
  assert.deepEqual([p.improved, p.worse, p.tied, p.n], [2, 1, 1, 4]);
  close(p.estimate, 0.0175, 1e-12, "mean difference");
  assert.equal(intervalSide(p), "includes 0");
  const clear = pairedComparison([0.7, 0.72, 0.69, 0.71, 0.73], [0.5, 0.51, 0.5, 0.49, 0.52], {
    resamples: 2_000,
    rng: new Rng(3),
  });
  assert.equal(intervalSide(clear), "above");
  assert.equal(intervalSide({ lo: -0.3, hi: -0.1 }), "below");
  assert.equal(intervalSide({ lo: NaN, hi: NaN }), "includes 0", "an undefined interval is never a difference");
  assert.throws(() => pairedComparison([1, 2], [1], { resamples: 10, rng: new Rng(1) }), /2 treated values but 1/);
});

Deno.test("jackknife of the mean reproduces the Student t interval exactly", () => {
  const x = [0.3, 0.1, 0.45, 0.2, 0.05, 0.33, 0.27];
  const n = x.length;
  const mean = meanSd(x).mean;
  const loo = x.map((_, i) => meanSd(x.filter((_, j) => j !== i)).mean);
  const j = jackknifeInterval(mean, loo);
  // For the mean, the jackknife standard error is exactly s / sqrt(n).
  close(j.se, meanSd(x).sd / Math.sqrt(n), 1e-12, "se");
  close(j.hi - mean, 2.4469118511449692 * j.se, 1e-9, "half width = t(0.975, 6) · se");
  assert.ok(Number.isNaN(jackknifeInterval(1, [1]).lo));
});
