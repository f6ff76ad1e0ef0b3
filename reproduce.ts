/**
 * `deno task reproduce [--profile smoke|cpu|paper] [--only dsprites,teapots,celeba,selection] [--out DIR] [--backend B]`
 *
 * Runs the paper's experiments headless (the same definitions the notebooks use, lib/experiments/) and writes
 * DIR/report.md, DIR/report.html (figures inline) and DIR/results.json. The default profile is the largest that fits
 * the machine: `paper` on a GPU backend, `cpu` otherwise. Finished steps leave done-markers under DIR/work/, so running
 * the same command again resumes where it stopped. Exits non-zero naming every experiment that failed or could not run.
 */
import { join, resolve } from "node:path";
import { z } from "zod";
import { defineCommand, type Flags } from "./lib/cli/command.ts";
import { backendFlag } from "./lib/config/backend.ts";
import { Profile } from "./lib/config/gan.ts";
import { EXPERIMENT_IDS, ExperimentId } from "./lib/experiments/ids.ts";
import { readJsonIfExists, writeJsonAtomic } from "./lib/io/atomic.ts";
import type { Report, ReportSection } from "./lib/report/types.ts";

export const command = defineCommand({
  name: "reproduce",
  summary:
    "runs the paper's experiments and writes the report; trains their runs N at a time first (default 2 on a CPU)",
  flags: {
    profile: {
      type: "string",
      schema: Profile,
      inUsage: true,
      defaultDoc: "paper on a GPU backend, else cpu",
      doc: "the experiments' size",
    },
    only: {
      type: "list",
      schema: z.array(ExperimentId).min(1),
      inUsage: true,
      defaultDoc: "all",
      doc: "the experiments to run",
    },
    out: {
      type: "string",
      schema: z.string().min(1),
      placeholder: "DIR",
      inUsage: true,
      defaultDoc: "runs/reproduce-PROFILE",
      doc: "the report folder; running again into it resumes",
    },
    parallel: {
      type: "number",
      schema: z.number().int().min(1).max(16),
      inUsage: true,
      defaultDoc: "2 on a CPU with 2+ cores, else 1",
      doc: "train the experiments' runs N at a time in subprocesses first",
    },
    backend: backendFlag,
  },
  examples: [
    "deno task reproduce --profile smoke",
    "deno task reproduce --profile cpu --only dsprites,selection --out runs/my-report",
  ],
});
export type ReproduceFlags = Flags<typeof command.flags>;

/** Parses argv (`--flag value` or `--flag=value`); a bad flag is a UsageError that names it and the allowed values. */
export function parseReproduceFlags(args: string[]): ReproduceFlags {
  return command.parse(args);
}

interface Session {
  startedAt: string;
  command: string;
  profile: string;
  wallS: number;
}

function machine(): string {
  return `${navigator.hardwareConcurrency} CPU cores, ${Deno.build.os}/${Deno.build.arch}, Deno ${Deno.version.deno}`;
}

