/**
 * One full InfoGAN-CR training iteration at dSprites sizes, in TensorFlow.js: the same work as the PyTorch peer
 * /work/shared/bench/torch_infogan_cr_step.py (H step, D/Q step, two G steps; batch 64; 5 codes + 5 noise dims; 64x64x1
 * images; spectral norm with one power iteration per forward call on every D/Q and H layer; batch norm in G; Adam).
 *
 * It is a self-contained replica written as plain functions over explicit tf.Variables, so the benchmark does not move
 * when the model code changes; `benchTrainerStep` (below) times the project's own trainer when it exists.
 *
 * One difference in work, in torch's disfavour: torch's `backward()` also computes weight gradients of the networks an
 * optimiser does not step (D and H weights in a G step), while the optimiser here (`Adam.minimize`)
 * differentiates only with respect to the stepped variables. The updates and losses are the same.
 */
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { Rng } from "../lib/rng.ts";
import { Adam } from "../lib/train/adam.ts";

const B = 64, K = 5, NOISE = 5, C = 1, LAM = 0.05, ALPHA = 2.0;

type T = tf.Tensor;

/** Variables of one network plus the spectral-norm vectors (not trainable) of its SN layers. */
class Params {
  readonly vars: tf.Variable[] = [];
  private readonly byName = new Map<string, tf.Variable>();
  private readonly snU = new Map<string, tf.Variable>();
  private readonly snV = new Map<string, T>();
  constructor(private readonly rng: Rng) {}

  /** PyTorch's default init scale (uniform +-1/sqrt(fan_in)); the values do not matter for timing, the scale does. */
  add(name: string, shape: number[], fanIn: number): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    const init = tf.tensor(this.rng.uniformArray(n, -bound, bound), shape);
    const v = tf.variable(init, true, name);
    init.dispose();
    this.vars.push(v);
    this.byName.set(name, v);
    return v;
  }

  /** A non-trained variable (batch-norm moving averages). */
  addState(name: string, value: T): void {
    this.byName.set(name, tf.variable(value, false, name));
    value.dispose();
  }

  addSn(name: string, out: number): void {
    const u = tf.tensor(this.rng.normalArray(out), [out, 1]);
    this.snU.set(name, tf.variable(u, false, `${name}/u`));
    u.dispose();
  }

  get(name: string): tf.Variable {
    const v = this.byName.get(name);
    if (!v) throw new Error(`bench: no parameter ${name}`);
    return v;
  }

  /** torch's spectral_norm pre-forward hook in training mode: one power iteration, u and v without gradient. */
  powerIteration(name: string): void {
    const w = this.get(`${name}/w`), u = this.snU.get(name)!;
    const w2 = w.reshape([-1, w.shape[w.shape.length - 1]]) as tf.Tensor2D; // [fan_in, out]
    const [v, uNew] = tf.tidy(() => {
      const v = l2n(tf.matMul(w2, u as tf.Tensor2D)); // [fan_in, 1]
      return [v, l2n(tf.matMul(w2, v, true, false))]; // [out, 1]
    });
    w2.dispose();
    u.assign(uNew);
    uNew.dispose();
    this.snV.get(name)?.dispose();
    this.snV.set(name, v);
  }

  /** W / sigma with sigma = v^T W u (differentiable in W). */
  snWeight(name: string): T {
    const w = this.get(`${name}/w`), u = this.snU.get(name)!, v = this.snV.get(name)!;
    const w2 = w.reshape([-1, w.shape[w.shape.length - 1]]) as tf.Tensor2D;
    const sigma = tf.sum(tf.mul(tf.matMul(v as tf.Tensor2D, w2, true, false), u.transpose()));
    return tf.div(w, sigma);
  }

  dispose(): void {
    for (const v of [...this.byName.values(), ...this.snU.values(), ...this.snV.values()]) v.dispose();
  }
}

function l2n(x: T): T {
  return tf.div(x, tf.add(tf.norm(x), 1e-12));
}

function lrelu(x: T): T {
  return tf.leakyRelu(x, 0.2);
}

/** The normalisation itself: output and the batch's (biased) moments per channel (bench/elementwise.ts swaps it). */
export type BatchNormFn = (x: T, gamma: T, beta: T, epsilon: number) => { y: T; mean: T; variance: T };

