/**
 * `deno task reproduce [--profile smoke|cpu|paper] [--only dsprites,teapots,celeba,selection] [--out DIR] [--backend B]`
 *
 * Runs the paper's experiments headless (the same definitions the notebooks use, lib/experiments/) and writes
 * DIR/report.md, DIR/report.html (figures inline) and DIR/results.json. The default profile is the largest that fits
 * the machine: `paper` on a GPU backend, `cpu` otherwise. Finished steps leave done-markers under DIR/work/, so running
 * the same command again resumes where it stopped. Exits non-zero naming every experiment that failed or could not run.
 */
import { join, resolve } from "node:path";
import { readJsonIfExists, writeJsonAtomic } from "./lib/io/atomic.ts";
import { z } from "zod";
import { initBackend, shutdownBackend } from "./lib/backend.ts";
import { EXPERIMENT_IDS, ExperimentContext, ExperimentId, Profile } from "./lib/experiments/context.ts";
import { finishedSection, runExperiment } from "./lib/experiments/experiment.ts";
import { EXPERIMENTS } from "./lib/experiments/registry.ts";
import { trainInParallel, uniqueJobs } from "./lib/experiments/parallel_train.ts";
import type { Report, ReportSection } from "./lib/report/types.ts";
import { writeReport } from "./lib/report/write.ts";
import { formatSeconds } from "./lib/viz/display.ts";

const USAGE = "usage: deno task reproduce [--profile smoke|cpu|paper] [--only " + EXPERIMENT_IDS.join(",") +
  "] [--out DIR] [--backend auto|webgpu|wasm|cpu|tensorflow|tensorflow-gpu] [--parallel N]";

const Flags = z.object({
  profile: Profile.optional(),
  only: z.array(ExperimentId).min(1).optional(),
  out: z.string().min(1).optional(),
  /** Unset: lib/backend.ts decides (IGCR_BACKEND, else the best available). */
  backend: z.enum(["auto", "tensorflow-gpu", "tensorflow", "webgpu", "wasm", "cpu"]).optional(),
  /** Train the experiments' runs N at a time in subprocesses first (default: 2 on a CPU with 2+ cores, else 1). */
  parallel: z.coerce.number().int().min(1).max(16).optional(),
  help: z.boolean().default(false),
}).strict();
export type ReproduceFlags = z.infer<typeof Flags>;

/** Parses argv (`--flag value` or `--flag=value`); every error names the flag and the allowed values. */
export function parseReproduceFlags(args: string[]): ReproduceFlags {
  const raw: Record<string, unknown> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--help" || a === "-h") {
      raw.help = true;
      continue;
    }
    const m = a.match(/^--([a-z]+)(?:=(.*))?$/);
    if (!m) throw new Error(`unexpected argument "${a}"\n${USAGE}`);
    const value = m[2] ?? args[++i];
    if (value === undefined || value.startsWith("--")) throw new Error(`flag --${m[1]} needs a value\n${USAGE}`);
    raw[m[1]] = m[1] === "only" ? value.split(",").map((s) => s.trim()).filter(Boolean) : value;
  }
  const r = Flags.safeParse(raw);
  if (!r.success) {
    const msg = r.error.issues.map((i) => {
      if (i.code === "unrecognized_keys") {
        return `unknown flag(s) ${(i as { keys: string[] }).keys.map((k) => "--" + k)}`;
      }
      return `--${String(i.path[0] ?? "?")}: ${i.message}`;
    });
    throw new Error(`${msg.join("; ")}\n${USAGE}`);
  }
  return r.data;
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

async function main(): Promise<number> {
  const flags = parseReproduceFlags(Deno.args);
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const backend = await initBackend({ backend: flags.backend });
  const profile: Profile = flags.profile ?? (backend.gpu ? "paper" : "cpu");
  const outDir = resolve(flags.out ?? `runs/reproduce-${profile}`);
  const ids = flags.only ?? [...EXPERIMENT_IDS];
  const command = `deno task reproduce ${Deno.args.join(" ")}`.trim();
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
    const now: Session = { startedAt, command, profile, wallS: (performance.now() - t0) / 1000 };
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
      command,
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
  let code = 1;
  try {
    code = await main();
  } catch (e) {
    console.error(`reproduce: ${(e as Error).message}`);
    code = 2;
  } finally {
    shutdownBackend();
  }
  Deno.exit(code);
}
