/**
 * `deno task train --dataset dsprites --model infogan-cr|infogan --profile smoke|cpu|paper --seed 3 --out runs/NAME
 *   [--resume] [--iterations N] [--backend wasm]`
 *
 * Trains an InfoGAN-CR (or plain InfoGAN, alpha = 0) run into a run folder: config.json, log.jsonl, samples/,
 * checkpoint/, snapshots/ (the model just before CR switches on). The VAE baselines train through
 * `--model factor-vae|beta-vae`, handed to lib/train/vae_trainer.ts with the VAE presets.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { BackendChoice, initBackend, shutdownBackend } from "../lib/backend.ts";
import { GanModelName, parseGanConfig, presetFor, Profile } from "../lib/config/gan.ts";
import { train } from "../lib/train/trainer.ts";
import { parseVaeConfig, presetFor as vaePresetFor } from "../lib/config/vae.ts";
import { trainVae } from "../lib/train/vae_trainer.ts";

export const USAGE =
  "usage: deno task train --dataset dsprites|teapots|celeba --model infogan-cr|infogan|factor-vae|beta-vae " +
  "--profile smoke|cpu|paper [--seed 0] --out runs/NAME [--resume] [--iterations N] [--backend wasm] [--no-grids] " +
  "[--gamma G (factor-vae)] [--beta B (beta-vae)]";

export const TrainFlags = z.object({
  dataset: z.enum(["dsprites", "teapots", "celeba"], { message: "--dataset must be dsprites, teapots or celeba" }),
  model: z.enum([...GanModelName.options, "factor-vae", "beta-vae"]).default("infogan-cr"),
  profile: Profile.default("cpu"),
  seed: z.coerce.number().int().default(0),
  out: z.string().min(1, "--out runs/NAME is required"),
  resume: z.boolean().default(false),
  iterations: z.coerce.number().int().positive().optional(),
  backend: BackendChoice.optional(),
  "no-grids": z.boolean().default(false),
  /** FactorVAE's total-correlation weight (the paper's pool: 1, 10, 20, 40). */
  gamma: z.coerce.number().nonnegative().optional(),
  /** beta-VAE's KL weight. */
  beta: z.coerce.number().nonnegative().optional(),
}).strict();
export type TrainFlags = z.infer<typeof TrainFlags>;

/** Parses argv; an unknown flag or a bad value is an error that names it. */
export function parseTrainFlags(argv: string[]): TrainFlags {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        dataset: { type: "string" },
        model: { type: "string" },
        profile: { type: "string" },
        seed: { type: "string" },
        out: { type: "string" },
        resume: { type: "boolean" },
        iterations: { type: "string" },
        backend: { type: "string" },
        "no-grids": { type: "boolean" },
        gamma: { type: "string" },
        beta: { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`);
  }
  if (values.help) throw new Error(USAGE);
  const { help: _h, ...rest } = values;
  const r = TrainFlags.safeParse(rest);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `--${i.path.join(".") || "?"}: ${i.message}`).join("; ");
    throw new Error(`${msg}\n${USAGE}`);
  }
  if (r.data.gamma !== undefined && r.data.model !== "factor-vae") {
    throw new Error(`--gamma applies to --model factor-vae only (got --model ${r.data.model})\n${USAGE}`);
  }
  if (r.data.beta !== undefined && r.data.model !== "beta-vae") {
    throw new Error(`--beta applies to --model beta-vae only (got --model ${r.data.model})\n${USAGE}`);
  }
  return r.data;
}

async function main(): Promise<void> {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(USAGE);
    return;
  }
  const flags = parseTrainFlags(Deno.args);
  const backend = await initBackend({ backend: flags.backend });
  try {
    if (flags.model === "factor-vae" || flags.model === "beta-vae") {
      // The VAE baselines have their own config and trainer (lib/config/vae.ts, lib/train/vae_trainer.ts).
      if (flags.dataset === "celeba") throw new Error("--model factor-vae/beta-vae: datasets are dsprites and teapots");
      let vcfg = parseVaeConfig({
        ...vaePresetFor(flags.dataset, flags.profile, flags.model),
        seed: flags.seed,
        ...(flags.gamma !== undefined && { gamma: flags.gamma }),
        ...(flags.beta !== undefined && { beta: flags.beta }),
      });
      if (flags.iterations !== undefined) vcfg = parseVaeConfig({ ...vcfg, iterations: flags.iterations });
      console.error(`training ${flags.model} on ${flags.dataset} into ${flags.out} on ${backend.description}`);
      const r = await trainVae(vcfg, flags.out, { resume: flags.resume, grids: !flags["no-grids"] });
      console.error(`done: ${r.iterations} iterations; run folder ${flags.out}`);
      return;
    }
    let cfg = presetFor(flags.dataset, flags.profile, { model: flags.model as GanModelName, seed: flags.seed });
    if (flags.iterations !== undefined) cfg = parseGanConfig({ ...cfg, iterations: flags.iterations });
    console.error(
      `training ${cfg.model} on ${cfg.dataset} (profile ${cfg.profile}, seed ${cfg.seed}, ${cfg.iterations} iterations, ` +
        `batch ${cfg.batchSize}) into ${flags.out} on ${backend.description}`,
    );
    const t0 = performance.now();
    const trainer = await train(cfg, flags.out, { resume: flags.resume, grids: !flags["no-grids"] });
    const it = trainer.iteration;
    trainer.dispose();
    const s = (performance.now() - t0) / 1000;
    console.error(`done: ${it} iterations in ${s.toFixed(0)} s; run folder ${flags.out}`);
  } finally {
    shutdownBackend();
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    shutdownBackend();
    Deno.exit(1);
  }
}
