/**
 * The small ONNX models the native kernels run: one per kernel and shape, all on NHWC tensors and HWIO filters as
 * TensorFlow.js stores them, so that inputs and outputs are used in place in the wasm heap.
 *
 *  - forward convolution: Transpose to NCHW / OIHW, onnxruntime's `Conv`, Transpose back;
 *  - input gradient (also every transposed convolution): the same around `ConvTranspose`;
 *  - filter gradient: onnxruntime has no such operator (its inference build has no gradients), so it is one matrix
 *    product of the im2col patches with the output gradient, dW = P^T dY. The patches are built without a gather:
 *    after a space-to-depth by the stride, a k x k tap window of stride s becomes a ceil(k/s) x ceil(k/s) window of
 *    stride 1, i.e. a concatenation of ceil(k/s)^2 shifted slices (see {@link filterGradientModel}).
 *
 * Measurements behind the choices: docs/speed.md.
 */
import { encodeModel, OnnxGraph } from "../../onnx/model.ts";

/** Geometry of one 2-D convolution, NHWC input [n, h, w, c], HWIO filter [kh, kw, c, co], output [n, ho, wo, co]. */
export interface ConvGeometry {
  n: number;
  h: number;
  w: number;
  c: number;
  co: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  /** Padding of the input: top, left, bottom, right. */
  pad: [number, number, number, number];
  ho: number;
  wo: number;
}

const PRODUCER = { producer: "infogan-cr native kernels" };

/** A model with the names of its inputs and outputs, in the order the kernel passes its buffers. */
export interface KernelModel {
  bytes: Uint8Array;
  inputs: string[];
  outputs: string[];
}
const TO_NCHW = { perm: { ints: [0, 3, 1, 2] } };
const TO_NHWC = { perm: { ints: [0, 2, 3, 1] } };
/** HWIO -> OIHW (Conv) and HWIO -> IOHW with I = the transposed convolution's input channels (ConvTranspose). */
const HWIO_TO_OIHW = { perm: { ints: [3, 2, 0, 1] } };

export function xShape(g: ConvGeometry): number[] {
  return [g.n, g.h, g.w, g.c];
}
export function yShape(g: ConvGeometry): number[] {
  return [g.n, g.ho, g.wo, g.co];
}
export function filterShape(g: ConvGeometry): number[] {
  return [g.kh, g.kw, g.c, g.co];
}

/** y = conv(x, w). */
export function conv2dModel(g: ConvGeometry): KernelModel {
  const graph = new OnnxGraph("conv2d");
  const x = graph.input("x", xShape(g)), w = graph.input("w", filterShape(g));
  const xt = graph.node("Transpose", [x], "xt", TO_NCHW);
  const wt = graph.node("Transpose", [w], "wt", HWIO_TO_OIHW);
  const yt = graph.node("Conv", [xt, wt], "yt", {
    kernel_shape: { ints: [g.kh, g.kw] },
    strides: { ints: [g.sh, g.sw] },
    dilations: { ints: [g.dh, g.dw] },
    pads: { ints: [g.pad[0], g.pad[1], g.pad[2], g.pad[3]] },
  });
  const y = graph.node("Transpose", [yt], "y", TO_NHWC);
  graph.output(y, yShape(g));
  return { bytes: encodeModel(graph, PRODUCER), inputs: [x, w], outputs: [y] };
}

/**
 * dx = the gradient of conv(x, w) with respect to x for output gradient dy, i.e. the transposed convolution of dy.
 * `output_padding` adds the rows/columns of x that no tap reaches (they get a zero gradient).
 */
export function conv2dBackpropInputModel(g: ConvGeometry): KernelModel {
  const graph = new OnnxGraph("conv2d_backprop_input");
  const dy = graph.input("dy", yShape(g)), w = graph.input("w", filterShape(g));
  const covH = g.sh * (g.ho - 1) + g.dh * (g.kh - 1) + 1 - g.pad[0] - g.pad[2];
  const covW = g.sw * (g.wo - 1) + g.dw * (g.kw - 1) + 1 - g.pad[1] - g.pad[3];
  const dyt = graph.node("Transpose", [dy], "dyt", TO_NCHW);
  const wt = graph.node("Transpose", [w], "wt", HWIO_TO_OIHW);
  const dxt = graph.node("ConvTranspose", [dyt, wt], "dxt", {
    kernel_shape: { ints: [g.kh, g.kw] },
    strides: { ints: [g.sh, g.sw] },
    dilations: { ints: [g.dh, g.dw] },
    pads: { ints: [g.pad[0], g.pad[1], g.pad[2], g.pad[3]] },
    output_padding: { ints: [g.h - covH, g.w - covW] },
  });
  const dx = graph.node("Transpose", [dxt], "dx", TO_NHWC);
  graph.output(dx, xShape(g));
  return { bytes: encodeModel(graph, PRODUCER), inputs: [dy, w], outputs: [dx] };
}

