/**
 * Synthetic "trained models" for selection tests: generators and encoders are known linear maps, as tiny tf ops on
 * images of shape [n, 1, D, 1]. With them the right answer of ModelCentrality and UDR is known by construction.
 */
import * as tf from "@tensorflow/tfjs";
import type { Encoder, Generator, LatentSpec } from "../lib/models/capabilities.ts";

export type LinearModel = Encoder & Generator & { name: string };

/** 2×2 rotation by `deg` degrees. */
export function rotation(deg: number): number[][] {
  const t = (deg * Math.PI) / 180;
  return [[Math.cos(t), -Math.sin(t)], [Math.sin(t), Math.cos(t)]];
}

export function matMul(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
}

export function identity(n: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
}

/**
 * A model whose generator renders x = genCodes · c + noiseScale · noise (an image of D = genCodes.length pixels; the
 * noise dims map one-to-one onto the first pixels) and whose encoder returns enc · x.
 */
export function linearModel(
  name: string,
  genCodes: number[][],
  enc: number[][],
  opts: { noise?: number; noiseScale?: number; prior?: LatentSpec["prior"] } = {},
): LinearModel {
  const D = genCodes.length;
  const K = genCodes[0].length;
  const Z = opts.noise ?? 0;
  const scale = opts.noiseScale ?? 0;
  // Generator weights: pixels × (codes + noise).
  const W = genCodes.map((row, p) => [...row, ...Array.from({ length: Z }, (_, z) => (z === p ? scale : 0))]);
  return {
    name,
    codeSize: enc.length,
    latent: { codes: K, noise: Z, prior: opts.prior ?? "uniform" },
    generate(codes: tf.Tensor2D, noise?: tf.Tensor2D): tf.Tensor4D {
      return tf.tidy(() => {
        const input = Z > 0 ? tf.concat([codes, noise!], 1) : codes;
        const x = tf.matMul(input, tf.tensor2d(W), false, true);
        return x.reshape([codes.shape[0], 1, D, 1]);
      });
    },
    encode(images: tf.Tensor4D): tf.Tensor2D {
      return tf.tidy(() => tf.matMul(images.reshape([images.shape[0], D]), tf.tensor2d(enc), false, true));
    },
  };
}

/** A model of the 2-code plane rotated by `deg`: generator R(deg) c + noise, encoder its inverse R(-deg). */
export function rotatedModel(name: string, deg: number, noiseScale: number): LinearModel {
  return linearModel(name, rotation(deg), rotation(-deg), { noise: 2, noiseScale });
}
