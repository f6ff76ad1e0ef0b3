/**
 * Layers as plain functions over explicit parameters.
 *
 * A network is a list of layer specs (a table that mirrors the paper's architecture tables, see infogan_cr.ts) plus a
 * `ParamSet`: named `tf.Variable`s, split into `trainable` (kernels, biases, BN scale/offset) and `state` (BN moving
 * averages, spectral-norm power-iteration vectors). Names are the checkpoint keys, e.g. `conv1/kernel`, `bn0/moving_mean`,
 * `conv1/sn_u`. Every initial value is drawn from a seeded `Rng` in JS, never from tf.random*, so a seed fixes the weights
 * on every backend.
 *
 * Ops follow [IGCR `gan/op.py`, `gan/sn.py`] (see paper-facts §1): convolutions SAME-padded with stride 2, kernels
 * truncated-normal(0.02); transposed convolutions and dense layers normal(0.02); biases 0; LeakyReLU slope 0.2; batch norm
 * with momentum 0.9, eps 1e-5, learned scale and offset; spectral norm with the weight reshaped to (-1, out), one power
 * iteration from a persistent u (truncated-normal(1) initial value), the gradient flowing through the power iteration.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";

export type Activation = "relu" | "lrelu" | "sigmoid" | "tanh" | "linear";

/** Where batch norm sits relative to the activation: "post" = act then BN (InfoGAN-CR dSprites G), "pre" = DCGAN. */
export type BnPlacement = "pre" | "post";

/**
 * Spectral normalisation of a dense or conv layer: `true` is [IGCR `sn.py`]'s. `"stop-gradient"` is a diagnostic
 * variant (Miyato et al.'s formulation, which treats u and v as constants in the backward pass); it is what this toolkit
 * did before matching the reference, and it stays only so that the comparison in docs/training.md can be re-run.
 */
export type SpectralNorm = boolean | "stop-gradient";

export type LayerSpec =
  | { op: "dense"; name: string; units: number; act: Activation; bn?: BnPlacement; sn?: SpectralNorm }
  | { op: "conv"; name: string; filters: number; kernel: number; act: Activation; bn?: BnPlacement; sn?: SpectralNorm }
  | { op: "deconv"; name: string; filters: number; kernel: number; act: Activation; bn?: BnPlacement }
  | { op: "reshape"; shape: [number, number, number] }
  | { op: "flatten" };

export const BN_MOMENTUM = 0.9;
export const BN_EPSILON = 1e-5;
export const LRELU_SLOPE = 0.2;
export const INIT_STD = 0.02;

/** Named variables of one network. */
export class ParamSet {
  readonly trainable = new Map<string, tf.Variable>();
  readonly state = new Map<string, tf.Variable>();

  addTrainable(name: string, value: tf.Tensor): tf.Variable {
    if (this.trainable.has(name) || this.state.has(name)) throw new Error(`parameter ${name} defined twice`);
    const v = tf.variable(value, true);
    value.dispose();
    this.trainable.set(name, v);
    return v;
  }

  addState(name: string, value: tf.Tensor): tf.Variable {
    if (this.trainable.has(name) || this.state.has(name)) throw new Error(`parameter ${name} defined twice`);
    const v = tf.variable(value, false);
    value.dispose();
    this.state.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.trainable.get(name) ?? this.state.get(name);
    if (!v) throw new Error(`no parameter named ${name}`);
    return v;
  }

  /** All variables by name (trainable and state), for checkpoints. */
  all(): tf.NamedTensorMap {
    return Object.fromEntries([...this.trainable, ...this.state]);
  }

  /** Overwrites every variable from `values` (same names and shapes); a missing or mis-shaped one is an error. */
  assignFrom(values: tf.NamedTensorMap, what: string): void {
    for (const [name, v] of [...this.trainable, ...this.state]) {
      const t = values[name];
      if (!t) throw new Error(`${what}: missing parameter ${name}`);
      if (t.shape.join("x") !== v.shape.join("x")) {
        throw new Error(`${what}: parameter ${name} has shape [${t.shape}] but the model needs [${v.shape}]`);
      }
      v.assign(t);
    }
  }

  dispose(): void {
    for (const v of [...this.trainable.values(), ...this.state.values()]) v.dispose();
    this.trainable.clear();
    this.state.clear();
  }
}

/** Normal(0, std) values from the seeded RNG; `truncated` redraws values beyond 2 std, as tf.truncated_normal does. */
export function initValues(rng: Rng, n: number, std: number, truncated: boolean): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let x = rng.normal();
    if (truncated) { while (Math.abs(x) > 2) x = rng.normal(); }
    out[i] = x * std;
  }
  return out;
}

/** Runtime switches of a forward pass. */
export interface ForwardMode {
  /** Batch norm uses batch statistics (and updates the moving averages) when true, moving averages when false. */
  training: boolean;
  /**
   * When set with training, BN normalises with the batch's statistics but does not touch the moving averages: H, whose
   * BN always runs in train mode, and G's CR pair passes, whose batches are not drawn from the prior.
   */
  noStatUpdate?: boolean;
  /** Called with each training-mode BN layer's batch mean and variance (diagnostics; lib/models/bn_drift.ts). */
  observeBatchStats?: (layer: string, mean: tf.Tensor, variance: tf.Tensor) => void;
}

