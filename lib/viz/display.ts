/**
 * Rich output for notebooks on the Deno Jupyter kernel. Every helper is a no-op outside Jupyter (returns false), so
 * experiment code can call it unconditionally and still run headless under `deno run`.
 *
 * A chart is shown as one MIME bundle holding the Vega-Lite spec (interactive in JupyterLab) together with its SVG
 * rendering, because `jupyter nbconvert --to html` ignores the Vega-Lite MIME type and would otherwise show nothing.
 */
import { specToSvg, type VegaLiteSpec } from "./charts.ts";

interface JupyterApi {
  display(obj: Record<string, unknown>, opts?: { raw?: boolean; update?: boolean; display_id?: string }): Promise<void>;
  image?(data: Uint8Array | string): unknown;
}

/** The kernel's `Deno.jupyter`, or null: outside `deno jupyter` its getter throws rather than returning undefined. */
function jupyter(): JupyterApi | null {
  try {
    const api = (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
    return api && typeof api.display === "function" ? api : null;
  } catch {
    return null;
  }
}

/** Whether this code runs inside the Deno Jupyter kernel. */
export function inJupyter(): boolean {
  return jupyter() !== null;
}

/**
 * Shows a raw MIME bundle; nothing outside Jupyter. The show* helpers resolve to undefined on purpose: a value would
 * be echoed as the cell's result ("true") under the last expression of a notebook cell.
 */
export async function displayBundle(bundle: Record<string, unknown>): Promise<void> {
  const api = jupyter();
  if (!api) return;
  await api.display(bundle, { raw: true });
  await settle();
}

/**
 * Measured with nbconvert: a display sent just before a cell ends is sometimes missing from the executed notebook
 * (the kernel reports the cell idle before the display message is out). A short pause after each display lets it
 * leave first.
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 25));
}

/** Shows a Vega-Lite chart with its SVG rendering in the same output (so exported HTML keeps it). */
export async function showChart(spec: VegaLiteSpec, opts: { caption?: string } = {}): Promise<void> {
  if (!inJupyter()) return;
  const svg = await specToSvg(spec);
  const title = typeof spec.title === "string" ? spec.title : "chart";
  await displayBundle({
    "application/vnd.vegalite.v5+json": spec,
    "image/svg+xml": svg,
    "text/plain": opts.caption ?? `[chart: ${title}]`,
  });
}

/**
 * A chart output that is redrawn in place (Jupyter display_id), e.g. a loss plot during training. Each `update` replaces
 * the previous rendering; outside Jupyter it does nothing.
 */
export function liveChart(label = "chart"): { update(spec: VegaLiteSpec): Promise<void> } {
  const id = `live-${label}-${crypto.randomUUID().slice(0, 8)}`;
  let shown = false;
  return {
    async update(spec: VegaLiteSpec): Promise<void> {
      const api = jupyter();
      if (!api) return;
      const svg = await specToSvg(spec);
      await api.display({
        "application/vnd.vegalite.v5+json": spec,
        "image/svg+xml": svg,
        "text/plain": `[chart: ${typeof spec.title === "string" ? spec.title : label}]`,
      }, { raw: true, display_id: id, update: shown });
      await settle();
      shown = true;
    },
  };
}

function base64(bytes: Uint8Array): string {
  let bin = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) bin += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(bin);
}

/** Magic bytes decide the MIME type, so a GIF is never labelled as PNG. */
function imageMime(bytes: Uint8Array): "image/png" | "image/gif" | "image/jpeg" {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return "image/png";
  if (bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46) return "image/gif";
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return "image/jpeg";
  throw new Error("showImage: bytes are neither PNG, GIF nor JPEG");
}

/**
 * Shows a PNG, GIF or JPEG image, optionally scaled up for display (small 64×64 grids are unreadable at 1:1).
 * Animated GIFs stay animated in the notebook and in exported HTML.
 */
export async function showImage(bytes: Uint8Array, opts: { caption?: string; width?: number } = {}): Promise<void> {
  if (!inJupyter()) return;
  const mime = imageMime(bytes);
  const data = base64(bytes);
  const bundle: Record<string, unknown> = { [mime]: data, "text/plain": opts.caption ?? `[${mime}]` };
  // The raw bundle carries no display metadata, so a display width goes through an HTML <img> beside the image itself.
  if (opts.width) {
    bundle["text/html"] = `<img src="data:${mime};base64,${data}" width="${Math.round(opts.width)}" ` +
      `style="image-rendering: pixelated" alt="${escapeHtml(opts.caption ?? "")}"/>`;
  }
  await displayBundle(bundle);
  if (opts.caption) await showMarkdown(`*${opts.caption}*`);
}

/** Shows Markdown (tables of results, captions). */
export async function showMarkdown(md: string): Promise<void> {
  await displayBundle({ "text/markdown": md, "text/plain": md });
}

/** Shows HTML. */
export async function showHtml(html: string, plain = "[html]"): Promise<void> {
  await displayBundle({ "text/html": html, "text/plain": plain });
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * A progress line for long loops: in Jupyter it updates one output in place (display_id), elsewhere it writes to stderr
 * at most every `everyMs`. Returns a function to call with (done, total, extra text).
 */
export function progressReporter(label: string, opts: { everyMs?: number } = {}): (
  done: number,
  total: number,
  extra?: string,
) => Promise<void> {
  const every = opts.everyMs ?? 2000;
  const start = performance.now();
  let last = -Infinity;
  const id = `progress-${label}-${Math.floor(start)}`;
  let shown = false;
  return async (done, total, extra = "") => {
    const now = performance.now();
    if (now - last < every && done < total) return;
    last = now;
    const line = formatProgress(label, done, total, (now - start) / 1000, extra);
    const api = jupyter();
    if (api) {
      await api.display({ "text/plain": line }, { raw: true, display_id: id, update: shown });
      await settle();
      shown = true;
    } else {
      console.error(line);
    }
  };
}

/** "label 40/100 (40%) 12s elapsed, ETA 18s extra" — ETA from the average rate so far. */
export function formatProgress(label: string, done: number, total: number, elapsedS: number, extra = ""): string {
  const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
  const eta = done > 0 && done < total ? ` ETA ${formatSeconds((elapsedS * (total - done)) / done)}` : "";
  return `${label} ${done}/${total} (${pct}%) ${formatSeconds(elapsedS)} elapsed${eta}${extra ? " " + extra : ""}`;
}

/** 75 → "1m15s", 3700 → "1h01m", 4.2 → "4.2s". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  if (s < 9.95) return `${s.toFixed(1)}s`;
  s = Math.round(s);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
