/**
 * `deno task select --pool runs/pool-name [--method model-centrality|udr-lasso|udr-spearman|all] [--profile cpu]
 *   [--seed 0] [--supervised] [--udr-samples N] [--chunk N] [--no-plots] [--backend wasm]`
 *
 * Picks a model from a trained pool without labels (lib/selection/) and reports how good the pick is by the supervised
 * FactorVAE score: prints each method's ranking, Kendall tau-b between each unsupervised ranking and the supervised one,
 * and a Table-3-style comparison (the supervised score of each method's pick, the pool's best and median) beside the
 * paper's Table 3. Writes POOL/selection.json (atomically) and POOL/plots/: the ModelCentrality similarity matrices as
 * heatmaps and centrality against supervised FactorVAE as a scatter (SVG and PNG).
 *
 * Supervised scores come from each member's metrics.json (`deno task evaluate`); with `--supervised`, members without
 * one are evaluated here (FactorVAE, infogan-cr protocol, the selection profile's sizes) and the result is kept in
 * selection.json only.
 *
 * ModelCentrality's N² cells S[i][j] go through a cell cache in POOL/cross-eval/<key>/ (lib/selection/cross_eval_cells.ts):
 * cells already there are not computed again, so an interrupted run resumes. `--executor slurm` computes the missing
 * cells as a Slurm job array over blocks of `--rows-per-task` rows (POOL/slurm/cross-eval.sbatch; `--no-submit` writes
 * it only), follows it, then assembles the matrix here; each array task runs `deno task select --rows FIRST-LAST`,
 * which computes those rows' cells into the cache and stops.
 */
import { z } from "zod";
import { defineCommand, type Flags, requirePath, UsageError } from "../lib/cli/command.ts";
import { backendFlag } from "../lib/config/backend.ts";
import { Rng } from "../lib/rng.ts";
import type { GroundTruthData } from "../lib/data/ground_truth.ts";
import type { TrainedModel } from "../lib/models/capabilities.ts";
import type { VaeModel } from "../lib/models/vae.ts";
import type { ModelCentralityResult } from "../lib/selection/model_centrality.ts";
import type { UdrResult } from "../lib/selection/udr.ts";
import { listPoolMembers, readPoolSpec } from "../lib/selection/pool.ts";
import { checkpointIteration } from "../lib/train/checkpoint.ts";
import type { CellInputs, FolderCellStore } from "../lib/selection/cross_eval_cells.ts";
import { slurmClient } from "../lib/cluster/slurm.ts";
import { readPoolState } from "../lib/cluster/pool_state.ts";
import { mergeSlurmOptions, runCrossEvalOnSlurm } from "../lib/cluster/slurm_pool.ts";
import { checkSlurmFlags, slurmFlags, slurmOptionsFromFlags, slurmPollMs } from "../lib/cluster/slurm_flags.ts";
import {
  compareWithSupervised,
  comparisonTable,
  METHOD_LABEL,
  poolFamily,
  rankAgreement,
  rankingTable,
  SELECTION_METHODS,
  type SelectionMethod,
  supervisedFactorVae,
} from "../lib/selection/report.ts";
import type { VegaLiteSpec } from "../lib/viz/charts.ts";
import { writeBytesAtomic, writeTextAtomic } from "../lib/io/atomic.ts";

