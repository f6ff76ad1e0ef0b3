/**
 * The experiment framework behind `reproduce` and the notebooks: resumable steps, the never-throwing experiment
 * wrapper (a missing module is "not implemented yet", never a number), the paper's reference tables, the
 * ours-vs-paper comparison tables, and reproduce's flag parsing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ExperimentContext, NotImplementedYet, profileFromEnv } from "../lib/experiments/context.ts";
import { type Experiment, finishedSection, runExperiment } from "../lib/experiments/experiment.ts";
import { METRIC_COLUMNS, TABLE1, table1Row, TABLE3, table3Row } from "../lib/experiments/paper_tables.ts";
import { comparisonBars, metricsComparisonTable, oursMeans } from "../lib/experiments/tables.ts";
import { pickScores } from "../lib/experiments/toolkit.ts";
import type { ReportSection } from "../lib/report/types.ts";
import { parseReproduceFlags } from "../reproduce.ts";
import { jsonKey } from "../lib/io/canonical_json.ts";

async function withCtx(fn: (ctx: ExperimentContext, dir: string) => Promise<void>, profile: "smoke" | "cpu" = "smoke") {
  const dir = await Deno.makeTempDir({ prefix: "igcr-exp-" });
  try {
    await fn(new ExperimentContext({ id: "dsprites", profile, outDir: dir, backend: "test", log: () => {} }), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("step: runs once, then returns the stored result without running again; wall time still counts", async () => {
  await withCtx(async (ctx, dir) => {
    let calls = 0;
    const work = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 30));
      return { value: 42, list: [1, 2] };
    };
    assert.deepEqual(await ctx.step("train-a", work), { value: 42, list: [1, 2] });
    const first = ctx.wallTimeS();
    assert.ok(first >= 0.02, `wall time ${first}`);
    // A new context on the same folder = a resumed session.
    const again = new ExperimentContext({
      id: "dsprites",
      profile: "smoke",
      outDir: dir,
      backend: "test",
      log: () => {},
    });
    assert.deepEqual(await again.step("train-a", work), { value: 42, list: [1, 2] });
    assert.equal(calls, 1);
    assert.equal(again.wallTimeS(), first, "the restored step's time is counted, not zero");
    assert.ok(await again.isDone("train-a"));
    // Another profile never reuses the marker.
    const cpu = new ExperimentContext({ id: "dsprites", profile: "cpu", outDir: dir, backend: "test", log: () => {} });
    await cpu.step("train-a", work);
    assert.equal(calls, 2);
    assert.throws(() => ctx.stepPath("../escape"), /only letters/);
    assert.throws(() => ctx.runDir("a/b"), /only letters/);
  });
});

Deno.test("step: a stored result is reused only with the same key (the configs of the runs it scored)", async () => {
  await withCtx(async (ctx) => {
    let calls = 0;
    const work = () => Promise.resolve(++calls);
    const a = await jsonKey({ lr: 1e-4, iterations: 3000 });
    assert.equal(a, await jsonKey({ iterations: 3000, lr: 1e-4 }), "key order does not matter");
    const b = await jsonKey({ lr: 3e-4, iterations: 3000 });
    assert.equal(await ctx.step("eval-x", work, a), 1);
    assert.equal(await ctx.step("eval-x", work, a), 1, "same key: reused");
    assert.equal(await ctx.step("eval-x", work, b), 2, "another key (a retrained run): computed again");
    assert.equal(await ctx.step("eval-x", work), 3, "a keyed marker does not serve an unkeyed call");
    assert.equal(await ctx.step("eval-x", work), 3);
  });
});

Deno.test("a step that throws leaves no marker, so the next session retries it", async () => {
  await withCtx(async (ctx) => {
    await assert.rejects(() => ctx.step("flaky", () => Promise.reject(new Error("boom"))), /boom/);
    assert.equal(await ctx.isDone("flaky"), false);
    assert.equal(await ctx.step("flaky", () => Promise.resolve(7)), 7);
  });
});

function fakeExperiment(run: Experiment["run"]): Experiment {
  return { id: "dsprites", title: "Fake", claim: "a claim", estimateS: { smoke: 1, cpu: 1, paper: 1 }, run };
}

const okSection = (n: number): ReportSection => ({
  id: "dsprites",
  title: "Fake",
  status: "ok",
  paragraphs: [],
  tables: [],
  figures: [],
  numbers: { n },
  wallTimeS: 1,
});

Deno.test("runExperiment: missing module → not implemented, no numbers; error → failed with message; ok → reused", async () => {
  await withCtx(async (ctx) => {
    const notYet = await runExperiment(fakeExperiment(() => Promise.reject(new NotImplementedYet("metrics"))), ctx);
    assert.equal(notYet.status, "not-implemented");
    assert.deepEqual(notYet.numbers, {});
    assert.deepEqual(notYet.tables, []);
    assert.match(notYet.paragraphs[0], /not implemented yet: metrics/);

    const failed = await runExperiment(fakeExperiment(() => Promise.reject(new Error("disk full"))), ctx);
    assert.equal(failed.status, "failed");
    assert.match(failed.error!, /disk full/);
    assert.equal(await finishedSection(ctx), null, "a failure leaves no done-marker");

    let runs = 0;
    const good = fakeExperiment(() => Promise.resolve(okSection(++runs)));
    assert.deepEqual((await runExperiment(good, ctx)).numbers, { n: 1 });
    assert.deepEqual((await runExperiment(good, ctx)).numbers, { n: 1 }, "second run restored from the marker");
    assert.equal(runs, 1);
  });
});

Deno.test("runExperiment: a done-marker with another resume key is not reused", async () => {
  await withCtx(async (ctx) => {
    let key = "data=stand-in", runs = 0;
    const exp = { ...fakeExperiment(() => Promise.resolve(okSection(++runs))), resumeKey: () => key };
    await runExperiment(exp, ctx);
    await runExperiment(exp, ctx);
    assert.equal(runs, 1);
    key = "data=/faces";
    await runExperiment(exp, ctx);
    assert.equal(runs, 2);
  });
});

Deno.test("paper tables: transcribed values, the flagged typo kept as printed, unknown rows named", () => {
  assert.deepEqual(table1Row("InfoGAN-CR").factorVae, { mean: 0.88, std: 0.01 });
  assert.deepEqual(table1Row("InfoGAN (modified)").betaVae, { mean: 0.87, std: 0.01 });
  assert.equal(table1Row("InfoGAN").factorVae, "0.59±0.70 (sic)");
  assert.equal(table1Row("CHyVAE").mig, undefined, "a blank in the paper stays blank");
  assert.equal(TABLE1.length, 15);
  assert.equal(TABLE3.length, 6);
  assert.deepEqual(table3Row("InfoGAN-CR", "ModelCentrality").values.factorVae, { mean: 0.92, std: 0 });
  assert.deepEqual(table3Row("FactorVAE", "UDR Spearman").values.dci, { mean: 0.73, std: 0 });
  assert.throws(() => table1Row("BigGAN"), /Table 1 has no row "BigGAN"/);
  assert.deepEqual(METRIC_COLUMNS.map((c) => c.label), [
    "FactorVAE",
    "DCI",
    "SAP",
    "Explicitness",
    "Modularity",
    "MIG",
    "BetaVAE",
  ]);
});

Deno.test("comparison table: our mean±std over seeds beside the paper's value; missing metrics blank", () => {
  const models = [
    { label: "InfoGAN-CR", ours: [{ factorVae: 0.5, mig: 0.1 }, { factorVae: 0.7 }], paper: table1Row("InfoGAN-CR") },
    { label: "Ablation", ours: [{ factorVae: 0.4 }], paper: null },
  ];
  const t = metricsComparisonTable({
    id: "x",
    title: "X",
    models,
    provenance: { profile: "smoke", backend: "b", seeds: [1, 2], wallTimeS: 3 },
  });
  assert.deepEqual(t.columns.map((c) => `${c.label}/${c.source ?? "-"}`), [
    "Metric/-",
    "InfoGAN-CR/ours",
    "InfoGAN-CR/paper",
    "Ablation/ours",
  ]);
  const fv = t.rows[0];
  assert.equal(fv.metric, "FactorVAE");
  const ours = fv.ours0 as { mean: number; std: number; n: number };
  assert.ok(Math.abs(ours.mean - 0.6) < 1e-12 && Math.abs(ours.std - 0.1) < 1e-12 && ours.n === 2);
  assert.deepEqual(fv.paper0, { mean: 0.88, std: 0.01 });
  const mig = t.rows.find((r) => r.metric === "MIG")!;
  assert.deepEqual(mig.ours0, { mean: 0.1, n: 1 });
  assert.equal(mig.ours1, null, "not computed → blank");
  assert.equal(t.rows.find((r) => r.metric === "SAP")!.ours0, null);
  assert.ok(Math.abs(oursMeans(models)["InfoGAN-CR"].factorVae! - 0.6) < 1e-12);
  const bars = comparisonBars(models);
  assert.ok(bars.some((b) => b.row === "InfoGAN-CR (paper)" && b.column === "FactorVAE" && b.value === 0.88));
  assert.ok(!bars.some((b) => b.row === "Ablation (paper)"));
});

Deno.test("metric results map onto the paper's columns; nothing is invented", () => {
  assert.deepEqual(pickScores({ factorVae: 0.5, mig: NaN, dciLasso: 0.3, dci: 0.2 }), { factorVae: 0.5, dci: 0.2 });
  assert.deepEqual(pickScores({}), {});
});

Deno.test("reproduce flags: zod-parsed, errors name the flag and the choices", () => {
  assert.deepEqual(parseReproduceFlags(["--profile", "smoke", "--only=dsprites,selection", "--out", "x"]), {
    profile: "smoke",
    only: ["dsprites", "selection"],
    out: "x",
    parallel: undefined,
    backend: undefined,
  });
  assert.equal(parseReproduceFlags([]).profile, undefined, "no profile: reproduce picks paper on a GPU, cpu otherwise");
  assert.throws(() => parseReproduceFlags(["--profile", "huge"]), /--profile "huge": .*smoke.*cpu.*paper/s);
  assert.throws(() => parseReproduceFlags(["--only", "dsprites,mnist"]), /--only/);
  assert.throws(() => parseReproduceFlags(["--colour", "red"]), /unknown flag --colour/);
  assert.throws(() => parseReproduceFlags(["--out"]), /--out needs a value/);
  assert.throws(() => parseReproduceFlags(["stray"]), /unexpected argument "stray"/);
});

Deno.test("IGCR_PROFILE selects the notebook profile; a bad value is an error naming it", () => {
  const old = Deno.env.get("IGCR_PROFILE");
  try {
    Deno.env.delete("IGCR_PROFILE");
    assert.equal(profileFromEnv("smoke"), "smoke");
    Deno.env.set("IGCR_PROFILE", "cpu");
    assert.equal(profileFromEnv("smoke"), "cpu");
    Deno.env.set("IGCR_PROFILE", "fast");
    assert.throws(() => profileFromEnv(), /IGCR_PROFILE="fast"/);
  } finally {
    if (old === undefined) Deno.env.delete("IGCR_PROFILE");
    else Deno.env.set("IGCR_PROFILE", old);
  }
});

Deno.test("done-marker lives in the experiment's work folder", async () => {
  await withCtx(async (ctx, dir) => {
    await runExperiment(fakeExperiment(() => Promise.resolve(okSection(1))), ctx);
    const marker = JSON.parse(await Deno.readTextFile(join(dir, "work", "dsprites", "done.json")));
    assert.equal(marker.profile, "smoke");
    assert.deepEqual(marker.section.numbers, { n: 1 });
  });
});

Deno.test("reproduce exits non-zero naming the failed experiment, and still writes the report", async () => {
  const out = await Deno.makeTempDir({ prefix: "igcr-fail-" });
  try {
    const root = new URL("..", import.meta.url).pathname;
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(root, "reproduce.ts"), "--profile", "smoke", "--only", "celeba", "--out", out],
      cwd: root,
      // A CelebA folder that does not exist: the experiment must fail loudly, not fall back to the stand-in.
      env: { NO_COLOR: "1", IGCR_CELEBA_DIR: join(out, "no-such-folder") },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 1, stderr);
    assert.match(stderr, /did not complete: celeba \(failed\)/);
    const results = JSON.parse(await Deno.readTextFile(join(out, "results.json")));
    assert.equal(results.experiments.celeba.status, "failed");
    assert.match(results.experiments.celeba.error, /no-such-folder/);
    assert.match(await Deno.readTextFile(join(out, "report.md")), /\| FAILED \|/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("Table 3 columns: each pick, the pool mean and median, the oracle; the median is per metric", async () => {
  const { medianScores, table3Models } = await import("../lib/experiments/selection.ts");
  assert.deepEqual(medianScores([{ factorVae: 0.9, mig: 0.1 }, { factorVae: 0.5 }, { factorVae: 0.7, mig: 0.3 }]), {
    factorVae: 0.7,
    mig: 0.2,
  });
  const members = [0.4, 0.9, 0.6, 0.5].map((f, i) => ({
    name: `m${i}`,
    setting: `seed ${i}`,
    runDir: "",
    scores: { factorVae: f },
    wallS: 0,
  }));
  const crit = (pick: number) => ({ scores: [0, 0, 0, 0], pick, matrix: [] });
  const cols = table3Models({
    pool: "InfoGAN-CR",
    members,
    mc: crit(1),
    udrLasso: crit(0),
    udrSpearman: crit(3),
    wallS: 0,
  });
  assert.deepEqual(cols.map((c) => c.label), [
    "UDR Lasso",
    "UDR Spearman",
    "ModelCentrality",
    "Pool mean",
    "Pool median",
    "Oracle (best FactorVAE in pool)",
  ]);
  assert.deepEqual(cols.map((c) => c.ours.map((s) => s.factorVae)), [[0.4], [0.5], [0.9], [0.4, 0.9, 0.6, 0.5], [
    0.55,
  ], [0.9]]);
});

Deno.test("gapLabel says what the teapot schedule does in each profile", async () => {
  const { gapLabel, teapotConfig } = await import("../lib/experiments/teapots.ts");
  assert.equal(gapLabel(teapotConfig("paper", 1, "gap")), "gap 1.9 then 0 from iteration 85000");
  assert.equal(gapLabel(teapotConfig("cpu", 1, "gap")), "gap 1.9 throughout");
  assert.equal(gapLabel(teapotConfig("paper", 1, "no-gap")), "gap 0 throughout");
});
