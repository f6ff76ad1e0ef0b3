/**
 * The BetaVAE metric (Higgins et al. 2017).
 *
 * Each training point is a set of image pairs that share the value of one factor k (the label). Its feature is the mean
 * absolute code difference over the pairs,
 *
 *   f = (1/B) * sum_b | z(x_b) - z(x'_b) |        (per code dim)
 *
 * and a linear classifier (LogisticRegression(), L2, C = 1; one-vs-rest liblinear form or multinomial, see
 * lib/ml/logistic_regression.ts) predicts k from f. Score = its accuracy.
 *
 * - `infogan-cr` ([IGCR] metric.py): the FactorVAE metric's 500 groups of 100 images are reused; consecutive images of a
 *   group form the 50 pairs; the classifier is fit and scored on the same 500 points.
 * - `disentanglement-lib`: 10,000 training and 5,000 evaluation points, each from 64 fresh pairs that share the value
 *   of a random factor; scored on the evaluation points.
 *
 * Both layouts are "groups of rows in which consecutive rows (0,1), (2,3), ... form the pairs", so one feature function
 * serves both.
 */
import { accuracy, logisticFit, logisticPredict } from "../ml/logistic_regression.ts";
import type { FactorVaeVotes } from "./factor_vae.ts";

/** One feature row per group: the mean |z_(2b) - z_(2b+1)| over the group's floor(groupSize / 2) consecutive pairs. */
export function betaVaeFeatures(v: Omit<FactorVaeVotes, "scale">): Float64Array {
  const { codes, groups, groupSize, codeDim } = v;
  if (codes.length !== groups * groupSize * codeDim) {
    throw new Error(`betaVae: codes has length ${codes.length}, expected ${groups * groupSize * codeDim}`);
  }
  const pairs = Math.floor(groupSize / 2);
  if (pairs < 1) throw new Error(`betaVae: groupSize must be at least 2, got ${groupSize}`);
  const out = new Float64Array(groups * codeDim);
  for (let g = 0; g < groups; g++) {
    for (let b = 0; b < pairs; b++) {
      const r1 = (g * groupSize + 2 * b) * codeDim, r2 = r1 + codeDim;
      for (let d = 0; d < codeDim; d++) out[g * codeDim + d] += Math.abs(codes[r1 + d] - codes[r2 + d]);
    }
    for (let d = 0; d < codeDim; d++) out[g * codeDim + d] /= pairs;
  }
  return out;
}

export interface BetaVaeResult {
  /** Accuracy on the evaluation points (or on the training points when none are given). */
  score: number;
  trainScore: number;
}

/**
 * Fits the classifier on training features/labels and scores it. With a single label class there is nothing to learn and
 * the score is 1 (every prediction is that class).
 */
export function betaVaeFromFeatures(
  train: { features: Float64Array; labels: Int32Array; codeDim: number; numFactors: number },
  evalSet?: { features: Float64Array; labels: Int32Array },
  opts: { C?: number; multiClass?: "ovr" | "multinomial" } = {},
): BetaVaeResult {
  const n = train.labels.length;
  if (train.features.length !== n * train.codeDim) {
    throw new Error(`betaVae: features has length ${train.features.length}, expected ${n * train.codeDim}`);
  }
  if (new Set(train.labels).size < 2) return { score: 1, trainScore: 1 };
  const model = logisticFit(train.features, n, train.codeDim, train.labels, {
    C: opts.C ?? 1,
    numClasses: train.numFactors,
    multiClass: opts.multiClass,
  });
  const trainScore = accuracy(logisticPredict(model, train.features, n), train.labels);
  if (!evalSet) return { score: trainScore, trainScore };
  const score = accuracy(logisticPredict(model, evalSet.features, evalSet.labels.length), evalSet.labels);
  return { score, trainScore };
}
