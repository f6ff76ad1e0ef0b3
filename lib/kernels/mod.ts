/**
 * Kernels registered on the tfjs wasm backend to make it fit for (and fast at) training. Measurements behind each
 * choice: docs/speed.md.
 *
 * The stock wasm backend lacks `Conv2DBackpropFilter` (so no convolution can be trained) and its
 * `Conv2DBackpropInput` is a plain scalar loop, ten times slower than the forward convolution. The latter is also the
 * forward pass of every transposed convolution, i.e. of the whole generator. Both are rewritten here as calls to the
 * backend's own `Conv2D`, which runs on XNNPACK (SIMD, multi-threaded):
 *
 *  - filter gradient: a convolution whose "batch" is the input channel and whose "channels" are the batch, with the
 *    output gradient as a filter dilated by the stride; for few input channels an im2col matrix product
 *    (see {@link conv2dBackpropFilter});
 *  - input gradient: a sub-pixel (phase) decomposition. Output pixel i = s*m + p of a stride-s transposed convolution
 *    only sees filter taps k with k = p + pad (mod s), so each phase is a stride-1 convolution over the output
 *    gradient; the phases are interleaved afterwards (see {@link conv2dBackpropInput}). Unlike convolving a
 *    zero-dilated gradient this multiplies by no inserted zeros.
 *
 * Other stock kernels that are scalar loops on wasm and show up in a GAN iteration are replaced by equivalent calls to
 * fast ones (XNNPACK PReLU, average pooling, inner-preserving transposes) or by plain memory copies: LeakyRelu (and
 * its gradient), Sum/Mean over leading axes, Transpose, BatchMatMul with transposed operands, Slice, Concat, SplitV,
 * Identity, Cast. Each replacement hands the cases it does not speed up to the stock kernel.
 *
 * Rule for every kernel here: take heap views (typedArrayFromHeap) only after the kernel's last allocation before
 * their use. In the single-threaded build a heap growth detaches all earlier views.
 */
import * as tf from "@tensorflow/tfjs";

/** The subset of tfjs-backend-wasm's BackendWasm that the kernels use. */
interface WasmBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad | "explicit";
  explicitPaddings?: number[];
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  dilations?: number | [number, number];
}

let registered = false;
const stock: Partial<Record<string, tf.KernelFunc>> = {};

/**
 * Runs a wasm kernel directly (no engine bookkeeping, no tape). The stock implementation is used when we replaced the
 * kernel, so that a replacement can delegate the cases it does not speed up.
 */
function call(
  name: string,
  backend: WasmBackend,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown> = {},
): tf.TensorInfo {
  const f = stock[name] ?? tf.getKernel(name, "wasm")?.kernelFunc;
  if (!f) throw new Error(`wasm kernel ${name} is not registered`);
  return f({
    inputs,
    backend: backend as unknown as tf.KernelBackend,
    attrs: attrs as tf.NamedAttrMap,
  }) as tf.TensorInfo;
}

/** Same storage, another shape (reshape is free in tfjs: the shape lives in the TensorInfo). */
function view(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Small constant tensors the kernels reuse (PReLU slopes). Stable ids also let XNNPACK keep its packed operators. Tied to one backend instance: a re-created backend starts a fresh cache.
 */
const constants = new Map<string, tf.TensorInfo>();
let constantsOwner: WasmBackend | null = null;

function constant(backend: WasmBackend, key: string, n: number, value: number): tf.TensorInfo {
  if (constantsOwner !== backend) {
    constants.clear();
    constantsOwner = backend;
  }
  let t = constants.get(key);
  if (!t) {
    t = backend.makeOutput([n], "float32");
    backend.typedArrayFromHeap(t).fill(value);
    constants.set(key, t);
  }
  return t;
}

function free(backend: WasmBackend, ...infos: tf.TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

function pair(v: number | [number, number] | undefined, name: string): [number, number] {
  if (v === undefined) return [1, 1];
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= 1)) throw new Error(`${name} must be positive integers, got ${v}`);
  return p;
}

