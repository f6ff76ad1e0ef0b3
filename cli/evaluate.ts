/**
 * `deno task evaluate --checkpoint runs/NAME [--metrics all|factor-vae,mig,...] [--protocol infogan-cr|disentanglement-lib]
 *   [--profile smoke|cpu|paper] [--seed 0] [--snapshot SUBDIR] [--backend wasm]`
 *
 * Loads the run's trained model (lib/models/load.ts) and its dataset (the run's config.json), evaluates the metrics
 * (lib/metrics/evaluate.ts), writes runs/NAME/metrics.json atomically (or metrics-snapshots_SUBDIR.json for --snapshot) and
 * prints a table with the paper's Table 1 values beside the measured ones, labelled as reference only.
 *
 * --profile defaults to the run's own profile from config.json (paper when absent). Only `paper` uses the published
 * sample sizes; the others run the same procedure on fewer samples.
 */
import { z } from "zod";
import { defineCommand, UsageError } from "../lib/cli/command.ts";
import { backendFlag } from "../lib/config/backend.ts";
import type { DatasetName } from "../lib/data/registry.ts";
import type { MetricsResult } from "../lib/metrics/evaluate.ts";
import { ALL_METRICS, dlibMirrorLines, MetricName, Profile, ProtocolName } from "../lib/metrics/protocols.ts";
import { METRIC_COLUMNS, table1Row } from "../lib/experiments/paper_tables.ts";
import type { Cell } from "../lib/report/types.ts";

export const command = defineCommand({
  name: "evaluate",
  summary: "scores a trained model with the seven metrics",
  flags: {
    checkpoint: {
      type: "string",
      schema: z.string().min(1),
      required: true,
      placeholder: "runs/NAME",
      doc: "the run folder of a dsprites or teapots model",
    },
    metrics: {
      type: "list",
      schema: z.array(z.enum(["all", ...MetricName.options])).min(1)
        .transform((names) => names.includes("all") ? [...ALL_METRICS] : names as MetricName[]),
      default: ["all"],
      placeholder: "all|factor-vae,mig,...",
      doc: "the metrics to compute",
    },
    protocol: {
      type: "string",
      schema: ProtocolName,
      default: "infogan-cr",
      doc: "the evaluation protocol: the paper's code, or disentanglement_lib's functions (docs/metrics.md names each)",
    },
    profile: {
      type: "string",
      schema: Profile,
      defaultDoc: "the run's own profile, else paper",
      doc: "sample sizes; only paper uses the published ones",
    },
    seed: { type: "number", schema: z.number().int(), default: 0, doc: "the seed of the metrics' sampling" },
    snapshot: {
      type: "string",
      schema: z.string().min(1),
      placeholder: "SUBDIR",
      doc: "score the run's snapshots/SUBDIR (`iter-500` or `snapshots/iter-500`) instead of its checkpoint, into " +
        "metrics-snapshots_SUBDIR.json",
    },
    backend: backendFlag,
  },
  examples: [
    "deno task evaluate --checkpoint runs/dsprites-cr-s3",
    "deno task evaluate --checkpoint runs/dsprites-cr-s3 --metrics factor-vae,mig --protocol disentanglement-lib",
  ],
});

const fmt = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(3));
const fmtCell = (c: Cell | undefined) => {
  if (c === undefined || c === null) return "";
  if (typeof c === "number") return c.toFixed(2);
  if (typeof c === "string") return c;
  const { mean, std } = c;
  return std === undefined ? mean.toFixed(2) : `${mean.toFixed(2)}±${std.toFixed(2)}`;
};

