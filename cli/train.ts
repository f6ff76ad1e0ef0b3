/**
 * `deno task train --dataset dsprites --model infogan-cr|infogan --profile smoke|cpu|paper --seed 3 --out runs/NAME
 *   [--resume] [--iterations N] [--backend wasm]`
 * `deno task train --config FILE.json --out runs/NAME [--resume]`: a full config (GAN or VAE, as a run folder's
 *   config.json holds it) instead of a preset; `reproduce` uses it to train runs in parallel subprocesses.
 * `deno task train --resume --out runs/NAME [--iterations N]`: continues that run with its own config.json, longer
 *   when --iterations says so.
 *
 * Trains an InfoGAN-CR (or plain InfoGAN, alpha = 0) run into a run folder: config.json, log.jsonl, samples/,
 * checkpoint/, snapshots/ (the model just before CR switches on). The VAE baselines train through
 * `--model factor-vae|beta-vae`, handed to lib/train/vae_trainer.ts with the VAE presets.
 */
import { z } from "zod";
import { defineCommand, type Flags, UsageError } from "../lib/cli/command.ts";
import { backendFlag } from "../lib/config/backend.ts";
import { type GanConfig, GanModelName, parseGanConfig, presetFor, Profile } from "../lib/config/gan.ts";
import { parseVaeConfig, presetFor as vaePresetFor, type VaeConfig } from "../lib/config/vae.ts";

/** `--data-options`: JSON naming dataset options (lib/data/registry.ts), checked key by key. */
const DataOptions = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    ctx.addIssue({ code: "custom", message: `not JSON (${(e as Error).message})` });
    return z.NEVER;
  }
}).pipe(
  z.object({
    count: z.number().int().positive().optional(),
    seed: z.number().int().optional(),
    limit: z.number().int().positive().optional(),
    dir: z.string().optional(),
    npz: z.string().min(1).optional(),
  }).strict(),
);

/** The preset flags that `--config` replaces (a config file holds them all). */
const PRESET_FLAGS = ["dataset", "model", "profile", "seed", "iterations", "gamma", "beta"];

