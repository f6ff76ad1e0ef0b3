/**
 * The VAE baselines' networks (paper-facts §1.3; the InfoGAN-CR repository's `FactorVAE_dSprites/gan/network.py`):
 *
 *   encoder: 4 x [conv 4x4 s2, ReLU] (32, 32, 64, 64) -> FC 128 (no activation, as in the code) -> FC mean, FC logvar
 *   decoder: FC 128 ReLU -> FC (h/16 * w/16 * 64) ReLU -> reshape -> 3 x [deconv 4x4 s2, ReLU] (64, 32, 32)
 *            -> deconv 4x4 s2 to the image channels = Bernoulli logits. No batch norm anywhere.
 *   TC discriminator (FactorVAE only): 5 x [FC 1000, LReLU 0.2] -> FC 2 logits.
 *
 * Plain functions over explicit `tf.Variable`s, initialised in JS from the seeded RNG (conv kernels truncated-normal
 * std 0.02, transposed-conv and FC kernels normal std 0.02, biases 0, as the code's `op.py`), so a run is a function of
 * its seed on any backend.
 *
 * `VaeModel` gives a trained VAE the two capabilities of `TrainedModel`: `encode` (images -> 10-d code) and `generate`
 * (codes -> sigmoid of the decoder's logits).
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng.ts";
import type { LatentSpec, TrainedModel } from "./capabilities.ts";
import type { TcdArchConfig, VaeArchConfig, VaeConfig } from "../config/vae.ts";
import { parseVaeConfig } from "../config/vae.ts";
import { gaussianKlPerDim } from "../losses/vae.ts";
import { loadCheckpoint } from "../train/checkpoint.ts";
import { isNativeEngineEnabled } from "../onnx/runtime.ts";
import { NativeNetwork } from "./native_inference.ts";
import { vaeDecoderOnnx, vaeEncoderOnnx } from "./onnx_vae.ts";

/** The shape-determining part of a VAE config. */
export interface VaeSpec {
  imageShape: [number, number, number];
  latentDim: number;
  arch: VaeArchConfig;
  /** Present for FactorVAE only. */
  tcd?: TcdArchConfig;
}

export type ParamGroup = Record<string, tf.Variable>;

export interface VaeParams {
  encoder: ParamGroup;
  decoder: ParamGroup;
  /** Empty for beta-VAE. */
  tcd: ParamGroup;
}

const KERNEL = 4;
const INIT_STD = 0.02;
const LRELU_SLOPE = 0.2;
/** Images per forward pass in `posterior`/`generate`, to bound memory on large evaluation sets. */
const CHUNK = 256;

export function vaeSpecOf(cfg: VaeConfig): VaeSpec {
  return {
    imageShape: cfg.imageShape,
    latentDim: cfg.latentDim,
    arch: cfg.arch,
    tcd: cfg.model === "factor-vae" ? cfg.tcd : undefined,
  };
}

// ---- initialisation -------------------------------------------------------------------------------------------------

/** TF's truncated normal: values beyond two standard deviations are redrawn. */
function truncatedNormal(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = rng.normal();
    while (Math.abs(v) > 2) v = rng.normal();
    out[i] = v * std;
  }
  return out;
}

type Init = "truncated" | "normal" | "zeros";

/** Every parameter's shape and initialiser, in a fixed order (the order RNG draws are made in). */
export function vaeParamShapes(spec: VaeSpec): Record<keyof VaeParams, [string, number[], Init][]> {
  const [h, w, c] = spec.imageShape;
  if (h % 16 !== 0 || w % 16 !== 0) {
    throw new Error(`VAE: image height and width must be multiples of 16, got ${h}x${w}`);
  }
  const { encoderChannels: ec, encoderHidden, decoderHidden, decoderChannels: dc } = spec.arch;
  const d = spec.latentDim;
  const encoder: [string, number[], Init][] = [];
  let inC = c;
  ec.forEach((outC, i) => {
    encoder.push([`conv${i}/kernel`, [KERNEL, KERNEL, inC, outC], "truncated"], [`conv${i}/bias`, [outC], "zeros"]);
    inC = outC;
  });
  const flat = (h / 16) * (w / 16) * ec[3];
  encoder.push(["fc/kernel", [flat, encoderHidden], "normal"], ["fc/bias", [encoderHidden], "zeros"]);
  encoder.push(["mean/kernel", [encoderHidden, d], "normal"], ["mean/bias", [d], "zeros"]);
  encoder.push(["logvar/kernel", [encoderHidden, d], "normal"], ["logvar/bias", [d], "zeros"]);

  const decoder: [string, number[], Init][] = [];
  decoder.push(["fc0/kernel", [d, decoderHidden], "normal"], ["fc0/bias", [decoderHidden], "zeros"]);
  const base = (h / 16) * (w / 16) * dc[0];
  decoder.push(["fc1/kernel", [decoderHidden, base], "normal"], ["fc1/bias", [base], "zeros"]);
  const outs = [dc[1], dc[2], dc[3], c];
  let prev = dc[0];
  outs.forEach((outC, i) => {
    // conv2dTranspose filters are [k, k, out, in].
    decoder.push([`deconv${i}/kernel`, [KERNEL, KERNEL, outC, prev], "normal"], [`deconv${i}/bias`, [outC], "zeros"]);
    prev = outC;
  });

  const tcd: [string, number[], Init][] = [];
  if (spec.tcd) {
    let inD = d;
    for (let i = 0; i < spec.tcd.layers; i++) {
      tcd.push([`fc${i}/kernel`, [inD, spec.tcd.hidden], "normal"], [`fc${i}/bias`, [spec.tcd.hidden], "zeros"]);
      inD = spec.tcd.hidden;
    }
    tcd.push(["out/kernel", [inD, 2], "normal"], ["out/bias", [2], "zeros"]);
  }
  return { encoder, decoder, tcd };
}

