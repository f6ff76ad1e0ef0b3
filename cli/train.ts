/**
 * `deno task train --dataset dsprites --model infogan-cr|infogan --profile smoke|cpu|paper --seed 3 --out runs/NAME
 *   [--resume] [--iterations N] [--backend wasm]`
 * `deno task train --config FILE.json --out runs/NAME [--resume]`: a full config (GAN or VAE, as a run folder's
 *   config.json holds it) instead of a preset; `reproduce` uses it to train runs in parallel subprocesses.
 *
 * Trains an InfoGAN-CR (or plain InfoGAN, alpha = 0) run into a run folder: config.json, log.jsonl, samples/,
 * checkpoint/, snapshots/ (the model just before CR switches on). The VAE baselines train through
 * `--model factor-vae|beta-vae`, handed to lib/train/vae_trainer.ts with the VAE presets.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { BackendChoice, initBackend, shutdownBackend } from "../lib/backend.ts";
import { type GanConfig, GanModelName, parseGanConfig, presetFor, Profile } from "../lib/config/gan.ts";
import { train } from "../lib/train/trainer.ts";
import { parseVaeConfig, presetFor as vaePresetFor, type VaeConfig } from "../lib/config/vae.ts";
import { trainVae } from "../lib/train/vae_trainer.ts";
import { datasetByName, type DatasetName } from "../lib/data/registry.ts";

export const USAGE =
  "usage: deno task train --dataset dsprites|teapots|celeba --model infogan-cr|infogan|factor-vae|beta-vae " +
  "--profile smoke|cpu|paper [--seed 0] --out runs/NAME [--resume] [--iterations N] [--backend wasm] [--no-grids] " +
  "[--gamma G (factor-vae)] [--beta B (beta-vae)]\n" +
  "       deno task train --config FILE.json --out runs/NAME [--resume] [--backend wasm] [--no-grids] " +
  "[--data-options '{\"count\":20000}']";

export const TrainFlags = z.object({
  dataset: z.enum(["dsprites", "teapots", "celeba"], { message: "--dataset must be dsprites, teapots or celeba" })
    .optional(),
  /** A whole config file (kind "gan" or "vae"); excludes the preset flags. */
  config: z.string().min(1).optional(),
  /** Dataset options as JSON (e.g. {"count":20000,"seed":1} for the teapots training set), lib/data/registry.ts. */
  "data-options": z.string().optional(),
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
        config: { type: "string" },
        "data-options": { type: "string" },
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
  if (r.data.config !== undefined) {
    const clash = ["dataset", "model", "profile", "seed", "iterations", "gamma", "beta"].filter((k) => k in rest);
    if (clash.length > 0) {
      throw new Error(
        `--config gives the whole config; drop ${
          clash.map((k) => "--" + k).join(", ")
        } (edit the file instead)\n${USAGE}`,
      );
    }
  } else if (r.data["data-options"] !== undefined) {
    throw new Error(`--data-options goes with --config\n${USAGE}`);
  } else if (r.data.dataset === undefined) {
    throw new Error(`--dataset is required (dsprites, teapots or celeba), or give --config FILE\n${USAGE}`);
  }
  if (r.data.gamma !== undefined && r.data.model !== "factor-vae") {
    throw new Error(`--gamma applies to --model factor-vae only (got --model ${r.data.model})\n${USAGE}`);
  }
  if (r.data.beta !== undefined && r.data.model !== "beta-vae") {
    throw new Error(`--beta applies to --model beta-vae only (got --model ${r.data.model})\n${USAGE}`);
  }
  return r.data;
}

/** The training data named by the config, with `--data-options` (JSON, checked by key) when given. */
async function datasetFromFlag(name: DatasetName, json: string | undefined) {
  if (json === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new Error(`--data-options is not JSON: ${(e as Error).message}`);
  }
  const r = DataOptions.safeParse(raw);
  if (!r.success) throw new Error(`--data-options: ${r.error.issues.map((i) => i.message).join("; ")}`);
  return await datasetByName(name, r.data);
}

const DataOptions = z.object({
  count: z.number().int().positive().optional(),
  seed: z.number().int().optional(),
  limit: z.number().int().positive().optional(),
  dir: z.string().optional(),
}).strict();

function isGanConfig(cfg: GanConfig | VaeConfig): cfg is GanConfig {
  return "kind" in cfg && cfg.kind === "gan";
}

/** A GAN or VAE config from a JSON file, validated by its kind's schema (errors name the file and the key). */
export async function readConfigFile(path: string): Promise<GanConfig | VaeConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`--config ${path}: ${e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message}`);
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

async function main(): Promise<void> {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(USAGE);
    return;
  }
  const flags = parseTrainFlags(Deno.args);
  const backend = await initBackend({ backend: flags.backend });
  try {
    if (flags.config !== undefined) {
      const cfg = await readConfigFile(flags.config);
      console.error(
        `training ${cfg.model} on ${cfg.dataset} (config ${flags.config}, ${cfg.iterations} iterations) into ` +
          `${flags.out} on ${backend.description}`,
      );
      const t0 = performance.now();
      const data = await datasetFromFlag(cfg.dataset, flags["data-options"]);
      if (!isGanConfig(cfg)) {
        const r = await trainVae(cfg, flags.out, { data, resume: flags.resume, grids: !flags["no-grids"] });
        console.error(`done: ${r.iterations} iterations in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      } else {
        const trainer = await train(cfg, flags.out, { data, resume: flags.resume, grids: !flags["no-grids"] });
        const it = trainer.iteration;
        trainer.dispose();
        console.error(`done: ${it} iterations in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
      }
      return;
    }
    if (flags.dataset === undefined) throw new Error("--dataset is required");
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
