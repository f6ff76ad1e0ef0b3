/**
 * The flags of the Slurm executor that `deno task pool` and `deno task select` share, declared once for the command
 * layer (lib/cli/command.ts): `--executor`, `--no-submit` and the `--slurm-*` pass-through options, their mapping onto
 * `SlurmOptions`, and the rule that the Slurm flags need `--executor slurm`. Light: zod only, so `--help` stays fast.
 */
import { z } from "zod";
import { type FlagDef, UsageError } from "../cli/command.ts";
import { SlurmOptions } from "./slurm.ts";

const field = SlurmOptions.shape;

/** Spread into a command's flags. */
export const slurmFlags = {
  executor: {
    type: "string",
    schema: z.enum(["local", "slurm"]),
    defaultDoc: "the pool's recorded executor, else local",
    doc: "local subprocesses, or a Slurm job array (docs/cluster.md)",
  },
  "no-submit": { type: "boolean", doc: "with --executor slurm: write the job-array script, submit nothing" },
  "slurm-partition": {
    type: "string",
    schema: field.partition.unwrap(),
    placeholder: "NAME",
    doc: "sbatch --partition",
  },
  "slurm-time": { type: "string", schema: field.time.unwrap(), placeholder: "TIME", doc: "sbatch --time per task" },
  "slurm-cpus": {
    type: "number",
    schema: field.cpus.unwrap(),
    doc: "sbatch --cpus-per-task; each task's wasm threads follow it",
  },
  "slurm-gpus": { type: "string", schema: field.gpus.unwrap(), placeholder: "N|TYPE:N", doc: "sbatch --gpus" },
  "slurm-arg": {
    type: "list",
    split: false,
    schema: z.array(field.args.unwrap().element),
    default: [],
    placeholder: "--OPT=V",
    doc: "any other sbatch option, one #SBATCH line each (written with =, e.g. --slurm-arg=--mem=8G)",
  },
  "slurm-max-running": {
    type: "number",
    schema: field.maxRunning.unwrap(),
    doc: "at most N array tasks at once (--array=…%N)",
  },
  "slurm-poll": {
    type: "number",
    schema: z.number().positive(),
    default: 10,
    doc: "seconds between two looks at Slurm's queue while following",
  },
} as const satisfies Record<string, FlagDef>;

/** The values those flags parse to (what a command's `flags` holds for them). */
export interface SlurmFlagValues {
  executor?: "local" | "slurm";
  "no-submit": boolean;
  "slurm-partition"?: string;
  "slurm-time"?: string;
  "slurm-cpus"?: number;
  "slurm-gpus"?: string;
  "slurm-arg": string[];
  "slurm-max-running"?: number;
  "slurm-poll": number;
}

/** The Slurm options given on this command line (only those given; already validated by their flags). */
export function slurmOptionsFromFlags(f: SlurmFlagValues): Partial<SlurmOptions> {
  const o: Partial<SlurmOptions> = {
    partition: f["slurm-partition"],
    time: f["slurm-time"],
    cpus: f["slurm-cpus"],
    gpus: f["slurm-gpus"],
    args: f["slurm-arg"],
    maxRunning: f["slurm-max-running"],
  };
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)),
  );
}

/**
 * Slurm-only flags (`--slurm-*`, `--no-submit`) need the Slurm executor: `executor` is the one the command will use
 * (undefined while it is not known yet, e.g. in `check()` before the pool's state file is read).
 */
export function checkSlurmFlags(executor: "local" | "slurm" | undefined, given: ReadonlySet<string>): void {
  if (executor !== "local") return;
  const slurmOnly = [...given].filter((k) => k.startsWith("slurm-") || k === "no-submit");
  if (slurmOnly.length) throw new UsageError(`--${slurmOnly[0]} needs --executor slurm`);
}

export function slurmPollMs(f: SlurmFlagValues): number {
  return f["slurm-poll"] * 1000;
}
