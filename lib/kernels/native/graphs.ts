/**
 * The small ONNX models the native kernels run: one per kernel and shape, all on NHWC tensors and HWIO filters as
 * TensorFlow.js stores them, so that inputs and outputs are used in place in the wasm heap.
 *
 *  - forward convolution: Transpose to NCHW / OIHW, onnxruntime's `Conv`, Transpose back;
 *  - input gradient (also every transposed convolution): the same around `ConvTranspose`;
 *  - space-to-depth GEMMs (forward, filter gradient, input gradient) run per chunk of the batch: onnxruntime has no
 *    filter-gradient operator (its inference build has no gradients), and for the others one product over cached
 *    patches beats its Conv/ConvTranspose with their NHWC <-> NCHW transposes (docs/speed.md). The patches are built
 *    without a gather: after a space-to-depth by the stride, a k x k tap window of stride s becomes a ceil(k/s) x
 *    ceil(k/s) window of stride 1, i.e. a concatenation of shifted slices (see {@link S2dShape}).
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

// ---- space-to-depth GEMM convolutions, run per chunk of the batch --------------------------------------------------

/**
 * With th = ceil(kh/sh) and tw = ceil(kw/sw), filter tap (ky, kx) = (a*sh + py, b*sw + px). Padding x to a grid of
 * (ho + th - 1) x (wo + tw - 1) cells of sh x sw pixels and moving each cell's pixels into channels (space-to-depth)
 * gives X2[n, i, j, (py, px, c)] = x_padded[n, i*sh + py, j*sw + px, c], and the im2col patch of output (oy, ox) is
 * the concatenation over (a, b) of X2[n, oy + a, ox + b, :]: th*tw slices of X2 concatenated on the channel axis, no
 * gather. Then
 *
 *   forward:         y   = P W2                  (W2 = w rearranged to [(a, b, py, px, c), co], taps past k zero)
 *   filter gradient: dW2 = P^T dy                (rearranged back to [kh, kw, c, co])
 *   input gradient:  dX2[n, i, j] = sum_(a,b) dy[n, i - a, j - b] W2_ab^T, the same construction on dy (padded by
 *                    th - 1, tw - 1) with one GEMM, followed by depth-to-space and a crop to x's rows.
 *
 * The patch matrix is k*k/(sh*sw) times the size of x: for a whole batch it leaves the cache (32 MB at dSprites
 * sizes), so the kernels run these models per chunk of images (`chunkImages`) and accumulate the filter gradient.
 */
export interface S2dShape {
  th: number;
  tw: number;
  /** Grid of cells (rows, columns) covering every tap of every output. */
  hp: number;
  wp: number;
  /** Columns of the forward patch matrix, rows of W2. */
  taps: number;
}

export function s2dShape(g: ConvGeometry): S2dShape {
  const th = Math.ceil(g.kh / g.sh), tw = Math.ceil(g.kw / g.sw);
  return { th, tw, hp: g.ho + th - 1, wp: g.wo + tw - 1, taps: th * tw * g.sh * g.sw * g.c };
}

/** Images per chunk: the patch matrix of one chunk stays around 2 MB (measured best at 1-4 MB, docs/speed.md). */
export function chunkImages(g: ConvGeometry, kind: "forward" | "filter" | "input"): number {
  const s = s2dShape(g);
  const perImage = kind === "input" ? s.hp * s.wp * s.th * s.tw * g.co : g.ho * g.wo * s.taps;
  return Math.max(1, Math.min(g.n, Math.floor((2 << 20) / (4 * perImage))));
}

/** `g` for a chunk of `n` images. */
export function withBatch(g: ConvGeometry, n: number): ConvGeometry {
  return { ...g, n };
}

/** Patch matrix [n*ho*wo, taps] of an NHWC input (or, for the input gradient, of dy on the cell grid). */
function patches(graph: OnnxGraph, x: string, g: ConvGeometry): string {
  const { th, tw, hp, wp, taps } = s2dShape(g);
  const { sh, sw, c } = g;
  const k = (name: string, v: number[]) => graph.int64Constant(name, v);
  // Pad (or, where no tap reaches, crop: negative pads) to whole cells.
  const pads = [0, g.pad[0], g.pad[1], 0, 0, hp * sh - g.h - g.pad[0], wp * sw - g.w - g.pad[1], 0];
  const xp = graph.node("Pad", [x, k("pads", pads)], "xp");
  const x5 = graph.node("Reshape", [xp, k("cells", [g.n, hp, sh, wp, sw * c])], "x5");
  const s2d = graph.node("Transpose", [x5], "s2d", { perm: { ints: [0, 1, 3, 2, 4] } });
  const x2 = graph.node("Reshape", [s2d, k("x2shape", [g.n, hp, wp, sh * sw * c])], "x2");
  const cat = windows(graph, x2, th, tw, 0, g.ho, g.wo);
  return graph.node("Reshape", [cat, k("pshape", [g.n * g.ho * g.wo, taps])], "patches");
}