function activate(x: tf.Tensor, act: Activation): tf.Tensor {
  switch (act) {
    case "relu":
      return tf.relu(x);
    case "lrelu":
      return tf.leakyRelu(x, LRELU_SLOPE);
    case "sigmoid":
      return tf.sigmoid(x);
    case "tanh":
      return tf.tanh(x);
    case "linear":
      return x;
  }
}

/**
 * Spectral normalisation W / sigma(W) with one power iteration from the persistent u (shape [1, out]), as [IGCR `sn.py`]:
 * v = norm(u W^T), u' = norm(v W), sigma = v W u'^T, and the gradient flows through v and u' as well as through W (the
 * reference builds them from W in the same graph and stops nothing). `stopGradient` treats v and u' as constants
 * instead (the diagnostic variant of `SpectralNorm`). The persistent u is NOT updated here, only by
 * `spectralNormUpdate`, because the reference runs the u updates once per iteration after all optimiser steps.
 */
export function spectralNormalize(w: tf.Tensor, u: tf.Tensor, stopGradient = false): tf.Tensor {
  return tf.tidy(() => {
    const out = w.shape[w.shape.length - 1];
    const w2 = tf.reshape(w, [-1, out]) as tf.Tensor2D;
    const { uHat, vHat } = powerIteration(stopGradient ? zeroGradient(w2) as tf.Tensor2D : w2, u as tf.Tensor2D);
    const sigma = tf.sum(tf.mul(tf.matMul(vHat, w2), uHat)); // v W u'^T
    return tf.div(w, sigma);
  });
}

