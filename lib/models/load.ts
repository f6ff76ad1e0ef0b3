/**
 * Loads the trained model of a run folder (config.json + checkpoint/) as the two capabilities metrics and selection
 * need, whatever the model family: InfoGAN-CR / InfoGAN here, FactorVAE / beta-VAE through lib/models/vae.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng.ts";
import type { TrainedModel } from "./capabilities.ts";
import { architectureFor, type GanArchitecture, ganModel, initDQ, initGenerator } from "./infogan_cr.ts";
import type { ParamSet } from "./layers.ts";
import { type GanConfig, parseGanConfig } from "../config/gan.ts";
import { loadCheckpoint } from "../train/checkpoint.ts";
import { loadVaeModel } from "./vae.ts";

/**
 * The model of `runDir`. `checkpoint` picks another checkpoint folder inside the run (e.g. the InfoGAN snapshot
 * `snapshots/before-cr-iter-288000`). Caller disposes.
 */
export async function loadTrainedModel(runDir: string, opts: { checkpoint?: string } = {}): Promise<TrainedModel> {
  const cfgPath = `${runDir}/config.json`;
  let raw: { model?: unknown };
  try {
    raw = JSON.parse(await Deno.readTextFile(cfgPath));
  } catch (e) {
    throw new Error(`loadTrainedModel: cannot read ${cfgPath}: ${(e as Error).message}`);
  }
  switch (raw.model) {
    case "factor-vae":
    case "beta-vae":
      if (opts.checkpoint) throw new Error("loadTrainedModel: VAE runs have a single checkpoint");
      return await loadVaeModel(runDir);
    case "infogan-cr":
    case "infogan":
      return await loadGan(runDir, opts.checkpoint ?? "checkpoint");
    default:
      throw new Error(
        `loadTrainedModel: ${cfgPath} has model ${JSON.stringify(raw.model)}; expected infogan-cr, infogan, ` +
          "factor-vae or beta-vae",
      );
  }
}

/** G and D/Q of a GAN run's checkpoint as parameter sets, with the architecture and config (diagnostics, bench/). */
export interface GanNetworks {
  config: GanConfig;
  arch: GanArchitecture;
  g: ParamSet;
  dq: ParamSet;
  dispose(): void;
}

/** Loads G and D/Q of the GAN run `runDir` from its checkpoint folder `sub` (default `checkpoint`). Caller disposes. */
export async function loadGanNetworks(runDir: string, sub = "checkpoint"): Promise<GanNetworks> {
  const cfgPath = `${runDir}/config.json`;
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(cfgPath));
  } catch (e) {
    throw new Error(`loadGanNetworks: cannot read ${cfgPath}: ${(e as Error).message}`);
  }
  const cfg = parseGanConfig(raw);
  const ck = await loadCheckpoint(`${runDir}/${sub}`);
  try {
    const shape = ck.state.imageShape as [number, number, number] | undefined;
    const arch = architectureFor(cfg.dataset, shape, cfg.noiseDims);
    // Placeholder values, overwritten below; the seed is irrelevant.
    const rng = new Rng(0);
    const g = initGenerator(arch, rng);
    const dq = initDQ(arch, rng);
    try {
      g.assignFrom(ck.tensors.generator ?? {}, `${runDir}/${sub}/generator`);
      dq.assignFrom(ck.tensors.discriminator ?? {}, `${runDir}/${sub}/discriminator`);
    } catch (e) {
      g.dispose();
      dq.dispose();
      throw e;
    }
    return {
      config: cfg,
      arch,
      g,
      dq,
      dispose() {
        g.dispose();
        dq.dispose();
      },
    };
  } finally {
    for (const m of Object.values(ck.tensors)) tf.dispose(m);
  }
}

async function loadGan(runDir: string, sub: string): Promise<TrainedModel> {
  const { config: cfg, arch, g, dq } = await loadGanNetworks(runDir, sub);
  return ganModel(`${cfg.model} ${runDir}${sub === "checkpoint" ? "" : `/${sub}`}`, arch, g, dq, true);
}