/** tfjs passes explicit padding either as `pad` (a 4x2 array) or as `pad: "explicit"` + a flat `explicitPaddings`. */
function normalisePad(attrs: ConvAttrs): Pad {
  if (attrs.pad === "explicit") {
    const e = attrs.explicitPaddings ?? [];
    return [[e[0], e[1]], [e[2], e[3]], [e[4], e[5]], [e[6], e[7]]];
  }
  return attrs.pad;
}

/** Whether our XNNPACK-based path handles these attributes (else the stock kernel, if any, is used). */
function supported(attrs: ConvAttrs): boolean {
  const [dh, dw] = pair(attrs.dilations, "dilations");
  return (attrs.dataFormat ?? "NHWC") === "NHWC" && dh === 1 && dw === 1;
}

/** Up to this many input channels the filter gradient is an explicit im2col product (see filterGradIm2col). */
const SMALL_CI = 4;

/**
 * Filter gradient for few input channels (the discriminator's and encoder's first layer, on images): the patch matrix
 * P^T [Kh*Kw*Ci, N*Ho*Wo] is small (Kh*Kw*Ci rows) and built in JS, and dW = P^T x dy is one XNNPACK product. The
 * convolution form below would run with a batch of Ci = 1 over a 4x4 output, which XNNPACK handles poorly (20 ms for
 * 67 MFLOP at dSprites sizes).
 */
function filterGradIm2col(
  backend: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  padT: number,
  padL: number,
): tf.TensorInfo {
  const [n, h, w, ci] = x.shape;
  const [, ho, wo, co] = dy.shape;
  const r = n * ho * wo, taps = kh * kw * ci;
  const pt = backend.makeOutput([taps, r], "float32");
  const dst = backend.typedArrayFromHeap(pt), src = backend.typedArrayFromHeap(x);
  for (let ky = 0; ky < kh; ky++) {
    for (let kx = 0; kx < kw; kx++) {
      for (let c = 0; c < ci; c++) {
        let d = ((ky * kw + kx) * ci + c) * r;
        for (let b = 0; b < n; b++) {
          for (let oy = 0; oy < ho; oy++) {
            const iy = oy * sh + ky - padT;
            if (iy < 0 || iy >= h) {
              dst.fill(0, d, d + wo);
              d += wo;
              continue;
            }
            const rowBase = (b * h + iy) * w;
            for (let ox = 0; ox < wo; ox++) {
              const ix = ox * sw + kx - padL;
              dst[d++] = ix >= 0 && ix < w ? src[(rowBase + ix) * ci + c] : 0;
            }
          }
        }
      }
    }
  }
  const out = call("BatchMatMul", backend, { a: pt, b: view(dy, [r, co]) }, { transposeA: false, transposeB: false });
  free(backend, pt);
  return view(out, [kh, kw, ci, co]);
}

/**
 * Gradient of a convolution with respect to its filter:
 *   dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s - padT + kh, ow*s - padL + kw, ci] * dy[n, oh, ow, co].
 * Read as a convolution: input x transposed to [Ci, H, W, N] (the batch is Ci, the reduction channels are N), filter
 * dy transposed to [Ho, Wo, N, Co] and dilated by the stride, stride 1, output [Ci, Kh, Kw, Co]; bottom/right padding
 * is chosen so that the output is exactly Kh x Kw (rows of x that no tap reaches are cut off instead).
 */