/** Identity whose gradient is zero: tfjs has no stop_gradient op. */
const zeroGradient = tf.customGrad((...inputs) => {
  const x = inputs[0] as tf.Tensor;
  return { value: x.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as (x: tf.Tensor) => tf.Tensor;

function l2normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.add(tf.norm(x), 1e-12));
}

/** One power iteration: v = norm(u W^T), u' = norm(v W). */
function powerIteration(w2: tf.Tensor2D, u: tf.Tensor2D): { uHat: tf.Tensor2D; vHat: tf.Tensor2D } {
  const vHat = l2normalize(tf.matMul(u, w2, false, true));
  const uHat = l2normalize(tf.matMul(vHat, w2));
  return { uHat, vHat };
}

/** Advances every persistent u of a network by one power iteration on the current weights. */
export function spectralNormUpdate(params: ParamSet, specs: LayerSpec[]): void {
  tf.tidy(() => {
    for (const s of specs) {
      if ((s.op === "dense" || s.op === "conv") && s.sn) {
        const w = params.get(`${s.name}/kernel`);
        const u = params.get(`${s.name}/sn_u`);
        const w2 = tf.reshape(w, [-1, w.shape[w.shape.length - 1]]) as tf.Tensor2D;
        u.assign(powerIteration(w2, u as tf.Tensor2D).uHat);
      }
    }
  });
}

/** The largest singular value of W / sigma(W) as the network currently uses it (for tests and diagnostics). */
export async function normalizedSpectralNorm(params: ParamSet, layer: string): Promise<number> {
  const sigma = tf.tidy(() => {
    const w = params.get(`${layer}/kernel`);
    const wn = spectralNormalize(w, params.get(`${layer}/sn_u`));
    const w2 = tf.reshape(wn, [-1, w.shape[w.shape.length - 1]]) as tf.Tensor2D;
    // Many power iterations from a fixed start give the true top singular value.
    let u = tf.ones([1, w2.shape[1]]) as tf.Tensor2D;
    for (let i = 0; i < 200; i++) u = powerIteration(w2, u).uHat;
    const v = l2normalize(tf.matMul(u, w2, false, true));
    return tf.sum(tf.mul(tf.matMul(v, w2), u));
  });
  try {
    return (await sigma.data())[0];
  } finally {
    sigma.dispose();
  }
}

/**
 * Batch normalisation. Training: normalise with the batch's (biased) moments over all axes but the channel one, and move
 * the moving averages 10% towards them (momentum 0.9), as tf.contrib.layers.batch_norm with in-place updates does.
 * Inference: normalise with the moving averages.
 */
export function batchNorm(params: ParamSet, name: string, x: tf.Tensor, mode: ForwardMode): tf.Tensor {
  const gamma = params.get(`${name}/gamma`);
  const beta = params.get(`${name}/beta`);
  let mean: tf.Tensor, variance: tf.Tensor;
  if (mode.training) {
    const axes = x.rank === 4 ? [0, 1, 2] : [0];
    ({ mean, variance } = tf.moments(x, axes));
    mode.observeBatchStats?.(name, mean, variance);
    if (!mode.noStatUpdate) {
      const mm = params.get(`${name}/moving_mean`);
      const mv = params.get(`${name}/moving_variance`);
      // The moving averages are not on the loss's path, so no gradient flows through these updates.
      mm.assign(tf.add(tf.mul(mm, BN_MOMENTUM), tf.mul(mean, 1 - BN_MOMENTUM)));
      mv.assign(tf.add(tf.mul(mv, BN_MOMENTUM), tf.mul(variance, 1 - BN_MOMENTUM)));
    }
  } else {
    mean = params.get(`${name}/moving_mean`);
    variance = params.get(`${name}/moving_variance`);
  }
  const scale = tf.mul(tf.rsqrt(tf.add(variance, BN_EPSILON)), gamma);
  return tf.add(tf.mul(tf.sub(x, mean), scale), beta);
}

/** Shape of each layer's output given the input shape (without batch). */
export function outputShapes(specs: LayerSpec[], input: number[]): number[][] {
  const shapes: number[][] = [];
  let s = input;
  for (const l of specs) {
    switch (l.op) {
      case "dense":
        if (s.length !== 1) throw new Error(`dense layer ${l.name} needs a flat input, got [${s}]`);
        s = [l.units];
        break;
      case "conv":
        s = [Math.ceil(s[0] / 2), Math.ceil(s[1] / 2), l.filters];
        break;
      case "deconv":
        s = [s[0] * 2, s[1] * 2, l.filters];
        break;
      case "reshape":
        if (l.shape.reduce((a, b) => a * b, 1) !== s.reduce((a, b) => a * b, 1)) {
          throw new Error(`reshape to [${l.shape}] does not fit [${s}]`);
        }
        s = l.shape;
        break;
      case "flatten":
        s = [s.reduce((a, b) => a * b, 1)];
        break;
    }
    shapes.push(s);
  }
  return shapes;
}

/** Creates the parameters of `specs` for inputs of shape `input` (without batch) in `params`. */
export function initLayers(params: ParamSet, specs: LayerSpec[], input: number[], rng: Rng): void {
  let s = input;
  const shapes = outputShapes(specs, input);
  specs.forEach((l, idx) => {
    const out = shapes[idx];
    if (l.op === "dense" || l.op === "conv" || l.op === "deconv") {
      let kshape: number[];
      let truncated = false;
      if (l.op === "dense") kshape = [s[0], l.units];
      else if (l.op === "conv") {
        kshape = [l.kernel, l.kernel, s[2], l.filters];
        truncated = true;
      } else kshape = [l.kernel, l.kernel, l.filters, s[2]]; // tfjs conv2dTranspose: [h, w, out, in]
      const n = kshape.reduce((a, b) => a * b, 1);
      params.addTrainable(`${l.name}/kernel`, tf.tensor(initValues(rng, n, INIT_STD, truncated), kshape));
      const units = l.op === "dense" ? l.units : l.filters;
      params.addTrainable(`${l.name}/bias`, tf.zeros([units]));
      if (l.op !== "deconv" && l.sn) {
        // The persistent vector u has the layer's output width; tf.truncated_normal_initializer() (std 1) in [IGCR sn.py].
        params.addState(`${l.name}/sn_u`, tf.tensor2d(initValues(rng, units, 1, true), [1, units]));
      }
      if (l.bn) {
        params.addTrainable(`${l.name}_bn/gamma`, tf.ones([units]));
        params.addTrainable(`${l.name}_bn/beta`, tf.zeros([units]));
        params.addState(`${l.name}_bn/moving_mean`, tf.zeros([units]));
        params.addState(`${l.name}_bn/moving_variance`, tf.ones([units]));
      }
    }
    s = out;
  });
}

/** Runs `specs` on `x` (batch first). Call inside tf.tidy or a gradient function. */
export function runLayers(params: ParamSet, specs: LayerSpec[], x: tf.Tensor, mode: ForwardMode): tf.Tensor {
  let h = x;
  for (const l of specs) {
    const n = h.shape[0];
    switch (l.op) {
      case "reshape":
        h = tf.reshape(h, [n, ...l.shape]);
        continue;
      case "flatten":
        h = tf.reshape(h, [n, -1]);
        continue;
    }
    let w: tf.Tensor = params.get(`${l.name}/kernel`);
    if (l.op !== "deconv" && l.sn) w = spectralNormalize(w, params.get(`${l.name}/sn_u`), l.sn === "stop-gradient");
    const b = params.get(`${l.name}/bias`);
    if (l.op === "dense") h = tf.add(tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D), b);
    else if (l.op === "conv") h = tf.add(tf.conv2d(h as tf.Tensor4D, w as tf.Tensor4D, 2, "same"), b);
    else {
      const [, hh, ww] = h.shape;
      h = tf.add(
        tf.conv2dTranspose(h as tf.Tensor4D, w as tf.Tensor4D, [n, hh! * 2, ww! * 2, l.filters], 2, "same"),
        b,
      );
    }
    if (l.bn === "pre") h = batchNorm(params, `${l.name}_bn`, h, mode);
    h = activate(h, l.act);
    if (l.bn === "post") h = batchNorm(params, `${l.name}_bn`, h, mode);
  }
  return h;
}
