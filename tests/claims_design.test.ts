/**
 * The claim experiments' design and wording: the paired runs' configs and training jobs, the paired statistics, the
 * verdict rules (never an improvement when the interval includes 0), and the new charts compile to SVG.
 */
import assert from "node:assert/strict";
import { alphaAt, alphaSwitchIteration } from "../lib/config/gan.ts";
import { claimsPlan } from "../lib/config/claims.ts";
import { pairedStatistics } from "../lib/experiments/dsprites.ts";
import { pairedConfigs, pairedJobs, type PairedSeed } from "../lib/experiments/paired_runs.ts";
import { claim1Verdict, claim2PoolVerdict, claim2Verdict, formatInterval } from "../lib/experiments/verdicts.ts";
import { committedVerdicts } from "../lib/experiments/notebook.ts";
import { Rng } from "../lib/rng.ts";
import { type PoolMatrices, selectionQuality } from "../lib/selection/subpools.ts";
import { pairedComparison } from "../lib/stats/bootstrap.ts";
import { checkBranchable } from "../lib/train/branch.ts";
import { intervalChart, learningCurveChart, specToSvg } from "../lib/viz/charts.ts";

Deno.test("paired configs: the phase stops at the CR switch, the arms differ in CR only, snapshots split by range", () => {
  for (const profile of ["smoke", "cpu", "paper"] as const) {
    const plan = claimsPlan(profile);
    const c = pairedConfigs(profile, plan.curveSeeds[0]);
    assert.equal(c.phase.iterations, c.branchAt);
    assert.equal(c.phase.model, "infogan");
    assert.equal(alphaSwitchIteration(c.cr), c.branchAt, `${profile}: CR switches on at the branch point`);
    assert.equal(c.control.iterations, c.cr.iterations);
    assert.equal(alphaAt(c.control, c.cr.iterations - 1), 0, "the control arm never turns CR on");
    checkBranchable(c.phase, c.cr, c.branchAt);
    checkBranchable(c.phase, c.control, c.branchAt);
    const { snapshotAt: _a, model: _m, ...cr } = c.cr;
    const { snapshotAt: _b, model: _n, ...control } = c.control;
    assert.deepEqual({ ...cr, alpha: null }, { ...control, alpha: null }, `${profile}: arms differ in CR only`);
    assert.ok((c.phase.snapshotAt ?? []).every((it) => it < c.branchAt));
    assert.ok((c.cr.snapshotAt ?? []).every((it) => it > c.branchAt && it < c.cr.iterations));
    assert.ok(plan.snapshotAt.includes(0), `${profile}: the curve starts at the untrained model`);
    assert.ok(plan.seeds.length >= (profile === "smoke" ? 3 : 8), `${profile}: enough seeds`);
    // A seed outside the curve keeps no snapshots.
    const other = plan.seeds.find((s) => !plan.curveSeeds.includes(s));
    if (other !== undefined) assert.equal(pairedConfigs(profile, other).cr.snapshotAt, undefined);
  }
});

Deno.test("paired jobs: phases first, then the CR arms, then the control arms, each arm branching from its phase", () => {
  const jobs = pairedJobs("cpu");
  const seeds = claimsPlan("cpu").seeds;
  assert.equal(jobs.length, 3 * seeds.length);
  assert.deepEqual(jobs.slice(0, seeds.length).map((j) => j.branch), seeds.map(() => undefined));
  assert.match(jobs[seeds.length].name, /^dsprites-infogan-cr-seed1$/);
  assert.match(jobs.at(-1)!.name, /^dsprites-infogan-control-seed8$/);
  for (const j of jobs.slice(seeds.length)) {
    assert.equal(j.branch?.from, j.name.replace(/-(cr|control)-/, "-phase-"));
    assert.equal(j.branch?.at, pairedConfigs("cpu", 1).branchAt);
  }
});

