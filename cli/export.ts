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
import { z } from "zod";
import { defineCommand, requirePath, UsageError } from "../lib/cli/command.ts";
import { parseGanConfig, presetFor } from "../lib/config/gan.ts";
import { exportInferenceModel } from "../lib/models/export.ts";
import { exportOnnxModels } from "../lib/models/onnx_export.ts";

export const command = defineCommand({
  name: "export",
  summary: "a GAN's inference-only copy (G, D/Q, config, log, metrics), or with --format onnx .onnx files (GAN or VAE)",
  flags: {
    run: { type: "string", schema: z.string().min(1), required: true, placeholder: "runs/NAME", doc: "the run folder" },
    out: {
      type: "string",
      schema: z.string().min(1),
      required: true,
      placeholder: "data/pretrained/NAME",
      doc: "the folder to write",
    },
    command: {
      type: "string",
      schema: z.string().min(1),
      placeholder: '"deno task train ..."',
      defaultDoc: "rebuilt from the run's config when it is a preset",
      doc: "the command that trained the run, for MODEL.md",
    },
    format: {
      type: "string",
      schema: z.enum(["tfjs", "onnx"]),
      default: "tfjs",
      inUsage: true,
      doc: "tfjs: the run-folder copy that loadTrainedModel reads; onnx: the networks as .onnx files (GAN or VAE)",
    },
    "no-snapshots": { type: "boolean", doc: "leave out the snapshots (the model just before CR switched on)" },
  },
  examples: [
    "deno task export --run runs/dsprites-cr-s3 --out data/pretrained/dsprites-cr-s3",
    "deno task export --run runs/dsprites-cr-s3 --out runs/dsprites-cr-s3/onnx --format onnx",
  ],
  check(flags, given) {
    if (flags.format === "onnx" && given.has("no-snapshots")) {
      throw new UsageError("--no-snapshots applies to --format tfjs only (an ONNX export has no snapshots)");
    }
  },
});

/** The `deno task train` line that recreates a preset config, or null when the config is not a preset. */
export async function presetCommand(runDir: string): Promise<string | null> {
  const cfg = parseGanConfig(JSON.parse(await Deno.readTextFile(`${runDir}/config.json`)));
  const preset = presetFor(cfg.dataset, cfg.profile, { model: cfg.model, seed: cfg.seed });
  // Snapshots saved along the way (reproduce's learning curve) do not change the weights, so such a run is the preset's.
  const { snapshotAt: _snapshots, ...trained } = cfg;
  if (JSON.stringify(preset) !== JSON.stringify(trained)) return null;
  return `deno task train --dataset ${cfg.dataset} --model ${cfg.model} --profile ${cfg.profile} --seed ${cfg.seed} ` +
    `--out ${runDir}`;
}

if (import.meta.main) {
  await command.run(async (flags) => {
    await requirePath("run", flags.run, "folder");
    if (flags.format === "onnx") {
      // VAE runs are not presets of the GAN config: no command is reconstructed for them.
      const trainCommand = flags.command ?? (await presetCommand(flags.run).catch(() => null)) ?? undefined;
      const files = await exportOnnxModels(flags.run, flags.out, { command: trainCommand });
      console.log(`exported ${flags.run} as ONNX to ${flags.out}: ${files.join(", ")}`);
      return;
    }
    const trainCommand = flags.command ?? (await presetCommand(flags.run));
    if (!trainCommand) {
      throw new Error(`${flags.run}/config.json is not a preset config: say how it was made with --command`);
    }
    const files = await exportInferenceModel(flags.run, flags.out, {
      command: trainCommand,
      snapshots: !flags["no-snapshots"],
    });
    console.log(`exported ${flags.run} to ${flags.out}: ${files.join(", ")}`);
  });
}
