/**
 * The cell cache of ModelCentrality's cross-evaluation: each cell S[i][j] (model i's encoder on model j's generated set)
 * is stored as it is computed, so a pool's N² cells can be computed in pieces — by row blocks in a Slurm job array, or
 * by a local `deno task select` that was interrupted — and assembled into the matrix afterwards. A cell already in the
 * cache is never computed again.
 *
 * Layout (in the pool folder): `cross-eval/<key>/inputs.json` and `cross-eval/<key>/cells/<i>-<j>.json`, each cell
 * written atomically. The key is a hash of everything a cell's value depends on: the set sizes (profile), select's seed,
 * and the ordered members with a hash of each one's config and its checkpoint iteration (set j's randomness is
 * `rng.fork("mc-set-j")`, so member order matters). Retraining a member or changing the seed or profile gives a new key,
 * hence fresh cells; the backend and chunk size are recorded in each cell but are not part of the key, so cells computed
 * on cluster nodes are reused by a `select` on another machine.
 *
 * Pure parts: planning (`missingCells`), assembly (`assembleMatrix`), the driver over a `CellStore`. I/O edge: the
 * folder store (`openFolderCellStore`) and the member identities read from run folders.
 */
import type { Rng } from "../rng.ts";
import type { Encoder, Generator } from "../models/capabilities.ts";
import { readJsonIfExists, writeJsonAtomic } from "../io/atomic.ts";
import { sha256Hex } from "../io/hash.ts";
import {
  centralityFromMatrix,
  checkPool,
  crossEvaluateCells,
  type ModelCentralityOptions,
  type ModelCentralityProgress,
  type ModelCentralityResult,
  type ModelCentralitySizes,
  resolveSizes,
  setLatents,
} from "./model_centrality.ts";

/** One member as the cache knows it. */
export interface MemberIdentity {
  name: string;
  /** sha256 of its config.json text (16 hex digits). */
  config: string;
  /** Checkpoint iteration (0 when the folder has no training state, e.g. an exported model). */
  iteration: number;
}

export interface CellInputs {
  schema: "igcr-mc-cells/1";
  sizes: ModelCentralitySizes;
  seed: number;
  members: MemberIdentity[];
}

export interface CellStore {
  readonly n: number;
  has(i: number, j: number): boolean;
  /** NaN for a cell whose score was not a number. */
  get(i: number, j: number): number;
  put(i: number, j: number, value: number, meta?: Record<string, unknown>): Promise<void>;
}

/** The cache key of a set of inputs: 16 hex digits of a sha256 over their canonical JSON. */
export async function cellsKey(inputs: CellInputs): Promise<string> {
  return (await sha256Hex(JSON.stringify(inputs))).slice(0, 16);
}

/** An in-memory store (tests, notebooks). */
export function memoryCellStore(n: number): CellStore {
  const cells = new Map<string, number>();
  return {
    n,
    has: (i, j) => cells.has(`${i}-${j}`),
    get: (i, j) => {
      const v = cells.get(`${i}-${j}`);
      if (v === undefined) throw new Error(`cell ${i}-${j} is not in the cache`);
      return v;
    },
    put: (i, j, value) => {
      cells.set(`${i}-${j}`, value);
      return Promise.resolve();
    },
  };
}

/** For each column j, the rows among `rows` whose cell is missing (columns with none are left out). Pure. */
export function missingCells(store: CellStore, rows: readonly number[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (let j = 0; j < store.n; j++) {
    const need = rows.filter((i) => !store.has(i, j));
    if (need.length) out.set(j, need);
  }
  return out;
}

/** How many of the cells of `rows` are in the store. */
export function cellsPresent(store: CellStore, rows: readonly number[]): number {
  let k = 0;
  for (const i of rows) for (let j = 0; j < store.n; j++) if (store.has(i, j)) k++;
  return k;
}

/** S from the store; throws naming the first missing cells. Pure. */
export function assembleMatrix(store: CellStore): number[][] {
  const n = store.n;
  const missing: string[] = [];
  const S = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      if (store.has(i, j)) return store.get(i, j);
      missing.push(`${i}-${j}`);
      return NaN;
    }));
  if (missing.length) {
    throw new Error(
      `the ModelCentrality matrix lacks ${missing.length} of ${n * n} cells (${missing.slice(0, 5).join(", ")}` +
        `${missing.length > 5 ? ", ..." : ""})`,
    );
  }
  return S;
}

export interface ComputeCellsOptions {
  /** Rows (encoders) to compute; default all. */
  rows?: number[];
  chunk?: number;
  onProgress?: (p: ModelCentralityProgress) => void;
  /** Recorded in each cell (e.g. backend, chunk). */
  meta?: Record<string, unknown>;
}

/**
 * Computes the missing cells of `rows` into the store, one column (generated set) at a time: set j is generated once
 * for all the rows that still need it, so a complete cache costs nothing and a partial one only its gaps. `rng` is the
 * one `modelCentrality` receives; set j uses `rng.fork("mc-set-j")`, so the cells equal the in-process result.
 * Returns how many cells were computed.
 */