export function conv2dBackpropFilter(args: {
  inputs: { x: tf.TensorInfo; dy: tf.TensorInfo };
  backend: WasmBackend;
  attrs: ConvAttrs & { filterShape: [number, number, number, number] };
}): tf.TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args;
  if (!supported(attrs)) {
    throw new Error("Conv2DBackpropFilter (wasm): only NHWC with dilation 1 is implemented");
  }
  const [sh, sw] = pair(attrs.strides, "strides");
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    [sh, sw],
    1,
    normalisePad(attrs) as "same",
    attrs.dimRoundingMode,
  );
  const [n, h, w, ci] = x.shape;
  const [kh, kw, , co] = attrs.filterShape;
  const ho = dy.shape[1], wo = dy.shape[2];
  if (dy.shape[0] !== n || dy.shape[3] !== co || ho !== info.outHeight || wo !== info.outWidth) {
    throw new Error(
      `Conv2DBackpropFilter (wasm): dy shape ${dy.shape} does not match x ${x.shape} and filter ${attrs.filterShape}`,
    );
  }
  const padT = info.padInfo.top, padL = info.padInfo.left;
  if (ci <= SMALL_CI) return filterGradIm2col(backend, x, dy, kh, kw, sh, sw, padT, padL);
  // Last input row/column any tap reaches (exclusive), in x's coordinates.
  const needH = kh + (ho - 1) * sh - padT, needW = kw + (wo - 1) * sw - padL;
  let xs = x;
  if (needH < h || needW < w) {
    xs = call("Slice", backend, { x }, { begin: [0, 0, 0, 0], size: [n, Math.min(h, needH), Math.min(w, needW), ci] });
  }
  const hh = xs.shape[1], ww = xs.shape[2];
  const xt = transpose({ inputs: { x: xs }, backend, attrs: { perm: [3, 1, 2, 0] } });
  if (xs !== x) free(backend, xs);
  const dyt = transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } });
  const out = call("Conv2D", backend, { x: xt, filter: dyt }, {
    strides: [1, 1],
    pad: [[0, 0], [padT, needH - hh], [padL, needW - ww], [0, 0]],
    dataFormat: "NHWC",
    dilations: [sh, sw],
  });
  free(backend, xt, dyt);
  if (out.shape[1] !== kh || out.shape[2] !== kw) {
    free(backend, out);
    throw new Error(`Conv2DBackpropFilter (wasm): internal shape error ${out.shape} vs ${attrs.filterShape}`);
  }
  const res = transpose({ inputs: { x: out }, backend, attrs: { perm: [1, 2, 0, 3] } });
  free(backend, out);
  return res;
}

/**
 * Tap window of one axis of a transposed convolution: output row s*m + p reads dy rows m + d for d in [d0, d0 + t),
 * with filter tap k = p + pad - s*d. For one phase p when given, else the union over all phases; null if no taps.
 */
function phaseWindow(k: number, s: number, pad: number, phase?: number): { d0: number; t: number } | null {
  let d0 = Infinity, d1 = -Infinity;
  for (let p = phase ?? 0; p < (phase === undefined ? s : phase + 1); p++) {
    const lo = Math.ceil((p + pad - (k - 1)) / s), hi = Math.floor((p + pad) / s);
    if (lo <= hi) {
      d0 = Math.min(d0, lo);
      d1 = Math.max(d1, hi);
    }
  }
  return Number.isFinite(d0) ? { d0, t: d1 - d0 + 1 } : null;
}

/**
 * Stride-1 convolution of dy with a [ty, tx, co, cout] filter whose tap (a, b) reads dy row m + wy.d0 + a and column
 * q + wx.d0 + b, for output rows m < mh and columns q < mw: rows outside dy are zero padding, extra rows are cut off.
 */
function windowConv(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  wy: { d0: number; t: number },
  wx: { d0: number; t: number },
  mh: number,
  mw: number,
): tf.TensorInfo {
  const [n, ho, wo, co] = dy.shape;
  const lastY = mh - 1 + wy.d0 + wy.t - 1, lastX = mw - 1 + wx.d0 + wx.t - 1;
  const y0 = Math.max(0, wy.d0), x0 = Math.max(0, wx.d0);
  const y1 = Math.min(ho - 1, lastY), x1 = Math.min(wo - 1, lastX);
  let dys = dy;
  if (y0 > 0 || x0 > 0 || y1 < ho - 1 || x1 < wo - 1) {
    dys = call("Slice", backend, { x: dy }, { begin: [0, y0, x0, 0], size: [n, y1 - y0 + 1, x1 - x0 + 1, co] });
  }
  const z = call("Conv2D", backend, { x: dys, filter }, {
    strides: [1, 1],
    pad: [[0, 0], [Math.max(0, -wy.d0), Math.max(0, lastY - (ho - 1))], [
      Math.max(0, -wx.d0),
      Math.max(0, lastX - (wo - 1)),
    ], [0, 0]],
    dataFormat: "NHWC",
    dilations: [1, 1],
  });
  if (dys !== dy) free(backend, dys);
  if (z.shape[1] !== mh || z.shape[2] !== mw) {
    free(backend, z);
    throw new Error(`Conv2DBackpropInput (wasm): internal shape error ${z.shape}, expected ${mh}x${mw}`);
  }
  return z;
}

