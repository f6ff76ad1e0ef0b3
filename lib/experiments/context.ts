/**
 * What every experiment definition gets to run in: its profile, its folders, resumable steps and progress. The same
 * context serves `reproduce.ts` (headless) and the notebooks (which also show figures inline), so an experiment is
 * written once.
 *
 * Resumability: `step(name, fn)` stores fn's JSON result with its wall time in `<workDir>/steps/<name>.json`. When the
 * marker exists for the same profile, the stored result is returned without running fn, and its wall time still counts
 * toward the experiment's total, so a resumed report states the time the numbers actually cost.
 */
import { join } from "node:path";
import { z } from "zod";
import { readJsonIfExists, writeJsonAtomic } from "../io/atomic.ts";
import type { Provenance, ReportFigure } from "../report/types.ts";
import { type DataSourceInfo, describeDataSource } from "../data/source.ts";
import { saveChart, saveImage } from "../report/write.ts";
import type { VegaLiteSpec } from "../viz/charts.ts";
import { formatProgress, showChart, showImage } from "../viz/display.ts";
import { pretrainedRunDir } from "./pretrained.ts";
import type { ExperimentId } from "./ids.ts";

export const Profile = z.enum(["smoke", "cpu", "paper"]);
export type Profile = z.infer<typeof Profile>;

export { EXPERIMENT_IDS, ExperimentId } from "./ids.ts";

/** The profile a notebook runs in: IGCR_PROFILE (CI sets "smoke"), else the given default. */
export function profileFromEnv(fallback: Profile = "smoke"): Profile {
  const raw = Deno.env.get("IGCR_PROFILE");
  if (raw === undefined || raw === "") return fallback;
  const p = Profile.safeParse(raw);
  if (!p.success) {
    throw new Error(`IGCR_PROFILE="${raw}" is not a profile: choose one of ${Profile.options.join(", ")}`);
  }
  return p.data;
}

interface StepMarker<T> {
  step: string;
  profile: Profile;
  /** What the result depends on besides the profile (e.g. a hash of the run configs it scored); see `step`. */
  key?: string;
  finishedAt: string;
  wallTimeS: number;
  result: T;
}

export interface ContextOptions {
  id: ExperimentId;
  profile: Profile;
  /** The report folder: figures go to `<outDir>/figures`, work files to `<outDir>/work/<id>`. */
  outDir: string;
  /** Backend description for provenance, e.g. "wasm (SIMD, 1 thread)". */
  backend: string;
  /** Whether the backend computes on a GPU. */
  gpu?: boolean;
  /** Show figures inline (notebooks). */
  display?: boolean;
  /** Use a shipped model of data/pretrained/ when its config is the one asked for (notebooks; lib/experiments/pretrained.ts). */
  pretrained?: boolean;
  /** Where shipped models are looked up (default data/pretrained/; tests use their own). */
  pretrainedRoot?: string;
  log?: (line: string) => void;
}

export class ExperimentContext {
  readonly id: ExperimentId;
  readonly profile: Profile;
  readonly outDir: string;
  readonly workDir: string;
  readonly backend: string;
  readonly gpu: boolean;
  readonly display: boolean;
  readonly pretrained: boolean;
  private readonly pretrainedRoot?: string;
  private readonly logFn: (line: string) => void;
  private spentS = 0;
  private readonly started = performance.now();
  private lastProgress = -Infinity;

  constructor(o: ContextOptions) {
    this.id = o.id;
    this.profile = o.profile;
    this.outDir = o.outDir;
    this.workDir = join(o.outDir, "work", o.id);
    this.backend = o.backend;
    this.gpu = o.gpu ?? false;
    this.display = o.display ?? false;
    this.pretrained = o.pretrained ?? false;
    this.pretrainedRoot = o.pretrainedRoot;
    this.logFn = o.log ?? ((l) => console.error(l));
  }

  log(line: string): void {
    this.logFn(`${this.id}: ${line}`);
  }

  /** A rate-limited progress line with an ETA from this task's own rate. */
  progress(task: string, done: number, total: number, startedAt: number, extra = ""): void {
    const now = performance.now();
    if (now - this.lastProgress < 5000 && done < total) return;
    this.lastProgress = now;
    this.log(formatProgress(task, done, total, (now - startedAt) / 1000, extra));
  }

  /** Seconds spent on this experiment's steps, including those restored from markers of earlier sessions. */
  wallTimeS(): number {
    return this.spentS;
  }

  /** Seconds since this context was created (this session only). */
  sessionTimeS(): number {
    return (performance.now() - this.started) / 1000;
  }

