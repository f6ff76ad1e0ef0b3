/**
 * An experiment kept for `deno task bench --only elementwise`: training-mode batch normalisation (batch moments over
 * every axis but the last) as one forward and one backward wasm-backend kernel written in JavaScript, each reading the
 * activation twice (moments then normalise; channel sums then input gradient) instead of the seven forward and about
 * fourteen backward passes of the same function written as tensor ops.
 *
 * Measured there: it is faster than the ops in isolation, but a JavaScript pass costs about three wasm SIMD passes, and
 * in a whole training iteration it saves a few percent at most of the up to 15% that batch norm costs (docs/speed.md,
 * "What stands in the way"). So the product's layers keep the tensor ops, and this kernel stays a measurement.
 */
import * as tf from "@tensorflow/tfjs";
import { size, type WasmBackend } from "../lib/kernels/wasm.ts";

export const BATCH_NORM_KERNEL = "IgcrBatchNormTrain";
export const BATCH_NORM_GRAD_KERNEL = "IgcrBatchNormTrainGrad";

interface Attrs {
  epsilon: number;
}

/** Float32 views of the wasm heap (take them after the last allocation: a heap growth detaches earlier views). */
function heap(backend: WasmBackend, ...infos: tf.TensorInfo[]): Float32Array[] {
  return infos.map((t) => backend.typedArrayFromHeap(t));
}

/** [y, mean, variance] from [x, gamma, beta]: y = (x - mean) / sqrt(variance + epsilon) * gamma + beta. */
function batchNormForward(args: {
  inputs: { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  backend: WasmBackend;
  attrs: Attrs;
}): tf.TensorInfo[] {
  const { inputs: { x, gamma, beta }, backend, attrs: { epsilon } } = args;
  const c = x.shape[x.shape.length - 1], n = size(x.shape), rows = n / c;
  const y = backend.makeOutput(x.shape, "float32");
  const mean = backend.makeOutput([c], "float32");
  const variance = backend.makeOutput([c], "float32");
  const [X, G, B, Y, M, V] = heap(backend, x, gamma, beta, y, mean, variance);
  // Moments about the first row (a shift that keeps E[(x-k)^2] - E[x-k]^2 free of cancellation for large means).
  const s = new Float64Array(c), s2 = new Float64Array(c);
  for (let i = c; i < n; i += c) {
    for (let j = 0; j < c; j++) {
      const d = X[i + j] - X[j];
      s[j] += d;
      s2[j] += d * d;
    }
  }
  const scale = new Float64Array(c), shift = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const dm = s[j] / rows;
    const m = X[j] + dm;
    const v = Math.max(0, s2[j] / rows - dm * dm);
    M[j] = m;
    V[j] = v;
    scale[j] = G[j] / Math.sqrt(v + epsilon);
    shift[j] = B[j] - m * scale[j];
  }
  for (let i = 0; i < n; i += c) {
    for (let j = 0; j < c; j++) Y[i + j] = X[i + j] * scale[j] + shift[j];
  }
  return [y, mean, variance];
}

/**
 * [dx, dgamma, dbeta] from [x, gamma, mean, variance, dy, dmean, dvariance]: the gradient of the forward kernel,
 * including what reaches it through the mean and variance outputs (zero in training, where they only feed the moving
 * averages, but part of the function).
 */
function batchNormBackward(args: {
  inputs: Record<"x" | "gamma" | "mean" | "variance" | "dy" | "dmean" | "dvariance", tf.TensorInfo>;
  backend: WasmBackend;
  attrs: Attrs;
}): tf.TensorInfo[] {
  const { inputs, backend, attrs: { epsilon } } = args;
  const { x } = inputs;
  const c = x.shape[x.shape.length - 1], n = size(x.shape), rows = n / c;
  const dx = backend.makeOutput(x.shape, "float32");
  const dgamma = backend.makeOutput([c], "float32");
  const dbeta = backend.makeOutput([c], "float32");
  const [X, G, M, V, DY, DM, DV, DX, DG, DB] = heap(
    backend,
    x,
    inputs.gamma,
    inputs.mean,
    inputs.variance,
    inputs.dy,
    inputs.dmean,
    inputs.dvariance,
    dx,
    dgamma,
    dbeta,
  );
  const sdy = new Float64Array(c), sdyx = new Float64Array(c);
  for (let i = 0; i < n; i += c) {
    for (let j = 0; j < c; j++) {
      const d = DY[i + j];
      sdy[j] += d;
      sdyx[j] += d * (X[i + j] - M[j]);
    }
  }
  // dx = a dy + b (x - mean) + k per channel (the usual batch-norm gradient plus the mean / variance outputs' terms).
  const a = new Float64Array(c), b = new Float64Array(c), k = new Float64Array(c);
  for (let j = 0; j < c; j++) {
    const inv = 1 / Math.sqrt(V[j] + epsilon);
    DB[j] = sdy[j];
    DG[j] = sdyx[j] * inv;
    a[j] = G[j] * inv;
    b[j] = -G[j] * inv * inv * inv * sdyx[j] / rows + 2 * DV[j] / rows;
    k[j] = -G[j] * inv * sdy[j] / rows + DM[j] / rows - b[j] * M[j];
  }
  for (let i = 0; i < n; i += c) {
    for (let j = 0; j < c; j++) DX[i + j] = a[j] * DY[i + j] + b[j] * X[i + j] + k[j];
  }
  return [dx, dgamma, dbeta];
}

let registered = false;

/** Registers both kernels on the wasm backend and the forward kernel's gradient. Idempotent. */
export function registerBatchNormKernels(): void {
  if (registered) return;
  for (
    const [kernelName, f] of [[BATCH_NORM_KERNEL, batchNormForward], [
      BATCH_NORM_GRAD_KERNEL,
      batchNormBackward,
    ]] as const
  ) {
    if (!tf.getKernel(kernelName, "wasm")) {
      tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: f as unknown as tf.KernelFunc });
    }
  }
  tf.registerGradient({
    kernelName: BATCH_NORM_KERNEL,
    inputsToSave: ["x", "gamma"],
    outputsToSave: [false, true, true],
    gradFunc: (dys: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [dy, dmean, dvariance] = dys as tf.Tensor[];
      const [x, gamma, mean, variance] = saved;
      // One kernel for all three, run here: tfjs calls each input's closure in its own tidy, which would dispose the
      // other two outputs of a kernel run inside the first closure.
      const [dx, dgamma, dbeta] = tf.engine().runKernel(
        BATCH_NORM_GRAD_KERNEL,
        { x, gamma, mean, variance, dy, dmean, dvariance },
        attrs,
      ) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
  registered = true;
}

/** The batch's (biased) moments per channel and the normalised output, as tensor ops (what lib/models/layers.ts does). */
export function batchNormOps(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
  const scale = tf.mul(tf.rsqrt(tf.add(variance, epsilon)), gamma);
  return { y: tf.add(tf.mul(tf.sub(x, mean), scale), beta), mean, variance };
}

/** The same with the fused kernels (wasm backend; registers them on first use). */
export function batchNormFused(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  epsilon: number,
): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  registerBatchNormKernels();
  const [y, mean, variance] = tf.engine().runKernel(
    BATCH_NORM_KERNEL,
    { x, gamma, beta },
    { epsilon } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor[];
  return { y, mean, variance };
}