export const command = defineCommand({
  name: "select",
  summary: "selects a model from a trained pool without labels (ModelCentrality, UDR), checked against FactorVAE",
  flags: {
    pool: {
      type: "string",
      schema: z.string().min(1),
      required: true,
      placeholder: "runs/POOL",
      doc: "the pool folder",
    },
    method: {
      type: "string",
      schema: z.enum(["model-centrality", "udr-lasso", "udr-spearman", "all"]),
      default: "all",
      inUsage: true,
      doc: "the selection method",
    },
    profile: {
      type: "string",
      schema: z.enum(["smoke", "cpu", "paper"]),
      defaultDoc: "the pool's profile, else cpu",
      doc: "sample sizes",
    },
    seed: { type: "number", schema: z.number().int(), default: 0, doc: "the seed of the selection's sampling" },
    supervised: { type: "boolean", doc: "evaluate FactorVAE on members without metrics.json (kept in selection.json)" },
    "udr-samples": {
      type: "number",
      schema: z.number().int().min(2),
      defaultDoc: "the profile's",
      doc: "images UDR encodes",
    },
    chunk: { type: "number", schema: z.number().int().min(1), default: 256, doc: "images per batch" },
    "no-plots": { type: "boolean", doc: "write no plots" },
    backend: backendFlag,
    ...slurmFlags,
    executor: { ...slurmFlags.executor, defaultDoc: "local" },
    "rows-per-task": {
      type: "number",
      schema: z.number().int().min(1),
      default: 8,
      doc: "with --executor slurm: rows of ModelCentrality's N×N matrix per array task",
    },
    rows: {
      type: "string",
      schema: z.string().regex(/^\d+-\d+$/, "FIRST-LAST, e.g. 0-7"),
      placeholder: "FIRST-LAST",
      doc: "compute only these rows' ModelCentrality cells into the cache, then stop (what a Slurm task runs)",
    },
    "cells-key": {
      type: "string",
      schema: z.string().regex(/^[0-9a-f]{16}$/, "16 hex digits"),
      placeholder: "KEY",
      doc: "with --rows: the cell cache the cells must go to (the pool must not have changed since submission)",
    },
  },
  examples: [
    "deno task select --pool runs/pool-dsprites --method all",
    "deno task select --pool /shared/pools/igcr --executor slurm --rows-per-task 4 --slurm-partition gpu --slurm-gpus 1",
  ],
  check(flags, given) {
    checkSlurmFlags(flags.executor ?? "local", given);
    if (flags.executor === "slurm" && flags.method !== "all" && flags.method !== "model-centrality") {
      throw new UsageError("--executor slurm runs ModelCentrality's cross-evaluation; --method excludes it");
    }
    if (flags.rows !== undefined && flags.executor === "slurm") {
      throw new UsageError("--rows is what each Slurm task runs; drop --executor slurm");
    }
    if (flags["cells-key"] !== undefined && flags.rows === undefined) {
      throw new UsageError("--cells-key goes with --rows");
    }
  },
});

/** The ground-truth dataset a pool was trained on (its real images feed UDR and the supervised score). */
async function datasetFor(name: string): Promise<GroundTruthData> {
  switch (name) {
    case "dsprites":
      return new (await import("../lib/data/dsprites.ts")).DSprites();
    case "teapots":
      return new (await import("../lib/data/teapots.ts")).Teapots();
    default:
      throw new Error(`dataset "${name}" has no ground-truth factors here; UDR and supervised scores need one`);
  }
}

function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  return typeof data === "string" ? writeTextAtomic(path, data) : writeBytesAtomic(path, data);
}

async function writeChart(dir: string, name: string, spec: VegaLiteSpec): Promise<string[]> {
  const { specToSvg, svgToPng } = await import("../lib/viz/charts.ts");
  const svg = await specToSvg(spec);
  await writeAtomic(`${dir}/${name}.svg`, svg);
  await writeAtomic(`${dir}/${name}.png`, await svgToPng(svg));
  await writeAtomic(`${dir}/${name}.vl.json`, JSON.stringify(spec, null, 1));
  return [`${dir}/${name}.svg`, `${dir}/${name}.png`];
}

/** Progress on stderr, at most every 2 s. */
function throttled(label: string): (msg: string) => void {
  let last = 0;
  return (msg) => {
    const t = performance.now();
    if (t - last < 2000) return;
    last = t;
    console.error(`${label}: ${msg}`);
  };
}