/** As tensor ops (what the product's layers do). */
const batchNormOps: BatchNormFn = (x, gamma, beta, epsilon) => {
  const { mean, variance } = tf.moments(x, x.rank === 4 ? [0, 1, 2] : [0]);
  const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)));
  return { y: tf.add(tf.mul(y, gamma), beta), mean, variance };
};

/** Training-mode batch norm (batch moments; moving averages updated with momentum 0.1 as torch does). */
function batchNorm(p: Params, name: string, x: T, normalise: BatchNormFn): T {
  const { y, mean, variance } = normalise(x, p.get(`${name}/gamma`), p.get(`${name}/beta`), 1e-5);
  const mm = p.get(`${name}/mean`), mv = p.get(`${name}/var`);
  mm.assign(tf.tidy(() => tf.add(tf.mul(mm, 0.9), tf.mul(mean, 0.1))));
  mv.assign(tf.tidy(() => tf.add(tf.mul(mv, 0.9), tf.mul(variance, 0.1))));
  return y;
}

/** The generator: fc 10-128-1024 (ReLU, BN), then 4 transposed convolutions 4x4 stride 2 up to 64x64x1. */
function makeG(rng: Rng, normalise: BatchNormFn) {
  const p = new Params(rng);
  const dense = (name: string, i: number, o: number) => {
    p.add(`${name}/w`, [i, o], i);
    p.add(`${name}/b`, [o], i);
  };
  const bn = (name: string, c: number) => {
    tf.tidy(() => {
      p.add(`${name}/gamma`, [c], 1).assign(tf.ones([c]));
      p.add(`${name}/beta`, [c], 1).assign(tf.zeros([c]));
    });
    p.addState(`${name}/mean`, tf.zeros([c]));
    p.addState(`${name}/var`, tf.ones([c]));
  };
  dense("fc1", K + NOISE, 128), bn("bn1", 128), dense("fc2", 128, 1024), bn("bn2", 1024);
  const deconvs: [number, number][] = [[64, 64], [64, 32], [32, 32], [32, C]];
  deconvs.forEach(([i, o], l) => {
    // torch ConvTranspose2d fan_in is computed from weight [in, out, k, k] dim 1: out * k * k.
    p.add(`de${l}/w`, [4, 4, o, i], o * 16);
    p.add(`de${l}/b`, [o], o * 16);
    if (l < 3) bn(`bnd${l}`, o);
  });
  const forward = (v: T): T => {
    let x = batchNorm(
      p,
      "bn1",
      tf.relu(tf.add(tf.matMul(v as tf.Tensor2D, p.get("fc1/w")), p.get("fc1/b"))),
      normalise,
    );
    x = batchNorm(p, "bn2", tf.relu(tf.add(tf.matMul(x as tf.Tensor2D, p.get("fc2/w")), p.get("fc2/b"))), normalise);
    x = x.reshape([-1, 4, 4, 64]);
    let hw = 4;
    deconvs.forEach(([, o], l) => {
      hw *= 2;
      const n = x.shape[0];
      const y = tf.add(
        tf.conv2dTranspose(x as tf.Tensor4D, p.get(`de${l}/w`) as tf.Tensor4D, [n, hw, hw, o], 2, 1),
        p.get(`de${l}/b`),
      );
      x = l < 3 ? batchNorm(p, `bnd${l}`, lrelu(y), normalise) : tf.sigmoid(y);
    });
    return x;
  };
  return { p, forward };
}

/** The shared D/Q trunk (and H's): 4 SN convs 4x4 stride 2 (32, 32, 64, 64) + SN dense 1024 -> 128, LeakyReLU. */
function makeTrunk(p: Params, prefix: string, cin: number) {
  const convs: [number, number][] = [[cin, 32], [32, 32], [32, 64], [64, 64]];
  convs.forEach(([i, o], l) => {
    p.add(`${prefix}c${l}/w`, [4, 4, i, o], i * 16);
    p.add(`${prefix}c${l}/b`, [o], i * 16);
    p.addSn(`${prefix}c${l}`, o);
  });
  p.add(`${prefix}fc/w`, [1024, 128], 1024);
  p.add(`${prefix}fc/b`, [128], 1024);
  p.addSn(`${prefix}fc`, 128);
  const names = [...convs.map((_, l) => `${prefix}c${l}`), `${prefix}fc`];
  const forward = (x: T): T => {
    for (const n of names) p.powerIteration(n);
    for (let l = 0; l < 4; l++) {
      const name = `${prefix}c${l}`;
      x = lrelu(tf.add(tf.conv2d(x as tf.Tensor4D, p.snWeight(name) as tf.Tensor4D, 2, 1), p.get(`${name}/b`)));
    }
    x = x.reshape([x.shape[0], -1]);
    return lrelu(tf.add(tf.matMul(x as tf.Tensor2D, p.snWeight(`${prefix}fc`) as tf.Tensor2D), p.get(`${prefix}fc/b`)));
  };
  return forward;
}

