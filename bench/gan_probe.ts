/**
 * Short dSprites training probes behind the measurements in docs/training.md ("Spectral normalisation", "D's loss and
 * spectral normalisation"): trains the `cpu` preset (InfoGAN phase: CR starts at 1,500) for a few hundred iterations in
 * one variant and, every `--every` iterations, logs the losses and what D does on a fixed real and a fixed fake batch
 * (lib/models/d_diagnostics.ts) as one JSON line.
 *
 *   deno run -A bench/gan_probe.ts --variant official --iterations 400 --seed 1 --out runs/probe-official.jsonl
 *
 * Variants: `official` (the trainer as it is), `sn-stop-gradient` (spectral norm without the power iteration's
 * gradient), `no-sn` (D/Q without spectral norm), `lr-d=X` (D/Q's learning rate X), `lr=X` (G and D/Q rates both
 * divided by the paper's and multiplied by X / 2e-3, i.e. the ratio kept).
 *
 *   deno run -A bench/gan_probe.ts --run data/pretrained/dsprites-infogan-cr-seed1 [--snapshot snapshots/...]
 *
 * probes a trained checkpoint instead (one line, no training). With `--d-steps N` it then trains D/Q alone for N
 * steps against the frozen G (the trainer's D/Q step: real and fake batches of the run's size, Adam at the run's D/Q
 * rate, a power iteration after each step), logging D's loss every `--every` steps: can this D still separate this G's
 * images from real ones when G stops moving? `--no-sn` does the same with D's spectral norm removed after folding the
 * current 1/sigma into the weights (the same function at step 0, unconstrained afterwards); `--fresh-d` starts D/Q
 * from a new initialisation instead of the run's. `--grad-compare` prints, per kernel of D/Q, the cosine between the D/Q
 * step's gradient with sn.py's spectral norm and with the stop-gradient variant, and their norm ratio (in a training
 * probe: at every logged iteration).
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { Rng } from "../lib/rng.ts";
import { type GanConfig, presetFor } from "../lib/config/gan.ts";
import { createTrainer } from "../lib/train/trainer.ts";
import { datasetByName } from "../lib/data/registry.ts";
import { discriminate, type GanArchitecture, generate, initDQ } from "../lib/models/infogan_cr.ts";
import {
  type LayerSpec,
  type ParamSet,
  type SpectralNorm,
  spectralNormalize,
  spectralNormUpdate,
} from "../lib/models/layers.ts";
import { type GanNetworks, loadGanNetworks } from "../lib/models/load.ts";
import { Adam } from "../lib/train/adam.ts";
import { BatchIterator } from "../lib/data/batches.ts";
import { discriminatorLoss, informationLoss } from "../lib/losses/gan.ts";
import { type DiscriminatorProbe, probeDiscriminator } from "../lib/models/d_diagnostics.ts";
import { joinLatent, sampleLatents } from "../lib/latents.ts";
import { writeTextAtomic } from "../lib/io/atomic.ts";

const PROBE_ROWS = 64;

/** The same architecture with every spectrally normalised layer of D/Q and H set to `sn`. */
function withSpectralNorm(arch: GanArchitecture, sn: SpectralNorm): GanArchitecture {
  const f = (specs: LayerSpec[]) =>
    specs.map((l) => ((l.op === "dense" || l.op === "conv") && l.sn ? { ...l, sn } : l));
  return { ...arch, trunk: f(arch.trunk), dHead: f(arch.dHead), qHead: f(arch.qHead), h: f(arch.h) };
}

/** Fixed probe batches: real images (their own seeded draw) and latents for the fakes. */
async function probeInputs(arch: GanArchitecture, seed: number) {
  const data = await datasetByName("dsprites");
  const rng = new Rng(seed).fork("probe");
  const idx = Int32Array.from({ length: PROBE_ROWS }, () => rng.int(data.size));
  const [h, w, c] = arch.imageShape;
  const real = tf.tensor4d(data.images(idx), [PROBE_ROWS, h, w, c]);
  const { codes, noise } = arch.latent;
  const l = sampleLatents(rng, PROBE_ROWS, codes, noise);
  const latent = tf.tensor2d(joinLatent(l.c, l.z, PROBE_ROWS, codes, noise), [PROBE_ROWS, codes + noise]);
  return { real, latent };
}

