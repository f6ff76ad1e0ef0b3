/** Matrix products on the wasm backend. */
import * as tf from "@tensorflow/tfjs";
import { transpose } from "./memory.ts";
import { call, free, type WasmBackend } from "./wasm.ts";

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
