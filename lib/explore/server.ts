/**
 * The explorer's local server (Deno.serve): answers GET/HEAD for the keys of one prepared site (site.ts) and nothing
 * else. It listens on 127.0.0.1 unless told otherwise, and then also refuses requests whose Host header is not a
 * loopback name (a web page elsewhere cannot reach it through DNS rebinding). It reads no file after start-up and
 * writes none.
 */
import type { Site } from "./site.ts";
import { loopbackHost, sitePath } from "./paths.ts";

/** The page's Content-Security-Policy: everything from this origin, nothing from anywhere else. */
export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; " +
  "img-src 'self' data: blob:; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; " +
  "frame-ancestors 'none'";

const SECURITY_HEADERS = {
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
};

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function plain(status: number, text: string, extra: Record<string, string> = {}): Response {
  return new Response(text + "\n", {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8", ...extra },
  });
}

/**
 * The response to one request. `checkHost`: the server listens on loopback and answers only requests addressed to a
 * loopback name on its port.
 */
export function respond(site: Site | null, req: Request, opts: { port: number; checkHost: boolean }): Response {
  if (req.method !== "GET" && req.method !== "HEAD") return plain(405, "method not allowed", { allow: "GET, HEAD" });
  if (opts.checkHost && !loopbackHost(req.headers.get("host"), opts.port)) {
    return plain(403, "refused: this explorer answers only to 127.0.0.1 / localhost");
  }
  if (!site) {
    return plain(503, "the explorer is still preparing its models: reload in a moment", { "retry-after": "2" });
  }
  let pathname: string;
  try {
    pathname = new URL(req.url).pathname;
  } catch {
    return plain(400, "refused: malformed URL");
  }
  const p = sitePath(pathname);
  if (!p.ok) return plain(400, `refused: ${p.reason}`);
  const file = site.files.get(p.key);
  if (!file) return plain(404, "not found: this explorer serves only its page and the models it was given");
  return new Response(req.method === "HEAD" ? null : file.bytes, {
    status: 200,
    headers: { ...SECURITY_HEADERS, "content-type": file.type, "content-length": String(file.bytes.byteLength) },
  });
}

/** The port asked for is taken: the message says which and how to choose another. */
export class AddressInUseError extends Error {}

export interface ExplorerServer {
  /** The page's address, e.g. http://127.0.0.1:41234/ */
  url: string;
  port: number;
  /** The site to answer from (until it is set, every request gets 503 "still preparing"). */
  setSite(site: Site): void;
  finished: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Serves `site` on host:port (port 0: a free one). A port in use is an error that says so and how to pick another.
 * Without a site yet, the port is taken at once (so a port in use is reported before the models are prepared) and the
 * site is given later with `setSite`.
 */
export function serveSite(site: Site | null, opts: { host?: string; port?: number } = {}): ExplorerServer {
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? 0;
  const checkHost = isLoopback(host);
  let bound = 0;
  let current = site;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname: host, port, onListen: () => {} },
      (req) => respond(current, req, { port: bound, checkHost }),
    );
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new AddressInUseError(
        `port ${port} on ${host} is already in use (another explorer or server?): ` +
          "choose another with --port N, or leave --port out for a free one",
      );
    }
    if (e instanceof Deno.errors.AddrNotAvailable || e instanceof Deno.errors.PermissionDenied) {
      throw new Error(`cannot listen on ${host}:${port}: ${(e as Error).message}`);
    }
    throw e;
  }
  bound = server.addr.port;
  const shown = host.includes(":") ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host;
  return {
    url: `http://${shown}:${bound}/`,
    port: bound,
    setSite: (s) => {
      current = s;
    },
    finished: server.finished,
    shutdown: () => server.shutdown(),
  };
}
