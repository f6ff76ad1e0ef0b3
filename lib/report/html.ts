/**
 * Renders a Report as one self-contained HTML page: SVG figures inlined, PNG/GIF figures as data URIs, so the file can
 * be mailed or attached to a review without its folder.
 */
import { join } from "node:path";
import type { Report, ReportFigure, ReportSection, ReportTable } from "./types.ts";
import { columnLabel, formatCell, formatProvenance } from "./format.ts";
import { anchor, statusText } from "./markdown.ts";
import { escapeHtml, formatSeconds } from "../viz/display.ts";

/** The small Markdown subset experiments use in paragraphs: `code`, **bold**, *em*, [text](url), "- " lists. */
export function inlineMarkdownToHtml(md: string): string {
  const lines = md.split("\n");
  const isList = lines.every((l) => l.startsWith("- "));
  const inline = (s: string) =>
    escapeHtml(s)
      .replace(/`([^`]+)`/g, "<code>$1</code>")
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
      .replace(/\*([^*]+)\*/g, "<em>$1</em>")
      .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, '<a href="$2">$1</a>');
  if (isList) return `<ul>${lines.map((l) => `<li>${inline(l.slice(2))}</li>`).join("")}</ul>`;
  return `<p>${inline(md)}</p>`;
}

function tableToHtml(t: ReportTable): string {
  const digits = t.digits ?? 2;
  const head = t.columns.map((c) => `<th class="${c.source ?? "label"}">${escapeHtml(columnLabel(c))}</th>`).join("");
  const body = t.rows.map((row) =>
    `<tr>${
      t.columns.map((c) => `<td class="${c.source ?? "label"}">${escapeHtml(formatCell(row[c.key], digits))}</td>`)
        .join("")
    }</tr>`
  ).join("\n");
  return `<figure class="table" id="${escapeHtml(t.id)}"><figcaption><strong>${escapeHtml(t.title)}</strong>${
    t.caption ? " " + escapeHtml(t.caption) : ""
  }</figcaption><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>` +
    `<p class="prov">${escapeHtml(formatProvenance(t.provenance))}</p></figure>`;
}

function base64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

async function figureToHtml(f: ReportFigure, dir: string): Promise<string> {
  let body: string;
  try {
    if (f.files.svg) {
      const svg = await Deno.readTextFile(join(dir, f.files.svg));
      body = svg.replace(/^<\?xml[^>]*>\s*/, "");
    } else {
      const file = f.files.png ?? f.files.gif;
      if (!file) throw new Error("figure has no file");
      const mime = file.endsWith(".gif") ? "image/gif" : "image/png";
      const bytes = await Deno.readFile(join(dir, file));
      body = `<img src="data:${mime};base64,${base64(bytes)}" alt="${escapeHtml(f.title)}">`;
    }
  } catch (e) {
    body = `<p class="missing">figure ${escapeHtml(f.id)} is missing: ${escapeHtml((e as Error).message)}</p>`;
  }
  return `<figure id="${escapeHtml(f.id)}">${body}<figcaption><strong>${escapeHtml(f.title)}.</strong> ${
    escapeHtml(f.caption)
  }</figcaption></figure>`;
}

async function sectionToHtml(s: ReportSection, dir: string): Promise<string> {
  const parts = [
    `<section id="${anchor(s.title)}"><h2>${escapeHtml(s.title)}</h2>`,
    `<p class="status ${s.status}">Status: <strong>${statusText(s.status)}</strong> · wall time ${
      formatSeconds(s.wallTimeS)
    }</p>`,
  ];
  if (s.claim) parts.push(`<blockquote><strong>The paper's claim.</strong> ${escapeHtml(s.claim)}</blockquote>`);
  if (s.error) parts.push(`<pre class="error">${escapeHtml(s.error)}</pre>`);
  for (const p of s.paragraphs) parts.push(inlineMarkdownToHtml(p));
  for (const t of s.tables) parts.push(tableToHtml(t));
  for (const f of s.figures) parts.push(await figureToHtml(f, dir));
  parts.push("</section>");
  return parts.join("\n");
}

const STYLE = `
body { font-family: "DejaVu Sans", Verdana, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: .5em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; }
td.ours, td.paper { text-align: right; font-variant-numeric: tabular-nums; }
th.paper, td.paper { background: #f4f4f4; color: #555; }
.prov { font-size: 12px; color: #666; margin: 0; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; image-rendering: pixelated; }
figcaption { font-size: 14px; }
blockquote { border-left: 4px solid #89a; margin: 1em 0; padding: .3em 1em; background: #f6f8fa; }
.status.failed { color: #b00; } .status.not-implemented { color: #a60; }
pre.error { background: #fee; padding: .5em; white-space: pre-wrap; }
code { background: #f2f2f2; padding: 0 3px; }
`;

export async function reportToHtml(r: Report, dir: string): Promise<string> {
  const sections = [];
  for (const s of r.sections) sections.push(await sectionToHtml(s, dir));
  const rows = r.sections.map((s) =>
    `<tr><td><a href="#${anchor(s.title)}">${escapeHtml(s.title)}</a></td><td class="status ${s.status}">${
      statusText(s.status)
    }</td><td>${formatSeconds(s.wallTimeS)}</td></tr>`
  ).join("");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(r.title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(r.title)}</h1>
<ul>
<li>Created: ${escapeHtml(r.createdAt)}</li><li>Command: <code>${escapeHtml(r.command)}</code></li>
<li>Profile: ${escapeHtml(r.profile)}</li><li>Backend: ${escapeHtml(r.backend)}</li>
<li>Machine: ${escapeHtml(r.machine)}</li><li>Total wall time: ${formatSeconds(r.totalWallTimeS)}</li>
${(r.notes ?? []).map((n) => `<li>${escapeHtml(n)}</li>`).join("\n")}
</ul>
<p>Columns marked <em>(ours)</em> were computed in this run; <em>(paper, reference)</em> columns (shaded) are the
paper's published values, copied for comparison and never used in any computation. Small profiles train for a tiny
fraction of the paper's iterations, so their numbers are not expected to match the paper.</p>
<table><thead><tr><th>experiment</th><th>status</th><th>wall time</th></tr></thead><tbody>${rows}</tbody></table>
${sections.join("\n")}
</body></html>
`;
}
