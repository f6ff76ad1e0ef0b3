/**
 * Checkpoints: groups of named tensors in the TensorFlow.js weights format, plus a JSON state (iteration, optimiser
 * steps, RNG states, config, ...).
 *
 * Layout of a checkpoint folder:
 *
 *   <dir>/state.json                 the caller's state object
 *   <dir>/<group>/model.json         { format: "igcr-weights", weightsManifest: [{ paths: ["weights.bin"], weights }] }
 *   <dir>/<group>/weights.bin        the tensors' bytes, in manifest order
 *
 * Each group's `model.json` + `weights.bin` is exactly what `tf.io.loadWeights` / `tf.loadLayersModel`'s weight loader
 * reads, so a tfjs user can load e.g. the generator's weights without this toolkit.
 *
 * Writes are atomic at the folder level: everything goes into a temporary sibling folder first, which then replaces the
 * old checkpoint by two renames. A crash therefore leaves either the old checkpoint or the new one, never a mix; if it
 * strikes between the two renames, the old one is still at `<dir>.old` and `loadCheckpoint` falls back to it.
 */
import * as tf from "@tensorflow/tfjs";
import { pathExists as exists } from "../io/atomic.ts";

export interface Checkpoint {
  tensors: Record<string, tf.NamedTensorMap>;
  state: Record<string, unknown>;
  /** Extra top-level fields for a group's model.json, e.g. a LayersModel `modelTopology` (then `format: "layers-model"`). */
  manifests?: Record<string, Record<string, unknown>>;
}

const GROUP_NAME = /^[A-Za-z0-9_.-]+$/;

/** Writes one group's tensors as `model.json` (weights manifest) + `weights.bin` into `dir`. */
export async function writeWeightsGroup(
  dir: string,
  tensors: tf.NamedTensorMap,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const { data, specs } = await tf.io.encodeWeights(tensors);
  await Deno.writeFile(`${dir}/weights.bin`, new Uint8Array(data));
  const manifest = {
    format: "igcr-weights",
    generatedBy: "infogan-cr toolkit (lib/train/checkpoint.ts)",
    ...extra,
    weightsManifest: [{ paths: ["weights.bin"], weights: specs }],
  };
  await Deno.writeTextFile(`${dir}/model.json`, JSON.stringify(manifest, null, 1));
}

