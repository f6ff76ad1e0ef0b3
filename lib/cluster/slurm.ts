/**
 * Slurm, the scheduler that runs a pool's work on a cluster: the text of an `sbatch` job-array script, the parsing of
 * what Slurm's commands print (`sbatch --parsable`, `squeue`, `scontrol -o show job`, the `jobcomp/filetxt` completion
 * record, `sacct -P`), and thin edges that run those commands. The toolkit never schedules anything itself: it writes
 * a script, hands it to `sbatch`, and reads Slurm's own account of each array task.
 *
 * Everything above the "Edges" marker is pure (text in, values out) and unit-tested on canned output; the edges only
 * run a command and hand its output to a parser.
 */
import { z } from "zod";
import { formatDuration } from "../train/progress.ts";

/** Resources and pass-through options of a job array (`--slurm-*` flags of `deno task pool` / `select`). */
export const SlurmOptions = z.object({
  /** `--partition`. */
  partition: z.string().regex(/^[A-Za-z0-9_.,-]+$/, "a partition name (letters, digits, _ . , -)").optional(),
  /** `--time`: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS. */
  time: z.string().regex(/^(\d+-)?\d+(:\d+){0,2}$/, "a Slurm time such as 30, 4:00:00 or 1-12:00:00").optional(),
  /** `--cpus-per-task`; each task's wasm threads follow it (IGCR_THREADS). */
  cpus: z.number().int().min(1).optional(),
  /** `--gpus`: a count or type:count (e.g. 1, a100:1). */
  gpus: z.string().regex(/^[A-Za-z0-9_.-]+(:\d+)?$/, "a GPU count or type:count such as 1 or a100:1").optional(),
  /** The `%K` of `--array=…%K`: at most K tasks of the array run at once. */
  maxRunning: z.number().int().min(1).optional(),
  /** Further `sbatch` options, one `#SBATCH` line each (e.g. --account=proj, --mem=8G, --qos=short). */
  args: z.array(
    z.string().regex(/^--?[A-Za-z]/, "an sbatch option starting with - (e.g. --mem=8G)").refine(
      (s) => !/[\n\r]/.test(s),
      "one line",
    ),
  ).default([]),
}).strict();
export type SlurmOptions = z.infer<typeof SlurmOptions>;

/** Folds array task ids into Slurm's `--array` syntax: [0,1,2,5,7,8] with K=2 → "0-2,5,7-8%2". */
export function arraySpec(indices: readonly number[], maxRunning?: number): string {
  const ids = [...new Set(indices)].sort((a, b) => a - b);
  if (ids.length === 0) throw new Error("a job array needs at least one task");
  for (const i of ids) {
    if (!(Number.isInteger(i) && i >= 0)) throw new Error(`array task id ${i} is not an integer >= 0`);
  }
  const parts: string[] = [];
  for (let k = 0; k < ids.length;) {
    let end = k;
    while (end + 1 < ids.length && ids[end + 1] === ids[end] + 1) end++;
    parts.push(end === k ? String(ids[k]) : `${ids[k]}-${ids[end]}`);
    k = end + 1;
  }
  return parts.join(",") + (maxRunning !== undefined ? `%${maxRunning}` : "");
}

/** Expands an `--array` value back into task ids ("0-2,5%2" → [0,1,2,5]); steps ("0-8:2") are understood too. */
export function parseArraySpec(spec: string): number[] {
  const body = spec.replace(/%\d+$/, "");
  const out: number[] = [];
  for (const part of body.split(",")) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) throw new Error(`"${spec}" is not a Slurm --array value (e.g. 0-9, 1,3,5 or 0-9%2)`);
    const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]), step = m[3] === undefined ? 1 : Number(m[3]);
    if (b < a || step < 1) throw new Error(`"${spec}": the range ${part} is empty`);
    for (let i = a; i <= b; i += step) out.push(i);
  }
  return out;
}

/** Quotes a word for bash when it needs it. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

export interface ArrayScript {
  /** Comment lines at the top (without "# "): what the script does and how to submit it by hand. */
  about: string[];
  jobName: string;
  /** The `--array` value written into the script (task ids of a full submission). */
  array: string;
  /** Slurm's own output file per task, e.g. /pool/logs/slurm-%A_%a.out (%A job, %a task). */
  output: string;
  /** Working directory of every task. */
  chdir: string;
  options: SlurmOptions;
  /** Variables exported for every task (values are quoted). */
  env: Record<string, string>;
  /** The body: bash lines run by each task (comments welcome). */
  body: string[];
}