export const command = defineCommand({
  name: "train",
  summary: "trains one model into a run folder (config, log, samples, checkpoint)",
  flags: {
    dataset: {
      type: "string",
      schema: z.enum(["dsprites", "teapots", "celeba"]),
      inUsage: true,
      doc: "the training data (required unless --config)",
    },
    model: {
      type: "string",
      schema: z.enum([...GanModelName.options, "factor-vae", "beta-vae"]),
      default: "infogan-cr",
      inUsage: true,
      doc: "InfoGAN-CR, InfoGAN (no CR), or a VAE baseline",
    },
    profile: { type: "string", schema: Profile, default: "cpu", doc: "the preset's size" },
    seed: { type: "number", schema: z.number().int(), default: 0, doc: "the run's seed" },
    out: {
      type: "string",
      schema: z.string().min(1),
      required: true,
      placeholder: "runs/NAME",
      doc: "the run folder to write",
    },
    resume: {
      type: "boolean",
      doc:
        "continue the checkpoint in --out where it stopped (without --dataset or --config: with its own config.json)",
    },
    iterations: {
      type: "number",
      schema: z.number().int().positive(),
      defaultDoc: "the profile's",
      doc: "training length",
    },
    "no-grids": { type: "boolean", doc: "write no sample grids while training" },
    gamma: {
      type: "number",
      schema: z.number().nonnegative(),
      placeholder: "G",
      doc: "FactorVAE's total-correlation weight (--model factor-vae)",
    },
    beta: {
      type: "number",
      schema: z.number().nonnegative(),
      placeholder: "B",
      doc: "beta-VAE's KL weight (--model beta-vae)",
    },
    config: {
      type: "string",
      schema: z.string().min(1),
      placeholder: "FILE.json",
      doc: "a whole run config (GAN or VAE, as a run's config.json) instead of the preset flags",
    },
    "data-options": {
      type: "string",
      schema: DataOptions,
      placeholder: "JSON",
      doc: 'dataset options, e.g. \'{"count":20000}\' or \'{"npz":"PATH"}\' (the original dSprites archive)',
    },
    backend: backendFlag,
  },
  examples: [
    "deno task train --dataset dsprites --model infogan-cr --profile cpu --seed 3 --out runs/dsprites-cr-s3",
    "deno task train --dataset dsprites --model factor-vae --gamma 10 --profile smoke --out runs/fvae-smoke",
    "deno task train --config runs/dsprites-cr-s3/config.json --out runs/copy",
    "deno task train --resume --out runs/dsprites-cr-s3 --iterations 3000",
  ],
  check(flags, given) {
    if (flags.config !== undefined) {
      const clash = PRESET_FLAGS.filter((k) => given.has(k));
      if (clash.length > 0) {
        throw new UsageError(
          `--config gives the whole config; drop ${clash.map((k) => "--" + k).join(", ")} (edit the file instead)`,
        );
      }
    } else if (flags.dataset === undefined && flags.resume) {
      // Continuing the run in --out with its own config.json: only its length may change.
      const clash = PRESET_FLAGS.filter((k) => k !== "iterations" && given.has(k));
      if (clash.length > 0) {
        throw new UsageError(
          `--resume without --dataset continues the run with its own config.json; drop ` +
            `${clash.map((k) => "--" + k).join(", ")} (only --iterations may change it)`,
        );
      }
    } else if (flags.dataset === undefined) {
      throw new UsageError(
        "--dataset is required (dsprites, teapots or celeba), or give --config FILE, or --resume to continue the run " +
          "in --out",
      );
    }
    if (flags.gamma !== undefined && flags.model !== "factor-vae") {
      throw new UsageError(`--gamma applies to --model factor-vae only (got --model ${flags.model})`);
    }
    if (flags.beta !== undefined && flags.model !== "beta-vae") {
      throw new UsageError(`--beta applies to --model beta-vae only (got --model ${flags.model})`);
    }
    if ((flags.model === "factor-vae" || flags.model === "beta-vae") && flags.dataset === "celeba") {
      throw new UsageError(`--model ${flags.model} trains on --dataset dsprites or teapots`);
    }
  },
});
export type TrainFlags = Flags<typeof command.flags>;

/** Parses argv; an unknown flag, a bad value or a bad combination is a UsageError that names it. */
export function parseTrainFlags(argv: string[]): TrainFlags {
  return command.parse(argv);
}

function isGanConfig(cfg: GanConfig | VaeConfig): cfg is GanConfig {
  return "kind" in cfg && cfg.kind === "gan";
}

/** A GAN or VAE config from a JSON file, validated by its kind's schema (errors name the file and the key). */
export async function readConfigFile(path: string): Promise<GanConfig | VaeConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UsageError(`--config ${path}: no such file`);
    throw new Error(`--config ${path}: ${(e as Error).message}`);
  }
  const r = raw as { kind?: unknown; model?: unknown } | null;
  try {
    if (r?.kind === "gan") return parseGanConfig(raw);
    if (r?.model === "factor-vae" || r?.model === "beta-vae") return parseVaeConfig(raw, `config ${path}`);
  } catch (e) {
    throw new Error(`--config ${path}: ${(e as Error).message}`);
  }
  throw new Error(
    `--config ${path}: not a run config (a GAN config has "kind": "gan", a VAE config "model": "factor-vae" or ` +
      `"beta-vae")`,
  );
}

/**
 * The config of the run in `out` (for `--resume` without preset flags), with its length changed to `iterations` when
 * given (the one change a resume allows besides output cadences).
 */