/**
 * Gradient of a convolution with respect to its input, i.e. a transposed convolution:
 *   dx[n,i,j,ci] = sum over (oh,kh) with oh*s - padT + kh = i, (ow,kw) likewise, and co of dy[n,oh,ow,co] w[kh,kw,ci,co].
 * Writing i = s*m + p, phase p sees taps kh = p + padT - s*d at dy row m + d. The union of d over all phases is the
 * window [d0, d0 + t); one stride-1 convolution of dy with a [t, t, Co, s*s*Ci] filter (zero where a phase has no tap)
 * gives every phase as a channel block; depth-to-space interleaves them and a crop trims rows past the input size.
 */
export function conv2dBackpropInput(args: {
  inputs: { dy: tf.TensorInfo; filter: tf.TensorInfo };
  backend: WasmBackend;
  attrs: ConvAttrs & { inputShape: [number, number, number, number] };
}): tf.TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const [sh, sw] = pair(attrs.strides, "strides");
  if (!supported(attrs) || sh !== sw) {
    const fallback = stock["Conv2DBackpropInput"];
    if (!fallback) throw new Error("Conv2DBackpropInput (wasm): unsupported attributes and no stock kernel");
    return fallback(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  const s = sh;
  const [n, h, w, ci] = attrs.inputShape;
  const [kh, kw, fci, co] = filter.shape;
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    [s, s],
    1,
    normalisePad(attrs) as "same",
    attrs.dimRoundingMode,
  );
  const ho = dy.shape[1], wo = dy.shape[2];
  if (fci !== ci || dy.shape[0] !== n || dy.shape[3] !== co || ho !== info.outHeight || wo !== info.outWidth) {
    throw new Error(
      `Conv2DBackpropInput (wasm): dy ${dy.shape}, filter ${filter.shape} and inputShape ${attrs.inputShape} disagree`,
    );
  }
  const padT = info.padInfo.top, padL = info.padInfo.left;
  const mh = Math.ceil(h / s), mw = Math.ceil(w / s);
  // Heap views must be taken after the last allocation before their use: in the single-threaded build a heap growth
  // detaches every earlier view (its reads then give NaN).
  /** A [ty, tx, co, cout] filter whose entry (a, b, o, blk*ci + c) is w[ky, kx, c, o], or 0 where tap() says none. */
  const buildFilter = (
    ty: number,
    tx: number,
    blocks: number,
    tap: (a: number, b: number, blk: number) => [number, number] | null,
  ): tf.TensorInfo => {
    const cout = blocks * ci;
    const f = backend.makeOutput([ty, tx, co, cout], "float32");
    const src = backend.typedArrayFromHeap(filter), dst = backend.typedArrayFromHeap(f);
    dst.fill(0);
    for (let a = 0; a < ty; a++) {
      for (let b = 0; b < tx; b++) {
        for (let blk = 0; blk < blocks; blk++) {
          const k = tap(a, b, blk);
          if (!k) continue;
          const srcBase = (k[0] * kw + k[1]) * ci * co; // w[ky, kx, c, o] at srcBase + c*co + o
          const dstBase = (a * tx + b) * co * cout + blk * ci;
          for (let o = 0; o < co; o++) {
            const d = dstBase + o * cout;
            for (let c = 0; c < ci; c++) dst[d + c] = src[srcBase + c * co + o];
          }
        }
      }
    }
    return f;
  };
  const tapY = (py: number, d: number) => py + padT - s * d, tapX = (px: number, d: number) => px + padL - s * d;

  if (s > 1 && ci >= 8) {
    // One exact convolution per phase (no zero taps), copied into a [phase, n*mh, mw, ci] stack that a single
    // transpose interleaves. For wide layers this beats the combined filter below, which multiplies by zeros.
    const plane = n * mh * mw * ci;
    const stack = backend.makeOutput([s, s, n * mh, mw, ci], "float32");
    for (let py = 0; py < s; py++) {
      for (let px = 0; px < s; px++) {
        const wy = phaseWindow(kh, s, padT, py), wx = phaseWindow(kw, s, padL, px);
        const off = (py * s + px) * plane;
        if (!wy || !wx) {
          backend.typedArrayFromHeap(stack).fill(0, off, off + plane);
          continue;
        }
        const f = buildFilter(wy.t, wx.t, 1, (a, b) => [tapY(py, wy.d0 + a), tapX(px, wx.d0 + b)]);
        const zp = windowConv(backend, dy, f, wy, wx, mh, mw);
        free(backend, f);
        backend.typedArrayFromHeap(stack).set(backend.typedArrayFromHeap(zp), off);
        free(backend, zp);
      }
    }
    // (py, px, n*mh, mw, ci) -> (n*mh, py, mw, px, ci) in two inner-preserving transposes: the stock 5-D transpose
    // is ~100x slower than these two.
    const t1 = transpose({
      inputs: { x: view(stack, [s, s, n * mh * mw, ci]) },
      backend,
      attrs: { perm: [0, 2, 1, 3] },
    });
    free(backend, stack);
    const t2 = transpose({ inputs: { x: view(t1, [s, n * mh, mw * s * ci]) }, backend, attrs: { perm: [1, 0, 2] } });
    free(backend, t1);
    const full = view(t2, [n, mh * s, mw * s, ci]);
    if (mh * s === h && mw * s === w) return full;
    const cropped = call("Slice", backend, { x: full }, { begin: [0, 0, 0, 0], size: [n, h, w, ci] });
    free(backend, full);
    return cropped;
  }

  // All s*s phases in one convolution: the union of their tap windows, zero where a phase has no tap.
  const wy = phaseWindow(kh, s, padT)!, wx = phaseWindow(kw, s, padL)!;
  const wc = buildFilter(wy.t, wx.t, s * s, (a, b, blk) => {
    const ky = tapY(Math.floor(blk / s), wy.d0 + a), kx = tapX(blk % s, wx.d0 + b);
    return ky >= 0 && ky < kh && kx >= 0 && kx < kw ? [ky, kx] : null;
  });
  const z = windowConv(backend, dy, wc, wy, wx, mh, mw);
  free(backend, wc);
  if (s === 1) return z;
  // Depth-to-space as one 4-D transpose: z is laid out (n*m, w', py, (px, ci)); the image is (n*m, py, w', (px, ci)).
  // (The stock wasm DepthToSpace is a scalar loop, ~30x slower than Transpose for a 8 MB tensor.)
  const z4 = { ...z, shape: [n * mh, mw, s, s * ci] };
  const t = transpose({ inputs: { x: z4 }, backend, attrs: { perm: [0, 2, 1, 3] } });
  free(backend, z);
  const full = { ...t, shape: [n, mh * s, mw * s, ci] };
  if (mh * s === h && mw * s === w) return full;
  const cropped = call("Slice", backend, { x: full }, { begin: [0, 0, 0, 0], size: [n, h, w, ci] });
  free(backend, full);
  return cropped;
}