/** Reads a group written by `writeWeightsGroup` (or any single-shard tfjs weights manifest). Caller disposes. */
export async function readWeightsGroup(dir: string): Promise<tf.NamedTensorMap> {
  const manifestPath = `${dir}/model.json`;
  let manifest: { weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  try {
    manifest = JSON.parse(await Deno.readTextFile(manifestPath));
  } catch (e) {
    throw new Error(`checkpoint: cannot read weights manifest ${manifestPath}: ${(e as Error).message}`);
  }
  if (!Array.isArray(manifest.weightsManifest)) {
    throw new Error(`checkpoint: ${manifestPath} has no weightsManifest array (corrupt or not a tfjs weights file)`);
  }
  const out: tf.NamedTensorMap = {};
  try {
    for (const group of manifest.weightsManifest) {
      const buffers: Uint8Array[] = [];
      for (const p of group.paths) {
        const path = `${dir}/${p}`;
        try {
          buffers.push(await Deno.readFile(path));
        } catch (e) {
          throw new Error(`checkpoint: cannot read weights file ${path}: ${(e as Error).message}`);
        }
      }
      const total = buffers.reduce((s, b) => s + b.byteLength, 0);
      const joined = new Uint8Array(total);
      let off = 0;
      for (const b of buffers) {
        joined.set(b, off);
        off += b.byteLength;
      }
      const expected = group.weights.reduce((s, w) => {
        const bytes = w.dtype === "float32" || w.dtype === "int32" ? 4 : w.dtype === "bool" ? 1 : NaN;
        return s + bytes * w.shape.reduce((a, b) => a * b, 1);
      }, 0);
      if (Number.isNaN(expected)) throw new Error(`checkpoint: ${manifestPath} uses an unsupported dtype`);
      if (expected !== total) {
        throw new Error(
          `checkpoint: ${dir}/${group.paths.join(",")} holds ${total} bytes but ${manifestPath} describes ${expected}` +
            " (truncated or corrupt)",
        );
      }
      Object.assign(out, tf.io.decodeWeights(joined.buffer, group.weights));
    }
  } catch (e) {
    tf.dispose(out);
    throw e;
  }
  return out;
}

/**
 * Saves a checkpoint atomically into `dir` (replacing what was there). Tensors are read, not disposed.
 */
export async function saveCheckpoint(dir: string, ck: Checkpoint): Promise<void> {
  for (const g of Object.keys(ck.tensors)) {
    if (!GROUP_NAME.test(g)) throw new Error(`checkpoint: tensor group name "${g}" must match ${GROUP_NAME}`);
  }
  const clean = dir.replace(/\/+$/, "");
  const tmp = `${clean}.tmp-${Deno.pid}-${Date.now()}`;
  const old = `${clean}.old`;
  await Deno.mkdir(tmp, { recursive: true });
  try {
    for (const [group, tensors] of Object.entries(ck.tensors)) {
      await writeWeightsGroup(`${tmp}/${group}`, tensors, ck.manifests?.[group]);
    }
    await Deno.writeTextFile(
      `${tmp}/state.json`,
      JSON.stringify({ groups: Object.keys(ck.tensors), state: ck.state }, null, 1),
    );
    if (await exists(old)) await Deno.remove(old, { recursive: true });
    if (await exists(clean)) await Deno.rename(clean, old);
    await Deno.rename(tmp, clean);
    if (await exists(old)) await Deno.remove(old, { recursive: true });
  } catch (e) {
    try {
      await Deno.remove(tmp, { recursive: true });
    } catch { /* nothing to clean */ }
    throw e;
  }
}

/**
 * Loads a checkpoint written by `saveCheckpoint`. A missing or corrupt file is an error naming its path. Caller disposes
 * the tensors.
 */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const clean = dir.replace(/\/+$/, "");
  const root = (await checkpointRoot(dir)) ?? clean;
  const statePath = `${root}/state.json`;
  let parsed: { groups?: unknown; state?: unknown };
  try {
    parsed = JSON.parse(await Deno.readTextFile(statePath));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`checkpoint: no checkpoint at ${clean} (missing ${statePath})`);
    }
    throw new Error(`checkpoint: cannot read ${statePath}: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed.groups) || typeof parsed.state !== "object" || parsed.state === null) {
    throw new Error(`checkpoint: ${statePath} is corrupt (expected { groups: string[], state: object })`);
  }
  const tensors: Record<string, tf.NamedTensorMap> = {};
  try {
    for (const g of parsed.groups as string[]) tensors[g] = await readWeightsGroup(`${root}/${g}`);
  } catch (e) {
    for (const m of Object.values(tensors)) tf.dispose(m);
    throw e;
  }
  return { tensors, state: parsed.state as Record<string, unknown> };
}

/**
 * The training iteration recorded in a checkpoint's state.json (or its `.old` fallback), without reading the tensors;
 * undefined when there is no checkpoint or its state records no iteration. Scores saved beside a run carry it, so a
 * score of a shorter run is not reused for the same folder trained further.
 */
export async function checkpointIteration(dir: string): Promise<number | undefined> {
  const root = await checkpointRoot(dir);
  if (root === null) return undefined;
  let it: unknown;
  try {
    it = (JSON.parse(await Deno.readTextFile(`${root}/state.json`)) as { state?: { iteration?: unknown } }).state
      ?.iteration;
  } catch {
    throw new Error(`checkpoint: ${root}/state.json is corrupt (not JSON)`);
  }
  return typeof it === "number" && Number.isInteger(it) ? it : undefined;
}

/**
 * The folder holding `dir`'s checkpoint: `dir` itself, or `dir.old` when a save was interrupted between its two renames;
 * null when neither has a state.json.
 */
async function checkpointRoot(dir: string): Promise<string | null> {
  const clean = dir.replace(/\/+$/, "");
  if (await exists(`${clean}/state.json`)) return clean;
  return (await exists(`${clean}.old/state.json`)) ? `${clean}.old` : null;
}

/** Whether `dir` holds a loadable checkpoint (or its `.old` fallback). */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  return (await checkpointRoot(dir)) !== null;
}