export async function runConfig(out: string, iterations?: number): Promise<GanConfig | VaeConfig> {
  const path = `${out.replace(/\/+$/, "")}/config.json`;
  try {
    await Deno.stat(path);
  } catch {
    throw new UsageError(`--resume: ${out} holds no run (no config.json): give --dataset or --config to start one`);
  }
  const cfg = await readConfigFile(path);
  if (iterations === undefined) return cfg;
  return isGanConfig(cfg) ? parseGanConfig({ ...cfg, iterations }) : parseVaeConfig({ ...cfg, iterations });
}

if (import.meta.main) {
  await command.run(async (flags) => {
    const { initBackend, shutdownBackend } = await import("../lib/backend.ts");
    const { train } = await import("../lib/train/trainer.ts");
    const { trainVae } = await import("../lib/train/vae_trainer.ts");
    const { datasetForConfig } = await import("../lib/data/registry.ts");
    const fileConfig = flags.config !== undefined
      ? await readConfigFile(flags.config)
      : flags.dataset === undefined
      ? await runConfig(flags.out, flags.iterations)
      : undefined;
    const backend = await initBackend({ backend: flags.backend });
    const grids = !flags["no-grids"];
    try {
      if (fileConfig !== undefined) {
        const cfg = fileConfig;
        console.error(
          `training ${cfg.model} on ${cfg.dataset} (config ${flags.config ?? `${flags.out}/config.json`}, ` +
            `${cfg.iterations} iterations) into ${flags.out} on ${backend.description}`,
        );
        const t0 = performance.now();
        const options = flags["data-options"];
        const data = options === undefined ? undefined : await datasetForConfig(cfg, options);
        if (!isGanConfig(cfg)) {
          const r = await trainVae(cfg, flags.out, { data, resume: flags.resume, grids });
          console.error(`done: ${r.iterations} iterations in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
        } else {
          const trainer = await train(cfg, flags.out, { data, resume: flags.resume, grids });
          const it = trainer.iteration;
          trainer.dispose();
          console.error(`done: ${it} iterations in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
        }
        return;
      }
      const dataset = flags.dataset!; // check(): --dataset or --config
      if (flags.model === "factor-vae" || flags.model === "beta-vae") {
        // The VAE baselines have their own config and trainer (lib/config/vae.ts, lib/train/vae_trainer.ts).
        let vcfg = parseVaeConfig({
          ...vaePresetFor(dataset as "dsprites" | "teapots", flags.profile, flags.model),
          seed: flags.seed,
          ...(flags.gamma !== undefined && { gamma: flags.gamma }),
          ...(flags.beta !== undefined && { beta: flags.beta }),
        });
        if (flags.iterations !== undefined) vcfg = parseVaeConfig({ ...vcfg, iterations: flags.iterations });
        console.error(`training ${flags.model} on ${dataset} into ${flags.out} on ${backend.description}`);
        const data = flags["data-options"] === undefined
          ? undefined
          : await datasetForConfig(vcfg, flags["data-options"]);
        const r = await trainVae(vcfg, flags.out, { data, resume: flags.resume, grids });
        console.error(`done: ${r.iterations} iterations; run folder ${flags.out}`);
        return;
      }
      let cfg = presetFor(dataset, flags.profile, { model: flags.model, seed: flags.seed });
      if (flags.iterations !== undefined) cfg = parseGanConfig({ ...cfg, iterations: flags.iterations });
      console.error(
        `training ${cfg.model} on ${cfg.dataset} (profile ${cfg.profile}, seed ${cfg.seed}, ` +
          `${cfg.iterations} iterations, batch ${cfg.batchSize}) into ${flags.out} on ${backend.description}`,
      );
      const t0 = performance.now();
      const data = flags["data-options"] === undefined ? undefined : await datasetForConfig(cfg, flags["data-options"]);
      const trainer = await train(cfg, flags.out, { data, resume: flags.resume, grids });
      const it = trainer.iteration;
      trainer.dispose();
      const s = (performance.now() - t0) / 1000;
      console.error(`done: ${it} iterations in ${s.toFixed(0)} s; run folder ${flags.out}`);
    } finally {
      shutdownBackend();
    }
  });
}