/** The text of an `sbatch` job-array script: shebang, comments, `#SBATCH` directives, exports, body. Pure. */
export function sbatchScript(s: ArrayScript): string {
  const o = s.options;
  const directives: [string, string][] = [
    ["--job-name", s.jobName],
    ["--array", s.array + (o.maxRunning !== undefined && !s.array.includes("%") ? `%${o.maxRunning}` : "")],
    ["--output", s.output],
    ["--chdir", s.chdir],
  ];
  if (o.partition !== undefined) directives.push(["--partition", o.partition]);
  if (o.time !== undefined) directives.push(["--time", o.time]);
  if (o.cpus !== undefined) directives.push(["--cpus-per-task", String(o.cpus)]);
  if (o.gpus !== undefined) directives.push(["--gpus", o.gpus]);
  const lines = [
    "#!/bin/bash",
    ...s.about.map((l) => (l ? `# ${l}` : "#")),
    ...directives.map(([k, v]) => `#SBATCH ${k}=${shellQuote(v)}`),
    ...o.args.map((a) => `#SBATCH ${a}`),
    "",
    "set -eu",
    ...Object.entries(s.env).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    "",
    ...s.body,
    "",
  ];
  return lines.join("\n");
}

/** Where a task stands, as the pool reports it. */
export type TaskPhase = "queued" | "running" | "ended";

/** Slurm job states (squeue %T / scontrol JobState / sacct State) grouped into queued, running and ended. */
export function taskPhase(state: string): TaskPhase {
  const s = state.split(/\s/)[0].toUpperCase(); // sacct writes "CANCELLED by 0"
  if (["PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SPECIAL_EXIT"].includes(s)) {
    return "queued";
  }
  if (
    ["RUNNING", "CONFIGURING", "COMPLETING", "STAGE_OUT", "SIGNALING", "RESIZING", "SUSPENDED", "STOPPED"].includes(s)
  ) return "running";
  return "ended";
}

/** `sbatch --parsable` prints "JOBID" or "JOBID;CLUSTER". */
export function parseSbatchOutput(stdout: string): string {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  const m = /^(\d+)(;\S+)?$/.exec(line.trim());
  if (!m) throw new Error(`sbatch printed "${stdout.trim()}" where a job id was expected`);
  return m[1];
}

/** Slurm durations: "12:34" (MM:SS), "1:02:03", "2-03:04:05", "UNLIMITED"/"INVALID" → NaN. */
export function parseSlurmDuration(text: string): number {
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(text.trim());
  if (!m) return NaN;
  const days = Number(m[1] ?? 0);
  const parts = [m[2], m[3], m[4]].filter((p) => p !== undefined).map(Number);
  // One part: minutes; two: MM:SS; three: HH:MM:SS (a day prefix makes two parts HH:MM).
  let s: number;
  if (parts.length === 3) s = parts[0] * 3600 + parts[1] * 60 + parts[2];
  else if (parts.length === 2) s = m[1] !== undefined ? parts[0] * 3600 + parts[1] * 60 : parts[0] * 60 + parts[1];
  else s = m[1] !== undefined ? parts[0] * 3600 : parts[0] * 60;
  return days * 86400 + s;
}

/** The squeue format the toolkit asks for: array job | task | job | state | time used | nodes or reason | command. */
export const SQUEUE_FORMAT = "%F|%K|%A|%T|%M|%R|%o";

/** One array task (or plain job) in the queue. */
export interface QueueEntry {
  arrayJobId: string;
  /** Array task id; null for a job that is not part of an array. */
  taskId: number | null;
  jobId: string;
  state: string;
  phase: TaskPhase;
  /** Seconds it has run so far. */
  elapsedS: number;
  /** Node list when running, Slurm's reason in parentheses when pending. */
  where: string;
  command: string;
}

/** Parses `squeue -h -r -o SQUEUE_FORMAT` (one task per line; `-r` unfolds pending arrays). */
export function parseSqueue(text: string): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const f = line.split("|");
    if (f.length < 7) throw new Error(`squeue line "${line}" does not have the 7 fields of ${SQUEUE_FORMAT}`);
    const task = /^\d+$/.test(f[1].trim()) ? Number(f[1]) : null;
    out.push({
      arrayJobId: f[0].trim(),
      taskId: task,
      jobId: f[2].trim(),
      state: f[3].trim(),
      phase: taskPhase(f[3].trim()),
      elapsedS: parseSlurmDuration(f[4]),
      where: f[5].trim(),
      command: f.slice(6).join("|").trim(),
    });
  }
  return out;
}