/** Fresh parameters; each network draws from its own fork of `rng`, so adding a TC-D does not change the VAE's init. */
export function initVaeParams(spec: VaeSpec, rng: Rng): VaeParams {
  const shapes = vaeParamShapes(spec);
  const make = (group: keyof VaeParams): ParamGroup => {
    const r = rng.fork(`init/${group}`);
    const out: ParamGroup = {};
    for (const [name, shape, init] of shapes[group]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = init === "zeros"
        ? new Float32Array(n)
        : init === "truncated"
        ? truncatedNormal(r, n, INIT_STD)
        : r.normalArray(n, INIT_STD);
      out[name] = tf.variable(tf.tensor(values, shape), true);
    }
    return out;
  };
  return { encoder: make("encoder"), decoder: make("decoder"), tcd: make("tcd") };
}

/** Parameters from saved tensors (e.g. a checkpoint group); checks every name and shape. Takes ownership of nothing. */
export function vaeParamsFromTensors(spec: VaeSpec, groups: Record<string, tf.NamedTensorMap>): VaeParams {
  const shapes = vaeParamShapes(spec);
  const make = (group: keyof VaeParams): ParamGroup => {
    const saved = groups[group] ?? {};
    const want = shapes[group];
    const extra = Object.keys(saved).filter((k) => !want.some(([n]) => n === k));
    if (extra.length) throw new Error(`VAE weights: unexpected tensors in "${group}": ${extra.join(", ")}`);
    const out: ParamGroup = {};
    for (const [name, shape] of want) {
      const t = saved[name];
      if (!t) throw new Error(`VAE weights: missing tensor "${group}/${name}"`);
      if (t.shape.join("x") !== shape.join("x")) {
        throw new Error(`VAE weights: "${group}/${name}" has shape [${t.shape}], the config needs [${shape}]`);
      }
      out[name] = tf.variable(t, true);
    }
    return out;
  };
  return { encoder: make("encoder"), decoder: make("decoder"), tcd: make("tcd") };
}

export function disposeVaeParams(p: VaeParams): void {
  for (const g of [p.encoder, p.decoder, p.tcd]) for (const v of Object.values(g)) v.dispose();
}

// ---- forward passes -------------------------------------------------------------------------------------------------

/** Encoder: images (NHWC, [0, 1]) -> posterior mean and log-variance, each n x latentDim. */
export function encoderForward(p: ParamGroup, x: tf.Tensor4D): { mean: tf.Tensor2D; logvar: tf.Tensor2D } {
  return tf.tidy(() => {
    let hcur: tf.Tensor4D = x;
    for (let i = 0; i < 4; i++) {
      hcur = tf.relu(tf.conv2d(hcur, p[`conv${i}/kernel`] as tf.Tensor4D, 2, "same").add(p[`conv${i}/bias`]));
    }
    const flat = hcur.reshape([x.shape[0], -1]) as tf.Tensor2D;
    const fc = tf.matMul(flat, p["fc/kernel"] as tf.Tensor2D).add(p["fc/bias"]) as tf.Tensor2D;
    const mean = tf.matMul(fc, p["mean/kernel"] as tf.Tensor2D).add(p["mean/bias"]) as tf.Tensor2D;
    const logvar = tf.matMul(fc, p["logvar/kernel"] as tf.Tensor2D).add(p["logvar/bias"]) as tf.Tensor2D;
    return { mean, logvar };
  });
}

