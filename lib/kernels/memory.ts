/**
 * Shape and memory kernels on the wasm backend: transposes that move the innermost axis (blocked copies in JS),
 * contiguous slices, concatenation and splits along inner axes (contiguous copies plus one transpose), and Identity /
 * same-dtype Cast as shared buffers. The stock kernels walk these element by element.
 */
import * as tf from "@tensorflow/tfjs";
import { call, free, normaliseAxes, size, view, type WasmBackend } from "./wasm.ts";

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
    const src = backend.typedArrayFromHeap(t); // after the allocation (see wasm.ts)
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
 * Tile that repeats the whole input along leading axes (reps > 1 only before the input's first non-1 axis): the
 * broadcast of a per-channel gradient over a batch (Sum/Mean gradients, elementwise.ts). The output is the input's
 * data repeated, written by doubling memory copies; the stock kernel computes every output index.
 */
export function tile(args: {
  inputs: { x: tf.TensorInfo };
  backend: WasmBackend;
  attrs: { reps: number[] };
}): tf.TensorInfo {
  const { inputs: { x }, backend, attrs: { reps } } = args;
  const first = x.shape.findIndex((d) => d !== 1);
  const inner = first < 0 ? x.shape.length : first;
  const leadingOnly = reps.length === x.shape.length && reps.every((r, i) => i < inner || r === 1);
  const n = size(x.shape);
  if (x.dtype !== "float32" || !leadingOnly || n === 0) return call("Tile", backend, { x }, { reps });
  const out = backend.makeOutput(x.shape.map((d, i) => d * reps[i]), "float32");
  const dst = backend.typedArrayFromHeap(out);
  dst.set(backend.typedArrayFromHeap(x));
  for (let filled = n; filled < dst.length; filled *= 2) {
    dst.copyWithin(filled, 0, Math.min(filled, dst.length - filled));
  }
  return out;
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
