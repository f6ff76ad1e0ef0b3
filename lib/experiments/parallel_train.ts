/**
 * Training the runs of `reproduce` several at a time. On a CPU, two single-threaded trainings use two cores better
 * than one two-threaded training (wasm threads share each convolution, not the element-wise work between them), so
 * `reproduce --parallel 2` first trains every unfinished run that the chosen experiments need, each in its own
 * `deno task train --config` subprocess, and the experiments then find the runs finished and only score them.
 *
 * Each run folder gets `train-wall.json` with the seconds its training took (summed over resumed pieces) and the thread
 * count it had, so the report states what a run cost even though it was trained outside the experiment's own step.
 */
import { join } from "node:path";
import type { GanConfig } from "../config/gan.ts";
import type { VaeConfig } from "../config/vae.ts";
import { readJsonIfExists, writeJsonAtomic } from "../io/atomic.ts";
import { datasetByName } from "../data/registry.ts";
import { withDataSource } from "../data/source.ts";
import { runDenoLogged, tailLines } from "../io/subprocess.ts";
import { memberStatus } from "../selection/pool.ts";
import { branchRun } from "../train/branch.ts";
import { nonResumableDifferences } from "../train/run_folder.ts";
import { formatSeconds } from "../viz/display.ts";

/** One run an experiment needs: its folder name under `<out>/work/runs/` and its full config. */
export interface RunJob {
  name: string;
  config: GanConfig | VaeConfig;
  /** Options of the config's dataset (lib/data/registry.ts), e.g. the teapots training-set size; JSON-safe. */
  dataOptions?: { count?: number; seed?: number };
  /**
   * Start from another job's checkpoint at iteration `at` (lib/train/branch.ts): the job waits until run `from` is
   * trained, then its folder is branched from it and trained on.
   */
  branch?: { from: string; at: number };
}

export interface TrainWall {
  /** Wall seconds of training, summed over every piece (a resumed run adds its pieces). */
  seconds: number;
  /** Threads of the process that trained it (wasm or native engine; 0 when unknown). */
  threads: number;
  /** How many runs were training at the same time. */
  concurrent: number;
}

export const TRAIN_WALL_FILE = "train-wall.json";

/** The recorded training wall time of a run folder, or null when it was trained in-process (no file). */
export async function readTrainWall(runDir: string): Promise<TrainWall | null> {
  return await readJsonIfExists<TrainWall>(join(runDir, TRAIN_WALL_FILE));
}

export interface ParallelTrainOptions {
  /** Runs training at the same time (>= 1). */
  parallel: number;
  /** Folder that holds the run folders (`ctx.runDir` of every experiment: `<out>/work/runs`). */
  runsDir: string;
  /** Threads per child (IGCR_THREADS: wasm or native engine); default: cores / parallel, at least 1. */
  threads?: number;
  /** Backend flag handed to the children (default: theirs, i.e. the same auto choice). */
  backend?: string;
  log?: (line: string) => void;
}

export interface ParallelTrainResult {
  trained: string[];
  skipped: string[];
  wallS: number;
}

/**
 * The config with the data file its run will train on (dSprites' original archive when IGCR_DSPRITES_NPZ is set), as
 * the experiments record it too, so the child's config.json matches the one the experiment later asks for.
 */
async function withTrainingData<C extends GanConfig | VaeConfig>(config: C): Promise<C> {
  if (config.dataset !== "dsprites") return config;
  return withDataSource(config, await datasetByName("dsprites"));
}

/** The unique jobs of a list (the selection pool shares runs with the dSprites experiment), by name. */
export function uniqueJobs(jobs: RunJob[]): RunJob[] {
  const seen = new Map<string, RunJob>();
  for (const j of jobs) {
    const prev = seen.get(j.name);
    if (prev && JSON.stringify([prev.config, prev.dataOptions]) !== JSON.stringify([j.config, j.dataOptions])) {
      throw new Error(`two experiments need run "${j.name}" with different configs`);
    }
    seen.set(j.name, j);
  }
  return [...seen.values()];
}

/**
 * The jobs whose run folder already holds a config that differs from the job's in a key a resume may not change, or in
 * its length (a finished shorter run would otherwise pass for the longer one), with those keys.
 */
export async function staleRuns(jobs: RunJob[], runsDir: string): Promise<{ name: string; keys: string[] }[]> {
  const out: { name: string; keys: string[] }[] = [];
  for (const job of jobs) {
    const onDisk = await readJsonIfExists<Record<string, unknown>>(join(runsDir, job.name, "config.json"));
    if (!onDisk) continue;
    const wanted = (await withTrainingData(job.config)) as unknown as Record<string, unknown>;
    const keys = nonResumableDifferences(onDisk, wanted);
    if (onDisk.iterations !== wanted.iterations) keys.push("iterations");
    if (keys.length > 0) out.push({ name: job.name, keys });
  }
  return out;
}

/**
 * Trains every unfinished job, `parallel` at a time, each in a `deno run -A cli/train.ts --config` subprocess with its
 * log in `<runDir>.log`. Throws, naming every failed run and quoting the end of its log, after the others finished.
 */
