/**
 * InfoGAN-CR networks (paper-facts §1): the generator G, the discriminator D sharing its trunk with the encoder Q, and
 * the contrastive-regulariser discriminator H, one architecture table per dataset.
 *
 * The tables below are the data flow: `runLayers` walks them. Shapes follow from the image size, so the same tables
 * build the paper's 64x64 (dSprites, 3DTeapots) and 32x32 (CelebA) models, and smaller ones in tests.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";
import type { LatentSpec, TrainedModel } from "./capabilities.ts";
import {
  BN_EPSILON,
  BN_MOMENTUM,
  type ForwardMode,
  initLayers,
  type LayerSpec,
  outputShapes,
  ParamSet,
  runLayers,
  spectralNormUpdate,
} from "./layers.ts";
import { isNativeEngineEnabled } from "../onnx/runtime.ts";
import { NativeNetwork } from "./native_inference.ts";
import { ganEncoderOnnx, ganGeneratorOnnx } from "./onnx_gan.ts";

export type GanDataset = "dsprites" | "teapots" | "celeba";

export interface GanArchitecture {
  dataset: GanDataset;
  imageShape: [number, number, number];
  latent: LatentSpec;
  /** Output range of G: sigmoid [0, 1] (dSprites, 3DTeapots) or tanh [-1, 1] (CelebA). */
  valueRange: [number, number];
  g: LayerSpec[];
  /** D/Q shared trunk (ends in a flat feature vector). */
  trunk: LayerSpec[];
  /** D head: one logit of "real". */
  dHead: LayerSpec[];
  /** Q head: predicted means of the regularised codes. */
  qHead: LayerSpec[];
  /** H on the channel-concatenated pair: one logit per code. */
  h: LayerSpec[];
}

/** The dSprites/3DTeapots generator [IGCR `InfoGAN-CR_dSprites/gan/network.py`]: activation then BN. */
function gSmall(h: number, w: number, c: number): LayerSpec[] {
  return [
    { op: "dense", name: "g_fc0", units: 128, act: "relu", bn: "post" },
    { op: "dense", name: "g_fc1", units: (h / 16) * (w / 16) * 64, act: "relu", bn: "post" },
    { op: "reshape", shape: [h / 16, w / 16, 64] },
    { op: "deconv", name: "g_dc0", filters: 64, kernel: 4, act: "lrelu", bn: "post" },
    { op: "deconv", name: "g_dc1", filters: 32, kernel: 4, act: "lrelu", bn: "post" },
    { op: "deconv", name: "g_dc2", filters: 32, kernel: 4, act: "lrelu", bn: "post" },
    { op: "deconv", name: "g_dc3", filters: c, kernel: 4, act: "sigmoid" },
  ];
}

/** conv 32, 32, 64, 64 (4x4 s2, LReLU) -> flatten -> FC 128 LReLU, optionally spectral-normalised. */
function trunkSmall(prefix: string, sn: boolean, bn?: "post"): LayerSpec[] {
  return [
    { op: "conv", name: `${prefix}_c0`, filters: 32, kernel: 4, act: "lrelu", sn },
    { op: "conv", name: `${prefix}_c1`, filters: 32, kernel: 4, act: "lrelu", sn, bn },
    { op: "conv", name: `${prefix}_c2`, filters: 64, kernel: 4, act: "lrelu", sn, bn },
    { op: "conv", name: `${prefix}_c3`, filters: 64, kernel: 4, act: "lrelu", sn, bn },
    { op: "flatten" },
    { op: "dense", name: `${prefix}_fc0`, units: 128, act: "lrelu", sn, bn },
  ];
}

