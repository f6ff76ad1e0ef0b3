/**
 * `deno task notebooks [--only 01,03] [--out DIR] [--profile smoke] [--timeout S] [--no-html]`
 *
 * Executes every notebooks/*.ipynb headless in real Jupyter with the Deno kernel (Debian's nbconvert), in the `smoke`
 * profile unless told otherwise, writes the executed notebooks and their HTML exports to DIR (default
 * runs/notebooks), and exits non-zero naming the notebook and cell of any error.
 *
 * Jupyter is installed on demand when running as root with apt (CI); otherwise the error says exactly how.
 * The Deno kernelspec is (re)installed from this very `deno` binary so the kernel and the CLI agree on versions.
 */
import { basename, join, resolve } from "node:path";
import { z } from "zod";
import { defineCommand, type Flags, UsageError } from "../lib/cli/command.ts";

export const APT_PACKAGES = ["jupyter-nbconvert", "fonts-dejavu-core"];

export interface CellError {
  notebook: string;
  /** 1-based position among all cells, as Jupyter's UI counts them. */
  cell: number;
  /** First line of the cell's source. */
  firstLine: string;
  ename: string;
  evalue: string;
}

export interface NotebookResult {
  notebook: string;
  ok: boolean;
  errors: CellError[];
  executedPath: string | null;
  htmlPath: string | null;
  seconds: number;
  /** nbconvert's stderr tail when it failed without an output notebook (kernel died, timeout, ...). */
  failure?: string;
}

async function run(cmd: string, args: string[], env?: Record<string, string>): Promise<
  { code: number; stdout: string; stderr: string }
> {
  try {
    const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { code: 127, stdout: "", stderr: `${cmd}: command not found` };
    throw e;
  }
}

async function hasNbconvert(): Promise<boolean> {
  return (await run("jupyter", ["nbconvert", "--version"])).code === 0;
}

async function hasDejaVu(): Promise<boolean> {
  const r = await run("fc-list", []);
  return r.code === 0 && /DejaVu ?Sans/i.test(r.stdout);
}

/**
 * The deno kernelspec's argv[0] when a kernelspec exists in one of Jupyter's data paths and points at an existing file.
 * (Debian's nbconvert has no `jupyter kernelspec` command, so the paths are searched directly.)
 */
async function denoKernelBinary(): Promise<string | null> {
  const r = await run("jupyter", ["--paths", "--json"]);
  if (r.code !== 0) return null;
  let dirs: string[];
  try {
    dirs = (JSON.parse(r.stdout).data ?? []) as string[];
  } catch {
    return null;
  }
  for (const d of dirs) {
    try {
      const spec = JSON.parse(await Deno.readTextFile(join(d, "kernels", "deno", "kernel.json"))) as {
        argv?: string[];
      };
      const bin = spec.argv?.[0];
      if (bin) {
        await Deno.stat(bin);
        return bin;
      }
    } catch {
      // not in this data path (or stale): keep looking
    }
  }
  return null;
}

export const INSTALL_HELP = [
  "Jupyter's nbconvert is needed to execute the notebooks. Install it with:",
  `  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${APT_PACKAGES.join(" ")}`,
  "(or `pip install nbconvert nbclient`), then register the Deno kernel with:",
  "  deno jupyter --install --force",
].join("\n");

/**
 * Makes sure `jupyter nbconvert`, a DejaVu font (text in rasterised charts) and the Deno kernelspec are present,
 * installing them with apt when running as root. Throws with INSTALL_HELP when it cannot.
 */
