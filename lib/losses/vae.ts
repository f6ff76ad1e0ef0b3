/**
 * The VAE baselines' losses, one function per equation of the released FactorVAE code (paper-facts §2, "FactorVAE
 * baseline"):
 *
 *   L_VAE  = bernoulliReconstruction + gaussianKl + gamma * totalCorrelation     (FactorVAE)
 *   L_VAE  = bernoulliReconstruction + beta * gaussianKl                          (beta-VAE)
 *   L_TC-D = tcDiscriminatorLoss(D(z), D(permuteDims(z)))
 *
 * All return scalars averaged over the batch; none disposes its inputs.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";

/**
 * Bernoulli negative log-likelihood: sigmoid cross-entropy of the decoder's logits against the pixels, SUMMED over
 * pixels and averaged over the batch (`reduce_mean(reduce_sum(sigmoid_cross_entropy_with_logits, axis=1))`).
 * Uses the stable form max(x, 0) - x*t + log(1 + exp(-|x|)).
 */
export function bernoulliReconstruction(logits: tf.Tensor, images: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    if (logits.size !== images.size) {
      throw new Error(`bernoulliReconstruction: logits ${logits.shape} and images ${images.shape} differ in size`);
    }
    const n = logits.shape[0]!;
    const x = logits.reshape([n, -1]);
    const t = images.reshape([n, -1]);
    const ce = tf.relu(x).sub(x.mul(t)).add(tf.log1p(tf.exp(tf.abs(x).neg())));
    return ce.sum(1).mean() as tf.Scalar;
  });
}

/**
 * KL(N(mean, exp(logvar)) || N(0, 1)) per latent dim, averaged over the batch: 0.5 * (mean^2 + exp(logvar) - logvar - 1).
 * Returns a [dims] tensor; `gaussianKl` sums it. Also the quantity UDR thresholds to find inactive latents.
 */
export function gaussianKlPerDim(mean: tf.Tensor2D, logvar: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => mean.square().add(logvar.exp()).sub(logvar).sub(1).mul(0.5).mean(0) as tf.Tensor1D);
}

/** KL of the diagonal Gaussian posterior to the N(0, I) prior, summed over latent dims, averaged over the batch. */
export function gaussianKl(mean: tf.Tensor2D, logvar: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => gaussianKlPerDim(mean, logvar).sum() as tf.Scalar);
}

/**
 * FactorVAE's total-correlation estimate by the density-ratio trick: mean over the batch of logit0 - logit1 of the TC
 * discriminator on the encoder's samples z (logit 0 = "from q(z)", logit 1 = "from the product of marginals"). The
 * VAE's loss adds gamma times this; it is unweighted here so it can be logged as the TC estimate itself.
 */
export function totalCorrelation(tcLogitsOnZ: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const [l0, l1] = tf.split(tcLogitsOnZ, 2, 1);
    return l0.sub(l1).mean() as tf.Scalar;
  });
}

/**
 * The TC discriminator's loss: -0.5 mean log p0(z) - 0.5 mean log p1(z_perm), with p = softmax of its 2 logits.
 * The released code takes log(softmax + 1e-8); log-softmax is used here instead (equal up to that 1e-8, and stable).
 */
export function tcDiscriminatorLoss(logitsOnZ: tf.Tensor2D, logitsOnPermuted: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const real = tf.logSoftmax(logitsOnZ).slice([0, 0], [-1, 1]).mean();
    const perm = tf.logSoftmax(logitsOnPermuted).slice([0, 1], [-1, 1]).mean();
    return real.add(perm).mul(-0.5) as tf.Scalar;
  });
}

/**
 * Samples of the product of marginals: each latent dim is permuted across the batch independently (one seeded
 * permutation per dim, drawn in dim order), the `tf.random_shuffle`-per-dim of the released code. Gradients pass
 * through (a gather), though the trainer feeds it a z that it does not differentiate.
 */
export function permuteDims(z: tf.Tensor2D, rng: Rng): tf.Tensor2D {
  const [n, d] = z.shape;
  const idx = new Int32Array(n * d);
  for (let j = 0; j < d; j++) {
    const p = rng.permutation(n);
    for (let i = 0; i < n; i++) idx[i * d + j] = p[i] * d + j;
  }
  return tf.tidy(() => tf.gather(z.reshape([n * d]), tf.tensor1d(idx, "int32")).reshape([n, d]) as tf.Tensor2D);
}