function snDense(p: Params, name: string, i: number, o: number, sn: boolean) {
  p.add(`${name}/w`, [i, o], i);
  p.add(`${name}/b`, [o], i);
  if (sn) p.addSn(name, o);
  return (x: T): T => {
    if (sn) p.powerIteration(name);
    const w = sn ? p.snWeight(name) : p.get(`${name}/w`);
    return tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), p.get(`${name}/b`));
  };
}

function bceOnes(logits: T): T {
  return tf.mean(tf.softplus(tf.neg(logits)));
}

function bceZeros(logits: T): T {
  return tf.mean(tf.softplus(logits));
}

/** lam * 0.5 * mean over the batch of the squared code error summed over codes (the Q loss of the torch script). */
function qLoss(q: T, c: T): T {
  return tf.mul(LAM * 0.5, tf.mean(tf.sum(tf.square(tf.sub(q, c)), 1)));
}

/** A ready-to-run replica: `step()` runs one iteration (H, D/Q, G, G). */
export interface IterationModel {
  step(): void;
  /** Loss values of the last step (read back asynchronously, so awaiting it synchronises). */
  losses(): Promise<{ h: number; d: number; g: number }>;
  dispose(): void;
}

/** `batchNorm`: G's normalisation (default: tensor ops, as the product's layers). */
export function buildIteration(seed = 0, opts: { batchNorm?: BatchNormFn } = {}): IterationModel {
  const rng = new Rng(seed);
  const g = makeG(rng.fork("g"), opts.batchNorm ?? batchNormOps);
  const dp = new Params(rng.fork("d"));
  const dTrunk = makeTrunk(dp, "d", C);
  const dHead = snDense(dp, "dhead", 128, 1, true);
  const q1 = snDense(dp, "q1", 128, 128, true);
  const q2 = snDense(dp, "q2", 128, K, true);
  const qHead = (x: T) => q2(lrelu(q1(x)));
  const hp = new Params(rng.fork("h"));
  const hTrunk = makeTrunk(hp, "h", 2 * C);
  const hOut = snDense(hp, "hout", 128, K, false);
  const h = (x: T) => hOut(hTrunk(x));
  // The product's optimiser (lib/train/adam.ts, TF1's Adam), so that the bench times the trainer's update code.
  const adam = (lr: number) => new Adam({ lr, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 });
  const optG = adam(1e-3), optD = adam(2e-3), optH = adam(2e-3);
  const byName = (vars: tf.Variable[]) => new Map(vars.map((v) => [v.name, v]));
  const gVars = byName(g.p.vars), dVars = byName(dp.vars), hVars = byName(hp.vars);
  const dataRng = rng.fork("data");
  const realArr = dataRng.uniformArray(B * 64 * 64 * C).map((u) => (u > 0.9 ? 1 : 0));
  const real = tf.tensor(realArr, [B, 64, 64, C]);
  let last = { h: tf.scalar(0), d: tf.scalar(0), g: tf.scalar(0) };

  const latents = () => {
    const c = dataRng.uniformArray(B * K, -1, 1), z = dataRng.uniformArray(B * NOISE, -1, 1);
    const i = new Int32Array(B).map(() => dataRng.int(K));
    const c1 = dataRng.uniformArray(B * K, -1, 1), c2 = dataRng.uniformArray(B * K, -1, 1);
    for (let b = 0; b < B; b++) c1[b * K + i[b]] = c2[b * K + i[b]] = dataRng.uniform(-1, 1);
    const ct = tf.tensor2d(c, [B, K]), zt = tf.tensor2d(z, [B, NOISE]);
    return {
      c: ct,
      cz: tf.concat([ct, zt], 1),
      onehot: tf.oneHot(tf.tensor1d(i, "int32"), K),
      v1: tf.concat([tf.tensor2d(c1, [B, K]), zt], 1),
      v2: tf.concat([tf.tensor2d(c2, [B, K]), zt], 1),
    };
  };
  const crLoss = (v1: T, v2: T, onehot: T): T =>
    tf.losses.softmaxCrossEntropy(onehot, h(tf.concat([g.forward(v1), g.forward(v2)], 3)));

  return {
    step() {
      for (const t of Object.values(last)) t.dispose();
      tf.tidy(() => {
        const { c, cz, onehot, v1, v2 } = latents();
        // H step: G's images are computed outside the gradient, like torch's detach().
        const pair = tf.concat([g.forward(v1), g.forward(v2)], 3);
        const lh = optH.minimize(hVars, () => tf.losses.softmaxCrossEntropy(onehot, h(pair)) as tf.Scalar);
        // D/Q step on detached fakes.
        const fake = g.forward(cz);
        const ld = optD.minimize(dVars, () => {
          const tr = dTrunk(real), tfk = dTrunk(fake);
          return tf.addN([bceOnes(dHead(tr)), bceZeros(dHead(tfk)), qLoss(qHead(tfk), c)]) as tf.Scalar;
        });
        let lg: tf.Scalar = tf.scalar(0);
        for (let s = 0; s < 2; s++) {
          lg = optG.minimize(gVars, () => {
            const tfk = dTrunk(g.forward(cz));
            return tf.addN([
              bceOnes(dHead(tfk)),
              qLoss(qHead(tfk), c),
              tf.mul(ALPHA, crLoss(v1, v2, onehot)),
            ]) as tf.Scalar;
          });
        }
        last = { h: tf.keep(lh), d: tf.keep(ld), g: tf.keep(lg) };
      });
    },
    async losses() {
      const [h, d, g] = await Promise.all([last.h.data(), last.d.data(), last.g.data()]);
      return { h: h[0], d: d[0], g: g[0] };
    },
    dispose() {
      for (const t of Object.values(last)) t.dispose();
      g.p.dispose(), dp.dispose(), hp.dispose(), real.dispose();
      optG.dispose(), optD.dispose(), optH.dispose();
    },
  };
}

