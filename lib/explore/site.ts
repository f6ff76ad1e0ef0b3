/**
 * The explorer's site: every file the page can ask for, in one fixed table (site key → bytes), built once from the
 * models and pool it was given. The server answers from this table and nothing else; the static export writes the same
 * table to a folder. Its files:
 *
 *   index.html, explorer.js, style.css      the page (lib/explore/page/)
 *   vendor/tf.es2017.min.js, vendor/tf-backend-wasm.es2017.min.js, vendor/*.wasm
 *                                           TensorFlow.js's browser bundles from the project's node_modules
 *   site.json                               the models (ExplorerModelInfo, or the error that stops one) and the pool
 *   models/ID/{generator,encoder}/{model.json,weights.bin}
 *                                           browser LayersModels prepared in memory (browser_model.ts)
 *   models/ID/samples.bin, samples.json     real images (uint8) and their true factors
 */
import { basename, join, relative, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { pathExists } from "../io/atomic.ts";
import { type ExplorerModelInfo, prepareModel } from "./prepare.ts";
import { type PoolView, readPoolView } from "./pool.ts";
import { safeId } from "./paths.ts";

export interface SiteFile {
  type: string;
  bytes: Uint8Array<ArrayBuffer>;
}

/** A model entry of site.json: a model the page can open, or one that failed, with the reason. */
export type SiteModel =
  | (ExplorerModelInfo & {
    files: { generator: string; encoder: string; samples?: string; samplesFactors?: string };
  })
  | { id: string; title: string; source: string; error: string };

export interface SiteJson {
  schema: "igcr-explorer/1";
  tfjs: string;
  models: SiteModel[];
  pool: PoolView | null;
  /** Problems that concern no single model (shown at the top of the page). */
  errors: string[];
}

export interface Site {
  files: Map<string, SiteFile>;
  json: SiteJson;
  /** One line per model that could not be prepared, naming its folder and the reason (for the command line). */
  errors: string[];
  /** The folders the site was built from: the export never writes inside one of them. */
  sources: string[];
}

export interface SiteOptions {
  /** Run folders to show (each also brings its before-CR snapshot, when it has one). */
  runs?: string[];
  /** A pool folder: its members, and its selection.json when there is one. */
  pool?: string;
  /** With neither runs nor pool: every run folder under this folder (default: data/pretrained). */
  shippedDir?: string;
  /** Real images per model for the encoder's view. */
  samples?: number;
  /** Progress lines. */
  log?: (line: string) => void;
  /**
   * For a static export that others will read: each model's `source` is shown as its folder's name only, not the
   * path on this machine.
   */
  publish?: boolean;
}

const ROOT = new URL("../../", import.meta.url);
const PAGE_DIR = new URL("page/", import.meta.url);
export const SHIPPED_DIR = new URL("data/pretrained/", ROOT).pathname.replace(/\/$/, "");

/** The page's assets and where they come from (vendor files: the project's own npm dependencies). */
const PAGE_FILES = ["index.html", "explorer.js", "style.css"];
const VENDOR_FILES: Record<string, string> = {
  "vendor/tf.es2017.min.js": "@tensorflow/tfjs/dist/tf.es2017.min.js",
  "vendor/tf-backend-wasm.es2017.min.js": "@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.es2017.min.js",
  "vendor/tfjs-backend-wasm.wasm": "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm",
  "vendor/tfjs-backend-wasm-simd.wasm": "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
  "vendor/tfjs-backend-wasm-threaded-simd.wasm":
    "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm",
};

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json; charset=utf-8",
  wasm: "application/wasm",
  bin: "application/octet-stream",
};

export function contentType(key: string): string {
  return TYPES[key.split(".").pop() ?? ""] ?? "application/octet-stream";
}

