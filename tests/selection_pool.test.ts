import assert from "node:assert/strict";
import {
  listPoolMembers,
  memberStatus,
  paperGrid,
  poolMembers,
  PoolSpec,
  readPoolSpec,
  trainArgs,
  writePoolManifest,
} from "../lib/selection/pool.ts";
import {
  compareWithSupervised,
  comparisonTable,
  poolFamily,
  rankAgreement,
  rankingTable,
  supervisedFactorVae,
} from "../lib/selection/report.ts";

const spec = (over: Partial<PoolSpec> = {}): PoolSpec =>
  PoolSpec.parse({ dataset: "dsprites", model: "factor-vae", profile: "cpu", seeds: [0, 1], grid: {}, ...over });

/** A fake run folder: config.json with `iterations`, and optionally a checkpoint state at `iteration`. */
async function fakeRun(dir: string, iterations: number, iteration?: number, old = false): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({ model: "infogan-cr", dataset: "dsprites", iterations }),
  );
  if (iteration !== undefined) {
    const ck = `${dir}/${old ? "checkpoint.old" : "checkpoint"}`;
    await Deno.mkdir(ck, { recursive: true });
    await Deno.writeTextFile(`${ck}/state.json`, JSON.stringify({ groups: [], state: { iteration } }));
  }
}

Deno.test("pool: members are seeds × grid with unique folder names, and train flags carry the grid values", () => {
  const s = spec({ grid: paperGrid("factor-vae"), iterations: 500 });
  const members = poolMembers(s);
  assert.equal(members.length, 8);
  assert.deepEqual(members.slice(0, 4).map((m) => m.name), ["gamma1-s0", "gamma10-s0", "gamma20-s0", "gamma40-s0"]);
  assert.equal(new Set(members.map((m) => m.name)).size, 8);
  const args = trainArgs(s, members[5], "runs/p/gamma10-s1", true);
  assert.deepEqual(args, [
    "--dataset",
    "dsprites",
    "--model",
    "factor-vae",
    "--profile",
    "cpu",
    "--seed",
    "1",
    "--out",
    "runs/p/gamma10-s1",
    "--iterations",
    "500",
    "--gamma",
    "10",
    "--resume",
  ]);
  assert.deepEqual(paperGrid("infogan-cr"), {}, "the paper's InfoGAN-CR pool is seeds of one setting");
  assert.deepEqual(poolMembers(spec({ model: "infogan-cr", seeds: [3, 4] })).map((m) => m.name), ["s3", "s4"]);
  assert.throws(() => poolMembers(spec({ seeds: [1, 1] })), /share the folder "s1"/);
  assert.throws(() => PoolSpec.parse({ ...spec(), extra: 1 }), /unrecognized/i);
});

