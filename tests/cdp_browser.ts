/**
 * Headless Chromium driven over the DevTools protocol with Deno's own WebSocket, for the browser tests (not a test file
 * itself). Uses Debian's `chromium` (a test installs it with apt when running as root, as CI does); no browser download.
 *
 * The flags are the ones a headless start needs on a closed network: no background networking, component updates,
 * sync or QUIC (otherwise Chromium keeps trying to reach Google's hosts), a fresh profile, no sandbox (root in a
 * container). WebGL comes from SwiftShader, Chromium's software renderer, so the page's WebGL path runs too.
 */

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
export const INSTALL_HINT =
  "install Debian's Chromium: apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends chromium " +
  "(or set CHROMIUM=/path/to/chrome)";

async function exists(p: string): Promise<boolean> {
  try {
    return (await Deno.stat(p)).isFile;
  } catch {
    return false;
  }
}

/** The Chromium binary: $CHROMIUM, else Debian's (or another usual) path; null when there is none. */
export async function findChromium(): Promise<string | null> {
  const env = Deno.env.get("CHROMIUM");
  if (env) return (await exists(env)) ? env : null;
  for (const c of CANDIDATES) if (await exists(c)) return c;
  return null;
}

/** Whether this process may install Debian's chromium itself (root with apt-get, as in CI). */
export async function canInstallChromium(): Promise<boolean> {
  if (Deno.env.get("CHROMIUM") || Deno.uid?.() !== 0) return false;
  try {
    return (await new Deno.Command("apt-get", { args: ["--version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

/** Installs Debian's chromium with apt-get (root only) and returns its path; throws with apt's error otherwise. */
export async function installChromium(): Promise<string> {
  const run = async (args: string[]) => {
    const r = await new Deno.Command("apt-get", {
      args: ["-o", "DPkg::Lock::Timeout=900", ...args],
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { ok: r.success, err: new TextDecoder().decode(r.stderr).slice(-800) };
  };
  console.error("browser test: installing Debian's chromium with apt-get ...");
  let r = await run(["install", "-y", "--no-install-recommends", "chromium"]);
  if (!r.ok) {
    await run(["update", "-qq"]);
    r = await run(["install", "-y", "--no-install-recommends", "chromium"]);
  }
  const path = await findChromium();
  if (!path) throw new Error(`apt-get could not install chromium (${r.err}); ${INSTALL_HINT}`);
  return path;
}

type Pending = { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void; method: string };

/** One WebSocket connection to the browser; page sessions are multiplexed over it (flat sessions). */
class Connection {
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private listeners: ((msg: { method: string; params: Record<string, unknown>; sessionId?: string }) => void)[] = [];

  private constructor(private ws: WebSocket) {
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data));
      if (typeof msg.id === "number") {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`${p.method}: ${msg.error.message}`));
        else p.resolve(msg.result ?? {});
      } else if (msg.method) {
        for (const l of this.listeners) l(msg);
      }
    };
    ws.onclose = () => {
      for (const p of this.pending.values()) p.reject(new Error(`${p.method}: browser connection closed`));
      this.pending.clear();
    };
  }

  static open(url: string): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve(new Connection(ws));
      ws.onerror = () => reject(new Error(`cannot connect to the browser at ${url}`));
    });
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  on(l: (msg: { method: string; params: Record<string, unknown>; sessionId?: string }) => void): void {
    this.listeners.push(l);
  }

  close(): void {
    this.ws.close();
  }
}

export class Page {
  /** Every URL the page requested (Network.requestWillBeSent). */
  readonly requests: string[] = [];
  /** Console messages and uncaught exceptions, for failure messages. */
  readonly console: string[] = [];

  constructor(private conn: Connection, readonly sessionId: string) {
    conn.on((msg) => {
      if (msg.sessionId !== sessionId) return;
      if (msg.method === "Network.requestWillBeSent") {
        this.requests.push((msg.params.request as { url: string }).url);
      } else if (msg.method === "Runtime.consoleAPICalled") {
        const args = msg.params.args as { value?: unknown; description?: string }[];
        this.console.push(`${msg.params.type}: ${args.map((a) => a.value ?? a.description).join(" ")}`);
      } else if (msg.method === "Runtime.exceptionThrown") {
        const d = msg.params.exceptionDetails as { text: string; exception?: { description?: string } };
        this.console.push(`exception: ${d.exception?.description ?? d.text}`);
      }
    });
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.conn.send(method, params, this.sessionId);
  }

  async goto(url: string): Promise<void> {
    await this.send("Page.navigate", { url });
  }

  /** The value of a JavaScript expression in the page (promises awaited). */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }) as {
      result: { value?: T };
      exceptionDetails?: { text: string; exception?: { description?: string } };
    };
    if (r.exceptionDetails) {
      throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    }
    return r.result.value as T;
  }

  /** Polls `expression` until it is truthy; on timeout the error shows the page's console. */
  async waitFor(expression: string, timeoutMs = 30_000): Promise<void> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      try {
        if (await this.evaluate<boolean>(`Boolean(${expression})`)) return;
      } catch { /* page still loading */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${expression}\npage console:\n${this.console.join("\n")}`);
  }

  /** A real mouse click at page coordinates (x, y). */
  async click(x: number, y: number): Promise<void> {
    for (const type of ["mousePressed", "mouseReleased"]) {
      await this.send("Input.dispatchMouseEvent", { type, x, y, button: "left", clickCount: 1 });
    }
  }

  /** A PNG of the whole page, or of the region `clip` (page coordinates, CSS pixels). */
  async screenshot(clip?: { x: number; y: number; width: number; height: number }): Promise<Uint8Array> {
    const r = await this.send("Page.captureScreenshot", {
      format: "png",
      captureBeyondViewport: true,
      ...(clip ? { clip: { ...clip, scale: 1 } } : {}),
    }) as { data: string };
    return Uint8Array.from(atob(r.data), (c) => c.charCodeAt(0));
  }
}

export class Browser {
  private constructor(
    private proc: Deno.ChildProcess,
    private conn: Connection,
    private profile: string,
  ) {}

  static async launch(executable: string, opts: { width?: number; height?: number } = {}): Promise<Browser> {
    const profile = await Deno.makeTempDir({ prefix: "igcr-chromium-" });
    const proc = new Deno.Command(executable, {
      args: [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-unsafe-swiftshader",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--mute-audio",
        `--window-size=${opts.width ?? 1360},${opts.height ?? 1000}`,
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Chromium prints "DevTools listening on ws://..." on stderr once it is ready.
    const reader = proc.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    const deadline = Date.now() + 30_000;
    let url: string | undefined;
    while (!url) {
      const timeout = new Promise<{ done: true; value: undefined }>((r) =>
        setTimeout(() => r({ done: true, value: undefined }), Math.max(0, deadline - Date.now()))
      );
      const { done, value } = await Promise.race([reader.read(), timeout]);
      if (done) break;
      buf += value;
      url = /DevTools listening on (ws:\/\/\S+)/.exec(buf)?.[1];
    }
    if (!url) {
      try {
        proc.kill("SIGKILL");
      } catch { /* gone */ }
      throw new Error(`Chromium did not start:\n${buf.slice(-2000)}`);
    }
    // Keep draining stderr so Chromium never blocks on a full pipe.
    (async () => {
      try {
        while (!(await reader.read()).done) { /* discard */ }
      } catch { /* closed */ }
    })();
    const conn = await Connection.open(url);
    return new Browser(proc, conn, profile);
  }

  async newPage(): Promise<Page> {
    const { targetId } = await this.conn.send("Target.createTarget", { url: "about:blank" }) as { targetId: string };
    const { sessionId } = await this.conn.send("Target.attachToTarget", { targetId, flatten: true }) as {
      sessionId: string;
    };
    const page = new Page(this.conn, sessionId);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.send("Network.enable");
    return page;
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.conn.send("Browser.close"), new Promise((r) => setTimeout(r, 3000))]);
    } catch { /* already closing */ }
    this.conn.close();
    try {
      this.proc.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.proc.status;
    await Deno.remove(this.profile, { recursive: true }).catch(() => {});
  }
}
