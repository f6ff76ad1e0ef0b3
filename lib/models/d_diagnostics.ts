/**
 * What D does on a real and a fake batch, for the docs' explanation of D's loss plateau (docs/training.md, "D's loss
 * and spectral normalisation"; bench/gan_probe.ts): its probabilities and logits, the norm of the 128-d trunk feature
 * that its unit-norm output layer reads, the norm of the logit's gradient with respect to the image (D's local
 * Lipschitz constant), how far apart real and fake images are, and each normalised layer's largest singular value.
 */
import * as tf from "@tensorflow/tfjs";
import { discriminate, type GanArchitecture } from "./infogan_cr.ts";
import { normalizedSpectralNorm, type ParamSet, runLayers } from "./layers.ts";

export interface Summary {
  mean: number;
  min: number;
  max: number;
}

export interface DiscriminatorProbe {
  /** Mean D(x) = sigmoid(logit) on the real and on the fake batch. */
  realProb: number;
  fakeProb: number;
  realLogit: Summary;
  fakeLogit: Summary;
  /** ||h|| of the trunk output (the input of D's last layer), real and fake. */
  realFeatureNorm: Summary;
  fakeFeatureNorm: Summary;
  /** ||d logit / d x|| per image, real and fake. */
  realGradNorm: Summary;
  fakeGradNorm: Summary;
  /** ||x_real[i] - x_fake[i]|| over the rows of the two batches. */
  imageDistance: Summary;
  /** Largest singular value of W / sigma(W) (reshaped to (-1, out)) per spectrally normalised layer of D's path. */
  layerSigma: Record<string, number>;
  /** |D's output bias|: the logit every image would get from a zero feature. */
  outBias: number;
}

function summary(x: ArrayLike<number>): Summary {
  let s = 0, lo = Infinity, hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    s += x[i];
    lo = Math.min(lo, x[i]);
    hi = Math.max(hi, x[i]);
  }
  return { mean: s / x.length, min: lo, max: hi };
}

function rowNorms(t: tf.Tensor): Float32Array {
  return tf.tidy(() => tf.norm(tf.reshape(t, [t.shape[0], -1]), "euclidean", 1).dataSync() as Float32Array);
}

/** D's outputs and geometry on `real` and `fake` (same number of rows). */
export async function probeDiscriminator(
  arch: GanArchitecture,
  dq: ParamSet,
  real: tf.Tensor4D,
  fake: tf.Tensor4D,
): Promise<DiscriminatorProbe> {
  const mode = { training: false };
  const side = (x: tf.Tensor4D) =>
    tf.tidy(() => {
      const logit = discriminate(arch, dq, x).dLogit;
      const feat = runLayers(dq, arch.trunk, x, mode);
      // Rows are independent (D has no batch norm), so the gradient of the sum is each row's own gradient.
      const grad = tf.grad((xi: tf.Tensor) => tf.sum(discriminate(arch, dq, xi as tf.Tensor4D).dLogit))(x);
      return {
        logit: logit.dataSync() as Float32Array,
        prob: tf.sigmoid(logit).dataSync() as Float32Array,
        feat: rowNorms(feat),
        grad: rowNorms(grad),
      };
    });
  const r = side(real), f = side(fake);
  const dist = tf.tidy(() => rowNorms(tf.sub(real, fake)));
  const layerSigma: Record<string, number> = {};
  for (const l of [...arch.trunk, ...arch.dHead]) {
    if ((l.op === "dense" || l.op === "conv") && l.sn) layerSigma[l.name] = await normalizedSpectralNorm(dq, l.name);
  }
  const outName = arch.dHead.at(-1)!;
  const outBias = outName.op === "dense" ? Math.abs(dq.get(`${outName.name}/bias`).dataSync()[0]) : NaN;
  return {
    realProb: summary(r.prob).mean,
    fakeProb: summary(f.prob).mean,
    realLogit: summary(r.logit),
    fakeLogit: summary(f.logit),
    realFeatureNorm: summary(r.feat),
    fakeFeatureNorm: summary(f.feat),
    realGradNorm: summary(r.grad),
    fakeGradNorm: summary(f.grad),
    imageDistance: summary(dist),
    layerSigma,
    outBias,
  };
}