/**
 * BatchMatMul: the stock kernel's transposed paths are scalar loops (a [64,128]^T x [64,1024] product: 15-50 ms, the
 * same after an explicit transpose: 1 ms). Transpose the operand first, then run the stock (XNNPACK) product.
 */
export function batchMatMul(args: {
  inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
  backend: WasmBackend;
  attrs: { transposeA: boolean; transposeB: boolean };
}): tf.TensorInfo {
  const { inputs: { a, b }, backend, attrs } = args;
  const swapLast = (t: tf.TensorInfo): tf.TensorInfo => {
    const r = t.shape.length;
    const perm = [...Array(r).keys()];
    [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
    return transpose({ inputs: { x: t }, backend, attrs: { perm } });
  };
  const at = attrs.transposeA ? swapLast(a) : a;
  const bt = attrs.transposeB ? swapLast(b) : b;
  const out = call("BatchMatMul", backend, { a: at, b: bt }, { ...attrs, transposeA: false, transposeB: false });
  if (at !== a) free(backend, at);
  if (bt !== b) free(backend, bt);
  return out;
}

/**
 * LeakyRelu as PReLU with a constant per-channel slope: XNNPACK's PReLU is about 10x faster than the stock loop.
 */
export function leakyRelu(args: {
  inputs: { x: tf.TensorInfo };
  backend: WasmBackend;
  attrs: { alpha: number };
}): tf.TensorInfo {
  const { inputs: { x }, backend, attrs: { alpha } } = args;
  if (x.dtype !== "float32" || x.shape.length === 0 || size(x.shape) === 0) {
    return call("LeakyRelu", backend, { x }, { alpha });
  }
  const c = x.shape[x.shape.length - 1];
  const slope = constant(backend, `slope:${c}:${alpha}`, c, alpha);
  return call("Prelu", backend, { x, alpha: slope });
}

function normaliseAxes(axis: number | number[] | undefined, rank: number): number[] {
  const list = axis === undefined ? [...Array(rank).keys()] : Array.isArray(axis) ? axis : [axis];
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
}

/**
 * Sum/Mean over leading axes (bias and batch-norm gradients, batch moments). The stock kernel transposes the reduced
 * axes to the end (a slow, strided transpose) and then loops; XNNPACK's average pooling over an [R x 1] window of the
 * tensor viewed as [1, R, 1, C] reads it once. (A [1, R] x [R, C] product is no better: XNNPACK re-packs the [R, C]
 * operand as weights on every call.) Other reductions go to the stock kernel.
 */
function leadingReduce(kernel: "Sum" | "Mean") {
  return (args: {
    inputs: { x: tf.TensorInfo };
    backend: WasmBackend;
    attrs: { axis: number | number[]; keepDims: boolean };
  }): tf.TensorInfo => {
    const { inputs: { x }, backend, attrs } = args;
    const rank = x.shape.length;
    const axes = normaliseAxes(attrs.axis, rank);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    const rows = size(x.shape.slice(0, axes.length)), cols = size(x.shape.slice(axes.length));
    if (x.dtype !== "float32" || !leading || cols < 2 || rows < 2) return call(kernel, backend, { x }, attrs);
    const out = call("AvgPool", backend, { x: view(x, [1, rows, 1, cols]) }, {
      filterSize: [rows, 1],
      strides: [rows, 1],
      pad: "valid",
    });
    if (kernel === "Sum") {
      const v = backend.typedArrayFromHeap(out);
      for (let i = 0; i < v.length; i++) v[i] *= rows;
    }
    const kept = x.shape.map((d, i) => (i < axes.length ? 1 : d));
    return view(out, attrs.keepDims ? kept : x.shape.slice(axes.length));
  };
}

/**
 * dst[dOff + c*dStride + r] = src[sOff + r*sStride + c] for r < rows, c < cols, in 16x16 blocks written row by row.
 */
function transposeBlock(
  src: Float32Array,
  sOff: number,
  sStride: number,
  dst: Float32Array,
  dOff: number,
  dStride: number,
  rows: number,
  cols: number,
): void {
  const BS = 16;
  for (let r0 = 0; r0 < rows; r0 += BS) {
    const r1 = Math.min(rows, r0 + BS);
    for (let c0 = 0; c0 < cols; c0 += BS) {
      const c1 = Math.min(cols, c0 + BS);
      for (let c = c0; c < c1; c++) {
        const d = dOff + c * dStride, s0 = sOff + c;
        for (let r = r0; r < r1; r++) dst[d + r] = src[s0 + r * sStride];
      }
    }
  }
}

/** Drops size-1 dimensions and merges input dimensions that stay adjacent in the output. */
function collapsePerm(shape: number[], perm: number[]): { shape: number[]; perm: number[] } {
  const keep = perm.filter((p) => shape[p] !== 1);
  // Runs of consecutive input axes in output order merge into one axis.
  const runs: number[][] = [];
  for (const p of keep) {
    const last = runs.at(-1);
    if (last && last.at(-1)! + 1 === p) last.push(p);
    else runs.push([p]);
  }
  const order = [...runs].sort((a, b) => a[0] - b[0]);
  const newShape = order.map((r) => r.reduce((acc, p) => acc * shape[p], 1));
  const newPerm = runs.map((r) => order.indexOf(r));
  return { shape: newShape, perm: newPerm };
}

/**
 * Transpose where the innermost axis moves (e.g. NHWC -> CHWN, [R, C] -> [C, R]): the stock kernel writes these
 * element by element with a strided read, 20-30 ms for 8 MB; a blocked copy in JS takes 2-3 ms. Transposes that keep
 * the innermost axis in place go to the stock kernel, which copies contiguous runs.
 */
export function transpose(args: {
  inputs: { x: tf.TensorInfo };
  backend: WasmBackend;
  attrs: { perm: number[] };
}): tf.TensorInfo {
  const { inputs: { x }, backend, attrs } = args;
  const c = collapsePerm(x.shape, attrs.perm);
  const p = c.perm.join(",");
  if (x.dtype !== "float32" || !(p === "1,0" || p === "0,2,1" || p === "2,1,0")) {
    return call("Transpose", backend, { x }, attrs);
  }
  const out = backend.makeOutput(attrs.perm.map((i) => x.shape[i]), "float32");
  const src = backend.typedArrayFromHeap(x), dst = backend.typedArrayFromHeap(out);
  if (p === "1,0") {
    const [r, k] = c.shape;
    transposeBlock(src, 0, k, dst, 0, r, r, k);
  } else if (p === "0,2,1") {
    const [a, r, k] = c.shape;
    for (let i = 0; i < a; i++) transposeBlock(src, i * r * k, k, dst, i * r * k, r, r, k);
  } else {
    const [a, b, k] = c.shape; // out[k, b, a] = in[a, b, k]
    for (let j = 0; j < b; j++) transposeBlock(src, j * k, b * k, dst, j * a, b * a, a, k);
  }
  return out;
}

/** Contiguous Slice as a plain memory copy (the stock kernel walks it element by element). */
export function slice(args: {
  inputs: { x: tf.TensorInfo };
  backend: WasmBackend;
  attrs: { begin: number | number[]; size: number | number[] };
}): tf.TensorInfo {
  const { inputs: { x }, backend, attrs } = args;
  const [begin, sz] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
  if (x.dtype !== "float32" || !tf.slice_util.isSliceContinous(x.shape, begin, sz)) {
    return call("Slice", backend, { x }, attrs);
  }
  const strides = tf.util.computeStrides(x.shape);
  let offset = 0;
  for (let i = 0; i < begin.length - 1; i++) offset += begin[i] * strides[i];
  offset += begin[begin.length - 1] ?? 0;
  const out = backend.makeOutput(sz, "float32");
  const n = size(sz);
  if (n > 0) backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(x).subarray(offset, offset + n));
  return out;
}

