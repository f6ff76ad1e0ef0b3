/**
 * Branching a run: a new run folder that starts from another run's checkpoint (weights, batch-norm statistics,
 * spectral-norm vectors, Adam slots and steps, RNG states, data order) and continues with a different regularizer.
 * The paired design of claim 1 trains the InfoGAN phase of a seed once and branches two arms from its checkpoint: CR on
 * (InfoGAN-CR) and CR off (InfoGAN continued), which then share every batch and every main latent and differ by the
 * contrastive term alone (the CR pairs come from their own RNG stream, lib/train/trainer.ts).
 *
 * The child folder gets `branch.json` (parent folder, branch iteration, both configs), the parent's checkpoint with the
 * child's config in its state, and the parent's log up to the branch point; `train(childConfig, childDir, { resume:
 * true })` then continues it like any interrupted run. Only the regularizer's schedule, the length and the output
 * cadences may differ from the parent, and the two schedules must agree before the branch point, so the child's history
 * is one its own config could have produced.
 */
import { join, relative, resolve } from "node:path";
import { alphaAt, type GanConfig, gapAt, parseGanConfig } from "../config/gan.ts";
import { pathExists, readJsonIfExists, writeJsonAtomic, writeTextAtomic } from "../io/atomic.ts";
import { hasCheckpoint } from "./checkpoint.ts";

export const BRANCH_FILE = "branch.json";

/** Config keys a branch may change: the regularizer, the length and the output cadences. */
export const BRANCHABLE_KEYS: ReadonlySet<string> = new Set([
  "model",
  "alpha",
  "gap",
  "iterations",
  "logEvery",
  "sampleEvery",
  "checkpointEvery",
  "snapshotAt",
]);

export interface BranchRecord {
  schema: "igcr-branch/1";
  /** The parent run folder, relative to the child's folder. */
  parent: string;
  /** Iterations the parent had completed at the branch point (= the child's first iteration). */
  at: number;
  parentConfig: GanConfig;
  config: GanConfig;
  createdAt: string;
}

/** Throws, naming the key or iteration, unless `child` may branch from `parent` at iteration `at`. */
export function checkBranchable(parent: GanConfig, child: GanConfig, at: number): void {
  if (!(Number.isInteger(at) && at >= 0)) throw new Error(`branch point must be a non-negative integer, got ${at}`);
  for (const key of new Set([...Object.keys(parent), ...Object.keys(child)])) {
    if (BRANCHABLE_KEYS.has(key)) continue;
    const a = JSON.stringify((parent as Record<string, unknown>)[key]);
    const b = JSON.stringify((child as Record<string, unknown>)[key]);
    if (a !== b) throw new Error(`cannot branch: config "${key}" is ${a} in the parent and ${b} in the branch`);
  }
  if (child.iterations <= at) {
    throw new Error(`cannot branch at iteration ${at}: the branch's config stops at ${child.iterations}`);
  }
  for (let it = 0; it < at; it++) {
    if (alphaAt(parent, it) !== alphaAt(child, it) || gapAt(parent, it) !== gapAt(child, it)) {
      throw new Error(
        `cannot branch at iteration ${at}: the schedules differ at iteration ${it} (alpha ${alphaAt(parent, it)} vs ` +
          `${alphaAt(child, it)}, gap ${gapAt(parent, it)} vs ${gapAt(child, it)}), before the branch point`,
      );
    }
  }
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(join(from, e.name), join(to, e.name));
    else if (e.isFile) await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

/** The branch record of a run folder, or null when it is not a branch. */
export async function readBranch(runDir: string): Promise<BranchRecord | null> {
  return await readJsonIfExists<BranchRecord>(join(runDir, BRANCH_FILE));
}

/**
 * Makes `childDir` a branch of the run in `parentDir` at iteration `at` with `childConfig`. The parent's latest
 * checkpoint must be at exactly `at`. Idempotent: a child that already is this branch (and has a checkpoint, possibly
 * trained further) is left alone and "exists" is returned; a folder that holds a different run is an error.
 */
export async function branchRun(
  parentDir: string,
  childDir: string,
  childConfig: GanConfig,
  at: number,
): Promise<"created" | "exists"> {
  const child = parseGanConfig(childConfig);
  const parentCfgPath = join(parentDir, "config.json");
  const parentRaw = await readJsonIfExists<unknown>(parentCfgPath);
  if (parentRaw === null) throw new Error(`cannot branch: no parent run at ${parentDir} (missing ${parentCfgPath})`);
  const parent = parseGanConfig(parentRaw);
  checkBranchable(parent, child, at);
  const record: BranchRecord = {
    schema: "igcr-branch/1",
    parent: relative(resolve(childDir), resolve(parentDir)),
    at,
    parentConfig: parent,
    config: child,
    createdAt: new Date().toISOString(),
  };
  const existing = await readBranch(childDir);
  if (existing) {
    const same = existing.parent === record.parent && existing.at === at &&
      JSON.stringify(parseGanConfig(existing.config)) === JSON.stringify(child);
    if (!same) {
      throw new Error(
        `${childDir} is already a branch of ${existing.parent} at iteration ${existing.at} with another config; ` +
          "choose another folder",
      );
    }
    if (await hasCheckpoint(join(childDir, "checkpoint"))) return "exists";
  } else if (await hasCheckpoint(join(childDir, "checkpoint"))) {
    throw new Error(`${childDir} already holds a run that is not a branch of ${parentDir}; choose another folder`);
  }

  const stateFile = join(parentDir, "checkpoint", "state.json");
  const saved = await readJsonIfExists<{ groups: string[]; state: { iteration: number; config: unknown } }>(stateFile);
  if (!saved) throw new Error(`cannot branch: the parent ${parentDir} has no checkpoint (missing ${stateFile})`);
  if (saved.state.iteration !== at) {
    throw new Error(
      `cannot branch at iteration ${at}: the parent's checkpoint ${stateFile} is at iteration ${saved.state.iteration}`,
    );
  }
  await Deno.mkdir(childDir, { recursive: true });
  await writeJsonAtomic(join(childDir, BRANCH_FILE), record);
  // The parent's checkpoint with the branch's config in its state, moved into place in one rename.
  const tmp = join(childDir, `checkpoint.tmp-${Deno.pid}-${Date.now()}`);
  try {
    await copyDir(join(parentDir, "checkpoint"), tmp);
    await writeTextAtomic(
      join(tmp, "state.json"),
      JSON.stringify({ ...saved, state: { ...saved.state, config: child } }, null, 1),
    );
    const ck = join(childDir, "checkpoint");
    if (await pathExists(ck)) await Deno.remove(ck, { recursive: true });
    await Deno.rename(tmp, ck);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  // The parent's log up to the branch point, so the branch's log.jsonl reads as one run from iteration 0.
  let log = "";
  try {
    log = await Deno.readTextFile(join(parentDir, "log.jsonl"));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const kept = log.split("\n").filter((l) => l.trim() && (JSON.parse(l) as { iter: number }).iter <= at);
  await writeTextAtomic(join(childDir, "log.jsonl"), kept.map((l) => l + "\n").join(""));
  return "created";
}