function seedResult(seed: number, cr: number, control: number, before: number): PairedSeed {
  return {
    seed,
    branchAt: 3,
    iterations: 6,
    cr: { factorVae: cr, mig: cr / 4 },
    control: { factorVae: control, mig: control / 4 },
    before: { factorVae: before, mig: before / 4 },
    trainWallS: { phase: 1, cr: 1, control: 1 },
    evalWallS: 1,
  };
}

Deno.test("pairedStatistics: CR − control and CR − branch point per metric, seeded and reproducible", () => {
  const runs = [
    seedResult(1, 0.6, 0.55, 0.5),
    seedResult(2, 0.52, 0.5, 0.49),
    seedResult(3, 0.7, 0.66, 0.6),
    seedResult(4, 0.48, 0.47, 0.45),
  ];
  const s = pairedStatistics(runs, "cpu");
  assert.deepEqual(Object.keys(s.crVsControl).sort(), ["factorVae", "mig"]);
  const fv = s.crVsControl.factorVae!;
  assert.ok(Math.abs(fv.diffs[0] - 0.05) < 1e-12 && fv.improved === 4 && fv.n === 4);
  assert.ok(Math.abs(s.crVsBefore.factorVae!.diffs[2] - 0.1) < 1e-12);
  assert.deepEqual(pairedStatistics(runs, "cpu"), s, "the bootstrap is seeded from the plan");
  assert.equal(fv.resamples, claimsPlan("cpu").bootstrap.resamples);
});

function paired(diffs: number[]) {
  return pairedComparison(diffs, diffs.map(() => 0), { resamples: 2_000, rng: new Rng(1) });
}

