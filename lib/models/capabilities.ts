/**
 * What metrics and model selection need from any trained model, GAN or VAE. The data flow of the toolkit meets here:
 * trainers produce models with these two capabilities; metrics use `Encoder`; ModelCentrality uses both.
 */
import type * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";

export interface LatentSpec {
  /** Number of regularised (disentangled) codes: 5 for the InfoGAN-CR dSprites model, 10 for the VAEs. */
  codes: number;
  /** Number of unregularised noise dims fed to the generator beside the codes (GAN only; 0 for VAEs). */
  noise: number;
  /** Prior of codes and noise: Uniform[-1, 1] for GANs, N(0, 1) for VAEs. */
  prior: "uniform" | "gaussian";
}

export interface Encoder {
  /** Length of the code vector `encode` returns. */
  codeSize: number;
  /** Images (NHWC, the dataset's value range) → codes (n × codeSize). Caller disposes. Inference mode. */
  encode(images: tf.Tensor4D): tf.Tensor2D;
}

export interface Generator {
  latent: LatentSpec;
  /** Codes (n × latent.codes) and noise (n × latent.noise; omitted when latent.noise is 0) → images. Inference mode. */
  generate(codes: tf.Tensor2D, noise?: tf.Tensor2D): tf.Tensor4D;
}

/** Draws n rows of a latent prior as a flat Float32Array (row-major n × dims). */
export function samplePrior(prior: LatentSpec["prior"], n: number, dims: number, rng: Rng): Float32Array {
  return prior === "uniform" ? rng.uniformArray(n * dims, -1, 1) : rng.normalArray(n * dims);
}

export type TrainedModel = Encoder & Generator & { name: string; dispose(): void };