function dsprites(
  imageShape: [number, number, number],
  dataset: "dsprites" | "teapots",
  noise = 5,
): GanArchitecture {
  const [h, w, c] = imageShape;
  if (h % 16 !== 0 || w % 16 !== 0) throw new Error(`${dataset} architecture needs image sides divisible by 16`);
  const codes = 5;
  return {
    dataset,
    imageShape,
    latent: { codes, noise, prior: "uniform" },
    valueRange: [0, 1],
    g: gSmall(h, w, c),
    trunk: trunkSmall("d", true),
    dHead: [{ op: "dense", name: "d_out", units: 1, act: "linear", sn: true }],
    qHead: [
      { op: "dense", name: "q_fc0", units: 128, act: "lrelu", sn: true },
      { op: "dense", name: "q_out", units: codes, act: "linear", sn: true },
    ],
    // dSprites: SN on all but the last layer. 3DTeapots: no SN, BN after LReLU on conv 2-4 and FC 128 (train mode).
    h: [
      ...(dataset === "dsprites" ? trunkSmall("h", true) : trunkSmall("h", false, "post")),
      { op: "dense", name: "h_out", units: codes, act: "linear" },
    ],
  };
}

function celeba(imageShape: [number, number, number], noise = 100): GanArchitecture {
  const [h, w, c] = imageShape;
  if (h % 8 !== 0 || w % 8 !== 0) throw new Error("celeba architecture needs image sides divisible by 8");
  const codes = 5;
  const conv = (name: string, filters: number, sn: boolean, bn?: "pre"): LayerSpec => ({
    op: "conv",
    name,
    filters,
    kernel: 5,
    act: "lrelu",
    sn,
    bn,
  });
  return {
    dataset: "celeba",
    imageShape,
    latent: { codes, noise, prior: "uniform" },
    valueRange: [-1, 1],
    // DCGAN ordering: BN before ReLU.
    g: [
      { op: "dense", name: "g_fc0", units: 1024, act: "relu", bn: "pre" },
      { op: "dense", name: "g_fc1", units: (h / 8) * (w / 8) * 256, act: "relu", bn: "pre" },
      { op: "reshape", shape: [h / 8, w / 8, 256] },
      { op: "deconv", name: "g_dc0", filters: 128, kernel: 5, act: "relu", bn: "pre" },
      { op: "deconv", name: "g_dc1", filters: 64, kernel: 5, act: "relu", bn: "pre" },
      { op: "deconv", name: "g_dc2", filters: c, kernel: 5, act: "tanh" },
    ],
    trunk: [conv("d_c0", 64, true), conv("d_c1", 128, true), conv("d_c2", 256, true), conv("d_c3", 512, true), {
      op: "flatten",
    }],
    dHead: [{ op: "dense", name: "d_out", units: 1, act: "linear", sn: true }],
    qHead: [{ op: "dense", name: "q_out", units: codes, act: "linear", sn: true }],
    h: [
      conv("h_c0", 64, false),
      conv("h_c1", 128, false, "pre"),
      conv("h_c2", 256, false, "pre"),
      conv("h_c3", 512, false, "pre"),
      { op: "flatten" },
      { op: "dense", name: "h_out", units: codes, act: "linear" },
    ],
  };
}

/**
 * The paper's architecture for a dataset; `imageShape` defaults to the paper's (tests pass smaller images), `noise`
 * (the number of unregularised noise inputs of G) to the paper's 5 (dSprites, 3DTeapots) or 100 (CelebA).
 */
export function architectureFor(
  dataset: GanDataset,
  imageShape?: [number, number, number],
  noise?: number,
): GanArchitecture {
  if (noise !== undefined && !(Number.isInteger(noise) && noise >= 0)) {
    throw new Error(`noise inputs must be a non-negative integer, got ${noise}`);
  }
  switch (dataset) {
    case "dsprites":
      return dsprites(imageShape ?? [64, 64, 1], "dsprites", noise);
    case "teapots":
      return dsprites(imageShape ?? [64, 64, 3], "teapots", noise);
    case "celeba":
      return celeba(imageShape ?? [32, 32, 3], noise);
    default:
      throw new Error(`no InfoGAN-CR architecture for dataset "${dataset}" (choose dsprites, teapots or celeba)`);
  }
}

/** The three networks' parameters. D and Q share one ParamSet (one optimiser over all D/Q variables, as the paper). */
export interface GanParams {
  g: ParamSet;
  dq: ParamSet;
  h: ParamSet;
}