/** The printed table: one row per metric, the measured value, then the paper's two GAN rows as reference. */
export function metricsTable(r: MetricsResult): string {
  const ref = [table1Row("InfoGAN (modified)"), table1Row("InfoGAN-CR")];
  const header = ["metric", "this model", "paper ref: InfoGAN (modified)", "paper ref: InfoGAN-CR"];
  const rows = METRIC_COLUMNS.filter((c) => r.scores[c.key] !== undefined).map((c) => [
    c.label,
    fmt(r.scores[c.key]),
    fmtCell(ref[0][c.key]),
    fmtCell(ref[1][c.key]),
  ]);
  if (r.scores.dciLasso !== undefined) rows.push(["DCI (Lasso)", fmt(r.scores.dciLasso), "", ""]);
  if (r.scores.dciCompleteness !== undefined) rows.push(["DCI completeness", fmt(r.scores.dciCompleteness), "", ""]);
  if (r.scores.dciInformativeness !== undefined) {
    rows.push(["DCI informativeness (test accuracy)", fmt(r.scores.dciInformativeness), "", ""]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

if (import.meta.main) {
  await command.run(async (flags) => {
    const runDir = flags.checkpoint.replace(/\/+$/, "");
    let cfg: { dataset?: DatasetName; profile?: string };
    try {
      cfg = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound ? "" : `: ${(e as Error).message}`;
      throw new UsageError(`--checkpoint ${runDir}: cannot read ${runDir}/config.json (is it a run folder?)${why}`);
    }
    if (cfg.dataset !== "dsprites" && cfg.dataset !== "teapots") {
      throw new UsageError(
        `--checkpoint ${runDir}: its config.json has dataset ${
          JSON.stringify(cfg.dataset)
        }; metrics need ground-truth ` +
          "factors (dsprites or teapots)",
      );
    }
    const profile = flags.profile ?? Profile.catch("paper").parse(cfg.profile);
    const { resolveSnapshot } = await import("../lib/train/run_folder.ts");
    let snapshot: string | undefined;
    try {
      snapshot = flags.snapshot === undefined ? undefined : await resolveSnapshot(runDir, flags.snapshot);
    } catch (e) {
      throw new UsageError(`--snapshot: ${(e as Error).message}`);
    }
    const { initBackend, shutdownBackend } = await import("../lib/backend.ts");
    const { datasetForConfig } = await import("../lib/data/registry.ts");
    const { loadTrainedModel } = await import("../lib/models/load.ts");
    const { evaluateMetrics } = await import("../lib/metrics/evaluate.ts");
    const { writeJsonAtomic } = await import("../lib/io/atomic.ts");
    const { checkpointIteration } = await import("../lib/train/checkpoint.ts");
    const backend = await initBackend({ backend: flags.backend });
    const model = await loadTrainedModel(runDir, snapshot ? { checkpoint: snapshot } : {});
    try {
      // The run's own data source: the original dSprites archive it recorded (checked by sha256), else the renderer.
      const data = await datasetForConfig(cfg as Parameters<typeof datasetForConfig>[0]);
      console.error(
        `evaluating ${model.name} on ${data.name}: protocol ${flags.protocol}, profile ${profile}, seed ${flags.seed}`,
      );
      const result = await evaluateMetrics(data, model, {
        protocol: flags.protocol,
        profile,
        metrics: flags.metrics,
        seed: flags.seed,
        backend: backend.description,
        onProgress: (m) => console.error(`  ${m}`),
      });
      const name = snapshot ? `metrics-${snapshot.replaceAll("/", "_")}.json` : "metrics.json";
      result.checkpointIteration = await checkpointIteration(`${runDir}/${snapshot ?? "checkpoint"}`);
      await writeJsonAtomic(`${runDir}/${name}`, { run: runDir, snapshot: snapshot ?? null, ...result });
      console.log(metricsTable(result));
      if (result.protocol === "disentanglement-lib") console.log(`\n${dlibMirrorLines(flags.metrics).join("\n")}`);
      console.log(
        `\n${result.sampleSizes.imagesEncoded} images encoded in ${result.timings.totalSeconds.toFixed(1)} s ` +
          `(protocol ${result.protocol}, profile ${result.profile}; paper values are reference only, from Table 1, ` +
          `mean±std over 50 runs). Wrote ${runDir}/${name}`,
      );
    } finally {
      model.dispose();
      shutdownBackend();
    }
  });
}