async function readAsset(url: URL, hint: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return await Deno.readFile(url);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${url.pathname} is missing; ${hint}`);
    throw e;
  }
}

interface ModelSource {
  dir: string;
  title: string;
  checkpoint?: string;
  /** Name in the pool, for pool members. */
  member?: string;
}

/** The before-CR snapshot folder of a run ("snapshots/before-cr-iter-N"), if it has one. */
async function beforeCrSnapshot(dir: string): Promise<string | undefined> {
  let found: string | undefined;
  try {
    for await (const e of Deno.readDir(join(dir, "snapshots"))) {
      if (e.isDirectory && /^before-cr-iter-\d+$/.test(e.name)) found = e.name;
    }
  } catch {
    return undefined;
  }
  return found && `snapshots/${found}`;
}

/** A folder as the messages show it: relative to the working folder when it is inside it. */
export function shownPath(dir: string): string {
  const r = relative(Deno.cwd(), resolve(dir));
  return r === "" ? "." : r.startsWith("..") ? dir : r;
}

async function runSources(dir: string): Promise<ModelSource[]> {
  const clean = shownPath(dir.replace(/\/+$/, "") || dir);
  const out: ModelSource[] = [{ dir: clean, title: basename(clean) }];
  const snap = await beforeCrSnapshot(clean);
  if (snap) {
    const iter = Number(/(\d+)$/.exec(snap)![1]);
    out.push({
      dir: clean,
      checkpoint: snap,
      title: `${basename(clean)}, before CR (iteration ${iter.toLocaleString("en")}: InfoGAN (modified))`,
    });
  }
  return out;
}

/** Builds the site for the given runs / pool, or for every shipped model. Needs an initialised tfjs backend. */
export async function buildSite(opts: SiteOptions = {}): Promise<Site> {
  const log = opts.log ?? (() => {});
  const files = new Map<string, SiteFile>();
  const add = (key: string, bytes: Uint8Array<ArrayBuffer>) => files.set(key, { type: contentType(key), bytes });
  for (const f of PAGE_FILES) add(f, await readAsset(new URL(f, PAGE_DIR), "the explorer's page is incomplete"));
  for (const [key, rel] of Object.entries(VENDOR_FILES)) {
    add(key, await readAsset(new URL(`node_modules/${rel}`, ROOT), "run `deno install` (the README's set-up command)"));
  }

  const sources: ModelSource[] = [];
  const errors: string[] = [];
  const general: string[] = [];
  const sourceDirs: string[] = [];
  let pool: PoolView | null = null;
  for (const r of opts.runs ?? []) {
    sources.push(...await runSources(r));
    sourceDirs.push(r);
  }
  if (opts.pool) {
    const { view, members } = await readPoolView(opts.pool.replace(/\/+$/, "") || opts.pool);
    pool = view;
    for (const m of members) sources.push({ dir: m.dir, title: `${m.name} (pool member)`, member: m.name });
    sourceDirs.push(opts.pool);
  }
  if (!opts.runs?.length && !opts.pool) {
    const shipped = shownPath(opts.shippedDir ?? SHIPPED_DIR);
    const dirs: string[] = [];
    try {
      for await (const e of Deno.readDir(shipped)) {
        if (e.isDirectory && (await pathExists(join(shipped, e.name, "config.json")))) dirs.push(join(shipped, e.name));
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    if (dirs.length === 0) {
      general.push(`no models in ${shipped}: pass --run DIR or --pool DIR`);
      errors.push(general[0]);
    }
    for (const d of dirs.sort()) sources.push(...await runSources(d));
    sourceDirs.push(shipped);
  }

  const used = new Set<string>();
  const models: SiteModel[] = [];
  for (const s of sources) {
    const stem = safeId(s.member ?? basename(s.dir)) + (s.checkpoint ? "-before-cr" : "");
    let id = stem;
    for (let k = 2; used.has(id); k++) id = `${stem}-${k}`;
    used.add(id);
    const t0 = performance.now();
    try {
      const p = await prepareModel(s.dir, { id, title: s.title, checkpoint: s.checkpoint, samples: opts.samples });
      const base = `models/${id}`;
      add(`${base}/generator/model.json`, json(p.generator.modelJson));
      add(`${base}/generator/weights.bin`, p.generator.weights);
      add(`${base}/encoder/model.json`, json(p.encoder.modelJson));
      add(`${base}/encoder/weights.bin`, p.encoder.weights);
      const modelFiles: Extract<SiteModel, { files: unknown }>["files"] = {
        generator: `${base}/generator/model.json`,
        encoder: `${base}/encoder/model.json`,
      };
      if (p.samples) {
        add(`${base}/samples.bin`, p.samples.images);
        add(`${base}/samples.json`, json({ shape: p.info.imageShape, factors: p.samples.factors }));
        modelFiles.samples = `${base}/samples.bin`;
        modelFiles.samplesFactors = `${base}/samples.json`;
      }
      models.push({ ...p.info, files: modelFiles });
      log(
        `${s.dir}${s.checkpoint ? `/${s.checkpoint}` : ""} → ${id} (${(performance.now() - t0).toFixed(0)} ms)`,
      );
    } catch (e) {
      const msg = (e as Error).message;
      models.push({ id, title: s.title, source: s.checkpoint ? join(s.dir, s.checkpoint) : s.dir, error: msg });
      errors.push(msg);
    }
    if (pool && s.member !== undefined) {
      const m = pool.members.find((x) => x.name === s.member);
      if (m) m.modelId = id;
    }
  }
  if (opts.publish) {
    // Folder names only: a published page should not show where the runs lie on this machine.
    const tail = (p: string) => {
      const parts = p.split("/").filter((x) => x !== "" && x !== ".");
      const snap = parts.lastIndexOf("snapshots");
      return snap > 0 ? parts.slice(snap - 1).join("/") : parts.at(-1) ?? p;
    };
    for (const m of models) m.source = tail(m.source);
    if (pool) pool.source = tail(pool.source);
  }
  const siteJson: SiteJson = {
    schema: "igcr-explorer/1",
    tfjs: tf.version.tfjs,
    models,
    pool,
    errors: general,
  };
  add("site.json", json(siteJson));
  return { files, json: siteJson, errors, sources: sourceDirs.map((d) => resolve(d)) };
}

function json(v: unknown): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(
    JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? null : x)),
  );
}
