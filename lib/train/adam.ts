/**
 * Adam as TF 1.x's `AdamOptimizer` implements it (the paper's released code used TF1), shared by the GAN trainer
 * (lib/train/trainer.ts), the VAE trainer (lib/train/vae_trainer.ts) and the speed benchmark (bench/iteration.ts):
 *
 *   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
 *   lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),   w <- w - lr_t m / (sqrt(v) + eps).
 *
 * Written out rather than `tf.train.adam` so that the step count is a plain number and lr_t is computed in float64
 * from it: restoring a checkpoint then reproduces the run bit for bit (tfjs's Adam keeps running powers of beta that
 * its `setWeights` recomputes with `pow`, which can differ in the last bit).
 *
 * Slots are `tf.Variable`s keyed `m/<name>` and `v/<name>` (the checkpoint format). On the wasm backend one update of
 * a variable is one fused kernel (see fusedAdamUpdate); elsewhere it is 12 element-wise kernels and no other tensor:
 * the constants b1, 1 - b1, b2, 1 - b2, eps live as scalars for the optimiser's lifetime and lr_t is one scalar per
 * step (tfjs turns every JS number operand into a fresh tensor). Both paths give bit-identical results.
 */
import * as tf from "@tensorflow/tfjs";

export interface AdamHyperparameters {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** TF1's bias-corrected step size for step t (1-based): lr sqrt(1 - b2^t) / (1 - b1^t). */
export function adamStepSize(h: AdamHyperparameters, t: number): number {
  return (h.lr * Math.sqrt(1 - Math.pow(h.beta2, t))) / (1 - Math.pow(h.beta1, t));
}

type VarSet = Map<string, tf.Variable> | Record<string, tf.Variable>;

/** The subset of tfjs-backend-wasm's BackendWasm the fused update uses. */
interface WasmHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/** Float32 operands of the fused update (each as tf.scalar would store it). */
interface AdamUpdateAttrs {
  b1: number;
  c1: number;
  b2: number;
  c2: number;
  eps: number;
  lrT: number;
}

const FUSED_KERNEL = "IgcrAdamUpdate";
const f32 = Math.fround;

/**
 * The whole update of one variable as a single wasm-backend kernel: [w', m', v'] from [w, g, m, v]. The op path
 * issues 12 kernels per variable and each costs ~20 us of dispatch on the wasm backend, far more than the arithmetic
 * of a bias or batch-norm vector. Every intermediate is rounded to float32 (Math.fround) in the op path's order, so
 * the result is bit-identical to it (float64 evaluation of one +, *, / or sqrt on float32 operands, rounded once, is
 * the correctly rounded float32 result); tests/train_adam.test.ts checks this.
 */
function fusedAdamUpdate(args: {
  inputs: Record<string, tf.TensorInfo>;
  backend: unknown;
  attrs: AdamUpdateAttrs;
}): tf.TensorInfo[] {
  const { inputs: { w, g, m, v }, attrs: { b1, c1, b2, c2, eps, lrT } } = args;
  const backend = args.backend as WasmHeap;
  const wo = backend.makeOutput(w.shape, "float32");
  const mo = backend.makeOutput(w.shape, "float32");
  const vo = backend.makeOutput(w.shape, "float32");
  // Heap views only after the last allocation (a heap growth detaches earlier views in the single-threaded build).
  const W = backend.typedArrayFromHeap(w), G = backend.typedArrayFromHeap(g);
  const M = backend.typedArrayFromHeap(m), V = backend.typedArrayFromHeap(v);
  const WO = backend.typedArrayFromHeap(wo), MO = backend.typedArrayFromHeap(mo), VO = backend.typedArrayFromHeap(vo);
  for (let i = 0; i < W.length; i++) {
    const gi = G[i];
    const mi = f32(f32(M[i] * b1) + f32(gi * c1));
    const vi = f32(f32(V[i] * b2) + f32(f32(gi * gi) * c2));
    MO[i] = mi;
    VO[i] = vi;
    WO[i] = W[i] - f32(f32(mi * lrT) / f32(f32(Math.sqrt(vi)) + eps));
  }
  return [wo, mo, vo];
}

let fusedRegistered = false;

/** Whether the fused kernel serves the active backend (registered lazily, wasm only). */
function fusedAvailable(): boolean {
  if (tf.getBackend() !== "wasm") return false;
  if (!fusedRegistered) {
    if (!tf.getKernel(FUSED_KERNEL, "wasm")) {
      tf.registerKernel({
        kernelName: FUSED_KERNEL,
        backendName: "wasm",
        kernelFunc: fusedAdamUpdate as unknown as tf.KernelFunc,
      });
    }
    fusedRegistered = true;
  }
  return true;
}

/** Switch for tests and measurements: false forces the 12-kernel op path on every backend. */
export const adamOptions = { fused: true };

function entries(vars: VarSet): [string, tf.Variable][] {
  return vars instanceof Map ? [...vars] : Object.entries(vars);
}

export class Adam {
  /** Steps taken (the t of the bias correction). */
  t = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private consts: { b1: tf.Scalar; c1: tf.Scalar; b2: tf.Scalar; c2: tf.Scalar; eps: tf.Scalar } | null = null;

