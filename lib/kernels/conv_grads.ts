/**
 * The two convolution gradients on the wasm backend, built from its fast `Conv2D` (XNNPACK: SIMD, multi-threaded).
 * The stock backend lacks `Conv2DBackpropFilter` (so no convolution can be trained) and its `Conv2DBackpropInput` is
 * a plain scalar loop, ten times slower than the forward convolution; the latter is also the forward pass of every
 * transposed convolution, i.e. of the whole generator.
 *
 *  - filter gradient: a convolution whose "batch" is the input channel and whose "channels" are the batch, with the
 *    output gradient as a filter dilated by the stride; for few input channels an im2col matrix product
 *    (see {@link conv2dBackpropFilter});
 *  - input gradient: a sub-pixel (phase) decomposition. Output pixel i = s*m + p of a stride-s transposed convolution
 *    only sees filter taps k with k = p + pad (mod s), so each phase is a stride-1 convolution over the output
 *    gradient; the phases are interleaved afterwards (see {@link conv2dBackpropInput}). Unlike convolving a
 *    zero-dilated gradient this multiplies by no inserted zeros.
 *
 * Measurements behind each choice: docs/speed.md.
 */
import * as tf from "@tensorflow/tfjs";
import { transpose } from "./memory.ts";
import {
  call,
  type ConvAttrs,
  free,
  normalisePad,
  pair,
  stockKernel,
  supported,
  view,
  type WasmBackend,
} from "./wasm.ts";

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
    const fallback = stockKernel("Conv2DBackpropInput");
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
