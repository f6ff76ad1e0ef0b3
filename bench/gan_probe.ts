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
 * probes a trained checkpoint instead (one line, no training).
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { Rng } from "../lib/rng.ts";
import { type GanConfig, presetFor } from "../lib/config/gan.ts";
import { createTrainer } from "../lib/train/trainer.ts";
import { datasetByName } from "../lib/data/registry.ts";
import { type GanArchitecture, generate } from "../lib/models/infogan_cr.ts";
import type { LayerSpec, ParamSet, SpectralNorm } from "../lib/models/layers.ts";
import { loadGanNetworks } from "../lib/models/load.ts";
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
    },
    strict: true,
  });
  const backend = await initBackend({ quiet: true });
  const seed = Number(values.seed);
  if (values.run) {
    const net = await loadGanNetworks(values.run, values.snapshot ?? "checkpoint");
    const { real, latent } = await probeInputs(net.arch, seed);
    try {
      const p = await probe(net.arch, net.g, net.dq, real, latent);
      console.log(`${values.run} ${values.snapshot ?? "checkpoint"} (${backend.description}): ${line(p)}`);
      console.log(JSON.stringify(p));
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
      const rec = {
        variant: values.variant,
        iter: t.iteration,
        d_adv: l.d_adv,
        g_adv: l.g_adv,
        d_info: l.d_info,
        ...p,
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