/** Decoder: latent codes (n x latentDim) -> Bernoulli logits (n x h x w x c). */
export function decoderForward(p: ParamGroup, spec: VaeSpec, z: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const n = z.shape[0];
    const [h, w, c] = spec.imageShape;
    const dc = spec.arch.decoderChannels;
    const h0 = tf.relu(tf.matMul(z, p["fc0/kernel"] as tf.Tensor2D).add(p["fc0/bias"])) as tf.Tensor2D;
    const h1 = tf.relu(tf.matMul(h0, p["fc1/kernel"] as tf.Tensor2D).add(p["fc1/bias"]));
    let x = h1.reshape([n, h / 16, w / 16, dc[0]]) as tf.Tensor4D;
    const outs = [dc[1], dc[2], dc[3], c];
    for (let i = 0; i < 4; i++) {
      const scale = 2 ** (i + 1);
      const shape: [number, number, number, number] = [n, (h / 16) * scale, (w / 16) * scale, outs[i]];
      x = tf.conv2dTranspose(x, p[`deconv${i}/kernel`] as tf.Tensor4D, shape, 2, "same").add(p[`deconv${i}/bias`]);
      if (i < 3) x = tf.relu(x);
    }
    return x;
  });
}

/** TC discriminator: latent samples (n x latentDim) -> 2 logits (0 = joint q(z), 1 = product of marginals). */
export function tcdForward(p: ParamGroup, z: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    let x = z;
    for (let i = 0; p[`fc${i}/kernel`]; i++) {
      x = tf.leakyRelu(tf.matMul(x, p[`fc${i}/kernel`] as tf.Tensor2D).add(p[`fc${i}/bias`]), LRELU_SLOPE);
    }
    return tf.matMul(x, p["out/kernel"] as tf.Tensor2D).add(p["out/bias"]) as tf.Tensor2D;
  });
}

/** The reparameterised sample z = mean + exp(logvar / 2) * eps. */
export function reparameterize(mean: tf.Tensor2D, logvar: tf.Tensor2D, eps: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => mean.add(logvar.div(2).exp().mul(eps)) as tf.Tensor2D);
}

// ---- the trained model ----------------------------------------------------------------------------------------------

export type Representation = "sampled" | "mean";

export interface VaeModelOptions {
  name: string;
  representation: Representation;
  /** Seed of the eps stream used by `encode` with the "sampled" representation. */
  encodeSeed: number;
  /** Whether `dispose` frees the parameters (false when a trainer still owns them). */
  ownsParams: boolean;
}

/** A VAE with the `TrainedModel` capabilities, plus access to its posterior. */
export class VaeModel implements TrainedModel {
  readonly name: string;
  readonly codeSize: number;
  readonly latent: LatentSpec;
  readonly representation: Representation;
  private encodeRng: Rng;
  private disposed = false;
  /** The native engine's sessions (lib/models/native_inference.ts), built on first use. */
  private nativeEncoder: NativeNetwork;
  private nativeDecoder: NativeNetwork;

  constructor(readonly params: VaeParams, readonly spec: VaeSpec, private opts: VaeModelOptions) {
    this.name = opts.name;
    this.codeSize = spec.latentDim;
    this.latent = { codes: spec.latentDim, noise: 0, prior: "gaussian" };
    this.representation = opts.representation;
    this.encodeRng = new Rng(opts.encodeSeed).fork("encode");
    this.nativeEncoder = new NativeNetwork(
      `${this.name} encoder`,
      () => vaeEncoderOnnx(spec, params.encoder),
      () => Object.values(params.encoder),
    );
    this.nativeDecoder = new NativeNetwork(
      `${this.name} decoder`,
      () => vaeDecoderOnnx(spec, params.decoder),
      () => Object.values(params.decoder),
    );
  }

  private checkImages(images: tf.Tensor4D): void {
    const [h, w, c] = this.spec.imageShape;
    const [, ih, iw, ic] = images.shape;
    if (ih !== h || iw !== w || ic !== c) {
      throw new Error(`${this.name}: images are ${ih}x${iw}x${ic}, the model expects ${h}x${w}x${c}`);
    }
  }

  /** Posterior mean and log-variance (n x latentDim each). Caller disposes. */
  posterior(images: tf.Tensor4D): { mean: tf.Tensor2D; logvar: tf.Tensor2D } {
    this.checkImages(images);
    if (isNativeEngineEnabled()) {
      const out = this.nativeEncoder.run({ images });
      return { mean: out.mean as tf.Tensor2D, logvar: out.logvar as tf.Tensor2D };
    }
    const n = images.shape[0];
    if (n <= CHUNK) return encoderForward(this.params.encoder, images);
    const means: tf.Tensor2D[] = [], logvars: tf.Tensor2D[] = [];
    for (let s = 0; s < n; s += CHUNK) {
      const part = tf.tidy(() => encoderForward(this.params.encoder, images.slice(s, Math.min(CHUNK, n - s))));
      means.push(part.mean);
      logvars.push(part.logvar);
    }
    const out = { mean: tf.concat(means) as tf.Tensor2D, logvar: tf.concat(logvars) as tf.Tensor2D };
    tf.dispose([...means, ...logvars]);
    return out;
  }

