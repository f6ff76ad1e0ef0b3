/**
 * Element-wise kernels and reductions on the wasm backend: stock kernels that are scalar loops, replaced by calls to
 * fast XNNPACK ones (PReLU, average pooling). Each hands the cases it does not speed up to the stock kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { call, constant, normaliseAxes, size, view, type WasmBackend } from "./wasm.ts";

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

/**
 * Sum/Mean over leading axes (bias and batch-norm gradients, batch moments). The stock kernel transposes the reduced
 * axes to the end (a slow, strided transpose) and then loops; XNNPACK's average pooling over an [R x 1] window of the
 * tensor viewed as [1, R, 1, C] reads it once. (A [1, R] x [R, C] product is no better: XNNPACK re-packs the [R, C]
 * operand as weights on every call.) Other reductions go to the stock kernel.
 */
export function leadingReduce(kernel: "Sum" | "Mean") {
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
 * The LeakyRelu gradient as dy * step(x, alpha), with step(x, a) = 1 for x > 0 else a: the stock gradient is
 * greater + where + mul (three passes, the first two slow on wasm). Registered for every backend.
 */
export function registerLeakyReluGradient(): void {
  tf.registerGradient({
    kernelName: "LeakyRelu",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const alpha = (attrs as unknown as { alpha: number }).alpha;
      return { x: () => tf.mul(dy as tf.Tensor, tf.step(x, alpha)) };
    },
  });
}

/**
 * Gradients of Sum and Mean as one broadcast of dy (Tile, see memory.ts) instead of tfjs's dy * ones(x.shape)
 * (/ size): that version fills a ones array of x's full size in JS, copies it into the backend and multiplies (and
 * divides) over it, which made the Mean gradient of batch norm's moments 15% of a native training iteration's CPU time
 * (docs/speed.md). Same values (a float32 division by the reduced size, as before). Registered for every backend.
 */
export function registerReductionGradients(): void {
  const expanded = (x: tf.Tensor, axis: number | number[]): { shape: number[]; size: number } => {
    const shape = x.shape.slice();
    let size = 1;
    for (const a of normaliseAxes(axis, x.rank)) {
      size *= shape[a];
      shape[a] = 1;
    }
    return { shape, size };
  };
  for (const kernelName of ["Sum", "Mean"] as const) {
    tf.registerGradient({
      kernelName,
      inputsToSave: ["x"],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        const e = expanded(x, (attrs as unknown as { axis: number | number[] }).axis);
        return {
          x: () => {
            let g = tf.reshape(dy as tf.Tensor, e.shape);
            if (kernelName === "Mean") g = tf.div(g, e.size);
            return tf.broadcastTo(g.toFloat(), x.shape);
          },
        };
      },
    });
  }
}