/**
 * Concatenation on the channel axis over taps (a, b) of rows x cols windows of t [n, H, W, ch]: forward windows start
 * at (a, b); with `flip`, at (th - 1 - a, tw - 1 - b) (dy padded by th - 1, tw - 1, read at i - a, j - b).
 */
function windows(graph: OnnxGraph, t: string, th: number, tw: number, flip: 0 | 1, rows: number, cols: number): string {
  if (th * tw === 1) return t;
  const parts: string[] = [];
  for (let a = 0; a < th; a++) {
    for (let b = 0; b < tw; b++) {
      const y0 = flip ? th - 1 - a : a, x0 = flip ? tw - 1 - b : b;
      const starts = graph.int64Constant("starts", [y0, x0]),
        ends = graph.int64Constant("ends", [y0 + rows, x0 + cols]);
      parts.push(graph.node("Slice", [t, starts, ends, graph.int64Constant("axes", [1, 2])], `tap${a}${b}`));
    }
  }
  return graph.node("Concat", parts, "windows", { axis: { int: 3 } });
}

/** w [kh, kw, c, co] padded to whole cells and viewed as [th, sh, tw, sw, c, co]. */
function cellFilter(graph: OnnxGraph, w: string, g: ConvGeometry): string {
  const { th, tw } = s2dShape(g);
  const k = (name: string, v: number[]) => graph.int64Constant(name, v);
  const wp = graph.node("Pad", [w, k("wpads", [0, 0, 0, 0, th * g.sh - g.kh, tw * g.sw - g.kw, 0, 0])], "wp");
  return graph.node("Reshape", [wp, k("w6shape", [th, g.sh, tw, g.sw, g.c, g.co])], "w6");
}

/** W2 for the forward product: [(a, b, py, px, c), co]. */
export function forwardFilterModel(g: ConvGeometry): KernelModel {
  const graph = new OnnxGraph("s2d_forward_filter");
  const w = graph.input("w", filterShape(g));
  const w6 = cellFilter(graph, w, g);
  const wt = graph.node("Transpose", [w6], "wt", { perm: { ints: [0, 2, 1, 3, 4, 5] } });
  const w2 = graph.node("Reshape", [wt, graph.int64Constant("w2shape", [s2dShape(g).taps, g.co])], "w2");
  graph.output(w2, [s2dShape(g).taps, g.co]);
  return { bytes: encodeModel(graph, PRODUCER), inputs: [w], outputs: [w2] };
}

/** y [n*ho*wo, co] (= NHWC) = patches(x) W2, for a chunk of images. */
export function forwardChunkModel(g: ConvGeometry): KernelModel {
  const graph = new OnnxGraph("s2d_forward");
  const x = graph.input("x", xShape(g)), w2 = graph.input("w2", [s2dShape(g).taps, g.co]);
  const y = graph.node("MatMul", [patches(graph, x, g), w2], "y");
  graph.output(y, [g.n * g.ho * g.wo, g.co]);
  return { bytes: encodeModel(graph, PRODUCER), inputs: [x, w2], outputs: [y] };
}

/** acc' = acc + patches(x)^T dy for a chunk of images (the first chunk passes zeros). */
export function filterChunkModel(g: ConvGeometry): KernelModel {
  const graph = new OnnxGraph("s2d_filter_gradient");
  const taps = s2dShape(g).taps;
  const x = graph.input("x", xShape(g)), dy = graph.input("dy", [g.n * g.ho * g.wo, g.co]);
  const acc = graph.input("acc", [taps, g.co]);
  const out = graph.node("Gemm", [patches(graph, x, g), dy, acc], "acc_out", {
    transA: { int: 1 },
    beta: { float: 1 },
  });
  graph.output(out, [taps, g.co]);
  return { bytes: encodeModel(graph, PRODUCER), inputs: [x, dy, acc], outputs: [out] };
}

/** dW [kh, kw, c, co] from the accumulated [(a, b, py, px, c), co] (taps past the kernel dropped). */
export function filterResultModel(g: ConvGeometry): KernelModel {
  const graph = new OnnxGraph("s2d_filter_result");
  const { th, tw, taps } = s2dShape(g);
  const k = (name: string, v: number[]) => graph.int64Constant(name, v);
  const acc = graph.input("acc", [taps, g.co]);
  const dw6 = graph.node("Reshape", [acc, k("w6shape", [th, tw, g.sh, g.sw, g.c, g.co])], "dw6");
  const dwt = graph.node("Transpose", [dw6], "dwt", { perm: { ints: [0, 2, 1, 3, 4, 5] } });
  const dw4 = graph.node("Reshape", [dwt, k("w4shape", [th * g.sh, tw * g.sw, g.c, g.co])], "dw4");
  const exact = th * g.sh === g.kh && tw * g.sw === g.kw;
  const dw = exact
    ? graph.node("Identity", [dw4], "dw")
    : graph.node("Slice", [dw4, k("kstart", [0, 0]), k("kend", [g.kh, g.kw]), k("kaxes", [0, 1])], "dw");
  graph.output(dw, filterShape(g));
  return { bytes: encodeModel(graph, PRODUCER), inputs: [acc], outputs: [dw] };
}

