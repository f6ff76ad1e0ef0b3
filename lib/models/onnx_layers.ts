/**
 * Our layers as ONNX nodes, in inference mode: what `runLayers` (layers.ts) computes with `{ training: false }`,
 * written into an `OnnxGraph` with the weights baked in as constants.
 *
 * Layout: TensorFlow.js is NHWC, ONNX's Conv/ConvTranspose are NCHW. Images enter and leave a graph NHWC (the layout of
 * `encode`/`generate`, transposed once at the edge) and run NCHW inside. The only other places where the layout shows
 * are `flatten` and `reshape`, whose element order is NHWC's in our networks: they transpose back to NHWC around the
 * reshape, so the dense kernels are used exactly as stored.
 *
 * Weights: spectral-normalised kernels are W / sigma(W) computed by `spectralNormalize` from the stored u, exactly as
 * the forward pass uses them (one power iteration, u not advanced); batch norm uses the moving statistics.
 */
import * as tf from "@tensorflow/tfjs";
import type { OnnxGraph } from "../onnx/model.ts";
import {
  type Activation,
  BN_EPSILON,
  type LayerSpec,
  LRELU_SLOPE,
  type ParamSet,
  spectralNormalize,
} from "./layers.ts";

/** A value of the graph with its shape without the batch: [c, h, w] (NCHW) for images, [d] for vectors. */
export interface GraphValue {
  name: string;
  shape: number[];
}

/** The float32 values of a tensor in the order of `axes` (a transpose), read synchronously. */
export function valuesOf(t: tf.Tensor, axes?: number[]): Float32Array {
  // Not through tf.tidy: tidy walks a returned typed array element by element looking for tensors.
  if (!axes) return t.dataSync() as Float32Array;
  const p = tf.transpose(t, axes);
  try {
    return p.dataSync() as Float32Array;
  } finally {
    p.dispose();
  }
}