Deno.test("claim 1 verdict: shown only when the interval lies above 0; the sentence carries the numbers", () => {
  const up = claim1Verdict({ factorVae: paired([0.05, 0.04, 0.06, 0.05, 0.07, 0.03]) }, 0.01);
  assert.equal(up.verdict, "shown");
  assert.match(up.sentence, /Claim 1 \(CR improves disentanglement\): shown\.\*\* .* paired difference \+0\.050 \[/);
  assert.match(up.sentence, /6 of 6 seeds improved/);
  assert.match(up.sentence, /standard deviation of 0\.010/);
  const mixed = claim1Verdict({ factorVae: paired([0.05, -0.04, 0.06, -0.05, 0.02, 0.01]) });
  assert.equal(mixed.verdict, "not decidable at this scale");
  assert.doesNotMatch(mixed.sentence, /scored higher/);
  const down = claim1Verdict({ factorVae: paired([-0.05, -0.04, -0.06, -0.05]), mig: paired([0.1, 0.12, 0.09]) });
  assert.equal(down.verdict, "not shown");
  assert.match(down.sentence, /above 0 for 1 \(MIG\) and below 0 for 1 \(FactorVAE\)/);
  assert.equal(claim1Verdict({ factorVae: paired([0.3]) }).verdict, "not decidable at this scale", "one seed");
  assert.equal(formatInterval({ estimate: -0.0123, lo: -0.05, hi: 0.02 }), "−0.012 [−0.050, +0.020]");
});

function quality(good: boolean) {
  const sup = [0.41, 0.72, 0.55, 0.63, 0.3, 0.66, 0.5, 0.58];
  const byScore = sup.map((s) => sup.map((t) => (s + t) / 2));
  const reverse = sup.map((s) => sup.map((t) => 2 - (s + t) / 2));
  const m: PoolMatrices = {
    modelCentrality: good ? byScore : reverse,
    udrLasso: good ? reverse : byScore,
    udrSpearman: reverse,
  };
  return selectionQuality(m, sup, { k: 5, maxSubpools: 500, rng: new Rng(1) });
}

Deno.test("claim 2 verdict: a pool that learnt nothing is undecidable; intervals decide the rest", () => {
  const shown = claim2PoolVerdict({ pool: "InfoGAN-CR", quality: quality(true), notAbove: [], noiseSd: 0.01 });
  assert.equal(shown.verdict, "shown");
  assert.match(shown.sentence, /InfoGAN-CR pool \(8 models, 56 sub-pools of 5\): shown\./);
  assert.match(shown.sentence, /Every member scores clearly above the untrained model/);
  const worse = claim2PoolVerdict({ pool: "FactorVAE", quality: quality(false), notAbove: [], noiseSd: 0.01 });
  assert.equal(worse.verdict, "not shown");
  // Some members failed: still a selection problem, and the sentence names them.
  const some = claim2PoolVerdict({
    pool: "FactorVAE",
    quality: quality(true),
    notAbove: ["gamma 1, seed 1"],
    noiseSd: 0,
  });
  assert.equal(some.verdict, "shown");
  assert.match(some.sentence, /1 of its 8 models \(gamma 1, seed 1\) does not score clearly above the untrained/);
  const all = Array.from({ length: 8 }, (_, i) => `seed ${i + 1}`);
  const none = claim2PoolVerdict({ pool: "FactorVAE", quality: quality(true), notAbove: all, noiseSd: 0 });
  assert.equal(none.verdict, "not decidable at this scale");
  assert.match(none.sentence, /none of its models scores clearly above the untrained model/);
  // Members that differ by less than the scoring noise: nothing to choose between.
  const flat = claim2PoolVerdict({ pool: "InfoGAN-CR", quality: quality(true), notAbove: [], noiseSd: 0.5 });
  assert.equal(flat.verdict, "not decidable at this scale");
  assert.match(flat.sentence, /no more than twice the evaluation noise/);
  assert.equal(claim2Verdict([shown, shown]), "shown");
  assert.equal(claim2Verdict([shown, none]), "not decidable at this scale");
  assert.equal(claim2Verdict([shown, worse]), "not shown");
});

Deno.test("committed results: verdict sentences are found in new reports, none in old ones", () => {
  assert.deepEqual(committedVerdicts({ means: {}, runs: [] }), [], "a report from before the claims study");
  assert.deepEqual(committedVerdicts(undefined), []);
  assert.deepEqual(committedVerdicts({ verdict: "shown", verdictSentence: "**Claim 1 …**" }), ["**Claim 1 …**"]);
  assert.deepEqual(
    committedVerdicts({
      verdict: "not shown",
      "InfoGAN-CR": { verdictSentence: "A" },
      FactorVAE: { verdictSentence: "B" },
    }),
    ["**Over both pools: not shown.**", "A", "B"],
  );
});

Deno.test("learning-curve and interval charts compile to SVG; a log axis refuses iteration 0", async () => {
  const rows = [1, 10, 100].flatMap((it) => [
    { metric: "FactorVAE", iteration: it, value: 0.3 + it / 1000, seed: "seed 1", arm: "CR arm" },
    { metric: "MIG", iteration: it, value: it / 1000, seed: "seed 1", arm: "CR arm" },
  ]);
  const svg = await specToSvg(learningCurveChart(rows, {
    title: "curve",
    references: [{ metric: "FactorVAE", iteration: 322_560, value: 0.88, label: "paper" }],
    baselines: [{ metric: "FactorVAE", value: 0.26, label: "untrained" }],
    markers: [{ x: 10, label: "branch" }],
  }));
  assert.ok(svg.startsWith("<svg") && svg.includes("FactorVAE") && svg.includes("MIG"));
  assert.throws(() => learningCurveChart([{ ...rows[0], iteration: 0 }]), /log axis needs iterations > 0/);
  const svg2 = await specToSvg(intervalChart([
    { label: "FactorVAE", estimate: 0.02, lo: -0.01, hi: 0.05, points: [0.01, 0.03] },
    { label: "MIG", estimate: 0.01, lo: NaN, hi: NaN },
  ]));
  assert.ok(svg2.includes("FactorVAE"));
});