/**
 * Concat of equal-shaped tensors along an inner axis (e.g. two 64x64x1 image batches into 64x64x2): stack them along
 * a new leading axis with plain copies, then one Transpose interleaves them. The stock kernel copies element by
 * element (13 ms for 2 x 1 MB).
 */
export function concat(args: {
  inputs: tf.TensorInfo[];
  backend: WasmBackend;
  attrs: { axis: number | number[] };
}): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const first = inputs[0];
  const rank = first?.shape.length ?? 0;
  const axis = normaliseAxes(attrs.axis, rank)[0];
  const same = inputs.every((t) => t.dtype === "float32" && t.shape.join() === first.shape.join());
  if (!first || inputs.length < 2 || !same || axis === 0 || size(first.shape) === 0) {
    return call("Concat", backend, inputs as unknown as Record<string, tf.TensorInfo>, attrs);
  }
  const outer = size(first.shape.slice(0, axis)), inner = size(first.shape.slice(axis));
  const k = inputs.length;
  const stacked = backend.makeOutput([k, outer, inner], "float32");
  const dst = backend.typedArrayFromHeap(stacked);
  inputs.forEach((t, i) => dst.set(backend.typedArrayFromHeap(t), i * outer * inner));
  const out = transpose({ inputs: { x: stacked }, backend, attrs: { perm: [1, 0, 2] } });
  free(backend, stacked);
  const shape = [...first.shape];
  shape[axis] *= k;
  return view(out, shape);
}

