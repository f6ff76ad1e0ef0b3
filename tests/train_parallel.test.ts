/**
 * `deno task train --config` and the parallel run trainer behind `reproduce --parallel`: a config file trains the
 * same run as the preset flags, bad files are named, and trainInParallel trains unfinished runs in subprocesses,
 * records their wall time, skips finished ones, and names a run whose subprocess failed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { presetFor } from "../lib/config/gan.ts";
import { parseVaeConfig, presetFor as vaePreset } from "../lib/config/vae.ts";
import { readTrainWall, type RunJob, trainInParallel, uniqueJobs } from "../lib/experiments/parallel_train.ts";
import { memberStatus } from "../lib/selection/pool.ts";
import { parseTrainFlags, readConfigFile, runConfig } from "../cli/train.ts";

function smokeGan(seed: number, iterations = 2) {
  return { ...presetFor("dsprites", "smoke", { model: "infogan", seed }), iterations, sampleEvery: 100 };
}

Deno.test("train --config: clashes with preset flags, and bad files are errors naming the file and key", async () => {
  assert.equal(parseTrainFlags(["--config", "c.json", "--out", "r"]).config, "c.json");
  assert.throws(() => parseTrainFlags(["--config", "c.json", "--seed", "2", "--out", "r"]), /drop --seed/);
  assert.throws(() => parseTrainFlags(["--out", "r"]), /--dataset is required .* or give --config/);
  const dir = await Deno.makeTempDir({ prefix: "igcr-config-" });
  try {
    await assert.rejects(readConfigFile(join(dir, "missing.json")), /missing\.json: no such file/);
    await Deno.writeTextFile(join(dir, "typo.json"), JSON.stringify({ ...smokeGan(1), batchsize: 3 }));
    await assert.rejects(readConfigFile(join(dir, "typo.json")), /typo\.json: .*unknown key "batchsize"/);
    await Deno.writeTextFile(join(dir, "other.json"), JSON.stringify({ hello: 1 }));
    await assert.rejects(readConfigFile(join(dir, "other.json")), /other\.json: not a run config/);
    const vae = parseVaeConfig({ ...vaePreset("dsprites", "smoke", "factor-vae"), gamma: 10 });
    await Deno.writeTextFile(join(dir, "vae.json"), JSON.stringify(vae));
    assert.deepEqual(await readConfigFile(join(dir, "vae.json")), vae);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train --resume --out DIR: continues the run with its own config, longer with --iterations", async () => {
  assert.equal(parseTrainFlags(["--resume", "--out", "r", "--iterations", "9"]).iterations, 9);
  assert.throws(() => parseTrainFlags(["--resume", "--out", "r", "--seed", "2"]), /drop --seed \(only --iterations/);
  assert.throws(() => parseTrainFlags(["--out", "r"]), /or --resume to continue the run in --out/);
  const dir = await Deno.makeTempDir({ prefix: "igcr-resume-" });
  try {
    await assert.rejects(runConfig(join(dir, "none")), /none holds no run \(no config\.json\)/);
    const run = join(dir, "run");
    const train = async (...args: string[]) => {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../cli/train.ts", import.meta.url).pathname, ...args],
        env: { IGCR_THREADS: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr).slice(-800));
    };
    const cfg = { ...smokeGan(4, 2), checkpointEvery: 1 };
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "c.json"), JSON.stringify(cfg));
    await train("--config", join(dir, "c.json"), "--out", run, "--no-grids");
    assert.equal((await memberStatus(run)).iteration, 2);
    await train("--resume", "--out", run, "--iterations", "4", "--no-grids");
    const st = await memberStatus(run);
    assert.deepEqual([st.state, st.iteration, st.iterations], ["done", 4, 4]);
    // The same run otherwise: its own seed and settings, only the length changed.
    assert.deepEqual(await runConfig(run), { ...(await readConfigFile(join(dir, "c.json"))), iterations: 4 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("uniqueJobs: shared runs are trained once; one name with two configs is an error", () => {
  const a: RunJob = { name: "a", config: presetFor("dsprites", "smoke", { seed: 1 }) };
  assert.equal(uniqueJobs([a, a, { name: "b", config: a.config }]).length, 2);
  assert.throws(
    () => uniqueJobs([a, { name: "a", config: presetFor("dsprites", "smoke", { seed: 2 }) }]),
    /run "a" with different configs/,
  );
});

Deno.test("trainInParallel: trains two runs in subprocesses, records wall time, skips them when run again", async () => {
  const root = await Deno.makeTempDir({ prefix: "igcr-parallel-" });
  try {
    const jobs: RunJob[] = [{ name: "r1", config: smokeGan(1) }, { name: "r2", config: smokeGan(2) }];
    const lines: string[] = [];
    const r = await trainInParallel(jobs, { parallel: 2, threads: 1, runsDir: root, log: (l) => lines.push(l) });
    assert.deepEqual(r.trained.sort(), ["r1", "r2"]);
    for (const name of ["r1", "r2"]) {
      const st = await memberStatus(join(root, name));
      assert.equal(st.state, "done", `${name} finished`);
      const wall = await readTrainWall(join(root, name));
      assert.ok(wall && wall.seconds > 0 && wall.threads === 1 && wall.concurrent === 2, JSON.stringify(wall));
      const cfg = JSON.parse(await Deno.readTextFile(join(root, name, "config.json")));
      assert.equal(cfg.seed, name === "r1" ? 1 : 2, "the child trained the config it was given");
    }
    assert.ok(lines.some((l) => /training 2 run\(s\) 2 at a time with 1 thread/.test(l)), lines.join("\n"));
    const again = await trainInParallel(jobs, { parallel: 2, threads: 1, runsDir: root, log: () => {} });
    assert.deepEqual([again.trained, again.skipped.sort()], [[], ["r1", "r2"]]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("trainInParallel: a run folder trained with other settings is an error naming the run and keys", async () => {
  const root = await Deno.makeTempDir({ prefix: "igcr-stale-" });
  try {
    const gan = smokeGan(1);
    const vae = parseVaeConfig({ ...vaePreset("dsprites", "smoke", "factor-vae"), gamma: 10 });
    // Finished runs as an older preset left them: another learning rate, a shorter length, the same settings.
    const finished = async (name: string, config: object, iteration: number) => {
      await Deno.mkdir(join(root, name, "checkpoint"), { recursive: true });
      await Deno.writeTextFile(join(root, name, "config.json"), JSON.stringify(config));
      await Deno.writeTextFile(join(root, name, "checkpoint", "state.json"), JSON.stringify({ state: { iteration } }));
    };
    await finished("vae", { ...vae, optimVae: { ...vae.optimVae, lr: vae.optimVae.lr * 3 } }, vae.iterations);
    await finished("short", { ...gan, iterations: 1 }, 1);
    await finished("same", gan, gan.iterations);
    const jobs: RunJob[] = [
      { name: "vae", config: vae },
      { name: "short", config: gan },
      { name: "same", config: gan },
    ];
    await assert.rejects(
      trainInParallel(jobs, { parallel: 1, threads: 1, runsDir: root, log: () => {} }),
      (e: Error) => {
        assert.match(e.message, /2 run folder\(s\) in .* other settings/);
        assert.match(e.message, /vae \(optimVae\); short \(iterations\)\. /);
        assert.doesNotMatch(e.message, /same/);
        assert.match(e.message, /new --out folder/);
        return true;
      },
    );
    // Nothing was trained or touched.
    assert.equal((await memberStatus(join(root, "short"))).iteration, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("trainInParallel: a failing subprocess is named with the end of its log", async () => {
  const root = await Deno.makeTempDir({ prefix: "igcr-parallel-fail-" });
  try {
    await assert.rejects(
      trainInParallel([{ name: "bad", config: smokeGan(1) }], {
        parallel: 1,
        threads: 1,
        runsDir: root,
        backend: "no-such-backend",
        log: () => {},
      }),
      /training failed for 1 run\(s\): bad \(exit 1\)/,
    );
    assert.equal(await readTrainWall(join(root, "bad")), null, "no wall time recorded for a failed run");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("trainInParallel: a branch waits for its parent, starts from its checkpoint, and fails with it", async () => {
  const root = await Deno.makeTempDir({ prefix: "igcr-parallel-branch-" });
  try {
    const phase = smokeGan(3, 2);
    const arm = { ...phase, iterations: 4 };
    const jobs: RunJob[] = [
      { name: "arm", config: arm, branch: { from: "phase", at: 2 } },
      { name: "phase", config: phase },
    ];
    // Listed first, the branch still trains second: two workers, but it waits for its parent.
    const r = await trainInParallel(jobs, { parallel: 2, threads: 1, runsDir: root, log: () => {} });
    assert.deepEqual(r.trained, ["phase", "arm"]);
    assert.deepEqual(await memberStatus(join(root, "arm")), { state: "done", iteration: 4, iterations: 4 });
    const branch = JSON.parse(await Deno.readTextFile(join(root, "arm", "branch.json")));
    assert.deepEqual([branch.parent, branch.at], ["../phase", 2]);
    const log = (await Deno.readTextFile(join(root, "arm", "log.jsonl"))).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(log.map((l) => l.iter), [1, 2, 3, 4], "the arm's log continues the phase's");
    await assert.rejects(
      trainInParallel([{ name: "orphan", config: arm, branch: { from: "nowhere", at: 2 } }], {
        parallel: 1,
        runsDir: root,
        log: () => {},
      }),
      /"orphan" branches from "nowhere", which is not among the runs to train/,
    );
    await assert.rejects(
      trainInParallel([
        { name: "bad-phase", config: smokeGan(4, 2) },
        { name: "bad-arm", config: { ...smokeGan(4, 2), iterations: 4 }, branch: { from: "bad-phase", at: 2 } },
      ], { parallel: 2, threads: 1, runsDir: root, backend: "no-such-backend", log: () => {} }),
      /training failed for 2 run\(s\): bad-phase \(exit 1\)[^]*; bad-arm: its parent run bad-phase failed/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
