/**
 * The report's data model: what an experiment hands to the report writer. Plain JSON, so the same object is written to
 * results.json, rendered to Markdown and HTML, and stored in done-markers for resumed runs.
 */

/** Where a table's numbers came from. Printed under every table so no number stands without its context. */
export interface Provenance {
  profile: string;
  /** Backend description, e.g. "wasm (SIMD, 1 thread)". */
  backend: string;
  seeds: number[];
  /** Wall-clock seconds spent producing these numbers (training + evaluation), summed over resumed sessions. */
  wallTimeS: number;
  /** Anything else a reader needs, e.g. "iterations 200 per run, CR on from 120". */
  note?: string;
  /** Which images the numbers were computed on, e.g. "the original dSprites archive PATH (…, sha256 …)". */
  data?: string;
}

/** A number with optional spread over seeds, as the paper prints "0.82±0.01". */
export interface Stat {
  mean: number;
  std?: number;
  /** Number of values behind mean/std. */
  n?: number;
}

/**
 * A table cell: a number, a mean±std, free text (e.g. the paper's "0.59±0.70 (sic)"), or null for a blank (not
 * reported / not computed).
 */
export type Cell = number | Stat | string | null;

export interface TableColumn {
  key: string;
  label: string;
  /**
   * "ours": computed in this run. "paper": the paper's reference value (never computed, never mixed with ours).
   * Omitted for label columns.
   */
  source?: "ours" | "paper";
}

export interface ReportTable {
  id: string;
  title: string;
  caption?: string;
  columns: TableColumn[];
  rows: Record<string, Cell>[];
  provenance: Provenance;
  /** Decimals for numbers (default 2, as the paper). */
  digits?: number;
}

export interface ReportFigure {
  id: string;
  title: string;
  caption: string;
  /** Paths relative to the report folder. At least one is set; HTML prefers svg, then png, then gif. */
  files: { png?: string; svg?: string; gif?: string };
}

export type SectionStatus = "ok" | "partial" | "not-implemented" | "failed" | "skipped";

export interface ReportSection {
  /** The experiment name: "dsprites", "teapots", "celeba", "selection". */
  id: string;
  title: string;
  status: SectionStatus;
  /** The paper's claim this section examines. */
  claim?: string;
  /** Markdown paragraphs (supports `code`, **bold**, *emphasis*, [links](url) and "- " lists). */
  paragraphs: string[];
  tables: ReportTable[];
  figures: ReportFigure[];
  /** Every number of this experiment, for results.json. */
  numbers: Record<string, unknown>;
  /** For status "failed": the error. */
  error?: string;
  wallTimeS: number;
}

export interface Report {
  title: string;
  createdAt: string;
  command: string;
  profile: string;
  backend: string;
  machine: string;
  totalWallTimeS: number;
  /** Run-wide facts worth a line in the header (e.g. how the runs were trained in parallel). */
  notes?: string[];
  sections: ReportSection[];
}
