/**
 * Kernels registered on the tfjs wasm backend to make it fit for (and fast at) training, one file per family:
 *
 *  - conv_grads.ts: the convolution gradients (filter and input; the latter is also every transposed convolution)
 *    built from XNNPACK's convolution;
 *  - elementwise.ts: LeakyRelu and its gradient, Sum/Mean over leading axes and their gradients;
 *  - matmul.ts: BatchMatMul with transposed operands;
 *  - memory.ts: Transpose, Slice, Concat, SplitV, Tile, Identity, Cast;
 *  - native/: the `native` engine's kernels, which run the convolutions in onnxruntime's native library
 *    (enabled by lib/backend.ts on top of the others, see native/mod.ts).
 *
 * Measurements behind each choice: docs/speed.md.
 */
import * as tf from "@tensorflow/tfjs";
import { conv2dBackpropFilter, conv2dBackpropInput } from "./conv_grads.ts";
import { leadingReduce, leakyRelu, registerLeakyReluGradient, registerReductionGradients } from "./elementwise.ts";
import { batchMatMul } from "./matmul.ts";
import { cast, concat, identity, slice, splitV, tile, transpose } from "./memory.ts";
import { replaceKernel } from "./wasm.ts";

export { conv2dBackpropFilter, conv2dBackpropInput } from "./conv_grads.ts";
export { leakyRelu } from "./elementwise.ts";
export { batchMatMul } from "./matmul.ts";
export { cast, concat, identity, slice, splitV, tile, transpose } from "./memory.ts";

let registered = false;

/**
 * Registers the wasm kernels on the wasm backend. Call after importing `@tensorflow/tfjs-backend-wasm` (which
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
    Tile: tile,
  };
  for (const [name, f] of Object.entries(kernels)) replaceKernel(name, f as tf.KernelFunc);
  registerLeakyReluGradient();
  registerReductionGradients();
  registered = true;
}
