/**
 * BatchMatMul of the native engine: products of at least {@link NATIVE_MATMUL_MIN_MACS} multiply-adds (the dense
 * layers and their gradients at batch 64) run in onnxruntime (MLAS GEMM, transposes folded into it); smaller ones, like
 * spectral norm's matrix-vector products, stay on the wasm kernel, where a call costs less than onnxruntime's.
 */
import type * as tf from "@tensorflow/tfjs";
import type { WasmBackend } from "../wasm.ts";
import { matMulInputShapes, matMulModel, type MatMulShape } from "./graphs.ts";
import { cachedPlan, fallback, runOnHeap, wholePlan } from "./plans.ts";

/** Below this many multiply-adds the wasm kernel is at least as fast (docs/speed.md). */
export const NATIVE_MATMUL_MIN_MACS = 1 << 20;

function size(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

export function nativeBatchMatMul(args: {
  inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
  backend: WasmBackend;
  attrs: { transposeA: boolean; transposeB: boolean };
}): tf.TensorInfo {
  const { inputs: { a, b }, backend, attrs } = args;
  const ra = a.shape.length, rb = b.shape.length;
  if (a.dtype !== "float32" || b.dtype !== "float32" || ra < 2 || rb < 2) return fallback("BatchMatMul", args);
  const s: MatMulShape = {
    batchA: size(a.shape.slice(0, -2)),
    batchB: size(b.shape.slice(0, -2)),
    m: attrs.transposeA ? a.shape[ra - 1] : a.shape[ra - 2],
    k: attrs.transposeA ? a.shape[ra - 2] : a.shape[ra - 1],
    n: attrs.transposeB ? b.shape[rb - 2] : b.shape[rb - 1],
    transposeA: attrs.transposeA,
    transposeB: attrs.transposeB,
  };
  const kb = attrs.transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const batch = Math.max(s.batchA, s.batchB);
  // Batch dimensions other than equal-or-1, shapes the wasm kernel rejects, and small products: the wasm kernel.
  const sameOuter = ra === rb && a.shape.slice(0, -2).every((d, i) => d === b.shape[i]);
  const batchOk = s.batchA === s.batchB ? sameOuter : (s.batchA === 1 && ra === 2) || (s.batchB === 1 && rb === 2);
  if (kb !== s.k || !batchOk || batch * s.m * s.n * s.k < NATIVE_MATMUL_MIN_MACS || s.m * s.n * s.k === 0) {
    return fallback("BatchMatMul", args);
  }
  const [aShape, bShape] = matMulInputShapes(s);
  const p = cachedPlan(
    `BatchMatMul|${Object.values(s).join(",")}`,
    () => wholePlan(matMulModel(s), [aShape, bShape, [batch, s.m, s.n]]),
  );
  if (!p) return fallback("BatchMatMul", args);
  const outer = (s.batchA >= s.batchB ? a : b).shape.slice(0, -2);
  return runOnHeap("BatchMatMul", p, backend, [a, b], [...outer, s.m, s.n]);
}