/** W2 for the input gradient: [(a, b, co), (py, px, c)]. */
export function inputFilterModel(g: ConvGeometry): KernelModel {
  const graph = new OnnxGraph("s2d_input_filter");
  const { th, tw } = s2dShape(g);
  const w = graph.input("w", filterShape(g));
  const w6 = cellFilter(graph, w, g);
  const wt = graph.node("Transpose", [w6], "wt", { perm: { ints: [0, 2, 5, 1, 3, 4] } });
  const shape = [th * tw * g.co, g.sh * g.sw * g.c];
  const w2 = graph.node("Reshape", [wt, graph.int64Constant("w2shape", shape)], "w2");
  graph.output(w2, shape);
  return { bytes: encodeModel(graph, PRODUCER), inputs: [w], outputs: [w2] };
}

/** dx [n, h, w, c] of a chunk of images from its dy [n, ho, wo, co]: the transposed convolution. */
export function inputChunkModel(g: ConvGeometry): KernelModel {
  const graph = new OnnxGraph("s2d_input_gradient");
  const { th, tw, hp, wp } = s2dShape(g);
  const k = (name: string, v: number[]) => graph.int64Constant(name, v);
  const dy = graph.input("dy", yShape(g)), w2 = graph.input("w2", [th * tw * g.co, g.sh * g.sw * g.c]);
  const dyp = graph.node("Pad", [dy, k("dypads", [0, th - 1, tw - 1, 0, 0, th - 1, tw - 1, 0])], "dyp");
  const cat = windows(graph, dyp, th, tw, 1, hp, wp);
  const cols = graph.node("Reshape", [cat, k("cshape", [g.n * hp * wp, th * tw * g.co])], "cols");
  const dx2 = graph.node("MatMul", [cols, w2], "dx2");
  const d5 = graph.node("Reshape", [dx2, k("d5shape", [g.n, hp, wp, g.sh, g.sw * g.c])], "d5");
  const dt = graph.node("Transpose", [d5], "d2s", { perm: { ints: [0, 1, 3, 2, 4] } });
  const d4 = graph.node("Reshape", [dt, k("d4shape", [g.n, hp * g.sh, wp * g.sw, g.c])], "d4");
  // Back to x's rows: drop the padding (negative pads) and add the rows no tap reaches (zero gradient).
  const crop = [0, -g.pad[0], -g.pad[1], 0, 0, g.h + g.pad[0] - hp * g.sh, g.w + g.pad[1] - wp * g.sw, 0];
  const dx = graph.node("Pad", [d4, k("crop", crop)], "dx");
  graph.output(dx, xShape(g));
  return { bytes: encodeModel(graph, PRODUCER), inputs: [dy, w2], outputs: [dx] };
}

// ---- matrix products -----------------------------------------------------------------------------------------------

/** A batched product a [batchA, ., .] x b [batchB, ., .] (batch 1 broadcasts), with tfjs's transpose flags. */
export interface MatMulShape {
  batchA: number;
  batchB: number;
  m: number;
  n: number;
  k: number;
  transposeA: boolean;
  transposeB: boolean;
}

export function matMulInputShapes(s: MatMulShape): [number[], number[]] {
  return [
    s.transposeA ? [s.batchA, s.k, s.m] : [s.batchA, s.m, s.k],
    s.transposeB ? [s.batchB, s.n, s.k] : [s.batchB, s.k, s.n],
  ];
}

/** out [max(batchA, batchB), m, n]: one Gemm (transposes folded in) for unbatched products, else MatMul. */
export function matMulModel(s: MatMulShape): KernelModel {
  const graph = new OnnxGraph("batch_matmul");
  const [aShape, bShape] = matMulInputShapes(s);
  const a = graph.input("a", aShape), b = graph.input("b", bShape);
  const batch = Math.max(s.batchA, s.batchB);
  let out: string;
  if (batch === 1) {
    const k = (name: string, v: number[]) => graph.int64Constant(name, v);
    const a2 = graph.node("Reshape", [a, k("ashape", aShape.slice(1))], "a2");
    const b2 = graph.node("Reshape", [b, k("bshape", bShape.slice(1))], "b2");
    const c = graph.node("Gemm", [a2, b2], "c", {
      transA: { int: s.transposeA ? 1 : 0 },
      transB: { int: s.transposeB ? 1 : 0 },
    });
    out = graph.node("Reshape", [c, k("cshape", [1, s.m, s.n])], "out");
  } else {
    const swap = { perm: { ints: [0, 2, 1] } };
    const at = s.transposeA ? graph.node("Transpose", [a], "at", swap) : a;
    const bt = s.transposeB ? graph.node("Transpose", [b], "bt", swap) : b;
    out = graph.node("MatMul", [at, bt], "out");
  }
  graph.output(out, [batch, s.m, s.n]);
  return { bytes: encodeModel(graph, PRODUCER), inputs: [a, b], outputs: [out] };
}