  constructor(readonly hyper: AdamHyperparameters) {
    const { lr, beta1, beta2, epsilon } = hyper;
    if (!(lr > 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(epsilon > 0)) {
      throw new Error(`Adam: invalid hyperparameters ${JSON.stringify(hyper)}`);
    }
  }

  private constants() {
    if (!this.consts) {
      const { beta1, beta2, epsilon } = this.hyper;
      // keep(): apply() may run inside a caller's tf.tidy, which must not take these.
      this.consts = {
        b1: tf.keep(tf.scalar(beta1)),
        c1: tf.keep(tf.scalar(1 - beta1)),
        b2: tf.keep(tf.scalar(beta2)),
        c2: tf.keep(tf.scalar(1 - beta2)),
        eps: tf.keep(tf.scalar(epsilon)),
      };
    }
    return this.consts;
  }

  /** Zero slots for every variable that has none yet (so that slots() is complete before the first step). */
  init(vars: VarSet): void {
    // Variables outlive tf.tidy; the zero tensors they start from do not need to.
    tf.tidy(() => {
      for (const [name, w] of entries(vars)) {
        if (this.m.has(name)) continue;
        this.m.set(name, tf.variable(tf.zerosLike(w), false));
        this.v.set(name, tf.variable(tf.zerosLike(w), false));
      }
    });
  }

  /**
   * One step on `vars` with `grads` keyed by the same names. A variable without a gradient is an error unless
   * `missing` is "skip" (then its weights and slots are left as they are).
   */
  apply(vars: VarSet, grads: Record<string, tf.Tensor | undefined>, missing: "throw" | "skip" = "throw"): void {
    const list = entries(vars);
    if (missing === "throw") {
      for (const [name] of list) if (!grads[name]) throw new Error(`Adam: no gradient for ${name}`);
    }
    this.init(vars);
    this.t += 1;
    const lr = adamStepSize(this.hyper, this.t);
    if (adamOptions.fused && fusedAvailable()) {
      const { beta1, beta2, epsilon } = this.hyper;
      const attrs: AdamUpdateAttrs = {
        b1: f32(beta1),
        c1: f32(1 - beta1),
        b2: f32(beta2),
        c2: f32(1 - beta2),
        eps: f32(epsilon),
        lrT: f32(lr),
      };
      tf.tidy(() => {
        for (const [name, w] of list) {
          const g = grads[name];
          if (!g) continue;
          const m = this.m.get(name)!, v = this.v.get(name)!;
          if (w.dtype !== "float32" || g.dtype !== "float32" || g.shape.join() !== w.shape.join()) {
            throw new Error(`Adam: gradient for ${name} has shape ${g.shape} (${g.dtype}), variable ${w.shape}`);
          }
          const [w1, m1, v1] = tf.engine().runKernel(
            FUSED_KERNEL,
            { w, g, m, v },
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor[];
          m.assign(m1);
          v.assign(v1);
          w.assign(w1);
        }
      });
      return;
    }
    const k = this.constants();
    tf.tidy(() => {
      const lrT = tf.scalar(lr);
      for (const [name, w] of list) {
        const g = grads[name];
        if (!g) continue;
        const m = this.m.get(name)!, v = this.v.get(name)!;
        const m1 = tf.add(tf.mul(m, k.b1), tf.mul(g, k.c1));
        const v1 = tf.add(tf.mul(v, k.b2), tf.mul(tf.square(g), k.c2));
        m.assign(m1);
        v.assign(v1);
        w.assign(tf.sub(w, tf.div(tf.mul(m1, lrT), tf.add(tf.sqrt(v1), k.eps))));
      }
    });
  }

  /** Minimises `loss` over `vars` (keyed by name); returns the loss value (the caller disposes it). */
  minimize(vars: VarSet, loss: () => tf.Scalar): tf.Scalar {
    const list = entries(vars);
    const { value, grads } = tf.variableGrads(loss, list.map(([, w]) => w));
    try {
      const byName: Record<string, tf.Tensor> = {};
      for (const [name, w] of list) byName[name] = grads[w.name];
      // A variable off the loss's path has no gradient: leave it (cannot happen for a full network).
      this.apply(vars, byName, "skip");
    } finally {
      tf.dispose(grads);
    }
    return value;
  }

  /** The live slot variables, keyed `m/<name>` and `v/<name>` (owned by the optimiser: do not dispose). */
  slots(): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = {};
    for (const [n, t] of this.m) out[`m/${n}`] = t;
    for (const [n, t] of this.v) out[`v/${n}`] = t;
    return out;
  }

  /** Replaces all slots by copies of `slots` (keys `m/<name>`, `v/<name>`) and the step count by t. */
  load(slots: tf.NamedTensorMap, t: number): void {
    if (!Number.isInteger(t) || t < 0) throw new Error(`Adam: step count must be a non-negative integer, got ${t}`);
    const parsed = Object.entries(slots).map(([key, value]) => {
      const target = key.startsWith("m/") ? this.m : key.startsWith("v/") ? this.v : null;
      if (!target) throw new Error(`checkpoint: unexpected Adam slot ${key}`);
      return { target, name: key.slice(2), value };
    });
    this.reset();
    this.t = t;
    for (const { target, name, value } of parsed) target.set(name, tf.variable(value, false));
  }

  /**
   * Restores slots for exactly `vars` from a checkpoint, checking that each is present with the variable's shape.
   * VAE checkpoints written before the optimisers were merged keyed the slots `<name>/m`; those are accepted too.
   */
  restore(vars: VarSet, t: number, saved: tf.NamedTensorMap | undefined, what: string): void {
    if (!saved) throw new Error(`${what}: checkpoint has no optimiser state`);
    const picked: tf.NamedTensorMap = {};
    for (const [name, w] of entries(vars)) {
      for (const slot of ["m", "v"]) {
        const s = saved[`${slot}/${name}`] ?? saved[`${name}/${slot}`];
        if (!s || s.shape.join("x") !== w.shape.join("x")) {
          throw new Error(`${what}: optimiser slot ${slot}/${name} is missing or has the wrong shape`);
        }
        picked[`${slot}/${name}`] = s;
      }
    }
    this.load(picked, t);
  }

  /** Forgets all slots and the step count (e.g. when the network is re-initialised). */
  reset(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
    this.t = 0;
    if (this.consts) tf.dispose(Object.values(this.consts));
    this.consts = null;
  }

  dispose(): void {
    this.reset();
  }
}