/**
 * SplitV along an inner axis: one Transpose brings the axis to the front, each piece is then a contiguous copy (and a
 * transpose back when it is more than one slice thick). The stock kernel slices element by element.
 */
export function splitV(args: {
  inputs: { x: tf.TensorInfo };
  backend: WasmBackend;
  attrs: { numOrSizeSplits: number | number[]; axis: number };
}): tf.TensorInfo[] {
  const { inputs: { x }, backend, attrs } = args;
  const rank = x.shape.length;
  const axis = normaliseAxes(attrs.axis, rank)[0];
  if (x.dtype !== "float32" || axis === 0 || size(x.shape) === 0) {
    return call("SplitV", backend, { x }, attrs) as unknown as tf.TensorInfo[];
  }
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
  const outer = size(x.shape.slice(0, axis)), len = x.shape[axis], inner = size(x.shape.slice(axis + 1));
  const t = transpose({ inputs: { x: view(x, [outer, len, inner]) }, backend, attrs: { perm: [1, 0, 2] } });
  const outs: tf.TensorInfo[] = [];
  let start = 0;
  for (const a of sizes) {
    const piece = backend.makeOutput([a, outer, inner], "float32");
    const src = backend.typedArrayFromHeap(t); // after the allocation (see conv2dBackpropInput)
    backend.typedArrayFromHeap(piece).set(src.subarray(start * outer * inner, (start + a) * outer * inner));
    start += a;
    const shape = [...x.shape];
    shape[axis] = a;
    if (a === 1 || outer === 1) {
      outs.push(view(piece, shape));
    } else {
      const back = transpose({ inputs: { x: piece }, backend, attrs: { perm: [1, 0, 2] } });
      free(backend, piece);
      outs.push(view(back, shape));
    }
  }
  free(backend, t);
  return outs;
}