  /**
   * The representation the metrics see. With "sampled" (the default of every preset) it is mean + sigma * eps, eps drawn
   * from this model's own seeded stream: the released code measured this sampled z (paper-facts §0.8), and drawing eps
   * from a seeded stream keeps a sequence of `encode` calls reproducible. With "mean" it is the posterior mean.
   */
  encode(images: tf.Tensor4D): tf.Tensor2D {
    const { mean, logvar } = this.posterior(images);
    if (this.representation === "mean") {
      logvar.dispose();
      return mean;
    }
    const eps = this.encodeRng.normalArray(mean.size);
    const z = tf.tidy(() => reparameterize(mean, logvar, tf.tensor2d(eps, mean.shape)));
    tf.dispose([mean, logvar]);
    return z;
  }

  /** Codes (n x latentDim) -> images in [0, 1]: the sigmoid of the decoder's Bernoulli logits. */
  generate(codes: tf.Tensor2D, noise?: tf.Tensor2D): tf.Tensor4D {
    if (noise && noise.shape[1] !== 0) throw new Error(`${this.name}: a VAE takes no noise input (latent.noise is 0)`);
    if (codes.shape[1] !== this.spec.latentDim) {
      throw new Error(`${this.name}: codes have ${codes.shape[1]} dims, the model expects ${this.spec.latentDim}`);
    }
    if (isNativeEngineEnabled()) return this.nativeDecoder.run({ codes }).images as tf.Tensor4D;
    const n = codes.shape[0];
    if (n <= CHUNK) return tf.tidy(() => tf.sigmoid(decoderForward(this.params.decoder, this.spec, codes)));
    const parts: tf.Tensor4D[] = [];
    for (let s = 0; s < n; s += CHUNK) {
      parts.push(tf.tidy(() => {
        const c = codes.slice(s, Math.min(CHUNK, n - s));
        return tf.sigmoid(decoderForward(this.params.decoder, this.spec, c));
      }));
    }
    const out = tf.concat(parts) as tf.Tensor4D;
    tf.dispose(parts);
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.nativeEncoder.dispose();
    this.nativeDecoder.dispose();
    if (this.opts.ownsParams) disposeVaeParams(this.params);
  }
}

/**
 * Mean over `images` of KL(q(z_j | x) || N(0, 1)) for each latent dim j: UDR drops dims whose value is below 0.01
 * (inactive latents).
 */
export async function meanKlPerDim(model: VaeModel, images: tf.Tensor4D): Promise<Float32Array> {
  const n = images.shape[0];
  if (n === 0) throw new Error("meanKlPerDim: no images");
  const sum = new Float64Array(model.spec.latentDim);
  for (let s = 0; s < n; s += CHUNK) {
    const m = Math.min(CHUNK, n - s);
    const kl = tf.tidy(() => {
      const { mean, logvar } = encoderForward(model.params.encoder, images.slice(s, m));
      return gaussianKlPerDim(mean, logvar);
    });
    let v: Float32Array;
    try {
      v = await kl.data() as Float32Array;
    } finally {
      kl.dispose();
    }
    for (let j = 0; j < v.length; j++) sum[j] += v[j] * m;
  }
  return Float32Array.from(sum, (x) => x / n);
}

/** Loads the trained VAE of a run folder (config.json + checkpoint/), for `lib/models/load.ts`. Caller disposes. */
export async function loadVaeModel(runDir: string): Promise<VaeModel> {
  const cfgPath = `${runDir}/config.json`;
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(cfgPath));
  } catch (e) {
    throw new Error(`loadVaeModel: cannot read ${cfgPath}: ${(e as Error).message}`);
  }
  const cfg = parseVaeConfig(raw, cfgPath);
  const ck = await loadCheckpoint(`${runDir}/checkpoint`);
  try {
    const spec = vaeSpecOf(cfg);
    const params = vaeParamsFromTensors(spec, {
      encoder: ck.tensors.encoder,
      decoder: ck.tensors.decoder,
      tcd: ck.tensors.tcd,
    });
    return new VaeModel(params, spec, {
      name: `${cfg.model} ${runDir}`,
      representation: cfg.representation,
      encodeSeed: cfg.seed,
      ownsParams: true,
    });
  } finally {
    for (const g of Object.values(ck.tensors)) tf.dispose(g);
  }
}
