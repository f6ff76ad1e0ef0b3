/**
 * The two job-array scripts of a pool on Slurm, as text (pure; lib/cluster/slurm.ts assembles the `#SBATCH` part):
 *
 * - `POOL/slurm/train.sbatch`: array task i trains member i (pool.json order) with the project's own
 *   `deno task train --config POOL/configs/<member>.json --out POOL/<member>` (adding `--resume` when the run folder
 *   already holds a checkpoint, so a cancelled, timed-out or requeued task continues instead of starting over), then
 *   evaluates it (`deno task evaluate`, FactorVAE, infogan-cr protocol) when the pool asks for it.
 * - `POOL/slurm/cross-eval.sbatch`: array task b computes the ModelCentrality cells of rows (encoders)
 *   b·R … b·R + R − 1 with `deno task select --rows FIRST-LAST`, which writes each cell into the pool's cell cache.
 *
 * Both scripts append everything a task prints to one log per unit (POOL/logs/<member>.log, the same file the local
 * executor writes; POOL/logs/cross-eval-rows-A-B.log) behind a header line naming the Slurm job, SLURM_ARRAY_TASK_ID
 * and the node. Paths are absolute, so every node must see the project and the pool folder at the same path.
 */
import { sbatchScript, shellQuote, type SlurmOptions } from "./slurm.ts";

export interface PoolScriptPaths {
  /** The toolkit's folder (holds deno.json), absolute. */
  project: string;
  /** The pool folder, absolute. */
  pool: string;
}

export const TRAIN_SCRIPT = "slurm/train.sbatch";
export const CROSS_EVAL_SCRIPT = "slurm/cross-eval.sbatch";

/** The log of a member (shared with the local executor). */
export function memberLog(poolDir: string, name: string): string {
  return `${poolDir}/logs/${name}.log`;
}

/** The config file a member trains from. */
export function memberConfigPath(poolDir: string, name: string): string {
  return `${poolDir}/configs/${name}.json`;
}

/** First and last row of block b (inclusive). */
export function rowBlock(b: number, rowsPerTask: number, n: number): [number, number] {
  return [b * rowsPerTask, Math.min(n, (b + 1) * rowsPerTask) - 1];
}

export function rowBlockCount(n: number, rowsPerTask: number): number {
  return Math.ceil(n / rowsPerTask);
}

export function crossEvalLog(poolDir: string, first: number, last: number): string {
  return `${poolDir}/logs/cross-eval-rows-${first}-${last}.log`;
}

/** Job names are what `squeue` shows: "igcr-<pool folder>" (train) / "igcr-mc-<pool folder>" (cross-eval). */
export function jobName(pool: string, kind: "train" | "cross-eval"): string {
  const base = pool.replace(/\/+$/, "").split("/").pop()!.replace(/[^A-Za-z0-9._-]/g, "_");
  return `igcr-${kind === "cross-eval" ? "mc-" : ""}${base}`;
}

/** Lines that every task runs first: log redirection with a header, the project folder, threads, backend. */
function preamble(logExpr: string, what: string): string[] {
  return [
    `# Everything this task prints goes to ${what}'s log (Slurm's own slurm-%A_%a.out keeps only what came before).`,
    `LOG=${logExpr}`,
    `exec >>"$LOG" 2>&1`,
    `echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) Slurm job \${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}` +
    ` (SLURM_ARRAY_TASK_ID=\${SLURM_ARRAY_TASK_ID}) on $(hostname): ${what}"`,
    `cd "$PROJECT"`,
    "",
    "# wasm threads per task: the CPUs Slurm gave it, unless IGCR_THREADS is set in the submitting shell.",
    `export IGCR_THREADS="\${IGCR_THREADS:-\${SLURM_CPUS_PER_TASK:-1}}"`,
  ];
}

function header(title: string, p: PoolScriptPaths, script: string, extra: string[]): string[] {
  return [
    title,
    "",
    `Written by the toolkit into the pool folder; readable and editable. Submit it by hand with`,
    `  sbatch ${p.pool}/${script}`,
    `or a subset of its tasks with  sbatch --array=1,4 ${p.pool}/${script}`,
    ...extra,
    "",
    "Every node must see the project and the pool folder at the paths below, and find `deno` on its PATH (or set DENO).",
    "sbatch passes the submitting shell's environment to each task (Slurm's default --export=ALL): PATH, DENO_DIR and",
    "the IGCR_* variables (IGCR_BACKEND, IGCR_THREADS, IGCR_DSPRITES_NPZ, IGCR_CELEBA_DIR, ...) reach the tasks.",
  ];
}

export interface TrainScriptInput extends PoolScriptPaths {
  /** Member names in pool.json order: array task i trains members[i]. */
  members: string[];
  evaluate: boolean;
  slurm: SlurmOptions;
  /** IGCR_BACKEND for every task (the pool's --backend), when given. */
  backend?: string;
  /** What the pool is, for the comment at the top. */
  description: string;
}

