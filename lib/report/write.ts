/**
 * Writes a report folder: report.md (figures linked), report.html (self-contained), results.json (every number), and
 * figure files saved by `saveChart`/`saveImage`. All writes are atomic.
 */
import { join } from "node:path";
import type { Report, ReportFigure } from "./types.ts";
import { reportToMarkdown } from "./markdown.ts";
import { reportToHtml } from "./html.ts";
import { writeBytesAtomic, writeJsonAtomic, writeTextAtomic } from "../io/atomic.ts";
import { specToSvg, svgToPng, type VegaLiteSpec } from "../viz/charts.ts";

export interface WrittenReport {
  markdown: string;
  html: string;
  json: string;
}

export async function writeReport(dir: string, report: Report): Promise<WrittenReport> {
  await Deno.mkdir(dir, { recursive: true });
  const paths = { markdown: join(dir, "report.md"), html: join(dir, "report.html"), json: join(dir, "results.json") };
  await writeJsonAtomic(paths.json, {
    title: report.title,
    createdAt: report.createdAt,
    command: report.command,
    profile: report.profile,
    backend: report.backend,
    machine: report.machine,
    totalWallTimeS: report.totalWallTimeS,
    notes: report.notes ?? [],
    experiments: Object.fromEntries(report.sections.map((s) => [s.id, {
      status: s.status,
      error: s.error,
      wallTimeS: s.wallTimeS,
      numbers: s.numbers,
      tables: s.tables,
    }])),
  });
  await writeTextAtomic(paths.markdown, reportToMarkdown(report));
  await writeTextAtomic(paths.html, await reportToHtml(report, dir));
  return paths;
}

/**
 * Renders a chart to `<reportDir>/<relBase>.svg` and `.png` and returns the figure entry pointing at both.
 * `relBase` is relative to the report folder, e.g. "figures/dsprites_losses".
 */
export async function saveChart(
  reportDir: string,
  relBase: string,
  spec: VegaLiteSpec,
  meta: { id: string; title: string; caption: string },
): Promise<ReportFigure> {
  const svg = await specToSvg(spec);
  await writeTextAtomic(join(reportDir, `${relBase}.svg`), svg);
  await writeBytesAtomic(join(reportDir, `${relBase}.png`), await svgToPng(svg));
  return { ...meta, files: { svg: `${relBase}.svg`, png: `${relBase}.png` } };
}

/** Saves PNG or GIF bytes at `<reportDir>/<relPath>` and returns the figure entry. */
export async function saveImage(
  reportDir: string,
  relPath: string,
  bytes: Uint8Array,
  meta: { id: string; title: string; caption: string },
): Promise<ReportFigure> {
  await writeBytesAtomic(join(reportDir, relPath), bytes);
  return { ...meta, files: relPath.endsWith(".gif") ? { gif: relPath } : { png: relPath } };
}