async function main(flags: ReproduceFlags): Promise<number> {
  const { initBackend } = await import("./lib/backend.ts");
  const { ExperimentContext } = await import("./lib/experiments/context.ts");
  const { finishedSection, runExperiment } = await import("./lib/experiments/experiment.ts");
  const { EXPERIMENTS } = await import("./lib/experiments/registry.ts");
  const { trainInParallel, uniqueJobs } = await import("./lib/experiments/parallel_train.ts");
  const { writeReport } = await import("./lib/report/write.ts");
  const { formatSeconds } = await import("./lib/viz/display.ts");
  const backend = await initBackend({ backend: flags.backend });
  const profile: Profile = flags.profile ?? (backend.gpu ? "paper" : "cpu");
  const outDir = resolve(flags.out ?? `runs/reproduce-${profile}`);
  const ids = flags.only ?? [...EXPERIMENT_IDS];
  const commandLine = `deno task reproduce ${Deno.args.join(" ")}`.trim();
  console.error(
    `reproduce: profile ${profile} (${flags.profile ? "requested" : "default for this backend"}), ` +
      `backend ${backend.description}, experiments ${ids.join(", ")}, output ${outDir}`,
  );

  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  // A resumed report sums the wall time of every invocation that wrote into this folder.
  const sessionsPath = join(outDir, "work", "reproduce-sessions.json");
  const earlier = ((await readJsonIfExists<Session[]>(sessionsPath)) ?? []).filter((s) => s.profile === profile);
  const notes: string[] = [];
  const parallel = flags.parallel ?? (!backend.gpu && navigator.hardwareConcurrency >= 2 ? 2 : 1);
  const jobs = uniqueJobs(ids.flatMap((id) => EXPERIMENTS[id].trainingJobs?.(profile) ?? []));
  if (parallel > 1 && jobs.length > 0) {
    console.error(
      `reproduce: training the ${jobs.length} run(s) of ${ids.join(", ")} first, ${parallel} at a time`,
    );
    const threads = Math.max(1, Math.floor(navigator.hardwareConcurrency / parallel));
    const r = await trainInParallel(jobs, {
      parallel,
      threads,
      runsDir: resolve(outDir, "work", "runs"),
      backend: flags.backend,
      log: (l) => console.error(`reproduce: ${l}`),
    });
    // The note of the invocation that did the training survives a resumed invocation that only found runs finished.
    const notePath = join(outDir, "work", "parallel-training.json");
    const kept = await readJsonIfExists<{ note: string }>(notePath);
    if (r.trained.length === 0 && kept) notes.push(kept.note);
    else {
      const note = `The ${jobs.length} dSprites/3DTeapots runs were trained ${parallel} at a time in subprocesses ` +
        `(\`deno task train --config\`), each with ${threads} thread(s) on a CPU backend; ${r.trained.length} ` +
        `trained in ${formatSeconds(r.wallS)} of wall time, ${r.skipped.length} found finished. A run's wall time in ` +
        "the tables is its own training time in its subprocess.";
      notes.push(note);
      await writeJsonAtomic(notePath, { note });
    }
  }
  const sections: ReportSection[] = [];
  let estimatedDone = 0;
  let measuredDone = 0;
  const writeNow = async () => {
    const now: Session = { startedAt, command: commandLine, profile, wallS: (performance.now() - t0) / 1000 };
    await writeJsonAtomic(sessionsPath, [...earlier, now]);
    const sessionNote = earlier.length === 0 ? [] : [
      `Made in ${earlier.length + 1} invocations of reproduce on this folder (later ones resume: finished steps are ` +
      `reused, not recomputed): ${
        [...earlier, now].map((s) => `${s.startedAt} ${formatSeconds(s.wallS)}`).join("; ")
      }.`,
    ];
    const report: Report = {
      title: `InfoGAN-CR and ModelCentrality: reproduction report (profile ${profile})`,
      createdAt: new Date().toISOString(),
      command: commandLine,
      profile,
      backend: backend.description,
      machine: machine(),
      totalWallTimeS: [...earlier, now].reduce((a, s) => a + s.wallS, 0),
      notes: [...notes, ...sessionNote],
      sections,
    };
    return await writeReport(outDir, report);
  };

  for (let k = 0; k < ids.length; k++) {
    const exp = EXPERIMENTS[ids[k]];
    const remainingEst = ids.slice(k).reduce((a, id) => a + EXPERIMENTS[id].estimateS[profile], 0);
    // Scale the static estimates by how fast this machine has been so far on the experiments that actually ran.
    const speed = estimatedDone > 0 ? measuredDone / estimatedDone : 1;
    console.error(
      `reproduce: [${k + 1}/${ids.length}] ${exp.title}: starting; ETA for the rest ` +
        `${formatSeconds(remainingEst * speed)} (elapsed ${formatSeconds((performance.now() - t0) / 1000)})`,
    );
    const ctx = new ExperimentContext({
      id: exp.id,
      profile,
      outDir,
      backend: backend.description,
      gpu: backend.gpu,
      log: (l) => console.error(`reproduce: ${l}`),
    });
    const started = performance.now();
    const section = await runExperiment(exp, ctx);
    const took = (performance.now() - started) / 1000;
    if (ctx.sessionTimeS() > 1 && section.status !== "not-implemented") {
      estimatedDone += exp.estimateS[profile];
      measuredDone += took;
    }
    sections.push(section);
    await writeNow();
    console.error(`reproduce: [${k + 1}/${ids.length}] ${exp.title}: ${section.status} in ${formatSeconds(took)}`);
  }

  // Experiments left out by --only but finished in an earlier session of the same folder stay in the report.
  for (const id of EXPERIMENT_IDS) {
    if (ids.includes(id)) continue;
    const ctx = new ExperimentContext({ id, profile, outDir, backend: backend.description, log: () => {} });
    const previous = await finishedSection(ctx);
    if (previous) sections.push(previous);
  }
  sections.sort((a, b) => EXPERIMENT_IDS.indexOf(a.id as ExperimentId) - EXPERIMENT_IDS.indexOf(b.id as ExperimentId));
  const paths = await writeNow();
  console.log(`reproduce: report written: ${paths.markdown}\n  ${paths.html}\n  ${paths.json}`);
  const bad = sections.filter((s) => s.status === "failed" || s.status === "not-implemented");
  if (bad.length > 0) {
    console.error(
      `reproduce: ${bad.length} experiment(s) did not complete: ` +
        bad.map((s) => `${s.id} (${s.status === "failed" ? "failed" : "not implemented yet"})`).join(", "),
    );
    return 1;
  }
  console.error(
    `reproduce: all ${sections.length} experiment(s) done in ${formatSeconds((performance.now() - t0) / 1000)}`,
  );
  return 0;
}

if (import.meta.main) {
  await command.run(async (flags) => {
    try {
      return await main(flags);
    } finally {
      const { shutdownBackend } = await import("./lib/backend.ts");
      shutdownBackend();
    }
  });
}
