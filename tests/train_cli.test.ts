import assert from "node:assert/strict";

async function trainCli(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../cli/train.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("train CLI: trains a dSprites smoke run, resumes it, and rejects unknown flags by name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "igcr-train-cli-" });
  try {
    const base = ["--dataset", "dsprites", "--model", "infogan", "--profile", "smoke", "--seed", "3", "--out", dir];
    const r1 = await trainCli([...base, "--iterations", "2", "--no-grids"]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stderr, /2\/2 \(100\.0%\) [\d.]+ it\/s ETA/);
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    assert.deepEqual([cfg.model, cfg.dataset, cfg.profile, cfg.seed, cfg.iterations], [
      "infogan",
      "dsprites",
      "smoke",
      3,
      2,
    ]);
    const r2 = await trainCli([...base, "--iterations", "3", "--resume", "--no-grids"]);
    assert.equal(r2.code, 0, r2.stderr);
    const log = (await Deno.readTextFile(`${dir}/log.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(log.map((l) => l.iter), [1, 2, 3]);
    assert.ok(log.every((l) => l.g_cr === null), "InfoGAN never turns CR on");
    const state = JSON.parse(await Deno.readTextFile(`${dir}/checkpoint/state.json`));
    assert.equal(state.state.iteration, 3);
    const bad = await trainCli([...base, "--iteratons", "3"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown flag --iteratons \(did you mean --iterations\?\)/);
    const again = await trainCli([...base, "--iterations", "3"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already holds a checkpoint: pass --resume/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train CLI: --gamma / --beta reach the VAE config and are refused for the wrong model", async () => {
  const { parseTrainFlags } = await import("../cli/train.ts");
  const f = parseTrainFlags(["--dataset", "dsprites", "--model", "factor-vae", "--gamma", "10", "--out", "runs/x"]);
  assert.equal(f.gamma, 10);
  assert.equal(parseTrainFlags(["--dataset", "dsprites", "--model", "beta-vae", "--beta", "4", "--out", "r"]).beta, 4);
  assert.throws(
    () => parseTrainFlags(["--dataset", "dsprites", "--model", "infogan-cr", "--gamma", "10", "--out", "r"]),
    /--gamma applies to --model factor-vae only/,
  );
  assert.throws(
    () => parseTrainFlags(["--dataset", "dsprites", "--model", "factor-vae", "--gamma", "-1", "--out", "r"]),
    /--gamma/,
  );
});