export async function trainInParallel(jobs: RunJob[], opts: ParallelTrainOptions): Promise<ParallelTrainResult> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const parallel = Math.max(1, Math.floor(opts.parallel));
  const threads = opts.threads ?? Math.max(1, Math.floor(navigator.hardwareConcurrency / parallel));
  const todo: { job: RunJob; dir: string; resume: boolean }[] = [];
  const skipped: string[] = [];
  const all = uniqueJobs(jobs);
  const names = new Set(all.map((j) => j.name));
  for (const job of all) {
    if (job.branch && !names.has(job.branch.from)) {
      throw new Error(`run "${job.name}" branches from "${job.branch.from}", which is not among the runs to train`);
    }
  }
  const stale = await staleRuns(all, opts.runsDir);
  if (stale.length > 0) {
    throw new Error(
      `${stale.length} run folder(s) in ${opts.runsDir} hold runs trained with other settings than asked for now: ` +
        stale.map((s) => `${s.name} (${s.keys.join(", ")})`).join("; ") +
        ". Their results (and the experiment steps scored on them) would be reported as if trained with the new " +
        "settings. Reproduce into a new --out folder, or delete those run folders and the work folders of the " +
        "experiments that use them to retrain them.",
    );
  }
  for (const job of all) {
    const dir = join(opts.runsDir, job.name);
    const st = await memberStatus(dir);
    if (st.state === "done") skipped.push(job.name);
    else todo.push({ job, dir, resume: st.state === "partial" });
  }
  // A branch waits for its parent; a failed parent fails its branches.
  const pending = new Set(todo.map((t) => t.job.name));
  const failedNames = new Set<string>();
  let wake: () => void = () => {};
  let changed = new Promise<void>((r) => (wake = r));
  const signal = () => {
    wake();
    changed = new Promise<void>((r) => (wake = r));
  };
  const takeNext = async (): Promise<(typeof todo)[number] | null> => {
    while (true) {
      const i = todo.findIndex((t) => !t.job.branch || !pending.has(t.job.branch.from));
      if (i >= 0) return todo.splice(i, 1)[0];
      if (todo.length === 0) return null;
      await changed;
    }
  };
  log(
    `training ${todo.length} run(s) ${parallel} at a time with ${threads} thread(s) each` +
      (skipped.length ? ` (${skipped.length} already trained)` : ""),
  );
  const trainScript = new URL("../../cli/train.ts", import.meta.url).pathname;
  const env: Record<string, string> = { IGCR_THREADS: String(threads) };
  if (opts.backend) env.IGCR_BACKEND = opts.backend;
  const t0 = performance.now();
  const failed: string[] = [];
  const trained: string[] = [];
  let finished = 0;
  const total = todo.length;
  const worker = async () => {
    for (let t = await takeNext(); t !== null; t = await takeNext()) {
      const { job, dir } = t;
      let resume = t.resume;
      const done = (ok: boolean) => {
        if (!ok) failedNames.add(job.name);
        pending.delete(job.name);
        signal();
      };
      const config = await withTrainingData(job.config);
      if (job.branch) {
        if (failedNames.has(job.branch.from)) {
          failed.push(`${job.name}: its parent run ${job.branch.from} failed`);
          finished++;
          done(false);
          continue;
        }
        try {
          await branchRun(join(opts.runsDir, job.branch.from), dir, config as GanConfig, job.branch.at);
          resume = true;
        } catch (e) {
          failed.push(`${job.name}: ${(e as Error).message}`);
          finished++;
          done(false);
          continue;
        }
      }
      await Deno.mkdir(dir, { recursive: true });
      const configPath = join(dir, "requested-config.json");
      await writeJsonAtomic(configPath, config);
      const logPath = `${dir}.log`;
      const args = ["run", "-A", trainScript, "--config", configPath, "--out", dir, ...(resume ? ["--resume"] : [])];
      if (job.dataOptions) args.push("--data-options", JSON.stringify(job.dataOptions));
      log(`${job.name}: ${resume ? "resuming" : "training"} (progress: tail -f ${logPath})`);
      const start = performance.now();
      const code = await runDenoLogged(args, logPath, env);
      const secs = (performance.now() - start) / 1000;
      finished++;
      if (code !== 0) {
        failed.push(`${job.name} (exit ${code}): ${await tailLines(logPath, 3)}`);
        log(`${job.name}: FAILED after ${formatSeconds(secs)}, see ${logPath}`);
        done(false);
        continue;
      }
      const before = await readTrainWall(dir);
      await writeJsonAtomic(
        join(dir, TRAIN_WALL_FILE),
        {
          seconds: (before?.seconds ?? 0) + secs,
          threads,
          concurrent: Math.min(parallel, total),
        } satisfies TrainWall,
      );
      trained.push(job.name);
      done(true);
      const elapsed = (performance.now() - t0) / 1000;
      const eta = finished < total ? `, ETA ${formatSeconds((elapsed / finished) * (total - finished))}` : "";
      log(`${job.name}: trained in ${formatSeconds(secs)} [${finished}/${total}${eta}]`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, Math.max(todo.length, 1)) }, worker));
  if (failed.length > 0) throw new Error(`training failed for ${failed.length} run(s): ${failed.join("; ")}`);
  return { trained, skipped, wallS: (performance.now() - t0) / 1000 };
}
