/**
 * `deno run -A bench/probe_vae.ts --out DIR --gamma 10 --lr 1e-4 --iterations 1500 --every 250 [--seed 1] [--batch 64]`
 *
 * How long a FactorVAE on dSprites needs before the supervised FactorVAE metric rises clearly above an untrained
 * model's: trains one run and scores FactorVAE and MIG (infogan-cr protocol, `cpu` sample sizes, the report's
 * evaluation seed) at iteration 0 and at every `--every` iterations, printing one JSON line per point with the
 * training time per iteration so far. The `cpu` profile's FactorVAE pool length and learning rate are chosen from its
 * output (docs/training.md#profiles). Run two at a time with IGCR_THREADS=1 to get `reproduce --parallel 2` conditions.
 */
import { parseArgs } from "node:util";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { parseVaeConfig, presetFor } from "../lib/config/vae.ts";
import { datasetByName } from "../lib/data/registry.ts";
import { evaluateMetrics } from "../lib/metrics/evaluate.ts";
import { createVaeTrainer, trainVae } from "../lib/train/vae_trainer.ts";
import type { GroundTruthData } from "../lib/data/ground_truth.ts";
import type { Encoder } from "../lib/models/capabilities.ts";

const EVAL_SEED = 20200;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    out: { type: "string" },
    gamma: { type: "string", default: "10" },
    lr: { type: "string", default: "1e-4" },
    iterations: { type: "string", default: "1500" },
    every: { type: "string", default: "250" },
    seed: { type: "string", default: "1" },
    batch: { type: "string", default: "64" },
  },
  strict: true,
});
if (!values.out) throw new Error("--out DIR is required");

const backend = await initBackend({ quiet: true });
const data = await datasetByName("dsprites");
const base = presetFor("dsprites", "cpu", "factor-vae");
const cfg = parseVaeConfig({
  ...base,
  gamma: Number(values.gamma),
  seed: Number(values.seed),
  batchSize: Number(values.batch),
  iterations: Number(values.iterations),
  checkpointEvery: Number(values.every),
  sampleEvery: 0,
  optimVae: { ...base.optimVae, lr: Number(values.lr) },
});

async function score(enc: Encoder, iteration: number, trainS: number) {
  const t0 = performance.now();
  const r = await evaluateMetrics(data as unknown as GroundTruthData, enc, {
    protocol: "infogan-cr",
    profile: "cpu",
    metrics: ["factor-vae", "mig"],
    seed: EVAL_SEED,
  });
  console.log(JSON.stringify({
    gamma: Number(values.gamma),
    lr: cfg.optimVae.lr,
    batch: cfg.batchSize,
    iteration,
    factorVae: r.scores.factorVae,
    mig: r.scores.mig,
    secPerIteration: iteration > 0 ? trainS / iteration : null,
    evalS: (performance.now() - t0) / 1000,
    backend: backend.description,
  }));
}

const untrained = createVaeTrainer(cfg, { data });
await score(untrained.model(), 0, 0);
untrained.dispose();
let trainS = 0;
let mark = performance.now();
await trainVae(cfg, values.out, {
  data,
  progress: false,
  grids: false,
  onCheckpoint: async (t) => {
    trainS += (performance.now() - mark) / 1000;
    await score(t.model(), t.iteration, trainS);
    mark = performance.now();
  },
});
shutdownBackend();