export function initGenerator(arch: GanArchitecture, rng: Rng): ParamSet {
  const p = new ParamSet();
  initLayers(p, arch.g, [arch.latent.codes + arch.latent.noise], rng);
  return p;
}

export function initDQ(arch: GanArchitecture, rng: Rng): ParamSet {
  const p = new ParamSet();
  const [feat] = outputShapes(arch.trunk, arch.imageShape).at(-1)!;
  initLayers(p, arch.trunk, arch.imageShape, rng);
  initLayers(p, arch.dHead, [feat], rng);
  initLayers(p, arch.qHead, [feat], rng);
  return p;
}

export function initH(arch: GanArchitecture, rng: Rng): ParamSet {
  const p = new ParamSet();
  const [h, w, c] = arch.imageShape;
  initLayers(p, arch.h, [h, w, 2 * c], rng);
  return p;
}

/** Initialises G, D/Q and H in that order from `rng`. */
export function initGan(arch: GanArchitecture, rng: Rng): GanParams {
  return { g: initGenerator(arch, rng), dq: initDQ(arch, rng), h: initH(arch, rng) };
}

/** G: latent rows [c_1..c_k, z_1..z_m] -> images. */
export function generate(arch: GanArchitecture, g: ParamSet, latent: tf.Tensor2D, mode: ForwardMode): tf.Tensor4D {
  return runLayers(g, arch.g, latent, mode) as tf.Tensor4D;
}

/** D and Q on the same images through the shared trunk: D's logit (n) and Q's predicted code means (n x k). */
export function discriminate(
  arch: GanArchitecture,
  dq: ParamSet,
  images: tf.Tensor4D,
): { dLogit: tf.Tensor1D; qMean: tf.Tensor2D } {
  const mode = { training: false }; // D/Q has no BN
  const feat = runLayers(dq, arch.trunk, images, mode);
  const dLogit = tf.reshape(runLayers(dq, arch.dHead, feat, mode), [-1]) as tf.Tensor1D;
  const qMean = runLayers(dq, arch.qHead, feat, mode) as tf.Tensor2D;
  return { dLogit, qMean };
}

/** H on a pair of image batches, concatenated on the channel axis (x' first): logits over the k codes. */
export function contrast(arch: GanArchitecture, h: ParamSet, x1: tf.Tensor4D, x2: tf.Tensor4D): tf.Tensor2D {
  // H's BN (teapots, CelebA) always runs in train mode and keeps no moving averages.
  return runLayers(h, arch.h, tf.concat([x1, x2], 3), { training: true, noStatUpdate: true }) as tf.Tensor2D;
}

/** Spectral-norm power-iteration updates for D/Q and H, run once per iteration after all optimiser steps. */
export function updateSpectralNorms(arch: GanArchitecture, p: GanParams): void {
  spectralNormUpdate(p.dq, [...arch.trunk, ...arch.dHead, ...arch.qHead]);
  spectralNormUpdate(p.h, arch.h);
}

/** Rows per forward pass in `encode`/`generate`, so metric-sized inputs (tens of thousands of images) fit in memory. */
export const INFERENCE_CHUNK = 500;

function inChunks<T extends tf.Tensor>(n: number, f: (start: number, size: number) => T): T {
  if (n <= INFERENCE_CHUNK) return f(0, n);
  const parts: T[] = [];
  for (let s = 0; s < n; s += INFERENCE_CHUNK) parts.push(f(s, Math.min(INFERENCE_CHUNK, n - s)));
  const out = tf.concat(parts) as T;
  tf.dispose(parts);
  return out;
}

