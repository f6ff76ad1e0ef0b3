/**
 * `deno task export --run runs/NAME --out data/pretrained/NAME [--command "..."] [--no-snapshots]`
 *
 * Writes an inference-only copy of a trained InfoGAN-CR/InfoGAN run (G and D/Q weights, config, log, metrics, the last
 * grids and MODEL.md with the command that trained it; lib/models/export.ts). Without `--command`, the training
 * command is reconstructed from the run's config when it is a preset (the usual `deno task train ...` line).
 */
import { z } from "zod";
import { defineCommand, requirePath } from "../lib/cli/command.ts";
import { parseGanConfig, presetFor } from "../lib/config/gan.ts";
import { exportInferenceModel } from "../lib/models/export.ts";

export const command = defineCommand({
  name: "export",
  summary: "an inference-only copy of a trained GAN (G and D/Q weights, config, log, metrics, command)",
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
    "no-snapshots": { type: "boolean", doc: "leave out the snapshots (the model just before CR switched on)" },
  },
  examples: ["deno task export --run runs/dsprites-cr-s3 --out data/pretrained/dsprites-cr-s3"],
});

/** The `deno task train` line that recreates a preset config, or null when the config is not a preset. */
export async function presetCommand(runDir: string): Promise<string | null> {
  const cfg = parseGanConfig(JSON.parse(await Deno.readTextFile(`${runDir}/config.json`)));
  const preset = presetFor(cfg.dataset, cfg.profile, { model: cfg.model, seed: cfg.seed });
  if (JSON.stringify(preset) !== JSON.stringify(cfg)) return null;
  return `deno task train --dataset ${cfg.dataset} --model ${cfg.model} --profile ${cfg.profile} --seed ${cfg.seed} ` +
    `--out ${runDir}`;
}

if (import.meta.main) {
  await command.run(async (flags) => {
    await requirePath("run", flags.run, "folder");
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
