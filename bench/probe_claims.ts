/**
 * `IGCR_THREADS=1 deno run -A bench/probe_claims.ts [--profile cpu] [--iterations 100] [--only gan,vae,eval]`
 *
 * The per-unit costs behind the `cpu` profile's budget (docs/training.md#profiles): seconds per dSprites InfoGAN-CR
 * iteration in the InfoGAN phase and in the CR phase, per FactorVAE iteration, and per evaluation (all seven metrics,
 * and FactorVAE + MIG only) at the profile's sample sizes. Each is reported as wall time and as CPU time of this
 * process: on a machine shared with other work the CPU time is the better estimate of what the step costs on a core of
 * its own. One JSON line per measurement, with the 1-minute load average before and after.
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { parseGanConfig, presetFor } from "../lib/config/gan.ts";
import { presetFor as vaePresetFor } from "../lib/config/vae.ts";
import { datasetByName } from "../lib/data/registry.ts";
import { evaluateMetrics } from "../lib/metrics/evaluate.ts";
import type { MetricName } from "../lib/metrics/protocols.ts";
import type { Encoder } from "../lib/models/capabilities.ts";
import { createTrainer } from "../lib/train/trainer.ts";
import { createVaeTrainer } from "../lib/train/vae_trainer.ts";
import type { GroundTruthData } from "../lib/data/ground_truth.ts";
import type { Profile } from "../lib/config/gan.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    profile: { type: "string", default: "cpu" },
    iterations: { type: "string", default: "100" },
    only: { type: "string", default: "gan,vae,eval" },
    "vae-lr": { type: "string" },
    "vae-batch": { type: "string" },
  },
  strict: true,
});
const profile = values.profile as Profile;
const n = Number(values.iterations);
const only = new Set(values.only!.split(","));
const backend = await initBackend({ quiet: true });
const data = await datasetByName("dsprites");

function load(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

/** Runs fn `count` times after `warm` untimed runs; wall and CPU seconds per run. */
async function timed(what: string, count: number, warm: number, fn: () => Promise<unknown>, extra = {}) {
  for (let i = 0; i < warm; i++) await fn();
  const l0 = load();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await fn();
  const wall = (performance.now() - t0) / 1000 / count;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6 / count;
  console.log(JSON.stringify({
    what,
    profile,
    count,
    wallS: +wall.toFixed(4),
    cpuS: +cpu.toFixed(4),
    load: [l0, load()],
    backend: backend.description,
    ...extra,
  }));
}

if (only.has("gan")) {
  const base = presetFor("dsprites", profile, { seed: 1 });
  // InfoGAN phase: alpha 0 throughout; CR phase: alpha on from the first iteration (H untrained: the cost is the same).
  const phase = await createTrainer(parseGanConfig({ ...base, model: "infogan" }), { data });
  await timed("gan-infogan-iteration", n, 5, () => phase.step(), { batch: base.batchSize });
  phase.dispose();
  const cr = await createTrainer(parseGanConfig({ ...base, alpha: { ...base.alpha, every: 1 } }), { data });
  await timed("gan-cr-iteration", n, 5, () => cr.step(), { batch: base.batchSize });
  cr.dispose();
}

if (only.has("vae")) {
  const base = vaePresetFor("dsprites", profile, "factor-vae");
  const cfg = {
    ...base,
    ...(values["vae-batch"] ? { batchSize: Number(values["vae-batch"]) } : {}),
    optimVae: { ...base.optimVae, ...(values["vae-lr"] ? { lr: Number(values["vae-lr"]) } : {}) },
  };
  const t = createVaeTrainer(cfg, { data });
  await timed("factor-vae-iteration", Math.max(5, Math.round(n / 4)), 2, () => t.step(), { batch: cfg.batchSize });
  t.dispose();
}

if (only.has("eval")) {
  const gan = await createTrainer(presetFor("dsprites", profile, { seed: 1 }), { data });
  const score = (enc: Encoder, metrics?: MetricName[]) => () =>
    evaluateMetrics(data as unknown as GroundTruthData, enc, { protocol: "infogan-cr", profile, metrics, seed: 1 });
  await timed("eval-gan-all-seven", 1, 0, score(gan.model()));
  await timed("eval-gan-factorvae-mig", 1, 0, score(gan.model(), ["factor-vae", "mig"]));
  gan.dispose();
  const vae = createVaeTrainer(vaePresetFor("dsprites", profile, "factor-vae"), { data });
  await timed("eval-vae-all-seven", 1, 0, score(vae.model()));
  vae.dispose();
}
shutdownBackend();