export async function computeCells(
  models: (Encoder & Generator)[],
  rng: Rng,
  sizes: ModelCentralitySizes,
  store: CellStore,
  opts: ComputeCellsOptions = {},
): Promise<number> {
  checkPool(models);
  if (store.n !== models.length) throw new Error(`cell cache is for ${store.n} models, the pool has ${models.length}`);
  const rows = opts.rows ?? models.map((_, i) => i);
  for (const i of rows) {
    if (!(Number.isInteger(i) && i >= 0 && i < models.length)) {
      throw new Error(`row ${i} is outside 0-${models.length - 1}`);
    }
  }
  const chunk = opts.chunk ?? 256;
  let computed = 0;
  for (const [j, need] of missingCells(store, rows)) {
    const latents = setLatents(models[j], j, sizes, rng);
    const values = await crossEvaluateCells(
      models[j],
      need.map((i) => models[i]),
      latents,
      chunk,
      (done, total) => opts.onProgress?.({ set: j, sets: models.length, imagesDone: done, imagesTotal: total }),
      need,
    );
    for (let k = 0; k < need.length; k++) await store.put(need[k], j, values[k], { chunk, ...opts.meta });
    computed += need.length;
  }
  return computed;
}

/**
 * ModelCentrality through a cell cache: computes the missing cells, assembles S and derives A, the centralities and the
 * pick exactly as `modelCentrality` does (same result for the same rng, whatever was cached before).
 */
export async function modelCentralityCached(
  models: (Encoder & Generator)[],
  rng: Rng,
  store: CellStore,
  opts: ModelCentralityOptions & { meta?: Record<string, unknown> } = {},
): Promise<ModelCentralityResult & { cellsComputed: number }> {
  const sizes = resolveSizes(opts);
  const cellsComputed = await computeCells(models, rng, sizes, store, {
    chunk: opts.chunk,
    onProgress: opts.onProgress,
    meta: opts.meta,
  });
  return { ...centralityFromMatrix(assembleMatrix(store), sizes), cellsComputed };
}

// ---------------------------------------------------------------------------------------------------- Edges

/** The cache folder of a key inside a pool folder. */
export function cellsDir(poolDir: string, key: string): string {
  return `${poolDir}/cross-eval/${key}`;
}

/** A member's identity from its run folder: config.json's hash and the checkpoint iteration. */
export async function memberIdentity(name: string, runDir: string): Promise<MemberIdentity> {
  let config: string;
  try {
    config = await Deno.readTextFile(`${runDir}/config.json`);
  } catch (e) {
    throw new Error(`${runDir}/config.json: ${(e as Error).message}`);
  }
  type State = { state?: { iteration?: unknown } };
  const st = (await readJsonIfExists<State>(`${runDir}/checkpoint/state.json`)) ??
    (await readJsonIfExists<State>(`${runDir}/checkpoint.old/state.json`));
  const it = st?.state?.iteration;
  return { name, config: (await sha256Hex(config)).slice(0, 16), iteration: typeof it === "number" ? it : 0 };
}

/** A store backed by a cache folder; `reload` re-reads the cell files other processes (e.g. Slurm tasks) wrote. */
export interface FolderCellStore extends CellStore {
  reload(): Promise<void>;
}

interface CellFile {
  schema: "igcr-mc-cell/1";
  encoder: string;
  generator: string;
  /** null when the score was NaN. */
  value: number | null;
}

/**
 * The store in `cross-eval/<key>/` of a pool folder: reads the cells already there (a file that does not parse, or
 * names other members, counts as missing and is recomputed) and writes new ones atomically. Returns the store and key.
 */
export async function openFolderCellStore(
  poolDir: string,
  inputs: CellInputs,
): Promise<{ store: FolderCellStore; key: string; dir: string }> {
  const key = await cellsKey(inputs);
  const dir = cellsDir(poolDir, key);
  await Deno.mkdir(`${dir}/cells`, { recursive: true });
  if ((await readJsonIfExists(`${dir}/inputs.json`).catch(() => null)) === null) {
    await writeJsonAtomic(`${dir}/inputs.json`, inputs);
  }
  const n = inputs.members.length;
  const names = inputs.members.map((m) => m.name);
  const cells = new Map<string, number>();
  const store: FolderCellStore = {
    n,
    reload: () => reloadCells(dir, names, cells),
    has: (i, j) => cells.has(`${i}-${j}`),
    get: (i, j) => {
      const v = cells.get(`${i}-${j}`);
      if (v === undefined) throw new Error(`cell ${i}-${j} is not in ${dir}`);
      return v;
    },
    async put(i, j, value, meta) {
      const cell: CellFile & Record<string, unknown> = {
        schema: "igcr-mc-cell/1",
        encoder: names[i],
        generator: names[j],
        value: Number.isFinite(value) ? value : null,
        ...meta,
        at: new Date().toISOString(),
      };
      await writeJsonAtomic(`${dir}/cells/${i}-${j}.json`, cell);
      cells.set(`${i}-${j}`, value);
    },
  };
  await store.reload();
  return { store, key, dir };
}

async function reloadCells(dir: string, names: string[], cells: Map<string, number>): Promise<void> {
  for await (const e of Deno.readDir(`${dir}/cells`)) {
    const m = /^(\d+)-(\d+)\.json$/.exec(e.name); // temporary files of an interrupted write do not match
    if (!e.isFile || !m) continue;
    const i = Number(m[1]), j = Number(m[2]);
    if (i >= names.length || j >= names.length) continue;
    let c: Partial<CellFile> | null;
    try {
      c = await readJsonIfExists<Partial<CellFile>>(`${dir}/cells/${e.name}`);
    } catch {
      continue;
    }
    if (!c || c.schema !== "igcr-mc-cell/1" || c.encoder !== names[i] || c.generator !== names[j]) continue;
    if (c.value !== null && typeof c.value !== "number") continue;
    cells.set(`${i}-${j}`, c.value === null ? NaN : c.value);
  }
}