async function main(flags: Flags<typeof command.flags>): Promise<void> {
  const tf = await import("@tensorflow/tfjs");
  const { initBackend } = await import("../lib/backend.ts");
  const { loadTrainedModel } = await import("../lib/models/load.ts");
  const { meanKlPerDim } = await import("../lib/models/vae.ts");
  const { evaluateMetrics } = await import("../lib/metrics/evaluate.ts");
  const { resolveSizes } = await import("../lib/selection/model_centrality.ts");
  const { computeCells, memberIdentity, modelCentralityCached, openFolderCellStore } = await import(
    "../lib/selection/cross_eval_cells.ts"
  );
  const { activeFromKl, udr, UDR_SAMPLES } = await import("../lib/selection/udr.ts");
  const { heatmap, scatter } = await import("../lib/viz/charts.ts");
  const poolDir = flags.pool.replace(/\/+$/, "");
  await requirePath("pool", poolDir, "folder");
  const spec = await readPoolSpec(poolDir);
  const profile = flags.profile ?? spec?.profile ?? "cpu";
  const methods: SelectionMethod[] = flags.method === "all" ? [...SELECTION_METHODS] : [flags.method];
  const members = await listPoolMembers(poolDir);
  if (members.length < 2) {
    throw new UsageError(`--pool ${poolDir} has ${members.length} trained member(s); selection needs at least 2`);
  }
  const configs = await Promise.all(
    members.map(async (m) => JSON.parse(await Deno.readTextFile(`${m.dir}/config.json`)) as Record<string, unknown>),
  );
  const datasets = new Set(configs.map((c) => String(c.dataset)));
  if (datasets.size !== 1) throw new Error(`the pool mixes datasets (${[...datasets].join(", ")})`);
  const datasetName = [...datasets][0];
  const modelNames = configs.map((c) => String(c.model));
  const names = members.map((m) => m.name);
  const backend = await initBackend({ backend: flags.backend });
  const rng = new Rng(flags.seed);
  console.error(`select: ${members.length} members of ${poolDir} (${[...new Set(modelNames)].join(", ")}), ${profile}`);

  // ModelCentrality's cells: cached in the pool folder, computed here, by --rows, or by a Slurm array.
  let cells: { store: FolderCellStore; key: string; dir: string } | undefined;
  if (methods.includes("model-centrality") || flags.rows !== undefined) {
    const inputs: CellInputs = {
      schema: "igcr-mc-cells/1",
      sizes: resolveSizes({ profile }),
      seed: flags.seed,
      members: await Promise.all(members.map((m) => memberIdentity(m.name, m.dir))),
    };
    cells = await openFolderCellStore(poolDir, inputs);
    if (flags["cells-key"] !== undefined && flags["cells-key"] !== cells.key) {
      throw new Error(
        `the pool changed since the cross-evaluation script was written (cells key ${flags["cells-key"]}, now ` +
          `${cells.key}); run \`deno task select --pool ${poolDir} --executor slurm\` again`,
      );
    }
  }
  if (flags.executor === "slurm" && cells) {
    const store = cells.store;
    let lastReload = -Infinity;
    const r = await runCrossEvalOnSlurm({
      poolDir,
      n: members.length,
      rowsPerTask: flags["rows-per-task"],
      profile,
      seed: flags.seed,
      chunk: flags.chunk,
      cellsKey: cells.key,
      rowComplete: async (i) => {
        if (performance.now() - lastReload > 1000) {
          await store.reload();
          lastReload = performance.now();
        }
        for (let j = 0; j < store.n; j++) if (!store.has(i, j)) return false;
        return true;
      },
      slurm: mergeSlurmOptions((await readPoolState(poolDir))?.slurm, slurmOptionsFromFlags(flags)),
      client: slurmClient(),
      submit: !flags["no-submit"],
      backend: flags.backend ?? Deno.env.get("IGCR_BACKEND"),
      pollMs: slurmPollMs(flags),
      print: (l) => console.error(l),
    });
    if (flags["no-submit"]) return;
    if (r.exitCode !== 0) throw new Error("the cross-evaluation did not complete (see above)");
    await store.reload();
  }

  const models: TrainedModel[] = [];
  try {
    for (const m of members) models.push(await loadTrainedModel(m.dir));

    if (flags.rows !== undefined) {
      const [first, last] = flags.rows.split("-").map(Number);
      if (last < first || last >= members.length) {
        throw new UsageError(`--rows ${flags.rows} is outside 0-${members.length - 1}`);
      }
      const rows = Array.from({ length: last - first + 1 }, (_, k) => first + k);
      const t0 = performance.now();
      const log = throttled(`rows ${flags.rows}`);
      const computed = await computeCells(
        models,
        rng.fork("model-centrality"),
        resolveSizes({ profile }),
        cells!.store,
        {
          rows,
          chunk: flags.chunk,
          meta: { backend: backend.name },
          onProgress: (p) => log(`set ${p.set + 1}/${p.sets}, ${p.imagesDone}/${p.imagesTotal} images`),
        },
      );
      console.error(
        `rows ${flags.rows}: ${computed} cells computed, ${rows.length * members.length - computed} were cached, ` +
          `in ${((performance.now() - t0) / 1000).toFixed(1)} s (${cells!.dir})`,
      );
      return;
    }

    // Supervised scores: metrics.json, or evaluated here with --supervised.
    const supervised: (number | undefined)[] = [];
    const supervisedSource: string[] = [];
    let data: GroundTruthData | undefined;
    const needData = flags.supervised || methods.some((m) => m.startsWith("udr"));
    if (needData) data = await datasetFor(datasetName);
    for (let i = 0; i < members.length; i++) {
      let s: number | undefined;
      let saved: { checkpointIteration?: unknown } | undefined;
      try {
        saved = JSON.parse(await Deno.readTextFile(`${members[i].dir}/metrics.json`));
      } catch { /* no metrics.json */ }
      s = supervisedFactorVae(saved);
      // A score saved before the member was trained further describes another model: not used.
      const now = await checkpointIteration(`${members[i].dir}/checkpoint`);
      if (s !== undefined && typeof saved?.checkpointIteration === "number" && saved.checkpointIteration !== now) {
        const file = `${members[i].dir}/metrics.json`;
        console.error(
          `${file} scored iteration ${saved.checkpointIteration}, the checkpoint is at ${now}: not used ` +
            "(run `deno task evaluate` on it, or pass --supervised)",
        );
        s = undefined;
      }
      if (s !== undefined) {
        supervisedSource.push("metrics.json");
      } else if (flags.supervised && data) {
        const r = await evaluateMetrics(data, models[i], {
          protocol: "infogan-cr",
          profile,
          metrics: ["factor-vae"],
          seed: flags.seed,
          backend: backend.name,
        });
        s = r.scores.factorVae;
        supervisedSource.push(`evaluated here (infogan-cr, ${profile})`);
      } else {
        supervisedSource.push("none");
      }
      supervised.push(s);
    }

    const results: Partial<Record<SelectionMethod, ModelCentralityResult | UdrResult>> = {};
    const seconds: Partial<Record<SelectionMethod, number>> = {};
    if (methods.includes("model-centrality")) {
      const t0 = performance.now();
      const log = throttled("model-centrality");
      const mc = await modelCentralityCached(models, rng.fork("model-centrality"), cells!.store, {
        profile,
        chunk: flags.chunk,
        meta: { backend: backend.name },
        onProgress: (p) => log(`set ${p.set + 1}/${p.sets}, ${p.imagesDone}/${p.imagesTotal} images`),
      });
      const n2 = members.length ** 2;
      console.error(
        `model-centrality: ${n2 - mc.cellsComputed} of ${n2} cells were cached, ${mc.cellsComputed} computed here ` +
          `(${cells!.dir})`,
      );
      results["model-centrality"] = mc;
      seconds["model-centrality"] = (performance.now() - t0) / 1000;
    }
    let activeCounts: number[] | undefined;
    const udrMethods = methods.filter((m) => m !== "model-centrality") as ("udr-lasso" | "udr-spearman")[];
    if (udrMethods.length) {
      const n = flags["udr-samples"] ?? UDR_SAMPLES[profile];
      const t0 = performance.now();
      const images = data!.observe(data!.sampleFactors(n, rng.fork("udr-images")));
      try {
        // VAEs: drop latents with mean KL < 0.01 ([DL]); GANs have no KL, so every code dim is active.
        const activeDims: (boolean[] | null)[] = [];
        for (let i = 0; i < models.length; i++) {
          const vae = modelNames[i] === "factor-vae" || modelNames[i] === "beta-vae";
          activeDims.push(vae ? activeFromKl(await meanKlPerDim(models[i] as unknown as VaeModel, images)) : null);
        }
        activeCounts = activeDims.map((a, i) => (a ? a.filter(Boolean).length : models[i].codeSize));
        if (activeDims.some((a) => a)) {
          console.error(
            `UDR active dims (VAE mean KL > 0.01): ${names.map((n, i) => `${n} ${activeCounts![i]}`).join(", ")}`,
          );
          if (activeCounts.some((c) => c === 0)) {
            console.error("a model with no active dim scores 0 in every UDR pair (its latents carry no information)");
          }
        }
        const encodeSeconds = (performance.now() - t0) / 1000;
        for (const method of udrMethods) {
          const t1 = performance.now();
          const log = throttled(method);
          results[method] = await udr(models, images, rng.fork(method), {
            method: method === "udr-lasso" ? "lasso" : "spearman",
            activeDims,
            chunk: flags.chunk,
            onProgress: (p) => log(`${p.stage} ${p.done}/${p.total}`),
          });
          seconds[method] = (performance.now() - t1) / 1000 + encodeSeconds / udrMethods.length;
        }
      } finally {
        images.dispose();
      }
    }

    // Report.
    const family = poolFamily(modelNames[0]);
    const picks: Partial<Record<SelectionMethod, number>> = {};
    const tau: Partial<Record<SelectionMethod, number | null>> = {};
    for (const m of methods) {
      const r = results[m]!;
      picks[m] = r.pick;
      tau[m] = rankAgreement(r.scores, supervised);
      console.log(`\n${METHOD_LABEL[m]} (${seconds[m]!.toFixed(1)} s)`);
      console.log(rankingTable(m, names, r.scores, supervised));
    }
    const comparison = compareWithSupervised(picks, supervised, family);
    const nSup = supervised.filter((s) => s !== undefined).length;
    console.log(
      `\nKendall tau-b against the supervised FactorVAE ranking (${nSup} of ${names.length} members scored):`,
    );
    for (const m of methods) {
      console.log(`  ${METHOD_LABEL[m].padEnd(16)} ${tau[m] === null ? "—" : tau[m]!.toFixed(3)}`);
    }
    console.log(`\nSelection vs supervised score (Table 3 style; paper values are the ${family} pool, paper profile):`);
    console.log(comparisonTable(comparison, names, profile));
    if (nSup === 0) {
      console.log("(no supervised scores: run `deno task evaluate` on the members or pass --supervised)");
    }

    const plots: string[] = [];
    if (!flags["no-plots"]) {
      const dir = `${poolDir}/plots`;
      await Deno.mkdir(dir, { recursive: true });
      const mc = results["model-centrality"] as ModelCentralityResult | undefined;
      if (mc) {
        plots.push(
          ...await writeChart(
            dir,
            "similarity",
            heatmap(mc.A, {
              rowLabels: names,
              colLabels: names,
              title: `ModelCentrality similarity A = (S + Sᵀ)/2 (${profile})`,
            }),
          ),
          ...await writeChart(
            dir,
            "cross_scores",
            heatmap(mc.S, {
              rowLabels: names,
              colLabels: names,
              title: `S[i][j]: encoder of row i on the generated set of column j (${profile})`,
              yTitle: "encoder (i)",
              xTitle: "generator (j)",
            }),
          ),
        );
        const pts = mc.scores.flatMap((c, i) =>
          supervised[i] === undefined ? [] : [{ x: c, y: supervised[i]!, label: names[i] }]
        );
        if (pts.length) {
          plots.push(
            ...await writeChart(
              dir,
              "centrality_vs_factorvae",
              scatter(pts, {
                title: `Centrality vs supervised FactorVAE (${profile})`,
                xTitle: "ModelCentrality score",
                yTitle: "FactorVAE score (supervised)",
              }),
            ),
          );
        }
      }
    }

    const out = {
      schema: "igcr-selection/1",
      pool: poolDir,
      dataset: datasetName,
      profile,
      seed: flags.seed,
      backend: backend.description,
      createdAt: new Date().toISOString(),
      members: members.map((m, i) => ({
        name: m.name,
        dir: m.dir,
        model: modelNames[i],
        seed: m.seed,
        params: m.params,
        supervisedFactorVae: supervised[i] ?? null,
        supervisedSource: supervisedSource[i],
        udrActiveDims: activeCounts?.[i] ?? null,
      })),
      methods: Object.fromEntries(methods.map((m) => [m, { ...results[m], seconds: seconds[m] }])),
      kendallTau: tau,
      comparison: comparison.map((r) => ({ ...r, member: r.member === undefined ? null : names[r.member] })),
      paperReference: "paper Table 3, dSprites, FactorVAE metric (paper-facts §6); measured values are this profile's",
      plots,
    };
    const outPath = `${poolDir}/selection.json`;
    await writeAtomic(
      outPath,
      JSON.stringify(out, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 1),
    );
    console.log(`\nwrote ${outPath}${plots.length ? ` and ${plots.length} plot files in ${poolDir}/plots` : ""}`);
  } finally {
    for (const m of models) m.dispose();
    tf.disposeVariables();
  }
}

if (import.meta.main) {
  await command.run(async (flags) => {
    try {
      await main(flags);
    } finally {
      const { shutdownBackend } = await import("../lib/backend.ts");
      shutdownBackend();
    }
  });
}