/** Whether {@link conv2dBackpropInputModel} can express this geometry (onnxruntime wants output_padding < stride). */
export function backpropInputSupported(g: ConvGeometry): boolean {
  const covH = g.sh * (g.ho - 1) + g.dh * (g.kh - 1) + 1 - g.pad[0] - g.pad[2];
  const covW = g.sw * (g.wo - 1) + g.dw * (g.kw - 1) + 1 - g.pad[1] - g.pad[3];
  const oh = g.h - covH, ow = g.w - covW;
  return oh >= 0 && ow >= 0 && oh < Math.max(g.sh, g.dh) && ow < Math.max(g.sw, g.dw);
}

/**
 * dW[kh, kw, c, co] = sum over n, oy, ox of x[n, oy*sh + kh - padT, ox*sw + kw - padL, c] * dy[n, oy, ox, co].
 *
 * With th = ceil(kh/sh) and tw = ceil(kw/sw), tap (ky, kx) = (a*sh + py, b*sw + px). Padding x to a grid of
 * (ho + th - 1) x (wo + tw - 1) cells of sh x sw pixels and moving each cell's pixels into channels (space-to-depth)
 * gives X2[n, i, j, (py, px, c)] = x_padded[n, i*sh + py, j*sw + px, c], and the patch of output (oy, ox) is the
 * concatenation over (a, b) of X2[n, oy + a, ox + b, :]: th*tw slices of X2 (contiguous runs of copies), concatenated
 * on the channel axis. Then dW2 = P^T dy is one GEMM ([th*tw*sh*sw*c] x [co], reduced over n*ho*wo), rearranged to
 * [th*sh, tw*sw, c, co] and cut to [kh, kw, c, co] (the taps past the kernel, of the padded grid, are dropped).
 */
export function conv2dBackpropFilterModel(g: ConvGeometry): KernelModel {
  if (g.dh !== 1 || g.dw !== 1) throw new Error("native Conv2DBackpropFilter: dilations other than 1");
  const graph = new OnnxGraph("conv2d_backprop_filter");
  const x = graph.input("x", xShape(g)), dy = graph.input("dy", yShape(g));
  const { sh, sw, c, co } = g;
  const th = Math.ceil(g.kh / sh), tw = Math.ceil(g.kw / sw);
  const hp = g.ho + th - 1, wp = g.wo + tw - 1;
  const k = (name: string, v: number[]) => graph.int64Constant(name, v);
  // Pad (or, where no tap reaches, crop: negative pads) to whole cells.
  const pads = [0, g.pad[0], g.pad[1], 0, 0, hp * sh - g.h - g.pad[0], wp * sw - g.w - g.pad[1], 0];
  const xp = graph.node("Pad", [x, k("pads", pads)], "xp");
  const x5 = graph.node("Reshape", [xp, k("cells", [g.n, hp, sh, wp, sw * c])], "x5");
  const s2d = graph.node("Transpose", [x5], "s2d", { perm: { ints: [0, 1, 3, 2, 4] } });
  const x2 = graph.node("Reshape", [s2d, k("x2shape", [g.n, hp, wp, sh * sw * c])], "x2");
  const parts: string[] = [];
  for (let a = 0; a < th; a++) {
    for (let b = 0; b < tw; b++) {
      if (th * tw === 1) {
        parts.push(x2);
        continue;
      }
      const starts = k("starts", [a, b]), ends = k("ends", [a + g.ho, b + g.wo]), axes = k("axes", [1, 2]);
      parts.push(graph.node("Slice", [x2, starts, ends, axes], `tap${a}${b}`));
    }
  }
  const cat = parts.length > 1 ? graph.node("Concat", parts, "patches4", { axis: { int: 3 } }) : parts[0];
  const rows = g.n * g.ho * g.wo, taps = th * tw * sh * sw * c;
  const patches = graph.node("Reshape", [cat, k("pshape", [rows, taps])], "patches");
  const dy2 = graph.node("Reshape", [dy, k("dyshape", [rows, co])], "dy2");
  const dw2 = graph.node("Gemm", [patches, dy2], "dw2", { transA: { int: 1 } });
  const dw6 = graph.node("Reshape", [dw2, k("w6shape", [th, tw, sh, sw, c, co])], "dw6");
  const dwt = graph.node("Transpose", [dw6], "dwt", { perm: { ints: [0, 2, 1, 3, 4, 5] } });
  const dw4 = graph.node("Reshape", [dwt, k("w4shape", [th * sh, tw * sw, c, co])], "dw4");
  const exact = th * sh === g.kh && tw * sw === g.kw;
  const dw = exact
    ? graph.node("Identity", [dw4], "dw")
    : graph.node("Slice", [dw4, k("kstart", [0, 0]), k("kend", [g.kh, g.kw]), k("kaxes", [0, 1])], "dw");
  graph.output(dw, filterShape(g));
  return { bytes: encodeModel(graph, PRODUCER), inputs: [x, dy], outputs: [dw] };
}