/** D on the fixed batches; the fakes come from G with batch statistics (as D sees them in training), no BN update. */
function probe(arch: GanArchitecture, g: ParamSet, dq: ParamSet, real: tf.Tensor4D, latent: tf.Tensor2D) {
  const fake = tf.tidy(() => generate(arch, g, latent, { training: true, noStatUpdate: true }));
  return probeDiscriminator(arch, dq, real, fake).finally(() => fake.dispose());
}

function line(p: DiscriminatorProbe): string {
  const f = (x: number) => x.toFixed(3);
  const sig = Object.values(p.layerSigma);
  return `D(real) ${f(p.realProb)} D(fake) ${f(p.fakeProb)} | logit real ${f(p.realLogit.mean)} ` +
    `[${f(p.realLogit.min)}, ${f(p.realLogit.max)}] fake ${f(p.fakeLogit.mean)} [${f(p.fakeLogit.min)}, ` +
    `${f(p.fakeLogit.max)}] | ||h|| ${f(p.realFeatureNorm.mean)}/${f(p.fakeFeatureNorm.mean)} | ||dD/dx|| ` +
    `${f(p.realGradNorm.mean)}/${f(p.fakeGradNorm.mean)} | ||x_r-x_f|| ${f(p.imageDistance.mean)} | sigma ` +
    `${sig.length ? `${f(Math.min(...sig))}..${f(Math.max(...sig))}` : "-"}`;
}

/**
 * The D/Q step's gradient (D loss + lambda info on the probe batches) with sn.py's spectral norm and with the
 * stop-gradient variant, compared per spectrally normalised kernel: cosine and |g_stop| / |g_full|.
 */
function snGradientCosines(
  net: Pick<GanNetworks, "config" | "arch" | "g" | "dq">,
  real: tf.Tensor4D,
  latent: tf.Tensor2D,
): Record<string, number[]> {
  const { codes } = net.arch.latent;
  const grads = (arch: GanArchitecture) =>
    tf.tidy(() => {
      const fake = generate(arch, net.g, latent, { training: true, noStatUpdate: true });
      const n = real.shape[0];
      const kernels = [...net.dq.trainable].filter(([k]) => k.endsWith("/kernel"));
      const { grads } = tf.variableGrads(() => {
        const { dLogit, qMean } = discriminate(arch, net.dq, tf.concat([real, fake], 0));
        const [rl, fl] = tf.split(dLogit, 2) as [tf.Tensor1D, tf.Tensor1D];
        const c = tf.slice(latent, [0, 0], [n, codes]) as tf.Tensor2D;
        const info = informationLoss(c, tf.slice(qMean, [n, 0], [n, codes]) as tf.Tensor2D);
        return tf.add(discriminatorLoss(rl, fl), tf.mul(info, net.config.infoWeight)) as tf.Scalar;
      }, kernels.map(([, v]) => v));
      return Object.fromEntries(kernels.map(([k, v]) => [k, grads[v.name].dataSync() as Float32Array]));
    });
  const full = grads(net.arch), stop = grads(withSpectralNorm(net.arch, "stop-gradient"));
  const out: Record<string, number[]> = {};
  for (const k of Object.keys(full)) {
    let dot = 0, a = 0, b = 0;
    full[k].forEach((x, i) => {
      dot += x * stop[k][i];
      a += x * x;
      b += stop[k][i] ** 2;
    });
    out[k.replace("/kernel", "")] = [+(dot / Math.sqrt(a * b)).toFixed(4), +Math.sqrt(b / a).toFixed(4)];
  }
  return out;
}

/** A newly initialised D/Q's values (the trainer's init, from its own seeded stream). */
function freshDQ(arch: GanArchitecture, seed: number): tf.NamedTensorMap {
  const p = initDQ(arch, new Rng(seed).fork("fresh-dq"));
  const out = Object.fromEntries(Object.entries(p.all()).map(([k, v]) => [k, tf.clone(v)]));
  p.dispose();
  return out;
}