/**
 * Identity, and Cast to the same dtype, share the input's buffer (reference-counted, as the cpu backend does) instead
 * of copying it: tf.moments, tf.clone and the gradient machinery issue thousands of them per training iteration.
 */
export function identity(args: { inputs: { x: tf.TensorInfo }; backend: WasmBackend }): tf.TensorInfo {
  const { inputs: { x }, backend } = args;
  if (x.dtype === "string") return call("Identity", backend, { x });
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

export function cast(args: {
  inputs: { x: tf.TensorInfo };
  backend: WasmBackend;
  attrs: { dtype: tf.DataType };
}): tf.TensorInfo {
  const { inputs: { x }, backend, attrs } = args;
  if (attrs.dtype === x.dtype && x.dtype !== "string") return identity({ inputs: { x }, backend });
  return call("Cast", backend, { x }, attrs);
}

function replaceKernel(kernelName: string, kernelFunc: tf.KernelFunc): void {
  const existing = tf.getKernel(kernelName, "wasm");
  if (existing) {
    stock[kernelName] ??= existing.kernelFunc;
    tf.unregisterKernel(kernelName, "wasm");
  }
  // Keep the stock setupFunc: the fallback path still calls the stock kernel, whose wasm binding it creates.
  tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc, setupFunc: existing?.setupFunc });
}

/**
 * Registers the kernels above on the wasm backend. Call after importing `@tensorflow/tfjs-backend-wasm` (which
 * registers the stock kernels) and before `tf.setBackend("wasm")`. Idempotent.
 */
export function registerWasmKernels(): void {
  if (registered) return;
  if (!tf.getKernel("Conv2D", "wasm")) {
    throw new Error("registerWasmKernels: import @tensorflow/tfjs-backend-wasm before registering kernels");
  }
  const kernels: Record<string, unknown> = {
    Conv2DBackpropFilter: conv2dBackpropFilter,
    Conv2DBackpropInput: conv2dBackpropInput,
    BatchMatMul: batchMatMul,
    LeakyRelu: leakyRelu,
    Sum: leadingReduce("Sum"),
    Mean: leadingReduce("Mean"),
    Slice: slice,
    Transpose: transpose,
    Identity: identity,
    Cast: cast,
    Concat: concat,
    SplitV: splitV,
  };
  for (const [name, f] of Object.entries(kernels)) replaceKernel(name, f as tf.KernelFunc);
  // The stock LeakyRelu gradient is greater + where + mul (three passes, the first two slow on wasm); the same value
  // is dy * step(x, alpha), with step(x, a) = 1 for x > 0 else a. This applies to every backend.
  tf.registerGradient({
    kernelName: "LeakyRelu",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const alpha = (attrs as unknown as { alpha: number }).alpha;
      return { x: () => tf.mul(dy as tf.Tensor, tf.step(x, alpha)) };
    },
  });
  registered = true;
}