/** What every job array of a pool shares: name, `tasks` array indices, log path, working folder, options, backend. */
function poolArrayJob(
  s: PoolScriptPaths & { slurm: SlurmOptions; backend?: string },
  kind: "train" | "cross-eval",
  tasks: number,
) {
  return {
    jobName: jobName(s.pool, kind),
    array: `0-${tasks - 1}`,
    output: `${s.pool}/logs/slurm-%A_%a.out`,
    chdir: s.project,
    options: s.slurm,
    env: (s.backend ? { IGCR_BACKEND: s.backend } : {}) as Record<string, string>,
  };
}

/** The shell variables every pool script's body starts with. */
function poolArrayVariables(s: PoolScriptPaths): string[] {
  return [`PROJECT=${shellQuote(s.project)}`, `POOL=${shellQuote(s.pool)}`, `DENO="\${DENO:-deno}"`];
}

/** The training job-array script (`--array=0-(N-1)`, `%K` when `slurm.maxRunning` is set). Pure. */
export function trainScript(s: TrainScriptInput): string {
  const n = s.members.length;
  return sbatchScript({
    about: header(
      `Pool ${s.pool}: ${s.description}; one array task per member (${n} members).`,
      s,
      TRAIN_SCRIPT,
      [
        "`deno task pool --out POOL --resume` submits only the members that are not finished and follows them.",
        "A member whose run folder holds a checkpoint continues from it (--resume); a finished one trains no further.",
      ],
    ),
    ...poolArrayJob(s, "train", n),
    body: [
      ...poolArrayVariables(s),
      "# Array task i trains member MEMBERS[i] (the order of pool.json).",
      `MEMBERS=(${s.members.join(" ")})`,
      `NAME="\${MEMBERS[$SLURM_ARRAY_TASK_ID]}"`,
      `RUN="$POOL/$NAME"`,
      "",
      ...preamble(`"$POOL/logs/$NAME.log"`, "member $NAME"),
      "",
      "# Continue a run that already holds a checkpoint (cancelled, timed out, requeued); a finished run trains no further.",
      `RESUME=""`,
      `if [ -f "$RUN/checkpoint/state.json" ] || [ -f "$RUN/checkpoint.old/state.json" ]; then RESUME="--resume"; fi`,
      `echo "\\$ deno task train --config $POOL/configs/$NAME.json --out $RUN $RESUME"`,
      `"$DENO" task train --config "$POOL/configs/$NAME.json" --out "$RUN" $RESUME`,
      ...(s.evaluate
        ? [
          "",
          "# The member's supervised score (FactorVAE, infogan-cr protocol), which `deno task select` reads.",
          `if [ ! -f "$RUN/metrics.json" ]; then`,
          `  echo "\\$ deno task evaluate --checkpoint $RUN --metrics factor-vae --protocol infogan-cr"`,
          `  "$DENO" task evaluate --checkpoint "$RUN" --metrics factor-vae --protocol infogan-cr`,
          `fi`,
        ]
        : []),
      `echo "== member $NAME finished"`,
    ],
  });
}

export interface CrossEvalScriptInput extends PoolScriptPaths {
  /** Pool members taking part (the matrix is n × n). */
  n: number;
  rowsPerTask: number;
  /** select's flags that fix the cells: profile, seed, chunk, and the cache key the cells must land under. */
  profile: string;
  seed: number;
  chunk: number;
  cellsKey: string;
  slurm: SlurmOptions;
  backend?: string;
}

/** The ModelCentrality cross-evaluation script: array task b computes the cells of rows block b. Pure. */
export function crossEvalScript(s: CrossEvalScriptInput): string {
  const blocks = rowBlockCount(s.n, s.rowsPerTask);
  return sbatchScript({
    about: header(
      `ModelCentrality cross-evaluation of pool ${s.pool}: ${s.n}×${s.n} cells S[i][j] (encoder i on model j's ` +
        `generated set), ${s.rowsPerTask} rows per array task (${blocks} tasks).`,
      s,
      CROSS_EVAL_SCRIPT,
      [
        "Each cell is written to the pool's cell cache as soon as it is computed; cells already there are not computed",
        "again. `deno task select --pool POOL` then assembles the matrix from the cells.",
      ],
    ),
    ...poolArrayJob(s, "cross-eval", blocks),
    body: [
      ...poolArrayVariables(s),
      `N=${s.n}`,
      `ROWS_PER_TASK=${s.rowsPerTask}`,
      "# Array task b computes rows FIRST..LAST of the matrix (encoders of those members on every member's set).",
      "FIRST=$((SLURM_ARRAY_TASK_ID * ROWS_PER_TASK))",
      "LAST=$((FIRST + ROWS_PER_TASK - 1))",
      `if [ "$LAST" -ge "$N" ]; then LAST=$((N - 1)); fi`,
      "",
      ...preamble(`"$POOL/logs/cross-eval-rows-$FIRST-$LAST.log"`, "ModelCentrality rows $FIRST-$LAST"),
      "",
      "# --cells-key: refuse to run if the pool changed since this script was written (the cells would not fit).",
      `"$DENO" task select --pool "$POOL" --profile ${shellQuote(s.profile)} --seed ${s.seed} --chunk ${s.chunk} \\`,
      `  --rows "$FIRST-$LAST" --cells-key ${shellQuote(s.cellsKey)}`,
      `echo "== rows $FIRST-$LAST finished"`,
    ],
  });
}