/** Folds each SN layer's current 1/sigma into its kernel and drops SN from D/Q: the same function, unconstrained. */
function unconstrain(net: GanNetworks): GanArchitecture {
  for (const l of [...net.arch.trunk, ...net.arch.dHead, ...net.arch.qHead]) {
    if ((l.op === "dense" || l.op === "conv") && l.sn) {
      const w = net.dq.get(`${l.name}/kernel`);
      w.assign(tf.tidy(() => spectralNormalize(w, net.dq.get(`${l.name}/sn_u`))));
    }
  }
  return withSpectralNorm(net.arch, false);
}

/** D/Q alone against the frozen G of `net` for `steps` steps; D's adversarial loss every `every` steps. */
async function trainDAlone(net: GanNetworks, arch: GanArchitecture, steps: number, every: number, seed: number) {
  const cfg = net.config, n = cfg.batchSize, [h, w, c] = arch.imageShape, { codes, noise } = arch.latent;
  const rng = new Rng(seed).fork("d-alone");
  const batches = new BatchIterator(await datasetByName("dsprites"), n, rng.fork("data"));
  const adam = new Adam({ ...cfg.adam, lr: cfg.lr.d });
  const specs = [...arch.trunk, ...arch.dHead, ...arch.qHead];
  const curve: { step: number; d_adv: number }[] = [];
  for (let s = 1; s <= steps; s++) {
    const l = sampleLatents(rng, n, codes, noise);
    const dAdv = tf.tidy(() => {
      const real = tf.tensor4d(batches.next().images, [n, h, w, c]);
      const latent = tf.tensor2d(joinLatent(l.c, l.z, n, codes, noise), [n, codes + noise]);
      const fake = generate(arch, net.g, latent, { training: true, noStatUpdate: true });
      let adv!: tf.Scalar;
      adam.minimize(net.dq.trainable, () => {
        const { dLogit, qMean } = discriminate(arch, net.dq, tf.concat([real, fake], 0));
        const [rl, fl] = tf.split(dLogit, 2) as [tf.Tensor1D, tf.Tensor1D];
        adv = tf.keep(discriminatorLoss(rl, fl));
        const info = informationLoss(tf.tensor2d(l.c, [n, codes]), tf.slice(qMean, [n, 0], [n, codes]) as tf.Tensor2D);
        return tf.add(adv, tf.mul(info, cfg.infoWeight)) as tf.Scalar;
      });
      return adv;
    });
    spectralNormUpdate(net.dq, specs);
    const v = (await dAdv.data())[0];
    dAdv.dispose();
    if (s % every === 0 || s === steps) {
      curve.push({ step: s, d_adv: v });
      console.log(`  D alone, step ${s}: d_adv ${v.toFixed(4)}`);
    }
  }
  adam.reset();
  return curve;
}