export interface IterationTiming {
  /** Median wall time of one iteration (ms). */
  medianMs: number;
  minMs: number;
  /** Mean CPU time (user + system, all threads) of one iteration (ms): less sensitive to other processes' load. */
  cpuMs: number;
  iterations: number;
  warmup: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Times `step()` (synchronised by reading the losses back) over `iterations` runs after `warmup` runs. */
export async function timeIteration(model: IterationModel, iterations = 10, warmup = 3): Promise<IterationTiming> {
  for (let i = 0; i < warmup; i++) {
    model.step();
    await model.losses();
  }
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    model.step();
    await model.losses();
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / iterations;
  return { medianMs: median(times), minMs: Math.min(...times), cpuMs, iterations, warmup };
}

/**
 * Per-kernel time of one iteration, sorted by time: `ms` is tf.profile's wall time, `cpuMs` the process CPU time
 * (user + system, all threads) spent inside the kernel's top-level calls, which other processes' load inflates much
 * less than wall time. The row "(outside kernels)" holds the rest of the iteration's CPU time: TensorFlow.js's own
 * bookkeeping (tape, tensors, scopes), garbage collection and the model code; it comes first.
 */
export async function profileIteration(
  model: IterationModel,
): Promise<{ kernel: string; ms: number; cpuMs: number; calls: number }[]> {
  model.step();
  await model.losses();
  const backend = tf.getBackend();
  const cpu = new Map<string, number>();
  let depth = 0;
  const originals = tf.getKernelsForBackend(backend);
  const swap = (configs: tf.KernelConfig[]) => {
    for (const k of configs) {
      tf.unregisterKernel(k.kernelName, backend);
      tf.registerKernel(k);
    }
  };
  swap(originals.map((k) => ({
    ...k,
    kernelFunc: (args: Parameters<tf.KernelFunc>[0]) => {
      if (depth > 0) return k.kernelFunc(args);
      depth++;
      const c0 = process.cpuUsage();
      try {
        return k.kernelFunc(args);
      } finally {
        depth--;
        const c = process.cpuUsage(c0);
        cpu.set(k.kernelName, (cpu.get(k.kernelName) ?? 0) + (c.user + c.system) / 1000);
      }
    },
  })));
  let stepCpu = 0;
  let info: Awaited<ReturnType<typeof tf.profile>>;
  try {
    const c0 = process.cpuUsage();
    info = await tf.profile(async () => {
      model.step();
      await model.losses();
    });
    const c = process.cpuUsage(c0);
    stepCpu = (c.user + c.system) / 1000;
  } finally {
    swap(originals);
  }
  const by = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const e = by.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    e.calls++;
    by.set(k.name, e);
  }
  const rows = [...by].map(([kernel, e]) => ({ kernel, ...e, cpuMs: cpu.get(kernel) ?? 0 })).sort((a, b) =>
    b.ms - a.ms
  );
  const inKernels = rows.reduce((a, r) => a + r.cpuMs, 0);
  return [{ kernel: "(outside kernels)", ms: 0, calls: 0, cpuMs: Math.max(0, stepCpu - inKernels) }, ...rows];
}