/** What Slurm recorded about an array task that has left the queue. */
export interface TaskRecord {
  arrayJobId: string;
  taskId: number;
  jobId: string;
  state: string;
  /** "code:signal", e.g. "1:0" (exit 1) or "0:15" (killed by SIGTERM). */
  exitCode: string;
  elapsedS: number;
  nodes: string;
  /** Which Slurm record said so: scontrol, sacct or jobcomp. */
  source: "scontrol" | "sacct" | "jobcomp";
}

/** `Key=Value` words of one line (scontrol -o, jobcomp/filetxt). Values never hold spaces in the keys we read. */
function keyValues(line: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const w of line.matchAll(/(?:^|\s)([A-Za-z][A-Za-z0-9_/:]*)=(\S*)/g)) if (!m.has(w[1])) m.set(w[1], w[2]);
  return m;
}

function recordFromKeyValues(kv: Map<string, string>, source: "scontrol" | "jobcomp"): TaskRecord | null {
  const task = kv.get("ArrayTaskId");
  const arrayJob = kv.get("ArrayJobId");
  const jobId = kv.get("JobId");
  const state = kv.get("JobState");
  // A pending array shows as one record whose ArrayTaskId is a range ("2-4%2"): squeue -r reports those tasks.
  if (!task || !/^\d+$/.test(task) || !arrayJob || !jobId || !state) return null;
  let elapsed = parseSlurmDuration(kv.get("RunTime") ?? "");
  if (!Number.isFinite(elapsed)) {
    const start = Date.parse(kv.get("StartTime") ?? ""), end = Date.parse(kv.get("EndTime") ?? "");
    elapsed = Number.isFinite(start) && Number.isFinite(end) ? (end - start) / 1000 : NaN;
  }
  return {
    arrayJobId: arrayJob,
    taskId: Number(task),
    jobId,
    state,
    exitCode: kv.get("ExitCode") ?? "?",
    elapsedS: elapsed,
    nodes: kv.get("NodeList") ?? "",
    source,
  };
}

/** Parses `scontrol -o show job ID` (one job record per line; array tasks carry ArrayJobId and ArrayTaskId). */
export function parseScontrolJobs(text: string): TaskRecord[] {
  return text.split("\n").filter((l) => l.trim()).map((l) => recordFromKeyValues(keyValues(l), "scontrol"))
    .filter((r): r is TaskRecord => r !== null);
}

/** Parses the `JobCompType=jobcomp/filetxt` completion file: one `Key=Value` line per finished job or array task. */
export function parseJobcompFile(text: string): TaskRecord[] {
  return text.split("\n").filter((l) => l.trim()).map((l) => recordFromKeyValues(keyValues(l), "jobcomp"))
    .filter((r): r is TaskRecord => r !== null);
}

/** The sacct fields the toolkit asks for (`sacct -n -P -X --format=…`). */
export const SACCT_FORMAT = "JobID,JobIDRaw,State,ExitCode,Elapsed,NodeList";

/** Parses `sacct -n -P -X --format=SACCT_FORMAT`: "12_3|15|COMPLETED|0:0|00:01:02|node1". */
export function parseSacct(text: string): TaskRecord[] {
  const out: TaskRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const [id, raw, state, exit, elapsed, nodes] = line.split("|");
    const m = /^(\d+)_(\d+)$/.exec(id ?? "");
    if (!m || state === undefined) continue; // pending ranges ("12_[4-9]") and plain jobs
    out.push({
      arrayJobId: m[1],
      taskId: Number(m[2]),
      jobId: raw ?? m[1],
      state: state.trim(),
      exitCode: exit ?? "?",
      elapsedS: parseSlurmDuration(elapsed ?? ""),
      nodes: nodes ?? "",
      source: "sacct",
    });
  }
  return out;
}

/** Parses `scontrol show config` ("Key = Value" lines). */
export function parseSlurmConfig(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const kv = /^(\S+)\s*=\s*(.*)$/.exec(line.trim());
    if (kv) m.set(kv[1], kv[2].trim());
  }
  return m;
}

