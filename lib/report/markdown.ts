/** Renders a Report (or one table) as GitHub-flavoured Markdown; figures are linked by relative path. */
import type { Report, ReportSection, ReportTable } from "./types.ts";
import { columnLabel, formatCell, formatProvenance } from "./format.ts";
import { formatSeconds } from "../viz/display.ts";

const STATUS_TEXT: Record<ReportSection["status"], string> = {
  ok: "done",
  partial: "partly done",
  "not-implemented": "not implemented yet",
  failed: "FAILED",
  skipped: "skipped",
};

export function statusText(s: ReportSection["status"]): string {
  return STATUS_TEXT[s];
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function tableToMarkdown(t: ReportTable): string {
  const digits = t.digits ?? 2;
  const lines = [`**${t.title}**`, ""];
  if (t.caption) lines.push(t.caption, "");
  lines.push(`| ${t.columns.map((c) => escapeCell(columnLabel(c))).join(" | ")} |`);
  lines.push(`|${t.columns.map((c) => (c.source ? "---:" : "---")).join("|")}|`);
  for (const row of t.rows) {
    lines.push(`| ${t.columns.map((c) => escapeCell(formatCell(row[c.key], digits))).join(" | ")} |`);
  }
  lines.push("", `*${formatProvenance(t.provenance)}*`);
  return lines.join("\n");
}

export function sectionToMarkdown(s: ReportSection): string {
  const out = [
    `## ${s.title}`,
    "",
    `Status: **${statusText(s.status)}** · wall time ${formatSeconds(s.wallTimeS)}`,
    "",
  ];
  if (s.claim) out.push(`> **The paper's claim.** ${s.claim}`, "");
  if (s.error) out.push("```", s.error, "```", "");
  for (const p of s.paragraphs) out.push(p, "");
  for (const t of s.tables) out.push(tableToMarkdown(t), "");
  for (const f of s.figures) {
    const file = f.files.png ?? f.files.gif ?? f.files.svg;
    out.push(`![${f.title}](${file})`, "", `*${f.caption}*`, "");
  }
  return out.join("\n");
}

export function reportToMarkdown(r: Report): string {
  const out = [
    `# ${r.title}`,
    "",
    `- Created: ${r.createdAt}`,
    `- Command: \`${r.command}\``,
    `- Profile: ${r.profile}`,
    `- Backend: ${r.backend}`,
    `- Machine: ${r.machine}`,
    `- Total wall time: ${formatSeconds(r.totalWallTimeS)}`,
    ...(r.notes ?? []).map((n) => `- ${n}`),
    "",
    "Numbers marked *(ours)* were computed in this run; *(paper, reference)* columns are the paper's published values, " +
    "copied for comparison and never used in any computation. Every table states the profile, backend, seeds and wall " +
    "time that produced it. Small profiles train for a tiny fraction of the paper's iterations, so their numbers are " +
    "not expected to match the paper.",
    "",
    "| experiment | status | wall time |",
    "|---|---|---:|",
    ...r.sections.map((s) =>
      `| [${s.title}](#${anchor(s.title)}) | ${statusText(s.status)} | ${formatSeconds(s.wallTimeS)} |`
    ),
    "",
  ];
  for (const s of r.sections) out.push(sectionToMarkdown(s));
  return out.join("\n").replace(/\n{3,}/g, "\n\n") + "\n";
}

/** GitHub's heading anchor: lower case, spaces to dashes, punctuation dropped. */
export function anchor(title: string): string {
  return title.toLowerCase().replace(/[^\p{L}\p{N} -]/gu, "").replace(/ /g, "-");
}