export async function ensureJupyter(log: (l: string) => void = console.error): Promise<void> {
  const missing = [];
  if (!(await hasNbconvert())) missing.push("jupyter-nbconvert");
  if (!(await hasDejaVu())) missing.push("fonts-dejavu-core");
  if (missing.length > 0) {
    const root = Deno.uid?.() === 0;
    const apt = (await run("apt-get", ["--version"])).code === 0;
    if (!root || !apt) {
      if (missing.includes("jupyter-nbconvert")) throw new Error(INSTALL_HELP);
      log(`notebooks: warning: no DejaVu font; chart text in PNGs may render as boxes (install fonts-dejavu-core)`);
    } else {
      log(`notebooks: installing ${missing.join(", ")} with apt-get ...`);
      const env = { DEBIAN_FRONTEND: "noninteractive" };
      const upd = await run("apt-get", ["update", "-qq"], env);
      if (upd.code !== 0) throw new Error(`apt-get update failed:\n${upd.stderr.slice(-2000)}\n\n${INSTALL_HELP}`);
      const inst = await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...APT_PACKAGES], env);
      if (inst.code !== 0) throw new Error(`apt-get install failed:\n${inst.stderr.slice(-2000)}\n\n${INSTALL_HELP}`);
      if (!(await hasNbconvert())) throw new Error(`jupyter nbconvert still missing after apt-get.\n${INSTALL_HELP}`);
    }
  }
  if (!(await denoKernelBinary())) {
    log("notebooks: registering the Deno Jupyter kernel (deno jupyter --install --force) ...");
    const r = await run(Deno.execPath(), ["jupyter", "--install", "--force"]);
    if (r.code !== 0 || !(await denoKernelBinary())) {
      throw new Error(
        `could not install the Deno kernel:\n${r.stderr.slice(-2000)}\nRun: deno jupyter --install --force`,
      );
    }
  }
}

interface NbCell {
  cell_type: string;
  source: string | string[];
  outputs?: { output_type: string; ename?: string; evalue?: string }[];
}

/** Removes terminal colour codes (the kernel colours error values unless NO_COLOR is set). */
export function stripAnsi(s: string): string {
  const esc = String.fromCharCode(27);
  return s.replace(new RegExp(`${esc}\\[[0-9;]*m`, "g"), "");
}

/** Every error output of an executed notebook, named by cell. */
export function findCellErrors(notebook: string, nb: { cells: NbCell[] }): CellError[] {
  const errors: CellError[] = [];
  nb.cells.forEach((cell, i) => {
    for (const o of cell.outputs ?? []) {
      if (o.output_type !== "error") continue;
      const src = Array.isArray(cell.source) ? cell.source.join("") : cell.source;
      errors.push({
        notebook,
        cell: i + 1,
        firstLine: src.split("\n").find((l) => l.trim() !== "")?.trim() ?? "",
        ename: o.ename ?? "Error",
        evalue: stripAnsi(o.evalue ?? ""),
      });
    }
  });
  return errors;
}

export function formatCellError(e: CellError): string {
  return `${e.notebook}: cell ${e.cell} (\`${e.firstLine.slice(0, 80)}\`) raised ${e.ename}: ${e.evalue}`;
}

export interface ExecuteOptions {
  outDir: string;
  profile?: "smoke" | "cpu" | "paper";
  /** Per-cell timeout in seconds (default 600). */
  timeoutS?: number;
  html?: boolean;
  /** Extra environment for the kernel. */
  env?: Record<string, string>;
}

/**
 * Executes one notebook with `jupyter nbconvert --to notebook --execute --allow-errors` (so the executed notebook, and
 * its HTML, are written even when a cell fails) and then reads the errors out of it.
 */