/** "CANCELLED, exit 0:15, after 12s on node1" — a task's end in words, for failure reports. */
export function describeRecord(r: TaskRecord): string {
  const secs = Number.isFinite(r.elapsedS) ? `, after ${formatDuration(r.elapsedS)}` : "";
  return `${r.state}, exit ${r.exitCode}${secs}${r.nodes && r.nodes !== "(null)" ? ` on ${r.nodes}` : ""}`;
}

// ---------------------------------------------------------------------------------------------------- Edges

/** Runs a Slurm command; tests replace it to feed canned output. */
export type CommandRunner = (cmd: string, args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

export const runCommand: CommandRunner = async (cmd, args) => {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${cmd} not found: the Slurm executor needs Slurm's commands on PATH (run it on a login node)`);
    }
    throw e;
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
};

/** Slurm as the pool sees it: submit, look at the queue, read what ended, cancel. */
export interface SlurmClient {
  /** `sbatch --parsable [--array=…] SCRIPT`; returns the job id. */
  submit(script: string, array?: string): Promise<string>;
  /** The user's array tasks that belong to `jobIds` or run `script` (a job submitted by hand counts too). */
  queue(jobIds: readonly string[], script?: string): Promise<QueueEntry[]>;
  /** Records of ended tasks of these jobs, from scontrol, sacct (accounting on) and the jobcomp file, best first. */
  ended(jobIds: readonly string[]): Promise<TaskRecord[]>;
  cancel(jobId: string, taskIds?: readonly number[]): Promise<void>;
}

/** The SlurmClient that runs the real commands (or `run`, for tests). */
export function slurmClient(run: CommandRunner = runCommand): SlurmClient {
  let config: Map<string, string> | undefined;
  const slurmConfig = async () => {
    if (!config) {
      const r = await run("scontrol", ["show", "config"]);
      config = r.code === 0 ? parseSlurmConfig(r.stdout) : new Map();
    }
    return config;
  };
  return {
    async submit(script, array) {
      const args = ["--parsable", ...(array ? [`--array=${array}`] : []), script];
      const r = await run("sbatch", args);
      if (r.code !== 0) throw new Error(`sbatch ${args.join(" ")} failed: ${(r.stderr || r.stdout).trim()}`);
      return parseSbatchOutput(r.stdout);
    },
    async queue(jobIds, script) {
      let r = await run("squeue", ["-h", "-r", "--me", "-o", SQUEUE_FORMAT]);
      if (r.code !== 0 && /unrecognized option|invalid option/i.test(r.stderr)) {
        // Slurm before 20.11 has no --me.
        const user = (await run("id", ["-un"])).stdout.trim();
        r = await run("squeue", ["-h", "-r", "-u", user, "-o", SQUEUE_FORMAT]);
      }
      if (r.code !== 0) throw new Error(`squeue failed: ${(r.stderr || r.stdout).trim()}`);
      const ids = new Set(jobIds);
      return parseSqueue(r.stdout).filter((e) =>
        ids.has(e.arrayJobId) || (script !== undefined && e.command === script)
      );
    },
    async ended(jobIds) {
      if (jobIds.length === 0) return [];
      const records: TaskRecord[] = [];
      for (const id of jobIds) {
        // Finished jobs stay in slurmctld's memory for MinJobAge (300 s by default); "Invalid job id" after that.
        const r = await run("scontrol", ["-o", "show", "job", id]);
        if (r.code === 0) records.push(...parseScontrolJobs(r.stdout));
      }
      const cfg = await slurmConfig();
      if ((cfg.get("AccountingStorageType") ?? "accounting_storage/none") !== "accounting_storage/none") {
        const r = await run("sacct", ["-n", "-P", "-X", "-j", jobIds.join(","), `--format=${SACCT_FORMAT}`]);
        if (r.code === 0) records.push(...parseSacct(r.stdout));
      }
      const loc = cfg.get("JobCompLoc");
      if (cfg.get("JobCompType") === "jobcomp/filetxt" && loc) {
        try {
          const ids = new Set(jobIds);
          records.push(...parseJobcompFile(await Deno.readTextFile(loc)).filter((r) => ids.has(r.arrayJobId)));
        } catch { /* the file lives on the controller; not every login node sees it */ }
      }
      return records;
    },
    async cancel(jobId, taskIds) {
      const target = taskIds?.length ? `${jobId}_[${arraySpec(taskIds)}]` : jobId;
      const r = await run("scancel", [target]);
      if (r.code !== 0) throw new Error(`scancel ${target} failed: ${(r.stderr || r.stdout).trim()}`);
    },
  };
}
