/**
 * The InfoGAN-CR losses, one function per equation (paper-facts §2, [IGCR `InfoGAN-CR_dSprites/gan/infogan_cr.py`
 * `build_loss`]). D outputs a logit; the reference code applies a sigmoid and takes log(p + 1e-8), and so do we, so the
 * losses saturate exactly where the paper's do.
 */
import * as tf from "@tensorflow/tfjs";

/** The eps inside every log of the reference code. */
export const LOG_EPS = 1e-8;

/**
 * Discriminator adversarial loss: -mean log(D(x_real) + eps) - mean log(1 - D(G(c, z)) + eps), with D = sigmoid(logit).
 */
export function discriminatorLoss(realLogit: tf.Tensor1D, fakeLogit: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const real = tf.neg(tf.mean(tf.log(tf.add(tf.sigmoid(realLogit), LOG_EPS))));
    const fake = tf.neg(tf.mean(tf.log(tf.add(tf.sub(1, tf.sigmoid(fakeLogit)), LOG_EPS))));
    return tf.add(real, fake) as tf.Scalar;
  });
}

/** Non-saturating generator adversarial loss: -mean log(D(G(c, z)) + eps). */
export function generatorAdversarialLoss(fakeLogit: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.log(tf.add(tf.sigmoid(fakeLogit), LOG_EPS)))) as tf.Scalar);
}

/**
 * Information loss L_Q: the negative log-likelihood of the codes under Q's factorised Gaussian with fixed std 1,
 * -mean_batch sum_j log N(c_j; mu_j, 1) = mean_batch sum_j [0.5 (c_j - mu_j)^2 + 0.5 log(2 pi)].
 */
export function informationLoss(codes: tf.Tensor2D, qMean: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const k = codes.shape[1];
    const sq = tf.sum(tf.square(tf.sub(codes, qMean)), 1);
    return tf.add(tf.mean(tf.mul(sq, 0.5)), 0.5 * Math.log(2 * Math.PI) * k) as tf.Scalar;
  });
}

/**
 * Contrastive regulariser loss: softmax cross-entropy of H's logits on the pair (x', x'') against the index i of the
 * shared code, averaged over the batch. H and G both minimise it.
 */
export function contrastiveLoss(hLogits: tf.Tensor2D, sharedIndex: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const k = hLogits.shape[1];
    const onehot = tf.oneHot(tf.cast(sharedIndex, "int32") as tf.Tensor1D, k);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(hLogits)), 1))) as tf.Scalar;
  });
}