/** The bench section: ms per iteration of the replica on the active backend. */
export async function benchIteration(
  opts: { iterations?: number; warmup?: number } = {},
): Promise<Record<string, number | string>> {
  const model = buildIteration(0);
  try {
    const t = await timeIteration(model, opts.iterations ?? 10, opts.warmup ?? 3);
    const l = await model.losses();
    if (![l.h, l.d, l.g].every(Number.isFinite)) {
      throw new Error(`bench iteration: non-finite losses ${JSON.stringify(l)}`);
    }
    return {
      "iteration ms (median)": t.medianMs,
      "iteration ms (min)": t.minMs,
      "iteration cpu ms (all threads)": t.cpuMs,
      "iterations timed": t.iterations,
      "images/s": (B / t.medianMs) * 1000,
    };
  } finally {
    model.dispose();
  }
}

/**
 * The same section in a fresh process (the backend and its threads are per process): `deno run -A bench/iteration.ts
 * --backend NAME --threads N --iterations N --warmup N` prints the result as JSON on its last line. `env` is added to
 * the child's environment (IGCR_THREADS for the one-thread runs).
 */
export async function benchIterationProcess(opts: {
  backend: string;
  threads?: number;
  iterations: number;
  warmup: number;
  env?: Record<string, string>;
}): Promise<Record<string, number | string>> {
  const args = ["run", "-A", new URL(import.meta.url).pathname, "--backend", opts.backend];
  if (opts.threads) args.push("--threads", String(opts.threads));
  args.push("--iterations", String(opts.iterations), "--warmup", String(opts.warmup));
  const r = await new Deno.Command(Deno.execPath(), { args, env: opts.env, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  const out = dec.decode(r.stdout).trim().split("\n").at(-1) ?? "";
  if (!r.success) {
    throw new Error(`bench iteration (${opts.backend}) failed: ${dec.decode(r.stderr).trim().split("\n").at(-1)}`);
  }
  return JSON.parse(out);
}

if (import.meta.main) {
  const { parseArgs } = await import("node:util");
  const { initBackend, shutdownBackend } = await import("../lib/backend.ts");
  try {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        backend: { type: "string" },
        threads: { type: "string" },
        iterations: { type: "string", default: "10" },
        warmup: { type: "string", default: "3" },
      },
      strict: true,
    });
    const info = await initBackend({
      backend: (values.backend ?? "auto") as "auto",
      threads: values.threads ? Number(values.threads) : undefined,
      quiet: true,
    });
    const r = await benchIteration({ iterations: Number(values.iterations), warmup: Number(values.warmup) });
    console.log(JSON.stringify({ backend: info.description, ...r }));
    shutdownBackend();
  } catch (e) {
    console.error(`bench iteration: ${e instanceof Error ? e.message : e}`);
    shutdownBackend();
    Deno.exit(1);
  }
}

/**
 * The bench section: the replica on the active engine, and when that is `native`, the same on the pure `wasm` engine
 * in a fresh process (with the same thread setting), so that one run shows both.
 */
export async function benchIterationEngines(opts: {
  engine: string;
  threads?: number;
  iterations: number;
  warmup: number;
}): Promise<Record<string, number | string>> {
  const here = await benchIteration(opts);
  if (opts.engine !== "native") return here;
  const wasm = await benchIterationProcess({ ...opts, backend: "wasm" });
  const out: Record<string, number | string> = { ...here };
  for (const [k, v] of Object.entries(wasm)) out[k === "backend" ? "wasm engine" : `wasm ${k}`] = v;
  return out;
}