Deno.test("pool: member status is new / partial / done from the run folder, and listing follows pool.json", async () => {
  const root = await Deno.makeTempDir({ prefix: "pool_test_" });
  try {
    await fakeRun(`${root}/s0`, 100, 100);
    await fakeRun(`${root}/s1`, 100, 50);
    await fakeRun(`${root}/s2`, 100, 75, true); // only the .old checkpoint survived an interrupted rename
    await fakeRun(`${root}/s3`, 100); // died before its first checkpoint
    assert.deepEqual(await memberStatus(`${root}/s0`), { state: "done", iteration: 100, iterations: 100 });
    assert.deepEqual(await memberStatus(`${root}/s1`), { state: "partial", iteration: 50, iterations: 100 });
    assert.deepEqual(await memberStatus(`${root}/s2`), { state: "partial", iteration: 75, iterations: 100 });
    assert.equal((await memberStatus(`${root}/s3`)).state, "new");
    assert.equal((await memberStatus(`${root}/nothing`)).state, "new");

    // Without pool.json: every sub-folder with a config.json, in natural order.
    await fakeRun(`${root}/s10`, 100, 100);
    await Deno.mkdir(`${root}/logs`);
    assert.deepEqual((await listPoolMembers(root)).map((m) => m.name), ["s0", "s1", "s2", "s3", "s10"]);
    // With pool.json: its members that have a run, in its order.
    const s = spec({ model: "infogan-cr", seeds: [1, 0, 7] });
    await writePoolManifest(root, { spec: s, members: poolMembers(s) });
    const listed = await listPoolMembers(root);
    assert.deepEqual(listed.map((m) => m.name), ["s1", "s0"]);
    assert.equal(listed[0].seed, 1);
    assert.deepEqual(await readPoolSpec(root), s);
    await assert.rejects(() => listPoolMembers(`${root}/missing`), /no folder .*missing/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("pool CLI: --dry-run skips finished members, resumes partial ones with --resume, starts new ones", async () => {
  const root = await Deno.makeTempDir({ prefix: "pool_cli_" });
  try {
    await fakeRun(`${root}/s0`, 100, 100);
    await fakeRun(`${root}/s1`, 100, 40);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../cli/pool.ts", import.meta.url).pathname,
        ...["--dataset", "dsprites", "--model", "infogan-cr", "--profile", "cpu", "--seeds", "3", "--out", root],
        "--dry-run",
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /s0: done \(100\/100\), skipped/);
    assert.match(text, /s1: partial \(40\/100\), resuming/);
    assert.match(text, /s2: new/);
    assert.match(text, /would run: deno task train .*--seed 1 --out \S+\/s1 --resume/);
    assert.match(text, /would run: deno task train .*--seed 2 --out \S+\/s2\n/);
    assert.doesNotMatch(text, /--seed 0 /);
    const manifest = JSON.parse(await Deno.readTextFile(`${root}/pool.json`));
    assert.deepEqual(manifest.members.map((m: { name: string }) => m.name), ["s0", "s1", "s2"]);

    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../cli/pool.ts", import.meta.url).pathname, "--dataset", "mnist", "--out", root],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.notEqual(bad.code, 0);
    assert.match(new TextDecoder().decode(bad.stderr), /--dataset/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("report: Table-3 rows, rank agreement over scored members, metrics.json reading, text tables", () => {
  const supervised = [0.7, undefined, 0.9, 0.8];
  const rows = compareWithSupervised({ "model-centrality": 2, "udr-lasso": 0 }, supervised, "infogan-cr");
  assert.deepEqual(rows.map((r) => [r.label, r.member, r.supervised]), [
    ["ModelCentrality pick", 2, 0.9],
    ["UDR Lasso pick", 0, 0.7],
    ["pool best", 2, 0.9],
    ["pool median", undefined, 0.8],
  ]);
  assert.deepEqual(rows[0].paper, { mean: 0.92, std: 0 });
  assert.equal(compareWithSupervised({ "udr-spearman": 1 }, supervised, "factor-vae")[0].paper!.mean, 0.79);
  // Member 1 has no supervised score and is left out: [3, 2, 1] vs [0.7, 0.9, 0.8] → C 1, D 2 → -1/3.
  assert.ok(Math.abs(rankAgreement([3, 100, 2, 1], supervised)! - -1 / 3) < 1e-12);
  assert.equal(rankAgreement([1, 2, 3, 4], [0.5, undefined, undefined, undefined]), null);
  assert.equal(supervisedFactorVae({ schema: "igcr-metrics/1", scores: { factorVae: 0.83 } }), 0.83);
  assert.equal(supervisedFactorVae({ scores: { mig: 0.2 } }), undefined);
  assert.equal(supervisedFactorVae("junk"), undefined);
  assert.equal(poolFamily("beta-vae"), "factor-vae");
  assert.equal(poolFamily("infogan"), "infogan-cr");
  const table = rankingTable("udr-lasso", ["a", "b", "c", "d"], [0.1, 0.4, 0.3, 0.2], supervised);
  const lines = table.split("\n");
  assert.match(lines[0], /rank\s+member\s+UDR Lasso\s+FactorVAE \(supervised\)/);
  assert.deepEqual(lines.slice(2).map((l) => l.split(/\s+/)[1]), ["b", "c", "d", "a"]);
  assert.match(lines[2], /^1\s+b\s+0\.400\s+—$/);
  const cmp = comparisonTable(rows, ["a", "b", "c", "d"], "cpu");
  assert.match(cmp, /measured \(cpu\)/);
  assert.match(cmp, /ModelCentrality pick\s+c\s+0\.900\s+0\.92 ± 0\.00/);
  assert.match(cmp, /pool median\s+0\.800\s+not reported/);
});
