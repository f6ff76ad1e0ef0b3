/**
 * Charts as Vega-Lite specs, rendered headless to SVG (vega-lite compile → vega View with renderer "none" → toSVG) and
 * rasterised to PNG with sharp. The same spec is what a notebook shows interactively and what the report embeds, so a
 * figure in the HTML report and the one in the notebook cannot drift apart.
 *
 * Text in the PNG needs a system font (Debian `fonts-dejavu-core`); without one librsvg draws every glyph as a box.
 */
import * as vegaLite from "vega-lite";
import * as vega from "vega";
import sharp from "sharp";

/** A Vega-Lite (v5 schema) specification as plain JSON. */
export type VegaLiteSpec = Record<string, unknown>;

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";

/** Fonts named explicitly so the SVG looks the same in a browser and in librsvg (which resolves them via fontconfig). */
const CONFIG = {
  font: "DejaVu Sans, Verdana, sans-serif",
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
  title: { fontSize: 14, anchor: "start" },
};

function base(title: string | undefined, width: number, height: number): VegaLiteSpec {
  const spec: VegaLiteSpec = { $schema: SCHEMA, config: CONFIG, width, height, background: "white" };
  if (title) spec.title = title;
  return spec;
}

function assertFinite(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new Error(`${what} must be a finite number, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Compiles a Vega-Lite spec and renders it to an SVG string without a browser. */
export async function specToSvg(spec: VegaLiteSpec): Promise<string> {
  let compiled;
  try {
    compiled = vegaLite.compile(spec as unknown as vegaLite.TopLevelSpec).spec;
  } catch (e) {
    throw new Error(`invalid Vega-Lite spec${spec.title ? ` "${spec.title}"` : ""}: ${(e as Error).message}`);
  }
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG string to PNG bytes. `density` is DPI: 72 keeps the SVG's pixel size, 144 doubles it. */
export async function svgToPng(svg: string, opts: { density?: number } = {}): Promise<Uint8Array> {
  const density = opts.density ?? 144;
  if (!(density > 0 && density <= 600)) throw new Error(`svgToPng: density must be in (0, 600], got ${density}`);
  const buf = await sharp(new TextEncoder().encode(svg), { density }).png().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Spec → PNG bytes in one call. */
export async function specToPng(spec: VegaLiteSpec, opts: { density?: number } = {}): Promise<Uint8Array> {
  return svgToPng(await specToSvg(spec), opts);
}

export interface LineChartOptions {
  /** Field holding the x value in each row (default "iter"). */
  x?: string;
  /** Fields to plot as one line each (default: every numeric field except x and "time"). */
  y?: string[];
  title?: string;
  xTitle?: string;
  yTitle?: string;
  width?: number;
  height?: number;
  /** Plot at most this many points per series, keeping evenly spaced rows (long logs stay small in a notebook). */
  maxPoints?: number;
  /** Vertical marker lines, e.g. `{ x: 3500, label: "CR on" }`. */
  markers?: { x: number; label: string }[];
}

/**
 * Losses (or any series) over iterations: one line per field, from rows such as a run's log.jsonl records
 * `{ iter, lossD, lossG, ... }`. Rows missing a field (or holding a non-finite value, e.g. a loss not yet switched on)
 * simply contribute no point to that series.
 */
export function lineChart(rows: Record<string, unknown>[], opts: LineChartOptions = {}): VegaLiteSpec {
  const x = opts.x ?? "iter";
  if (rows.length === 0) throw new Error("lineChart: no rows to plot");
  const fields = opts.y ??
    Object.keys(rows[0]).filter((k) => k !== x && k !== "time" && typeof rows[0][k] === "number");
  if (fields.length === 0) throw new Error(`lineChart: no numeric series beside "${x}" in the rows`);
  const maxPoints = opts.maxPoints ?? 500;
  const stride = Math.max(1, Math.ceil(rows.length / maxPoints));
  const values: { x: number; series: string; value: number }[] = [];
  for (let r = 0; r < rows.length; r++) {
    if (r % stride !== 0 && r !== rows.length - 1) continue;
    const row = rows[r];
    const xv = assertFinite(row[x], `lineChart: row ${r} field "${x}"`);
    for (const f of fields) {
      const v = row[f];
      if (typeof v === "number" && Number.isFinite(v)) values.push({ x: xv, series: f, value: v });
    }
  }
  if (values.length === 0) throw new Error(`lineChart: none of the fields ${fields.join(", ")} has a finite value`);
  const lines: VegaLiteSpec = {
    data: { values },
    mark: { type: "line", strokeWidth: 1.5 },
    encoding: {
      x: { field: "x", type: "quantitative", title: opts.xTitle ?? x },
      y: { field: "value", type: "quantitative", title: opts.yTitle ?? "value", scale: { zero: false } },
      color: { field: "series", type: "nominal", title: null, sort: fields },
    },
  };
  const markers = (opts.markers ?? []).map((m, i) => ({
    x: assertFinite(m.x, `lineChart: marker ${i} x`),
    label: m.label,
  }));
  if (markers.length === 0) return { ...base(opts.title, opts.width ?? 480, opts.height ?? 260), ...lines };
  return {
    ...base(opts.title, opts.width ?? 480, opts.height ?? 260),
    layer: [
      lines,
      {
        data: { values: markers },
        mark: { type: "rule", strokeDash: [4, 3], color: "#555" },
        encoding: { x: { field: "x", type: "quantitative" } },
      },
      {
        data: { values: markers },
        mark: { type: "text", align: "left", baseline: "top", dx: 3, dy: 2, fontSize: 10, color: "#555" },
        encoding: { x: { field: "x", type: "quantitative" }, y: { value: 0 }, text: { field: "label" } },
      },
    ],
  };
}

export interface HeatmapOptions {
  rowLabels?: string[];
  colLabels?: string[];
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Colour scale domain; default [min, max] of the matrix. */
  domain?: [number, number];
  /** Print each cell's value (default: when the matrix has at most 400 cells). */
  showValues?: boolean;
  /** Decimals for printed values (default 2). */
  digits?: number;
  cellSize?: number;
}

/**
 * A matrix as coloured cells, row 0 at the top (e.g. ModelCentrality's pairwise similarity, a vote table). Non-finite
 * cells are left blank.
 */
export function heatmap(matrix: number[][], opts: HeatmapOptions = {}): VegaLiteSpec {
  const rows = matrix.length;
  if (rows === 0) throw new Error("heatmap: the matrix has no rows");
  const cols = matrix[0].length;
  if (cols === 0) throw new Error("heatmap: the matrix has no columns");
  const rowLabels = opts.rowLabels ?? matrix.map((_, i) => String(i));
  const colLabels = opts.colLabels ?? matrix[0].map((_, j) => String(j));
  if (rowLabels.length !== rows) throw new Error(`heatmap: ${rowLabels.length} row labels for ${rows} rows`);
  if (colLabels.length !== cols) throw new Error(`heatmap: ${colLabels.length} column labels for ${cols} columns`);
  const digits = opts.digits ?? 2;
  const values: { row: string; col: string; value: number; text: string }[] = [];
  for (let i = 0; i < rows; i++) {
    if (matrix[i].length !== cols) {
      throw new Error(`heatmap: row ${i} has ${matrix[i].length} cells, row 0 has ${cols}`);
    }
    for (let j = 0; j < cols; j++) {
      const v = matrix[i][j];
      if (typeof v !== "number") throw new Error(`heatmap: cell [${i}][${j}] is not a number: ${JSON.stringify(v)}`);
      // A non-finite cell (e.g. UDR's never-computed diagonal) is left blank rather than coloured.
      if (Number.isFinite(v)) values.push({ row: rowLabels[i], col: colLabels[j], value: v, text: v.toFixed(digits) });
    }
  }
  if (values.length === 0) throw new Error("heatmap: no finite cell to draw");
  const cell = opts.cellSize ?? Math.max(14, Math.min(48, Math.floor(420 / Math.max(rows, cols))));
  const showValues = opts.showValues ?? rows * cols <= 400;
  const lo = Math.min(...values.map((v) => v.value));
  const hi = Math.max(...values.map((v) => v.value));
  const domain = opts.domain ?? [lo, hi === lo ? lo + 1 : hi];
  const mid = (domain[0] + domain[1]) / 2;
  const layers: VegaLiteSpec[] = [{
    mark: "rect",
    encoding: {
      color: { field: "value", type: "quantitative", scale: { scheme: "viridis", domain }, title: null },
    },
  }];
  if (showValues) {
    layers.push({
      mark: { type: "text", fontSize: Math.min(11, Math.floor(cell / 3.2)) },
      encoding: {
        text: { field: "text", type: "nominal" },
        // Dark cells of viridis get white text, light cells black.
        color: { condition: { test: `datum.value < ${mid}`, value: "white" }, value: "black" },
      },
    });
  }
  return {
    ...base(opts.title, cell * cols, cell * rows),
    data: { values },
    encoding: {
      x: { field: "col", type: "ordinal", sort: colLabels, title: opts.xTitle ?? null, axis: { labelAngle: 0 } },
      y: { field: "row", type: "ordinal", sort: rowLabels, title: opts.yTitle ?? null },
    },
    layer: layers,
  };
}

export interface ScatterPoint {
  x: number;
  y: number;
  /** Colour group (e.g. "InfoGAN-CR" / "FactorVAE"). */
  group?: string;
  /** Text shown next to the point (e.g. a seed). */
  label?: string;
}

export interface ScatterOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  width?: number;
  height?: number;
  /** Draw the y = x diagonal (useful when both axes are scores on the same scale). */
  diagonal?: boolean;
}

/** Points with optional groups and labels (e.g. each pool model's centrality against its supervised FactorVAE score). */
export function scatter(points: ScatterPoint[], opts: ScatterOptions = {}): VegaLiteSpec {
  if (points.length === 0) throw new Error("scatter: no points to plot");
  const values = points.map((p, i) => ({
    x: assertFinite(p.x, `scatter: point ${i} x`),
    y: assertFinite(p.y, `scatter: point ${i} y`),
    group: p.group ?? "",
    label: p.label ?? "",
  }));
  const grouped = values.some((v) => v.group !== "");
  const layers: VegaLiteSpec[] = [
    {
      mark: { type: "point", filled: true, size: 60 },
      encoding: grouped ? { color: { field: "group", type: "nominal", title: null } } : {},
    },
  ];
  if (values.some((v) => v.label !== "")) {
    layers.push({ mark: { type: "text", align: "left", dx: 6, fontSize: 10 }, encoding: { text: { field: "label" } } });
  }
  const spec: VegaLiteSpec = {
    ...base(opts.title, opts.width ?? 380, opts.height ?? 300),
    encoding: {
      x: { field: "x", type: "quantitative", title: opts.xTitle ?? "x", scale: { zero: false } },
      y: { field: "y", type: "quantitative", title: opts.yTitle ?? "y", scale: { zero: false } },
    },
  };
  if (opts.diagonal) {
    const lo = Math.min(...values.map((v) => Math.min(v.x, v.y)));
    const hi = Math.max(...values.map((v) => Math.max(v.x, v.y)));
    return {
      ...spec,
      encoding: undefined,
      layer: [
        {
          data: { values: [{ x: lo, y: lo }, { x: hi, y: hi }] },
          mark: { type: "line", strokeDash: [4, 4], color: "#999" },
          encoding: spec.encoding,
        },
        { data: { values }, encoding: spec.encoding, layer: layers },
      ],
    };
  }
  return { ...spec, data: { values }, layer: layers };
}

export interface BarCell {
  /** The table row, e.g. a model ("InfoGAN-CR (ours)", "InfoGAN-CR (paper)"). Bars of one column are grouped by row. */
  row: string;
  /** The table column, e.g. a metric ("FactorVAE"). One group of bars per column. */
  column: string;
  value: number;
  /** Optional ± shown as an error bar. */
  std?: number;
}

export interface BarTableOptions {
  title?: string;
  yTitle?: string;
  width?: number;
  height?: number;
  /** y-axis domain (default [0, 1]: every disentanglement metric is a score in [0, 1]). */
  domain?: [number, number];
}

/**
 * A table of numbers as grouped bars: one group per column (metric), one coloured bar per row (model) — the Table 1 /
 * Table 3 comparisons at a glance. Cells without a value are simply absent (a blank in the paper's table).
 */
export function barTable(cells: BarCell[], opts: BarTableOptions = {}): VegaLiteSpec {
  if (cells.length === 0) throw new Error("barTable: no cells to plot");
  const rows: string[] = [];
  const cols: string[] = [];
  const values = cells.map((c, i) => {
    const v = assertFinite(c.value, `barTable: cell ${i} (${c.row}, ${c.column})`);
    if (!rows.includes(c.row)) rows.push(c.row);
    if (!cols.includes(c.column)) cols.push(c.column);
    const std = c.std === undefined ? 0 : assertFinite(c.std, `barTable: cell ${i} std`);
    return { row: c.row, column: c.column, value: v, lo: v - std, hi: v + std, hasStd: c.std !== undefined };
  });
  // Bar width shrinks as models are added, so a 7-metric table stays about a page wide.
  const bar = Math.max(6, Math.min(18, Math.floor(72 / rows.length)));
  const x = { field: "column", type: "nominal", sort: cols, title: null, axis: { labelAngle: 0 } };
  const xOffset = { field: "row", type: "nominal", sort: rows };
  const domain = opts.domain ?? [0, 1];
  return {
    ...base(opts.title, opts.width ?? cols.length * (bar * rows.length + 16), opts.height ?? 240),
    data: { values },
    encoding: { x, xOffset },
    layer: [
      {
        mark: "bar",
        encoding: {
          y: { field: "value", type: "quantitative", title: opts.yTitle ?? "score", scale: { domain, clamp: true } },
          color: { field: "row", type: "nominal", sort: rows, title: null, legend: { orient: "bottom", columns: 2 } },
        },
      },
      {
        transform: [{ filter: "datum.hasStd" }],
        mark: { type: "rule", color: "black" },
        encoding: { y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } },
      },
    ],
  };
}

export interface CurveRow {
  /** Panel (e.g. "FactorVAE", "MIG"). */
  metric: string;
  iteration: number;
  value: number;
  /** Colour: e.g. "seed 1". */
  seed: string;
  /** Line style: e.g. "CR arm" (solid) or "control arm" (dashed). */
  arm: string;
}

export interface LearningCurveOptions {
  title?: string;
  /** Reference values drawn as labelled diamonds (e.g. the paper's at 322,560 iterations). */
  references?: { metric: string; iteration: number; value: number; label: string }[];
  /** Horizontal dotted lines per panel (e.g. the untrained model). */
  baselines?: { metric: string; value: number; label: string }[];
  /** Vertical marker lines in every panel. */
  markers?: { x: number; label: string }[];
  width?: number;
  height?: number;
}

/**
 * Metrics against training iterations on a log axis, one panel per metric side by side (each with its own y scale),
 * one colour per seed and one line style and point shape per arm (in `arms` order: solid circles, then dashed squares;
 * the caption should say so); references, baselines and markers in every panel. Iterations must be
 * positive (a log axis has no 0: draw the untrained model as a baseline).
 */
export function learningCurveChart(rows: CurveRow[], opts: LearningCurveOptions = {}): VegaLiteSpec {
  if (rows.length === 0) throw new Error("learningCurveChart: no points to plot");
  const values: Record<string, unknown>[] = rows.map((r, i) => {
    const it = assertFinite(r.iteration, `learningCurveChart: row ${i} iteration`);
    if (it <= 0) throw new Error(`learningCurveChart: row ${i} has iteration ${it}; a log axis needs iterations > 0`);
    return {
      kind: "run",
      ...r,
      value: assertFinite(r.value, `learningCurveChart: row ${i} value`),
      line: `${r.seed}|${r.arm}`,
    };
  });
  for (const [i, r] of (opts.references ?? []).entries()) {
    values.push({ kind: "ref", ...r, value: assertFinite(r.value, `learningCurveChart: reference ${i} value`) });
  }
  const its = values.map((v) => v.iteration as number);
  const first = Math.min(...its), last = Math.max(...its);
  for (const [i, b] of (opts.baselines ?? []).entries()) {
    // The label sits at the left end of the line.
    values.push({
      kind: "base",
      ...b,
      iteration: first,
      value: assertFinite(b.value, `learningCurveChart: baseline ${i} value`),
    });
  }
  const metrics = [...new Set(values.map((v) => v.metric as string))];
  for (const m of opts.markers ?? []) {
    for (const metric of metrics) values.push({ kind: "mark", metric, iteration: m.x, label: m.label });
  }
  // Grid lines and labels at the powers of ten only (a log axis draws every minor tick otherwise).
  const decades: number[] = [];
  for (let p = 10 ** Math.floor(Math.log10(first)); p <= last * 10; p *= 10) decades.push(p);
  const x = {
    field: "iteration",
    type: "quantitative",
    scale: { type: "log", domain: [decades[0], Math.max(last, decades[0] * 10)] },
    title: "training iteration (log scale)",
    axis: { format: "~s", values: decades },
  };
  const y = { field: "value", type: "quantitative", title: null, scale: { zero: false } };
  const only = (kind: string) => [{ filter: `datum.kind === '${kind}'` }];
  const arms = [...new Set(rows.map((r) => r.arm))];
  return {
    $schema: SCHEMA,
    config: CONFIG,
    background: "white",
    ...(opts.title ? { title: opts.title } : {}),
    data: { values },
    facet: { column: { field: "metric", type: "nominal", sort: metrics, title: null } },
    resolve: { scale: { y: "independent" } },
    spec: {
      width: opts.width ?? 300,
      height: opts.height ?? 240,
      layer: [
        {
          transform: only("run"),
          mark: { type: "line", strokeWidth: 1.5 },
          encoding: {
            x,
            y,
            color: { field: "seed", type: "nominal", title: null },
            strokeDash: { field: "arm", type: "nominal", sort: arms, legend: null },
            detail: { field: "line", type: "nominal" },
          },
        },
        {
          // The arm is told by the line style and the point shape (the figure's caption says which is which).
          transform: only("run"),
          mark: { type: "point", filled: true, size: 30 },
          encoding: {
            x,
            y,
            color: { field: "seed", type: "nominal", title: null },
            shape: { field: "arm", type: "nominal", sort: arms, legend: null },
          },
        },
        {
          transform: only("base"),
          mark: { type: "rule", strokeDash: [2, 3], color: "#888" },
          encoding: { y: { field: "value", type: "quantitative" } },
        },
        {
          transform: only("base"),
          mark: { type: "text", align: "left", baseline: "bottom", dx: 2, dy: -2, fontSize: 9, color: "#666" },
          encoding: { x, y: { field: "value", type: "quantitative" }, text: { field: "label" } },
        },
        {
          transform: only("mark"),
          mark: { type: "rule", strokeDash: [4, 3], color: "#555" },
          encoding: { x: { field: "iteration", type: "quantitative" } },
        },
        {
          transform: only("mark"),
          mark: { type: "text", align: "left", baseline: "top", dx: 3, dy: 2, fontSize: 9, color: "#555" },
          encoding: { x, y: { value: 0 }, text: { field: "label" } },
        },
        {
          transform: only("ref"),
          mark: { type: "point", shape: "diamond", filled: true, size: 70, color: "black" },
          encoding: { x, y },
        },
        {
          transform: only("ref"),
          mark: { type: "text", align: "right", dx: -7, fontSize: 9, color: "#333" },
          encoding: { x, y, text: { field: "label" } },
        },
      ],
    },
  };
}

export interface IntervalRow {
  /** One row of the chart (e.g. a metric). */
  label: string;
  estimate: number;
  lo: number;
  hi: number;
  /** The individual values behind the estimate (e.g. one paired difference per seed), drawn as dots. */
  points?: number[];
}

/**
 * Estimates with their intervals as horizontal error bars around a zero line, with the individual values as dots: a
 * row whose bar crosses the zero line is not a difference.
 */
export function intervalChart(
  rows: IntervalRow[],
  opts: { title?: string; xTitle?: string; width?: number } = {},
): VegaLiteSpec {
  if (rows.length === 0) throw new Error("intervalChart: no rows to plot");
  const labels = rows.map((r) => r.label);
  const bars = rows.filter((r) => Number.isFinite(r.lo) && Number.isFinite(r.hi)).map((r) => ({
    label: r.label,
    lo: r.lo,
    hi: r.hi,
  }));
  const est = rows.map((r, i) => ({
    label: r.label,
    value: assertFinite(r.estimate, `intervalChart: row ${i} estimate`),
  }));
  const dots = rows.flatMap((r) => (r.points ?? []).filter(Number.isFinite).map((v) => ({ label: r.label, value: v })));
  const y = { field: "label", type: "nominal", sort: labels, title: null };
  return {
    ...base(opts.title, opts.width ?? 420, Math.max(120, rows.length * 30)),
    layer: [
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: "rule", color: "#999" },
        encoding: { x: { field: "zero", type: "quantitative" } },
      },
      {
        data: { values: dots },
        mark: { type: "tick", color: "#9ab", thickness: 1.5, size: 12 },
        encoding: { x: { field: "value", type: "quantitative", title: opts.xTitle ?? "difference" }, y },
      },
      {
        data: { values: bars },
        mark: { type: "rule", strokeWidth: 2, color: "black" },
        encoding: { x: { field: "lo", type: "quantitative" }, x2: { field: "hi" }, y },
      },
      {
        data: { values: est },
        mark: { type: "point", filled: true, size: 50, color: "black" },
        encoding: { x: { field: "value", type: "quantitative" }, y },
      },
    ],
  };
}
