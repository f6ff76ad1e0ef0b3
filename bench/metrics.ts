/**
 * Time of a full `infogan-cr`-protocol evaluation (all seven metrics) of a dSprites-sized encoder, and how close the
 * evaluation's encoding rate comes to the encoder's bare forward-pass rate (the rest is rendering, tensor transfers and
 * the metrics' own fitting).
 *
 * The encoder is a trained model when `IGCR_BENCH_RUN=runs/NAME` names one, else a randomly initialised Q network of
 * the paper's dSprites D/Q architecture: the same arithmetic per image, so the same timing (the scores themselves are
 * meaningless for a random network and are not reported). Sizes: the protocol's `paper` preset (123,728 encoded images:
 * 73,728 observational + 500 groups of 100) unless `IGCR_BENCH_PROFILE` is `cpu` or `smoke`.
 *
 * Run alone: `deno run -A bench/metrics.ts`.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { DSprites } from "../lib/data/dsprites.ts";
import { evaluateMetrics } from "../lib/metrics/evaluate.ts";
import { Profile } from "../lib/metrics/protocols.ts";
import type { TrainedModel } from "../lib/models/capabilities.ts";
import { architectureFor, ganModel, initDQ, initGenerator } from "../lib/models/infogan_cr.ts";
import { Rng } from "../lib/rng.ts";

async function benchEncoder(): Promise<{ model: TrainedModel; source: string }> {
  const run = Deno.env.get("IGCR_BENCH_RUN");
  if (run) {
    const { loadTrainedModel } = await import("../lib/models/load.ts");
    return { model: await loadTrainedModel(run), source: `trained model ${run}` };
  }
  const arch = architectureFor("dsprites");
  const rng = new Rng(0);
  return {
    model: ganModel("random dSprites D/Q", arch, initGenerator(arch, rng), initDQ(arch, rng)),
    source: "randomly initialised dSprites D/Q (Q head)",
  };
}

/** Images per second of `encode` alone on pre-built batches (no rendering), best of a few repeats after a warm-up. */
async function forwardRate(model: TrainedModel, batch: number, repeats: number): Promise<number> {
  const x = tf.tensor4d(new Rng(1).uniformArray(batch * 64 * 64), [batch, 64, 64, 1]);
  try {
    const once = async () => {
      const t0 = performance.now();
      const z = model.encode(x);
      await z.data();
      z.dispose();
      return (performance.now() - t0) / 1000;
    };
    await once(); // warm-up: kernel compilation, allocation
    let best = Infinity;
    for (let i = 0; i < repeats; i++) best = Math.min(best, await once());
    return batch / best;
  } finally {
    x.dispose();
  }
}

export async function benchMetrics(): Promise<Record<string, number | string>> {
  const backend = await initBackend({ quiet: true });
  const profile = Profile.parse(Deno.env.get("IGCR_BENCH_PROFILE") ?? "paper");
  const { model, source } = await benchEncoder();
  try {
    const data = new DSprites();
    const result = await evaluateMetrics(data, model, {
      protocol: "infogan-cr",
      profile,
      seed: 0,
      backend: backend.name,
    });
    const encodeRate = await forwardRate(model, result.params.batchSize, 3);
    const t = result.timings;
    const evalRate = result.sampleSizes.imagesEncoded / t.totalSeconds;
    const metricSeconds = Object.values(t.metricSeconds).reduce((a, b) => a + b, 0);
    return {
      "metrics.encoder": source,
      "metrics.backend": backend.description,
      "metrics.profile": `infogan-cr/${profile}`,
      "metrics.images_encoded": result.sampleSizes.imagesEncoded,
      "metrics.full_evaluation_s": +t.totalSeconds.toFixed(2),
      "metrics.render_s": +t.renderSeconds.toFixed(2),
      "metrics.encode_s": +t.encodeSeconds.toFixed(2),
      "metrics.fitting_s": +metricSeconds.toFixed(2),
      "metrics.evaluation_images_per_s": +evalRate.toFixed(1),
      "metrics.encoder_forward_images_per_s": +encodeRate.toFixed(1),
      "metrics.evaluation_vs_forward": +(evalRate / encodeRate).toFixed(3),
    };
  } finally {
    model.dispose();
  }
}

if (import.meta.main) {
  try {
    const r = await benchMetrics();
    for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(40)} ${v}`);
  } finally {
    shutdownBackend();
  }
}