  stepPath(name: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`step name "${name}" must use only letters, digits, . _ -`);
    return join(this.workDir, "steps", `${name}.json`);
  }

  /** Whether a step finished in an earlier session (for this profile). */
  async isDone(name: string): Promise<boolean> {
    const m = await readJsonIfExists<StepMarker<unknown>>(this.stepPath(name));
    return m !== null && m.profile === this.profile;
  }

  /**
   * Runs fn once per profile (and `key`); later calls return the stored result (JSON round-tripped, so keep results
   * plain). A step whose result depends on run folders passes a key of their configs (`jsonKey`): when the configs
   * change (a preset was edited, a run retrained), the stored result no longer matches and fn runs again.
   */
  async step<T>(name: string, fn: () => Promise<T>, key?: string): Promise<T> {
    const path = this.stepPath(name);
    const marker = await readJsonIfExists<StepMarker<T>>(path);
    if (marker && marker.profile === this.profile && marker.key === key) {
      this.spentS += marker.wallTimeS;
      this.log(`step ${name}: done in an earlier session (${marker.finishedAt}), reusing its result`);
      return marker.result;
    }
    const t0 = performance.now();
    this.log(`step ${name}: running`);
    const result = await fn();
    const wallTimeS = (performance.now() - t0) / 1000;
    this.spentS += wallTimeS;
    await writeJsonAtomic(
      path,
      {
        step: name,
        profile: this.profile,
        key,
        finishedAt: new Date().toISOString(),
        wallTimeS,
        result,
      } satisfies StepMarker<T>,
    );
    return result;
  }

  /**
   * A run folder for one trained model, e.g. `<outDir>/work/runs/dsprites-infogan-cr-seed1`. Shared by all experiments
   * of the report, so the selection pool reuses the dSprites runs with the same config instead of training them again.
   */
  /**
   * The shipped pretrained run for `name` when this context uses them and its config equals `config`, else null (the
   * run is then trained in `runDir(name)`).
   */
  shippedRun(name: string, config: unknown): string | null {
    return this.pretrained ? pretrainedRunDir(name, config, this.pretrainedRoot) : null;
  }

  runDir(name: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`run name "${name}" must use only letters, digits, . _ -`);
    return join(this.outDir, "work", "runs", name);
  }

  /** Where a table's numbers came from; `data` names the images they were computed on (lib/data/source.ts). */
  provenance(seeds: number[], wallTimeS: number, note?: string, data?: DataSourceInfo): Provenance {
    return {
      profile: this.profile,
      backend: this.backend,
      seeds,
      wallTimeS,
      ...(note ? { note } : {}),
      ...(data ? { data: describeDataSource(data) } : {}),
    };
  }

  /**
   * A step that makes figures: like `step`, and when the figures were made in an earlier session a notebook still shows
   * them (from their files).
   */
  async figures(name: string, fn: () => Promise<ReportFigure[]>): Promise<ReportFigure[]> {
    const fresh = !(await this.isDone(name));
    const figs = await this.step(name, fn);
    if (!fresh && this.display) {
      for (const f of figs) {
        const file = f.files.gif ?? f.files.png;
        if (file) {
          await showImage(await Deno.readFile(join(this.outDir, file)), { caption: `${f.title}. ${f.caption}` });
        }
      }
    }
    return figs;
  }

  /** Saves a chart as SVG + PNG under figures/ (and shows it inline in a notebook). */
  async chart(name: string, spec: VegaLiteSpec, title: string, caption: string): Promise<ReportFigure> {
    const fig = await saveChart(this.outDir, `figures/${this.id}_${name}`, spec, {
      id: `${this.id}-${name}`,
      title,
      caption,
    });
    if (this.display) await showChart(spec, { caption: `${title}. ${caption}` });
    return fig;
  }

  /** Saves a PNG/GIF under figures/ (and shows it inline, scaled to `displayWidth`, in a notebook). */
  async image(
    name: string,
    bytes: Uint8Array,
    title: string,
    caption: string,
    displayWidth?: number,
  ): Promise<ReportFigure> {
    const ext = bytes[0] === 0x47 ? "gif" : "png";
    const fig = await saveImage(this.outDir, `figures/${this.id}_${name}.${ext}`, bytes, {
      id: `${this.id}-${name}`,
      title,
      caption,
    });
    if (this.display) await showImage(bytes, { caption: `${title}. ${caption}`, width: displayWidth });
    return fig;
  }
}

/** An error that means "the module this needs is not in the toolkit yet": the report says so instead of failing. */
export class NotImplementedYet extends Error {
  constructor(what: string) {
    super(`not implemented yet: ${what}`);
    this.name = "NotImplementedYet";
  }
}
