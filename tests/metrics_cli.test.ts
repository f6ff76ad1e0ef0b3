/**
 * End to end: `deno task evaluate` on a run folder holding an (untrained) dSprites InfoGAN-CR checkpoint, smoke sizes.
 */
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend.ts";
import { presetFor } from "../lib/config/gan.ts";
import { createTrainer } from "../lib/train/trainer.ts";

async function evaluateCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../cli/evaluate.ts", import.meta.url).pathname, ...args],
    env: { NO_COLOR: "1", IGCR_BACKEND: "wasm" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test({
  name: "evaluate CLI: writes metrics.json with protocol, sizes, seed, backend and prints the Table 1 reference",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "igcr-eval-" });
    try {
      await initBackend({ quiet: true });
      const cfg = presetFor("dsprites", "smoke", { model: "infogan-cr", seed: 0 });
      const trainer = await createTrainer(cfg);
      await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(cfg, null, 2));
      await trainer.save(`${dir}/checkpoint`);
      await trainer.save(`${dir}/snapshots/iter-0`); // as a snapshot the trainer kept
      trainer.dispose();

      const r = await evaluateCli(["--checkpoint", dir, "--profile", "smoke", "--seed", "4"]);
      assert.equal(r.code, 0, r.stderr);
      const m = JSON.parse(await Deno.readTextFile(`${dir}/metrics.json`));
      assert.equal(m.schema, "igcr-metrics/1");
      assert.equal(m.protocol, "infogan-cr");
      assert.equal(m.profile, "smoke");
      assert.equal(m.seed, 4);
      assert.equal(m.checkpointIteration, 0, "the scored checkpoint's iteration, so a longer run is not given it");
      assert.match(m.backend, /wasm/);
      assert.equal(m.dataset, "dsprites");
      assert.deepEqual(m.factors, ["shape", "scale", "orientation", "posX", "posY"]);
      for (const k of ["factorVae", "betaVae", "mig", "sap", "dci", "modularity", "explicitness"]) {
        assert.ok(typeof m.scores[k] === "number" && m.scores[k] >= 0 && m.scores[k] <= 1, `${k} = ${m.scores[k]}`);
      }
      // An untrained encoder is far from the paper's InfoGAN-CR.
      assert.ok(m.scores.factorVae < 0.6 && m.scores.mig < 0.2, JSON.stringify(m.scores));
      assert.match(r.stdout, /paper ref: InfoGAN-CR/);
      assert.match(r.stdout, /FactorVAE\s+\d\.\d{3}\s+0\.82±0\.01\s+0\.88±0\.01/);
      const leftovers = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes(".tmp"));
      assert.deepEqual(leftovers, []);

      const bad = await evaluateCli(["--checkpoint", dir, "--metrics", "mig,nope"]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--metrics "nope": expected one of all, factor-vae/);
      const missing = await evaluateCli(["--checkpoint", `${dir}/nowhere`]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /cannot read .*nowhere\/config.json/);

      // A snapshot by its name alone is found under snapshots/; an unknown one names those the run has.
      const named = await evaluateCli(["--checkpoint", dir, "--profile", "smoke", "--snapshot", "iter-0"]);
      assert.equal(named.code, 0, named.stderr);
      const snap = JSON.parse(await Deno.readTextFile(`${dir}/metrics-snapshots_iter-0.json`));
      assert.equal(snap.snapshot, "snapshots/iter-0");
      assert.equal(snap.checkpointIteration, 0);
      const unknown = await evaluateCli(["--checkpoint", dir, "--snapshot", "iter-9"]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /--snapshot: snapshot "iter-9": .* has no such snapshot \(it has iter-0\)/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
