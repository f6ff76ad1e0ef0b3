/**
 * How far G's batch-norm moving statistics sit from the statistics of batches drawn from the prior, and what that does
 * to the images G makes in inference mode (which use the moving statistics: samples, traversals, ModelCentrality's
 * generated data sets). A generator whose moving averages were fed batches from another distribution (e.g. CR pairs
 * with a gap) draws different images in inference mode than in training mode for the same latents.
 *
 * Two numbers per generator (docs/training.md, "Batch-norm statistics"; `deno run -A bench/bn_drift.ts RUN...`):
 * - per BN layer, the mean prior-batch variance over the stored moving variance (sums over channels, so dead
 *   channels weigh nothing): 1 when the moving averages describe prior batches;
 * - the on-pixel IoU between training-mode and inference-mode images of the same prior latents (pixels > 0.5), on
 *   large batches (500 rows), whose batch statistics are close to the prior's own, so that the IoU measures the moving
 *   averages' bias rather than the sampling noise of a small batch's statistics.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";
import { joinLatent, sampleCrPairs, sampleLatents } from "../latents.ts";
import { type GanArchitecture, generate } from "./infogan_cr.ts";
import type { ParamSet } from "./layers.ts";

/** `count` latent batches of `size` rows from the prior (codes and noise Uniform[-1, 1]). Caller disposes. */
export function priorBatches(arch: GanArchitecture, rng: Rng, size: number, count: number): tf.Tensor2D[] {
  const { codes, noise } = arch.latent;
  return Array.from({ length: count }, () => {
    const l = sampleLatents(rng, size, codes, noise);
    return tf.tensor2d(joinLatent(l.c, l.z, size, codes, noise), [size, codes + noise]);
  });
}

/** `count` batches of first CR-pair members x' (the trainer's pair sampler at `gap`). Caller disposes. */
export function pairBatches(arch: GanArchitecture, rng: Rng, size: number, count: number, gap: number): tf.Tensor2D[] {
  const { codes, noise } = arch.latent;
  return Array.from({ length: count }, () => {
    const p = sampleCrPairs(rng, size, codes, noise, gap);
    return tf.tensor2d(joinLatent(p.c1, p.z, size, codes, noise), [size, codes + noise]);
  });
}

/**
 * Per BN layer of G, each channel's batch variance averaged over `batches`, from training-mode passes that leave the
 * moving averages untouched.
 */
export function meanBatchVariances(
  arch: GanArchitecture,
  g: ParamSet,
  batches: tf.Tensor2D[],
): Map<string, Float64Array> {
  const sums = new Map<string, Float64Array>();
  for (const latent of batches) {
    tf.tidy(() => {
      generate(arch, g, latent, {
        training: true,
        noStatUpdate: true,
        observeBatchStats: (layer, _mean, variance) => {
          const v = variance.dataSync();
          const acc = sums.get(layer) ?? new Float64Array(v.length);
          for (let i = 0; i < v.length; i++) acc[i] += v[i] / batches.length;
          sums.set(layer, acc);
        },
      });
    });
  }
  return sums;
}

/** sum_c variance_c / sum_c movingVariance_c for each BN layer of G. */
export function varianceRatios(g: ParamSet, variances: Map<string, Float64Array>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [layer, v] of variances) {
    const mv = g.get(`${layer}/moving_variance`).dataSync() as Float32Array;
    out[layer] = v.reduce((a, b) => a + b, 0) / mv.reduce((a, b) => a + b, 0);
  }
  return out;
}

/**
 * On-pixel IoU between G's training-mode (batch statistics) and inference-mode (moving statistics) images of the same
 * latents: |A ∩ B| / |A ∪ B| over all pixels of a batch, A and B the pixels above `threshold`, averaged over batches.
 */
export function trainInferenceIoU(arch: GanArchitecture, g: ParamSet, batches: tf.Tensor2D[], threshold = 0.5): number {
  let total = 0;
  for (const latent of batches) {
    const [a, b] = tf.tidy(() => [
      generate(arch, g, latent, { training: true, noStatUpdate: true }).dataSync(),
      generate(arch, g, latent, { training: false }).dataSync(),
    ]);
    let inter = 0, union = 0;
    for (let i = 0; i < a.length; i++) {
      const pa = a[i] > threshold, pb = b[i] > threshold;
      if (pa && pb) inter++;
      if (pa || pb) union++;
    }
    total += union === 0 ? 1 : inter / union;
  }
  return total / batches.length;
}

export interface BnDrift {
  /** Mean prior-batch variance over the stored moving variance, per BN layer of G (in layer order). */
  varianceRatio: Record<string, number>;
  /** Training-mode vs inference-mode on-pixel IoU on prior latents. */
  iou: number;
  /** Prior batches for the variances (the training batch size, so the biased moments match the moving averages'). */
  batchSize: number;
  batches: number;
  /** Prior batches for the IoU. */
  iouBatchSize: number;
  iouBatches: number;
}

/** Both measures; `batchSize` should be the run's training batch size. */
export function bnDrift(
  arch: GanArchitecture,
  g: ParamSet,
  rng: Rng,
  batchSize: number,
  opts: { batches?: number; iouBatchSize?: number; iouBatches?: number } = {},
): BnDrift {
  const batches = opts.batches ?? 16, iouBatchSize = opts.iouBatchSize ?? 500, iouBatches = opts.iouBatches ?? 2;
  const small = priorBatches(arch, rng, batchSize, batches);
  const large = priorBatches(arch, rng, iouBatchSize, iouBatches);
  try {
    return {
      varianceRatio: varianceRatios(g, meanBatchVariances(arch, g, small)),
      iou: trainInferenceIoU(arch, g, large),
      batchSize,
      batches,
      iouBatchSize,
      iouBatches,
    };
  } finally {
    tf.dispose([...small, ...large]);
  }
}
