/**
 * `deno task export --run runs/NAME --out data/pretrained/NAME [--format tfjs|onnx] [--command "..."] [--no-snapshots]`
 *
 * `--format tfjs` (the default) writes an inference-only copy of a trained InfoGAN-CR/InfoGAN run (G and D/Q weights,
 * config, log, metrics, the last grids and MODEL.md with the command that trained it; lib/models/export.ts). Without
 * `--command`, the training command is reconstructed from the run's config when it is a preset (the usual
 * `deno task train ...` line).
 *
 * `--format onnx` writes the run's inference networks as `.onnx` files (GAN: generator.onnx, encoder.onnx; VAE:
 * encoder.onnx, decoder.onnx) with config.json and ONNX.md (lib/models/onnx_export.ts).
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { parseGanConfig, presetFor } from "../lib/config/gan.ts";
import { exportInferenceModel } from "../lib/models/export.ts";
import { exportOnnxModels } from "../lib/models/onnx_export.ts";

const USAGE = "usage: deno task export --run runs/NAME --out data/pretrained/NAME [--format tfjs|onnx] " +
  '[--command "deno task train ..."] [--no-snapshots]';

const Flags = z.object({
  run: z.string().min(1, "--run runs/NAME is required"),
  out: z.string().min(1, "--out DIR is required"),
  command: z.string().min(1).optional(),
  "no-snapshots": z.boolean().default(false),
  format: z.enum(["tfjs", "onnx"], { error: (i) => `--format: "${i.input}" is not tfjs or onnx` }).default("tfjs"),
}).strict();

/** The `deno task train` line that recreates a preset config, or null when the config is not a preset. */
export async function presetCommand(runDir: string): Promise<string | null> {
  const cfg = parseGanConfig(JSON.parse(await Deno.readTextFile(`${runDir}/config.json`)));
  const preset = presetFor(cfg.dataset, cfg.profile, { model: cfg.model, seed: cfg.seed });
  if (JSON.stringify(preset) !== JSON.stringify(cfg)) return null;
  return `deno task train --dataset ${cfg.dataset} --model ${cfg.model} --profile ${cfg.profile} --seed ${cfg.seed} ` +
    `--out ${runDir}`;
}

async function main(): Promise<void> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        run: { type: "string" },
        out: { type: "string" },
        command: { type: "string" },
        "no-snapshots": { type: "boolean" },
        format: { type: "string" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`);
  }
  const r = Flags.safeParse(values);
  if (!r.success) throw new Error(`${r.error.issues.map((i) => i.message).join("; ")}\n${USAGE}`);
  const { run, out } = r.data;
  if (r.data.format === "onnx") {
    if (r.data["no-snapshots"]) throw new Error(`--no-snapshots applies to --format tfjs only\n${USAGE}`);
    const files = await exportOnnxModels(run, out, {
      command: r.data.command ?? (await presetCommand(run).catch(() => null)) ?? undefined,
    });
    console.log(`exported ${run} as ONNX to ${out}: ${files.join(", ")}`);
    return;
  }
  const command = r.data.command ?? (await presetCommand(run));
  if (!command) throw new Error(`${run}/config.json is not a preset config: say how it was made with --command`);
  const files = await exportInferenceModel(run, out, { command, snapshots: !r.data["no-snapshots"] });
  console.log(`exported ${run} to ${out}: ${files.join(", ")}`);
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