/** TensorFlow's SAME padding along one axis of a stride-s convolution: [before, after] (extra one after). */
export function samePads(inSize: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + kernel - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** NHWC image input [batch, h, w, c] -> NCHW value. */
export function imagesIn(g: OnnxGraph, name: string, [h, w, c]: number[]): GraphValue {
  const x = g.input(name, ["batch", h, w, c]);
  return { name: g.node("Transpose", [x], `${name}_nchw`, { perm: { ints: [0, 3, 1, 2] } }), shape: [c, h, w] };
}

/** NCHW value -> NHWC graph output [batch, h, w, c] named `name`. */
export function imagesOut(g: OnnxGraph, x: GraphValue, name: string): void {
  const [c, h, w] = x.shape;
  g.output(g.node("Transpose", [x.name], name, { perm: { ints: [0, 2, 3, 1] } }), ["batch", h, w, c]);
}

export function activation(g: OnnxGraph, x: GraphValue, act: Activation, name: string): GraphValue {
  switch (act) {
    case "linear":
      return x;
    case "relu":
      return { name: g.node("Relu", [x.name], name), shape: x.shape };
    case "lrelu":
      return { name: g.node("LeakyRelu", [x.name], name, { alpha: { float: LRELU_SLOPE } }), shape: x.shape };
    case "sigmoid":
      return { name: g.node("Sigmoid", [x.name], name), shape: x.shape };
    case "tanh":
      return { name: g.node("Tanh", [x.name], name), shape: x.shape };
  }
}

/** Dense layer: x [batch, din] times kernel [din, dout] plus bias (Gemm). */
export function dense(g: OnnxGraph, x: GraphValue, kernel: tf.Tensor, bias: tf.Tensor, name: string): GraphValue {
  const [din, dout] = kernel.shape;
  if (x.shape.length !== 1 || x.shape[0] !== din) throw new Error(`ONNX ${name}: dense input [${x.shape}] vs [${din}]`);
  const k = g.constant(`${name}/kernel`, valuesOf(kernel), [din, dout]);
  const b = g.constant(`${name}/bias`, valuesOf(bias), [dout]);
  return { name: g.node("Gemm", [x.name, k, b], name), shape: [dout] };
}

/** SAME-padded stride-2 convolution with a tfjs kernel [k, k, in, out], plus bias. */
export function conv(g: OnnxGraph, x: GraphValue, kernel: tf.Tensor, bias: tf.Tensor, name: string): GraphValue {
  const [kh, kw, ci, co] = kernel.shape;
  const [c, h, w] = x.shape;
  if (c !== ci) throw new Error(`ONNX ${name}: conv input has ${c} channels, kernel ${ci}`);
  const [pt, pb] = samePads(h, kh, 2), [pl, pr] = samePads(w, kw, 2);
  const wts = g.constant(`${name}/kernel`, valuesOf(kernel, [3, 2, 0, 1]), [co, ci, kh, kw]);
  const b = g.constant(`${name}/bias`, valuesOf(bias), [co]);
  const y = g.node("Conv", [x.name, wts, b], name, {
    kernel_shape: { ints: [kh, kw] },
    strides: { ints: [2, 2] },
    pads: { ints: [pt, pl, pb, pr] },
  });
  return { name: y, shape: [co, Math.ceil(h / 2), Math.ceil(w / 2)] };
}

/**
 * Stride-2 transposed convolution to twice the size with a tfjs conv2dTranspose filter [k, k, out, in], plus bias. It
 * is the gradient of a SAME convolution from 2h x 2w to h x w, so its padding is that convolution's.
 */
export function deconv(g: OnnxGraph, x: GraphValue, kernel: tf.Tensor, bias: tf.Tensor, name: string): GraphValue {
  const [kh, kw, co, ci] = kernel.shape;
  const [c, h, w] = x.shape;
  if (c !== ci) throw new Error(`ONNX ${name}: deconv input has ${c} channels, filter ${ci}`);
  const [pt, pb] = samePads(2 * h, kh, 2), [pl, pr] = samePads(2 * w, kw, 2);
  const wts = g.constant(`${name}/kernel`, valuesOf(kernel, [3, 2, 0, 1]), [ci, co, kh, kw]);
  const b = g.constant(`${name}/bias`, valuesOf(bias), [co]);
  const y = g.node("ConvTranspose", [x.name, wts, b], name, {
    kernel_shape: { ints: [kh, kw] },
    strides: { ints: [2, 2] },
    pads: { ints: [pt, pl, pb, pr] },
  });
  return { name: y, shape: [co, 2 * h, 2 * w] };
}

/** NCHW [c, h, w] -> [c*h*w] in NHWC element order (what tfjs's reshape of an NHWC tensor gives). */
export function flattenNhwc(g: OnnxGraph, x: GraphValue, name: string): GraphValue {
  const t = g.node("Transpose", [x.name], `${name}_nhwc`, { perm: { ints: [0, 2, 3, 1] } });
  return { name: g.node("Flatten", [t], name, { axis: { int: 1 } }), shape: [x.shape.reduce((a, b) => a * b, 1)] };
}

/** [h*w*c] in NHWC element order -> NCHW [c, h, w]. */
export function unflattenNhwc(g: OnnxGraph, x: GraphValue, [h, w, c]: number[], name: string): GraphValue {
  const r = g.node("Reshape", [x.name, g.int64Constant(`${name}/shape`, [-1, h, w, c])], `${name}_nhwc`);
  return { name: g.node("Transpose", [r], name, { perm: { ints: [0, 3, 1, 2] } }), shape: [c, h, w] };
}

/** Batch norm in inference mode (moving statistics) over the channel axis. */
function batchNorm(g: OnnxGraph, x: GraphValue, params: ParamSet, name: string): GraphValue {
  const c = x.shape[0];
  const v = (p: string) => g.constant(`${name}/${p}`, valuesOf(params.get(`${name}/${p}`)), [c]);
  const inputs = [x.name, v("gamma"), v("beta"), v("moving_mean"), v("moving_variance")];
  return { name: g.node("BatchNormalization", inputs, name, { epsilon: { float: BN_EPSILON } }), shape: x.shape };
}

/** The kernel a layer computes with at inference: spectral-normalised when the layer says so. */
function inferenceKernel(params: ParamSet, l: LayerSpec & { name: string }): tf.Tensor {
  const w = params.get(`${l.name}/kernel`);
  if (l.op !== "deconv" && "sn" in l && l.sn) return spectralNormalize(w, params.get(`${l.name}/sn_u`));
  return w.clone();
}

/** `runLayers(params, specs, x, { training: false })` as ONNX nodes. */
export function layersToOnnx(g: OnnxGraph, params: ParamSet, specs: LayerSpec[], x: GraphValue): GraphValue {
  let h = x;
  for (const l of specs) {
    if (l.op === "reshape") {
      h = unflattenNhwc(g, h, l.shape, g.fresh("reshape"));
      continue;
    }
    if (l.op === "flatten") {
      h = flattenNhwc(g, h, g.fresh("flatten"));
      continue;
    }
    const w = inferenceKernel(params, l);
    try {
      const b = params.get(`${l.name}/bias`);
      h = l.op === "dense"
        ? dense(g, h, w, b, l.name)
        : l.op === "conv"
        ? conv(g, h, w, b, l.name)
        : deconv(g, h, w, b, l.name);
    } finally {
      w.dispose();
    }
    if (l.bn === "pre") h = batchNorm(g, h, params, `${l.name}_bn`);
    h = activation(g, h, l.act, `${l.name}_${l.act}`);
    if (l.bn === "post") h = batchNorm(g, h, params, `${l.name}_bn`);
  }
  return h;
}