/** The two capabilities metrics and ModelCentrality need: Q's means as the encoder, G (inference BN) as the generator. */
export function ganModel(name: string, arch: GanArchitecture, g: ParamSet, dq: ParamSet, owns = true): TrainedModel {
  const { codes, noise } = arch.latent;
  // The native engine's sessions (lib/models/native_inference.ts), built on first use.
  const nativeQ = new NativeNetwork(`${name} encoder`, () => ganEncoderOnnx(arch, dq), () => Object.values(dq.all()));
  const nativeG = new NativeNetwork(`${name} generator`, () => ganGeneratorOnnx(arch, g), () => Object.values(g.all()));
  return {
    name,
    codeSize: codes,
    latent: { ...arch.latent },
    encode(images: tf.Tensor4D): tf.Tensor2D {
      const [, h, w, ch] = images.shape;
      if ([h, w, ch].join("x") !== arch.imageShape.join("x")) {
        throw new Error(`encode: images are ${h}x${w}x${ch}, this model takes ${arch.imageShape.join("x")}`);
      }
      if (isNativeEngineEnabled()) return nativeQ.run({ images }).codes as tf.Tensor2D;
      return inChunks(
        images.shape[0],
        (s, m) => tf.tidy(() => discriminate(arch, dq, m === images.shape[0] ? images : images.slice(s, m)).qMean),
      );
    },
    generate(c: tf.Tensor2D, z?: tf.Tensor2D): tf.Tensor4D {
      if (c.shape[1] !== codes) throw new Error(`generate: codes must have ${codes} columns, got ${c.shape[1]}`);
      if (noise > 0 && !z) throw new Error(`generate: this model needs ${noise} noise columns`);
      if (z && z.shape[1] !== noise) throw new Error(`generate: noise must have ${noise} columns, got ${z.shape[1]}`);
      if (z && z.shape[0] !== c.shape[0]) throw new Error("generate: codes and noise need the same number of rows");
      if (isNativeEngineEnabled()) {
        return nativeG.run(noise > 0 ? { codes: c, noise: z! } : { codes: c }).images as tf.Tensor4D;
      }
      return inChunks(c.shape[0], (s, m) =>
        tf.tidy(() => {
          const cc = m === c.shape[0] ? c : c.slice(s, m);
          const zz = z && (m === z.shape[0] ? z : z.slice(s, m));
          return generate(arch, g, zz ? tf.concat([cc, zz], 1) : cc, { training: false });
        }));
    },
    dispose() {
      nativeQ.dispose();
      nativeG.dispose();
      if (owns) {
        g.dispose();
        dq.dispose();
      }
    },
  };
}

/**
 * G as a standard tfjs LayersModel topology (tf.sequential: dense, batchNormalization with momentum 0.9 and eps 1e-5,
 * conv2dTranspose, activations), whose weight names are exactly G's parameter names. Written into the checkpoint's
 * `generator/model.json`, it lets any tfjs user run `tf.loadLayersModel(".../generator/model.json")` and
 * `model.predict(latent)` with the same result as `generate(..., { training: false })`.
 */
export function generatorTopology(arch: GanArchitecture): object {
  const model = tf.sequential();
  let first = true;
  const input = () => {
    if (!first) return {};
    first = false;
    return { inputShape: [arch.latent.codes + arch.latent.noise] };
  };
  const act = (name: string, a: string) => {
    if (a === "lrelu") model.add(tf.layers.leakyReLU({ alpha: 0.2, name: `${name}_act` }));
    else if (a !== "linear") {
      model.add(tf.layers.activation({ activation: a as "relu" | "sigmoid" | "tanh", name: `${name}_act` }));
    }
  };
  const bn = (name: string) =>
    model.add(tf.layers.batchNormalization({ momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name: `${name}_bn` }));
  for (const l of arch.g) {
    if (l.op === "reshape") {
      model.add(tf.layers.reshape({ targetShape: l.shape, name: "g_reshape" }));
      continue;
    }
    if (l.op === "dense") model.add(tf.layers.dense({ units: l.units, name: l.name, ...input() }));
    else if (l.op === "deconv") {
      model.add(
        tf.layers.conv2dTranspose({
          filters: l.filters,
          kernelSize: l.kernel,
          strides: 2,
          padding: "same",
          name: l.name,
        }),
      );
    } else throw new Error(`generatorTopology: unexpected ${l.op} layer in G`);
    if (l.bn === "pre") bn(l.name);
    act(l.name, l.act);
    if (l.bn === "post") bn(l.name);
  }
  const topology = model.toJSON(undefined, false) as object;
  model.dispose(); // its randomly initialised weights are never used
  return topology;
}
