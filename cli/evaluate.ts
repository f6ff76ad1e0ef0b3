/**
 * `deno task evaluate --checkpoint runs/NAME [--metrics all|factor-vae,mig,...] [--protocol infogan-cr|disentanglement-lib]
 *   [--profile smoke|cpu|paper] [--seed 0] [--snapshot SUBDIR] [--backend wasm]`
 *
 * Loads the run's trained model (lib/models/load.ts) and its dataset (the run's config.json), evaluates the metrics
 * (lib/metrics/evaluate.ts), writes runs/NAME/metrics.json atomically (or metrics-<snapshot>.json for --snapshot) and
 * prints a table with the paper's Table 1 values beside the measured ones, labelled as reference only.
 *
 * --profile defaults to the run's own profile from config.json (paper when absent). Only `paper` uses the published
 * sample sizes; the others run the same procedure on fewer samples.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { datasetByName, type DatasetName } from "../lib/data/registry.ts";
import { loadTrainedModel } from "../lib/models/load.ts";
import { evaluateMetrics, type MetricsResult } from "../lib/metrics/evaluate.ts";
import { parseMetricList, Profile, ProtocolName } from "../lib/metrics/protocols.ts";
import { METRIC_COLUMNS, table1Row } from "../lib/experiments/paper_tables.ts";
import type { Cell } from "../lib/report/types.ts";
import { writeJsonAtomic } from "../lib/io/atomic.ts";

const Flags = z.object({
  checkpoint: z.string().min(1, "--checkpoint runs/NAME is required"),
  metrics: z.string().default("all"),
  protocol: ProtocolName.default("infogan-cr"),
  profile: Profile.optional(),
  seed: z.coerce.number().int().default(0),
  snapshot: z.string().optional(),
  backend: z.string().optional(),
}).strict();

const USAGE = "usage: deno task evaluate --checkpoint runs/NAME [--metrics all|factor-vae,mig,...] " +
  "[--protocol infogan-cr|disentanglement-lib] [--profile smoke|cpu|paper] [--seed 0] [--snapshot SUBDIR]";

function parseFlags(argv: string[]): z.infer<typeof Flags> {
  const { values } = parseArgs({
    args: argv,
    options: {
      checkpoint: { type: "string" },
      metrics: { type: "string" },
      protocol: { type: "string" },
      profile: { type: "string" },
      seed: { type: "string" },
      snapshot: { type: "string" },
      backend: { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const { help: _h, ...rest } = values;
  const r = Flags.safeParse(rest);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`${msg}\n${USAGE}`);
  }
  return r.data;
}

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
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args);
  const runDir = flags.checkpoint.replace(/\/+$/, "");
  const metrics = parseMetricList(flags.metrics);
  let cfg: { dataset?: string; profile?: string };
  try {
    cfg = JSON.parse(await Deno.readTextFile(`${runDir}/config.json`));
  } catch (e) {
    throw new Error(`cannot read ${runDir}/config.json (is --checkpoint a run folder?): ${(e as Error).message}`);
  }
  if (cfg.dataset !== "dsprites" && cfg.dataset !== "teapots") {
    throw new Error(
      `${runDir}/config.json has dataset ${JSON.stringify(cfg.dataset)}: metrics need ground-truth factors ` +
        "(dsprites or teapots)",
    );
  }
  const profile = flags.profile ?? Profile.catch("paper").parse(cfg.profile);
  const backend = await initBackend();
  const model = await loadTrainedModel(runDir, flags.snapshot ? { checkpoint: flags.snapshot } : {});
  try {
    const data = await datasetByName(cfg.dataset as DatasetName);
    console.error(
      `evaluating ${model.name} on ${data.name}: protocol ${flags.protocol}, profile ${profile}, seed ${flags.seed}`,
    );
    const result = await evaluateMetrics(data, model, {
      protocol: flags.protocol,
      profile,
      metrics,
      seed: flags.seed,
      backend: backend.description,
      onProgress: (m) => console.error(`  ${m}`),
    });
    const name = flags.snapshot ? `metrics-${flags.snapshot.replaceAll("/", "_")}.json` : "metrics.json";
    await writeJsonAtomic(`${runDir}/${name}`, { run: runDir, snapshot: flags.snapshot ?? null, ...result });
    console.log(metricsTable(result));
    console.log(
      `\n${result.sampleSizes.imagesEncoded} images encoded in ${result.timings.totalSeconds.toFixed(1)} s ` +
        `(protocol ${result.protocol}, profile ${result.profile}; paper values are reference only, from Table 1, ` +
        `mean±std over 50 runs). Wrote ${runDir}/${name}`,
    );
  } finally {
    model.dispose();
    shutdownBackend();
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(`evaluate: ${(e as Error).message}`);
    shutdownBackend();
    Deno.exit(1);
  }
}