function variantConfig(base: GanConfig, variant: string): { cfg: GanConfig; sn: SpectralNorm | null } {
  const num = (s: string) => {
    const x = Number(s);
    if (!(x > 0)) throw new Error(`--variant ${variant}: ${s} is not a positive number`);
    return x;
  };
  if (variant === "official") return { cfg: base, sn: null };
  if (variant === "sn-stop-gradient") return { cfg: base, sn: "stop-gradient" };
  if (variant === "no-sn") return { cfg: base, sn: false };
  if (variant.startsWith("lr-d=")) return { cfg: { ...base, lr: { ...base.lr, d: num(variant.slice(5)) } }, sn: null };
  if (variant.startsWith("lr=")) {
    const k = num(variant.slice(3)) / base.lr.d;
    return { cfg: { ...base, lr: { g: base.lr.g * k, d: base.lr.d * k, h: base.lr.h * k } }, sn: null };
  }
  throw new Error(`unknown --variant ${variant} (official, sn-stop-gradient, no-sn, lr-d=X, lr=X)`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      variant: { type: "string", default: "official" },
      iterations: { type: "string", default: "400" },
      seed: { type: "string", default: "1" },
      every: { type: "string", default: "25" },
      out: { type: "string" },
      run: { type: "string" },
      snapshot: { type: "string" },
      "d-steps": { type: "string", default: "0" },
      "no-sn": { type: "boolean", default: false },
      "fresh-d": { type: "boolean", default: false },
      "grad-compare": { type: "boolean", default: false },
    },
    strict: true,
  });
  const backend = await initBackend({ quiet: true });
  const seed = Number(values.seed);
  if (values.run) {
    const net = await loadGanNetworks(values.run, values.snapshot ?? "checkpoint");
    const { real, latent } = await probeInputs(net.arch, seed);
    try {
      if (values["grad-compare"]) {
        const cos = snGradientCosines(net, real, latent);
        console.log(`cosine(full, stop-gradient) of the D/Q step's gradient per kernel: ${JSON.stringify(cos)}`);
      }
      if (values["fresh-d"]) net.dq.assignFrom(freshDQ(net.arch, seed), "fresh D/Q");
      const arch = values["no-sn"] ? unconstrain(net) : net.arch;
      const p = await probe(arch, net.g, net.dq, real, latent);
      const what = `${values.run} ${values.snapshot ?? "checkpoint"}${
        values["no-sn"] ? " (D/Q SN folded, removed)" : ""
      }`;
      console.log(`${what} (${backend.description}): ${line(p)}`);
      const steps = Number(values["d-steps"]);
      const curve = steps > 0 ? await trainDAlone(net, arch, steps, Number(values.every), seed) : [];
      const after = steps > 0 ? await probe(arch, net.g, net.dq, real, latent) : null;
      if (after) console.log(`after ${steps} D-alone steps: ${line(after)}`);
      const rec = JSON.stringify({
        run: values.run,
        snapshot: values.snapshot ?? null,
        noSn: values["no-sn"],
        probe: p,
        curve,
        after,
      });
      console.log(rec);
      if (values.out) await writeTextAtomic(values.out, rec + "\n");
    } finally {
      tf.dispose([real, latent]);
      net.dispose();
    }
    return;
  }
  const iterations = Number(values.iterations), every = Number(values.every);
  if (!(iterations >= 1 && every >= 1 && Number.isInteger(seed))) {
    throw new Error("bad --iterations, --every or --seed");
  }
  const base = { ...presetFor("dsprites", "cpu", { model: "infogan-cr", seed }), iterations };
  const { cfg, sn } = variantConfig(base, values.variant);
  const t = await createTrainer(cfg, sn === null ? {} : { architecture: (a) => withSpectralNorm(a, sn) });
  const { real, latent } = await probeInputs(t.arch, seed);
  const lines: string[] = [];
  console.log(`variant ${values.variant}, seed ${seed}, ${iterations} iterations, ${backend.description}`);
  try {
    while (t.iteration < iterations) {
      const l = await t.step();
      if (t.iteration % every !== 0 && t.iteration !== iterations) continue;
      const p = await probe(t.arch, t.params().g, t.params().dq, real, latent);
      const snCosine = values["grad-compare"]
        ? snGradientCosines({ config: cfg, arch: t.arch, g: t.params().g, dq: t.params().dq }, real, latent)
        : undefined;
      if (snCosine) console.log(`  cosine(full, stop-gradient), |stop|/|full| per kernel: ${JSON.stringify(snCosine)}`);
      const rec = {
        variant: values.variant,
        iter: t.iteration,
        d_adv: l.d_adv,
        g_adv: l.g_adv,
        d_info: l.d_info,
        ...p,
        snCosine,
      };
      lines.push(JSON.stringify(rec));
      console.log(`${t.iteration} d_adv ${l.d_adv.toFixed(3)} g_adv ${l.g_adv.toFixed(3)} | ${line(p)}`);
      if (values.out) await writeTextAtomic(values.out, lines.join("\n") + "\n");
    }
  } finally {
    tf.dispose([real, latent]);
    t.dispose();
  }
}

if (import.meta.main) {
  try {
    await main();
  } finally {
    shutdownBackend();
  }
}