export async function executeNotebook(path: string, opts: ExecuteOptions): Promise<NotebookResult> {
  const name = basename(path);
  const stem = name.replace(/\.ipynb$/, "");
  const outDir = resolve(opts.outDir);
  await Deno.mkdir(outDir, { recursive: true });
  const t0 = performance.now();
  const env = {
    IGCR_PROFILE: opts.profile ?? "smoke",
    IGCR_OUT: join(outDir, "runs", stem),
    NO_COLOR: "1",
    ...opts.env,
  };
  const exec = await run("jupyter", [
    "nbconvert",
    "--to",
    "notebook",
    "--execute",
    "--allow-errors",
    `--ExecutePreprocessor.timeout=${opts.timeoutS ?? 600}`,
    "--ExecutePreprocessor.kernel_name=deno",
    "--output-dir",
    outDir,
    "--output",
    stem,
    path,
  ], env);
  const executedPath = join(outDir, `${stem}.ipynb`);
  const seconds = () => (performance.now() - t0) / 1000;
  let nb: { cells: NbCell[] };
  try {
    if (exec.code !== 0) throw new Error("nbconvert failed");
    nb = JSON.parse(await Deno.readTextFile(executedPath));
  } catch {
    return {
      notebook: name,
      ok: false,
      errors: [],
      executedPath: null,
      htmlPath: null,
      seconds: seconds(),
      failure: `jupyter nbconvert exited ${exec.code}:\n${exec.stderr.slice(-3000)}`,
    };
  }
  const errors = findCellErrors(name, nb);
  let htmlPath: string | null = null;
  if (opts.html ?? true) {
    const h = await run("jupyter", ["nbconvert", "--to", "html", "--output-dir", outDir, executedPath], env);
    htmlPath = h.code === 0 ? join(outDir, `${stem}.html`) : null;
    if (h.code !== 0) {
      return { notebook: name, ok: false, errors, executedPath, htmlPath, seconds: seconds(), failure: h.stderr };
    }
  }
  return { notebook: name, ok: errors.length === 0, errors, executedPath, htmlPath, seconds: seconds() };
}

/** notebooks/*.ipynb in name order, optionally only those whose name starts with one of `only`. */
export async function listNotebooks(dir: string, only?: string[]): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".ipynb") && !e.name.startsWith(".")) names.push(e.name);
  }
  names.sort();
  const picked = only ? names.filter((n) => only.some((o) => n.startsWith(o))) : names;
  if (only) {
    for (const o of only) {
      if (!names.some((n) => n.startsWith(o))) throw new UsageError(`--only: no notebook in ${dir} starts with "${o}"`);
    }
  }
  return picked.map((n) => join(dir, n));
}

export const command = defineCommand({
  name: "notebooks",
  summary: "executes every notebook headless in Jupyter (Deno kernel), smoke profile",
  flags: {
    only: {
      type: "list",
      placeholder: "01,03",
      inUsage: true,
      defaultDoc: "every notebook",
      doc: "the notebooks whose names start with these",
    },
    out: {
      type: "string",
      schema: z.string().min(1),
      default: "runs/notebooks",
      placeholder: "DIR",
      inUsage: true,
      doc: "where the executed notebooks, their HTML and their runs go",
    },
    profile: {
      type: "string",
      schema: z.enum(["smoke", "cpu", "paper"]),
      default: "smoke",
      inUsage: true,
      doc: "the notebooks' profile (IGCR_PROFILE)",
    },
    timeout: {
      type: "number",
      schema: z.number().int().positive(),
      default: 600,
      placeholder: "S",
      inUsage: true,
      doc: "seconds a cell may run",
    },
    "no-html": { type: "boolean", inUsage: true, doc: "skip the HTML exports" },
  },
  examples: ["deno task notebooks --only 01,04 --no-html"],
});
export type NotebookFlags = Flags<typeof command.flags>;

async function main(flags: NotebookFlags): Promise<number> {
  const dir = resolve(new URL("../notebooks", import.meta.url).pathname);
  const notebooks = await listNotebooks(dir, flags.only);
  if (notebooks.length === 0) throw new Error(`no notebooks in ${dir}`);
  await ensureJupyter();
  let failed = 0;
  for (const nb of notebooks) {
    console.error(`notebooks: executing ${basename(nb)} (profile ${flags.profile}) ...`);
    const r = await executeNotebook(nb, {
      outDir: flags.out,
      profile: flags.profile,
      timeoutS: flags.timeout,
      html: !flags["no-html"],
    });
    if (r.ok) {
      console.error(`notebooks: ${r.notebook} ok in ${r.seconds.toFixed(1)} s -> ${r.htmlPath ?? r.executedPath}`);
    } else {
      failed++;
      for (const e of r.errors) console.error(`notebooks: ERROR ${formatCellError(e)}`);
      if (r.failure) console.error(`notebooks: ERROR ${r.notebook}: ${r.failure}`);
    }
  }
  console.log(`${notebooks.length - failed} notebooks ok, ${failed} failed (outputs in ${resolve(flags.out)})`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) await command.run(main);
