/**
 * Whole-network inference on the native engine: a trained model's encoder or generator as one onnxruntime session,
 * built in memory from the same ONNX graphs that `deno task export --format onnx` writes (onnx_gan.ts, onnx_vae.ts).
 *
 * `encode()`/`generate()` of GANs and VAEs use it when the native engine is on (lib/onnx/runtime.ts), so metric
 * sampling, ModelCentrality's cross-evaluation and pool generation run at the native forward pass's rate without
 * knowing about it. A session is cached per network and rebuilt when any of its variables has been reassigned
 * (training steps, `assignFrom`, a checkpoint restore): `tf.Variable.assign` gives the variable a new data id, so
 * comparing the ids is an exact and cheap test of "these are still the weights the session was built from".
 */
import * as tf from "@tensorflow/tfjs";
import { loadedOnnxRuntime, nativeEngineThreads, type NativeSession, type NativeTensor } from "../onnx/runtime.ts";

/** Rows per native forward pass: bounds the activations' memory (about 35 MB per 32x32x32 layer at 256 rows). */
export const NATIVE_CHUNK = 256;

export class NativeNetwork {
  private session: NativeSession | null = null;
  private builtFrom: object[] = [];
  private threads = 0;

  /**
   * @param what names the network in errors.
   * @param build returns the `.onnx` bytes of the network with the current weights.
   * @param variables returns every variable `build` reads.
   */
  constructor(
    private readonly what: string,
    private readonly build: () => Uint8Array,
    private readonly variables: () => tf.Tensor[],
  ) {}

  /** The session for the current weights and thread count, rebuilt when either changed. */
  private current(): NativeSession {
    const rt = loadedOnnxRuntime();
    if (!rt) throw new Error(`${this.what}: the native engine is on but onnxruntime is not loaded`);
    const ids = this.variables().map((v) => v.dataId as object);
    const threads = nativeEngineThreads();
    const stale = !this.session || threads !== this.threads || ids.length !== this.builtFrom.length ||
      ids.some((id, i) => id !== this.builtFrom[i]);
    if (stale) {
      this.session?.dispose();
      this.session = null;
      this.session = rt.createSession(this.build(), { threads });
      this.builtFrom = ids;
      this.threads = threads;
    }
    return this.session!;
  }

  /** Whether a session is built for exactly the current weights (for tests). */
  isCurrent(): boolean {
    const ids = this.variables().map((v) => v.dataId as object);
    return this.session !== null && ids.length === this.builtFrom.length &&
      ids.every((id, i) => id === this.builtFrom[i]);
  }

  /**
   * Runs the network on whole tensors (same number of rows each), NATIVE_CHUNK rows per pass, and returns one tensor
   * per output with the rows in order. Caller disposes.
   */
  run(feeds: Record<string, tf.Tensor>): Record<string, tf.Tensor> {
    const session = this.current();
    const names = Object.keys(feeds);
    const n = feeds[names[0]].shape[0];
    const inputs = names.map((name) => {
      const t = feeds[name];
      if (t.shape[0] !== n) throw new Error(`${this.what}: inputs have different numbers of rows`);
      if (t.dtype !== "float32") throw new Error(`${this.what}: input ${name} is ${t.dtype}, expected float32`);
      const row = t.shape.slice(1);
      return { name, data: t.dataSync() as Float32Array, row, rowSize: row.reduce((a, b) => a * b, 1) };
    });
    const outs: Record<string, { data: Float32Array; row: number[] }> = {};
    // One pass even for zero rows, so that the outputs' shapes come from the model.
    for (let s = 0; s === 0 || s < n; s += NATIVE_CHUNK) {
      const m = Math.min(NATIVE_CHUNK, n - s);
      const chunk: Record<string, NativeTensor> = {};
      for (const x of inputs) {
        chunk[x.name] = { data: x.data.subarray(s * x.rowSize, (s + m) * x.rowSize), dims: [m, ...x.row] };
      }
      const res = session.run(chunk);
      for (const [name, t] of Object.entries(res)) {
        const row = t.dims.slice(1);
        const rowSize = row.reduce((a, b) => a * b, 1);
        outs[name] ??= { data: new Float32Array(n * rowSize), row };
        outs[name].data.set(t.data, s * rowSize);
      }
    }
    return Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, tf.tensor(v.data, [n, ...v.row])]));
  }

  dispose(): void {
    this.session?.dispose();
    this.session = null;
    this.builtFrom = [];
  }
}
