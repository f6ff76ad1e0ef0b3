/**
 * Inference-only copies of trained GAN runs, the "pretrained models" shipped in data/pretrained/. A training checkpoint
 * also holds Adam moments, H and its optimiser (about 9 MB for dSprites); a notebook that shows traversals or scores a
 * model needs only G and D/Q (about 2 MB). The export keeps the run-folder layout, so `loadTrainedModel` and the
 * "InfoGAN (modified)" snapshot loader read it exactly like a run folder: config.json, checkpoint/{generator,
 * discriminator,state.json}, snapshots/before-cr-iter-N/ (same groups), plus the provenance files that say how the
 * model was made: log.jsonl, metrics JSONs, train-wall.json, the final traversal grid and MODEL.md with the command.
 */
import { basename, join } from "node:path";
import { pathExists as exists } from "../io/atomic.ts";

/** The checkpoint groups an inference-only GAN keeps (loadTrainedModel reads only these). */
export const INFERENCE_GROUPS = ["generator", "discriminator"] as const;

const PROVENANCE_FILES = ["config.json", "log.jsonl", "metrics.json", "metrics-before-cr.json", "train-wall.json"];

export interface ExportOptions {
  /** The command that trained the run, recorded in MODEL.md. */
  command: string;
  /** Extra lines for MODEL.md (e.g. the metrics command). */
  notes?: string[];
  /** Leave out snapshots/ (e.g. when another shipped run holds the identical before-CR model). */
  snapshots?: boolean;
}

/** Copies one checkpoint folder, keeping only the inference groups and rewriting state.json's group list. */
async function copyInferenceCheckpoint(src: string, dst: string): Promise<void> {
  const statePath = join(src, "state.json");
  let state: { groups?: unknown };
  try {
    state = JSON.parse(await Deno.readTextFile(statePath));
  } catch (e) {
    throw new Error(`export: cannot read ${statePath}: ${(e as Error).message}`);
  }
  const groups = Array.isArray(state.groups) ? state.groups as string[] : [];
  const missing = INFERENCE_GROUPS.filter((g) => !groups.includes(g));
  if (missing.length) throw new Error(`export: ${src} has no ${missing.join(", ")} group (is it a GAN checkpoint?)`);
  await Deno.mkdir(dst, { recursive: true });
  for (const g of INFERENCE_GROUPS) {
    await Deno.mkdir(join(dst, g), { recursive: true });
    for await (const f of Deno.readDir(join(src, g))) {
      if (f.isFile) await Deno.copyFile(join(src, g, f.name), join(dst, g, f.name));
    }
  }
  await Deno.writeTextFile(join(dst, "state.json"), JSON.stringify({ ...state, groups: [...INFERENCE_GROUPS] }));
}

/**
 * Writes an inference-only copy of the GAN run `runDir` to `outDir`, built in a temporary sibling folder and renamed
 * into place, so an interrupted export leaves no half-written model. Returns the files written (relative paths).
 */
export async function exportInferenceModel(runDir: string, outDir: string, opts: ExportOptions): Promise<string[]> {
  const cfgPath = join(runDir, "config.json");
  let cfg: { kind?: unknown; model?: string; dataset?: string; iterations?: number; seed?: number; profile?: string };
  try {
    cfg = JSON.parse(await Deno.readTextFile(cfgPath));
  } catch (e) {
    throw new Error(`export: cannot read ${cfgPath}: ${(e as Error).message}`);
  }
  if (cfg.kind !== "gan") throw new Error(`export: ${runDir} is not a GAN run (only InfoGAN-CR/InfoGAN runs export)`);
  const out = outDir.replace(/\/+$/, "");
  const tmp = `${out}.tmp-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  try {
    await copyInferenceCheckpoint(join(runDir, "checkpoint"), join(tmp, "checkpoint"));
    const snapshots: string[] = [];
    if (opts.snapshots !== false && (await exists(join(runDir, "snapshots")))) {
      for await (const e of Deno.readDir(join(runDir, "snapshots"))) {
        // Learning-curve snapshots (iter-N) stay in the run; a shipped model carries its "InfoGAN (modified)" row only.
        if (!e.isDirectory || !e.name.startsWith("before-cr-")) continue;
        await copyInferenceCheckpoint(join(runDir, "snapshots", e.name), join(tmp, "snapshots", e.name));
        snapshots.push(e.name);
      }
    }
    for (const f of PROVENANCE_FILES) {
      if (await exists(join(runDir, f))) await Deno.copyFile(join(runDir, f), join(tmp, f));
    }
    const grids: string[] = [];
    if (await exists(join(runDir, "samples"))) {
      for await (const e of Deno.readDir(join(runDir, "samples"))) {
        if (e.isFile && /^(samples|traversal)-(final|iter-\d+)\.png$/.test(e.name)) grids.push(e.name);
      }
    }
    // The last grids only: the training history lives in log.jsonl.
    const last = (kind: string) =>
      grids.filter((g) => g.startsWith(kind + "-")).sort((a, b) => iterOf(a) - iterOf(b)).at(-1);
    await Deno.mkdir(join(tmp, "samples"), { recursive: true });
    for (const g of [last("samples"), last("traversal")].filter((g): g is string => g !== undefined)) {
      await Deno.copyFile(join(runDir, "samples", g), join(tmp, "samples", g));
    }
    await Deno.writeTextFile(
      join(tmp, "MODEL.md"),
      [
        `# ${basename(out)}`,
        "",
        `${cfg.model} on ${cfg.dataset}, profile \`${cfg.profile}\`, seed ${cfg.seed}, ${cfg.iterations} iterations.`,
        "Inference-only export of a training run: G and D/Q weights (TensorFlow.js weights format), no optimiser state,",
        'no H. Load it like a run folder: `loadTrainedModel("' + out + '")`.',
        "",
        "Made by:",
        "",
        "```sh",
        opts.command,
        "```",
        "",
        ...(opts.notes ?? []),
        snapshots.length ? `Snapshots: ${snapshots.join(", ")} (the "InfoGAN (modified)" model just before CR).` : "",
        "",
      ].join("\n"),
    );
    await Deno.remove(out, { recursive: true }).catch(() => {});
    await Deno.rename(tmp, out);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  const files: string[] = [];
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(join(d, e.name), join(rel, e.name));
      else files.push(join(rel, e.name));
    }
  };
  await walk(out, "");
  return files.sort();
}

function iterOf(name: string): number {
  const m = /iter-(\d+)/.exec(name);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}
