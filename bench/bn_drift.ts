/**
 * G's batch-norm drift of trained GAN runs (lib/models/bn_drift.ts): for the final checkpoint and every snapshot of each
 * run folder (or shipped model), the mean prior-batch variance over the stored moving variance per BN layer of G, and
 * the on-pixel IoU between training-mode and inference-mode images of the same prior latents; and a CR pair batch's
 * variance at the first BN layer over a prior batch's, at gap 0 (the paper's dSprites setting) and 1.9 (the cpu
 * profile's).
 *
 *   deno run -A bench/bn_drift.ts data/pretrained/dsprites-infogan-cr-seed1 runs/NAME [--batches 16] [--seed 0]
 *
 * Prior batches for the variances have the run's training batch size, so their (biased) moments are what the moving
 * averages of a correctly fed generator track; the IoU uses batches of 500.
 */
import { parseArgs } from "node:util";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { Rng } from "../lib/rng.ts";
import { loadGanNetworks } from "../lib/models/load.ts";
import * as tf from "@tensorflow/tfjs";
import { bnDrift, meanBatchVariances, pairBatches, priorBatches } from "../lib/models/bn_drift.ts";
import type { GanArchitecture } from "../lib/models/infogan_cr.ts";
import type { ParamSet } from "../lib/models/layers.ts";
import { pathExists } from "../lib/io/atomic.ts";

/** The first BN layer's mean batch variance on CR pair batches (gap 0, gap 1.9) over that on prior batches. */
function pairOverPrior(arch: GanArchitecture, g: ParamSet, rng: Rng, size: number, count: number, layer: string) {
  const sum = (v: Float64Array) => v.reduce((a, b) => a + b, 0);
  const at = (batches: tf.Tensor2D[]) => {
    const v = sum(meanBatchVariances(arch, g, batches).get(layer)!);
    tf.dispose(batches);
    return v;
  };
  const prior = at(priorBatches(arch, rng, size, count));
  return [0, 1.9].map((gap) => at(pairBatches(arch, rng, size, count, gap)) / prior);
}

async function checkpointsOf(run: string): Promise<string[]> {
  const out = ["checkpoint"];
  if (await pathExists(`${run}/snapshots`)) {
    for await (const e of Deno.readDir(`${run}/snapshots`)) if (e.isDirectory) out.push(`snapshots/${e.name}`);
  }
  return out.sort();
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { batches: { type: "string", default: "16" }, seed: { type: "string", default: "0" } },
    allowPositionals: true,
    strict: true,
  });
  const batches = Number(values.batches), seed = Number(values.seed);
  if (!positionals.length || !(batches >= 1) || !Number.isInteger(seed)) {
    throw new Error("usage: deno run -A bench/bn_drift.ts RUN_DIR... [--batches 16] [--seed 0]");
  }
  const backend = await initBackend({ quiet: true });
  console.log(
    `backend ${backend.description}; per model: ${batches} prior batches of the run's batch size for the variances, ` +
      `2 of 500 for the IoU; seed ${seed}`,
  );
  console.log(
    "run | checkpoint | first BN layer: prior var / moving var | all BN layers | train/inference IoU | " +
      "first BN layer: pair var / prior var at gap 0 | at gap 1.9",
  );
  for (const run of positionals) {
    for (const sub of await checkpointsOf(run)) {
      const net = await loadGanNetworks(run, sub);
      try {
        const d = bnDrift(net.arch, net.g, new Rng(seed), net.config.batchSize, { batches });
        const ratios = Object.entries(d.varianceRatio);
        const pair = pairOverPrior(net.arch, net.g, new Rng(seed + 1), net.config.batchSize, batches, ratios[0][0]);
        const all = ratios.map(([k, v]) => `${k} ${v.toFixed(3)}`).join(", ");
        const pairs = pair.map((x) => x.toFixed(3)).join(" | ");
        console.log(`${run} | ${sub} | ${ratios[0][1].toFixed(3)} | ${all} | ${d.iou.toFixed(3)} | ${pairs}`);
      } finally {
        net.dispose();
      }
    }
  }
}

if (import.meta.main) {
  try {
    await main();
  } finally {
    shutdownBackend();
  }
}
