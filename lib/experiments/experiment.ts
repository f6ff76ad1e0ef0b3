/**
 * The shape of one paper experiment, and the wrapper that runs it into a report section: a thrown `NotImplementedYet`
 * becomes status "not-implemented" (with no numbers), any other error becomes "failed" with its message, and a finished
 * experiment leaves a done-marker so a resumed `reproduce` skips it.
 */
import { join } from "node:path";
import { readJsonIfExists, writeJsonAtomic } from "../io/atomic.ts";
import type { ReportSection } from "../report/types.ts";
import { type ExperimentContext, type ExperimentId, NotImplementedYet, type Profile } from "./context.ts";
import type { RunJob } from "./parallel_train.ts";

export interface Experiment {
  id: ExperimentId;
  title: string;
  /** The paper's claim the experiment examines, quoted at the top of its section. */
  claim: string;
  /** Rough wall time on 2 CPU cores (seconds) per profile, for the ETA before anything has been measured. */
  estimateS: Record<Profile, number>;
  /** Runs the experiment and returns its report section (status "ok" or "partial"). */
  run(ctx: ExperimentContext): Promise<ReportSection>;
  /**
   * The runs this experiment trains (names as `ctx.runDir` takes them, data the same as `run` uses), so `reproduce
   * --parallel N` can train them N at a time before the experiment starts. Runs left out (e.g. CelebA from a user's
   * folder) train inside `run`.
   */
  trainingJobs?(profile: Profile): RunJob[];
  /**
   * What a finished result depends on beyond the profile (e.g. which CelebA folder): a done-marker with another key
   * is not reused.
   */
  resumeKey?(): string;
}

interface DoneMarker {
  profile: Profile;
  key?: string;
  finishedAt: string;
  section: ReportSection;
}

function donePath(ctx: ExperimentContext): string {
  return join(ctx.workDir, "done.json");
}

/** The section of an experiment finished in an earlier session for this profile (and resume key), or null. */
export async function finishedSection(ctx: ExperimentContext, key?: string): Promise<ReportSection | null> {
  const m = await readJsonIfExists<DoneMarker>(donePath(ctx));
  return m && m.profile === ctx.profile && (key === undefined || m.key === key) ? m.section : null;
}

/** Runs an experiment (or restores it from its done-marker) and never throws: failures are in the section. */
export async function runExperiment(exp: Experiment, ctx: ExperimentContext): Promise<ReportSection> {
  const key = exp.resumeKey?.();
  const previous = await finishedSection(ctx, key);
  if (previous) {
    ctx.log(`finished in an earlier session; reusing its results (delete ${donePath(ctx)} to redo it)`);
    return previous;
  }
  try {
    const section = await exp.run(ctx);
    if (section.status === "ok" || section.status === "partial") {
      await writeJsonAtomic(
        donePath(ctx),
        {
          profile: ctx.profile,
          key,
          finishedAt: new Date().toISOString(),
          section,
        } satisfies DoneMarker,
      );
    }
    return section;
  } catch (e) {
    const err = e as Error;
    const notYet = err instanceof NotImplementedYet;
    ctx.log(notYet ? err.message : `FAILED: ${err.stack ?? err.message}`);
    return {
      id: exp.id,
      title: exp.title,
      claim: exp.claim,
      status: notYet ? "not-implemented" : "failed",
      paragraphs: notYet ? [`This experiment could not run: ${err.message}. No number is reported for it.`] : [
        "The experiment stopped with an error; no number is reported for it. Steps that finished are kept and a " +
        "rerun resumes after them.",
      ],
      tables: [],
      figures: [],
      numbers: {},
      error: notYet ? undefined : (err.stack ?? err.message),
      wallTimeS: ctx.wallTimeS() || ctx.sessionTimeS(),
    };
  }
}
