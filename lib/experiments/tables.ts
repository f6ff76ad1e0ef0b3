/**
 * Tables and bar charts that put our metric values beside the paper's. Rows are the seven metrics (the paper's column
 * order); each model gets an "(ours)" column, computed in this run, and where the paper reports it a
 * "(paper, reference)" column. Our cells are mean±std over seeds; a metric we did not compute stays blank.
 */
import type { BarCell } from "../viz/charts.ts";
import { stat } from "../report/format.ts";
import type { Cell, Provenance, ReportTable, TableColumn } from "../report/types.ts";
import { METRIC_COLUMNS, type MetricKey } from "./paper_tables.ts";

export type Scores = Partial<Record<MetricKey, number>>;

export interface ModelColumn {
  label: string;
  /** One score set per seed (run). */
  ours: Scores[];
  /** The paper's values for this model, or null when the paper has none to compare with. */
  paper: Partial<Record<MetricKey, Cell>> | null;
}

/** mean±std over runs of one metric, or null when no run has it. */
export function metricStat(runs: Scores[], key: MetricKey): Cell {
  const vals = runs.map((r) => r[key]).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  return vals.length === 0 ? null : stat(vals);
}

export function metricsComparisonTable(o: {
  id: string;
  title: string;
  caption?: string;
  models: ModelColumn[];
  provenance: Provenance;
}): ReportTable {
  const columns: TableColumn[] = [{ key: "metric", label: "Metric" }];
  o.models.forEach((m, i) => {
    columns.push({ key: `ours${i}`, label: m.label, source: "ours" });
    if (m.paper) columns.push({ key: `paper${i}`, label: m.label, source: "paper" });
  });
  const rows = METRIC_COLUMNS.map((mc) => {
    const row: Record<string, Cell> = { metric: mc.label };
    o.models.forEach((m, i) => {
      row[`ours${i}`] = metricStat(m.ours, mc.key);
      if (m.paper) row[`paper${i}`] = m.paper[mc.key] ?? null;
    });
    return row;
  });
  return { id: o.id, title: o.title, caption: o.caption, columns, rows, provenance: o.provenance };
}

/** Bars for a barTable chart: each model's mean (with std) and, beside it, the paper's value where it is a number. */
export function comparisonBars(models: ModelColumn[]): BarCell[] {
  const cells: BarCell[] = [];
  for (const mc of METRIC_COLUMNS) {
    for (const m of models) {
      const ours = metricStat(m.ours, mc.key);
      if (ours !== null && typeof ours === "object") {
        cells.push({ row: `${m.label} (ours)`, column: mc.label, value: ours.mean, std: ours.std });
      }
      const p = m.paper?.[mc.key];
      if (typeof p === "number") cells.push({ row: `${m.label} (paper)`, column: mc.label, value: p });
      else if (p && typeof p === "object") cells.push({ row: `${m.label} (paper)`, column: mc.label, value: p.mean });
    }
  }
  return cells;
}

/** Plain numbers of a table for results.json and tests: {modelLabel: {metricKey: mean}} for our columns only. */
export function oursMeans(models: ModelColumn[]): Record<string, Scores> {
  const out: Record<string, Scores> = {};
  for (const m of models) {
    const s: Scores = {};
    for (const mc of METRIC_COLUMNS) {
      const c = metricStat(m.ours, mc.key);
      if (c !== null && typeof c === "object") s[mc.key] = c.mean;
    }
    out[m.label] = s;
  }
  return out;
}
