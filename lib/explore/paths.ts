/**
 * Which request paths the explorer answers. The server never maps a URL onto the file system: a request path is
 * turned into a site key ("index.html", "models/ID/generator/model.json") and looked up in the site's fixed table
 * (site.ts), which holds only the page's assets and the files prepared for the models and pools the explorer was given.
 * This module only refuses, early and with a reason, what could never be a site key: parent or current-folder
 * segments (also percent-encoded), empty segments, backslashes, drive letters, control characters, dot files.
 */

/** A site key segment: a letter or digit first, then letters, digits, '.', '_' or '-'. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export type SitePath = { ok: true; key: string } | { ok: false; reason: string };

/**
 * The site key of a request path (the URL's pathname, still percent-encoded, as `new URL(req.url).pathname` gives),
 * or the reason it is refused. "/" is "index.html".
 */
export function sitePath(pathname: string): SitePath {
  if (!pathname.startsWith("/")) return { ok: false, reason: "not an absolute request path" };
  if (pathname === "/") return { ok: true, key: "index.html" };
  const raw = pathname.slice(1).split("/");
  const segments: string[] = [];
  for (const r of raw) {
    let s: string;
    try {
      s = decodeURIComponent(r);
    } catch {
      return { ok: false, reason: "malformed percent-encoding" };
    }
    if (s === "") return { ok: false, reason: "empty path segment" };
    if (s === "." || s === "..") return { ok: false, reason: "'.' or '..' segment" };
    // deno-lint-ignore no-control-regex -- control characters are exactly what this refuses
    if (/[\\/:\0-\x1f\x7f]/.test(s)) return { ok: false, reason: "separator, drive or control character in a segment" };
    if (!SEGMENT.test(s)) {
      return { ok: false, reason: "a segment outside [A-Za-z0-9._-] or starting with '.', '_', '-'" };
    }
    segments.push(s);
  }
  return { ok: true, key: segments.join("/") };
}

/** A model or pool id safe as one site key segment, made from a folder name. */
export function safeId(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "").replace(/-+$/, "");
  return s === "" ? "model" : s.slice(0, 80);
}

/** Whether `host` (the Host header) names a loopback address on `port`, the only names a 127.0.0.1 server answers to. */
export function loopbackHost(host: string | null, port: number): boolean {
  if (host === null) return false;
  const h = host.toLowerCase();
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(h);
}
