/**
 * End to end: `deno task select` on a pool folder of real (untrained, randomly initialised) InfoGAN-CR runs written
 * with the trainer's checkpoint format, in the smoke profile. Checks the files it writes and what it prints.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../lib/rng.ts";
import { presetFor } from "../lib/config/gan.ts";
import { architectureFor, initDQ, initGenerator } from "../lib/models/infogan_cr.ts";
import { saveCheckpoint } from "../lib/train/checkpoint.ts";

await tf.setBackend("cpu");

/** A run folder at the smoke preset's last iteration; `scoredAt` records which iteration its metrics.json scored. */
async function fakeGanRun(dir: string, seed: number, factorVae?: number, scoredAt?: number): Promise<void> {
  const cfg = presetFor("dsprites", "smoke", { seed });
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(cfg));
  const arch = architectureFor("dsprites");
  const rng = new Rng(seed);
  const g = initGenerator(arch, rng), dq = initDQ(arch, rng);
  try {
    await saveCheckpoint(`${dir}/checkpoint`, {
      tensors: { generator: g.all(), discriminator: dq.all() },
      state: { iteration: cfg.iterations, imageShape: arch.imageShape },
    });
  } finally {
    g.dispose();
    dq.dispose();
  }
  if (factorVae !== undefined) {
    await Deno.writeTextFile(
      `${dir}/metrics.json`,
      JSON.stringify({ schema: "igcr-metrics/1", scores: { factorVae }, checkpointIteration: scoredAt }),
    );
  }
}

Deno.test("select CLI: ranks a pool, writes selection.json and plots, reports picks against metrics.json", async () => {
  const root = await Deno.makeTempDir({ prefix: "select_cli_" });
  try {
    await fakeGanRun(`${root}/s0`, 0, 0.61, presetFor("dsprites", "smoke").iterations);
    await fakeGanRun(`${root}/s1`, 1, 0.55); // a metrics.json that predates the recorded iteration: used
    await fakeGanRun(`${root}/s2`, 2, 0.99, 3); // scored at iteration 3, trained further since: stale
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../cli/select.ts", import.meta.url).pathname,
        ...["--pool", root, "--profile", "smoke", "--method", "all", "--udr-samples", "200", "--supervised"],
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stdout + stderr);
    for (const label of ["ModelCentrality", "UDR Lasso", "UDR Spearman"]) {
      assert.match(stdout, new RegExp(`${label} \\(`));
    }
    assert.match(stdout, /Kendall tau-b against the supervised FactorVAE ranking \(3 of 3 members scored\)/);

    const sel = JSON.parse(await Deno.readTextFile(`${root}/selection.json`));
    assert.equal(sel.schema, "igcr-selection/1");
    assert.equal(sel.profile, "smoke");
    assert.deepEqual(sel.members.map((m: { name: string }) => m.name), ["s0", "s1", "s2"]);
    // s0 and s1 from metrics.json; s2's describes iteration 3 of a run now at 6, so --supervised evaluates it.
    const sup = sel.members.map((m: { supervisedFactorVae: number }) => m.supervisedFactorVae);
    assert.deepEqual(sup.slice(0, 2), [0.61, 0.55]);
    assert.ok(sup[2] >= 0 && sup[2] <= 1 && sup[2] !== 0.99, `s2 scored again: ${sup[2]}`);
    assert.match(stderr, /s2\/metrics\.json scored iteration 3, the checkpoint is at 6: not used/);
    assert.match(sel.members[2].supervisedSource, /evaluated here \(infogan-cr, smoke\)/);
    const sorted = [...sup].sort((a, b) => a - b);
    const row = (label: string) => sel.comparison.find((r: { label: string }) => r.label === label);
    assert.equal(row("pool best").supervised, sorted[2]);
    assert.equal(row("pool best").member, ["s0", "s1", "s2"][sup.indexOf(sorted[2])]);
    assert.equal(row("pool median").supervised, sorted[1]);
    const mcPick = sel.methods["model-centrality"].pick;
    assert.equal(row("ModelCentrality pick").supervised, sup[mcPick]);
    assert.match(
      stdout,
      new RegExp(`ModelCentrality pick\\s+s${mcPick}\\s+${sup[mcPick].toFixed(3)}\\s+0\\.92 ± 0\\.00`),
    );
    const mc = sel.methods["model-centrality"];
    assert.equal(mc.S.length, 3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        assert.ok(mc.S[i][j] >= 0 && mc.S[i][j] <= 1);
        assert.equal(mc.A[i][j], mc.A[j][i]);
      }
    }
    assert.equal(mc.pick, mc.order[0]);
    assert.equal(mc.sizes.groupsPerCode, 4);
    for (const m of ["udr-lasso", "udr-spearman"]) {
      assert.equal(sel.methods[m].samples, 200);
      assert.equal(sel.methods[m].scores.length, 3);
    }
    for (const f of ["similarity", "cross_scores", "centrality_vs_factorvae"]) {
      const svg = await Deno.readTextFile(`${root}/plots/${f}.svg`);
      assert.match(svg, /^<svg/);
      const png = await Deno.readFile(`${root}/plots/${f}.png`);
      assert.deepEqual(Array.from(png.slice(1, 4)), [0x50, 0x4e, 0x47]); // "PNG"
    }
    assert.ok(![...Deno.readDirSync(root)].some((e) => e.name.includes(".tmp-")), "no temp files left behind");

    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../cli/select.ts", import.meta.url).pathname, "--pool", `${root}/s0`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.notEqual(bad.code, 0);
    assert.match(new TextDecoder().decode(bad.stderr), /has 0 trained member\(s\); selection needs at least 2/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
