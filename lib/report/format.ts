/** Cell and provenance formatting shared by the Markdown and HTML renderers, so both print the same text. */
import type { Cell, Provenance, ReportTable, Stat } from "./types.ts";
import { formatSeconds } from "../viz/display.ts";

function isStat(c: Cell): c is Stat {
  return typeof c === "object" && c !== null && typeof (c as Stat).mean === "number";
}

/** 0.8234 → "0.82"; {mean, std} → "0.82±0.01"; null → "" (a blank, as in the paper's table); text as is. */
export function formatCell(c: Cell | undefined, digits = 2): string {
  if (c === null || c === undefined) return "";
  if (typeof c === "string") return c;
  if (typeof c === "number") return Number.isFinite(c) ? c.toFixed(digits) : "n/a";
  if (isStat(c)) {
    if (!Number.isFinite(c.mean)) return "n/a";
    return c.std === undefined || (c.n !== undefined && c.n < 2)
      ? c.mean.toFixed(digits)
      : `${c.mean.toFixed(digits)}±${c.std.toFixed(digits)}`;
  }
  throw new Error(`formatCell: unsupported cell ${JSON.stringify(c)}`);
}

export function formatProvenance(p: Provenance): string {
  const seeds = p.seeds.length === 0 ? "none" : p.seeds.join(", ");
  return `profile ${p.profile} · backend ${p.backend} · seeds ${seeds} · wall time ${formatSeconds(p.wallTimeS)}` +
    (p.note ? ` · ${p.note}` : "") + (p.data ? ` · data: ${p.data}` : "");
}

/** Header label with the source made explicit, so a reader never mistakes a paper value for one of ours. */
export function columnLabel(col: ReportTable["columns"][number]): string {
  if (col.source === "paper") return `${col.label} (paper, reference)`;
  if (col.source === "ours") return `${col.label} (ours)`;
  return col.label;
}

/** mean and population std of values (std omitted for one value). */
export function stat(values: number[]): Stat {
  if (values.length === 0) throw new Error("stat: no values");
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length === 1) return { mean, n: 1 };
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance), n: values.length };
}
