/**
 * The `--slurm-*` flags that `deno task pool` and `deno task select` share, declared once: their parseArgs options,
 * their zod shape, and the mapping onto `SlurmOptions` (errors name the flag, not the field).
 */
import { z } from "zod";
import { SlurmOptions } from "./slurm.ts";

/** parseArgs declarations. `--slurm-arg` repeats; a value starting with "-" is written `--slurm-arg=--mem=8G`. */
export const slurmFlagOptions = {
  "slurm-partition": { type: "string" },
  "slurm-time": { type: "string" },
  "slurm-cpus": { type: "string" },
  "slurm-gpus": { type: "string" },
  "slurm-arg": { type: "string", multiple: true },
  "slurm-max-running": { type: "string" },
  "slurm-poll": { type: "string" },
} as const;

export const SlurmFlags = z.object({
  "slurm-partition": z.string().optional(),
  "slurm-time": z.string().optional(),
  "slurm-cpus": z.coerce.number().int().min(1).optional(),
  "slurm-gpus": z.string().optional(),
  "slurm-arg": z.array(z.string()).optional(),
  "slurm-max-running": z.coerce.number().int().min(1).optional(),
  /** Seconds between two looks at the queue while following (default 10). */
  "slurm-poll": z.coerce.number().positive().optional(),
});
export type SlurmFlags = z.infer<typeof SlurmFlags>;

const FIELD_FLAG: Record<string, string> = {
  partition: "slurm-partition",
  time: "slurm-time",
  cpus: "slurm-cpus",
  gpus: "slurm-gpus",
  args: "slurm-arg",
  maxRunning: "slurm-max-running",
};

/** The Slurm options these flags give (only those given), validated; an error names the flag and the bad value. */
export function slurmOptionsFromFlags(f: SlurmFlags): Partial<SlurmOptions> {
  const raw = {
    partition: f["slurm-partition"],
    time: f["slurm-time"],
    cpus: f["slurm-cpus"],
    gpus: f["slurm-gpus"],
    args: f["slurm-arg"] ?? [],
    maxRunning: f["slurm-max-running"],
  };
  const r = SlurmOptions.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    const field = String(i.path[0]);
    const value = i.path.length > 1 ? raw.args[Number(i.path[1])] : raw[field as keyof typeof raw];
    throw new Error(`--${FIELD_FLAG[field] ?? field} ${JSON.stringify(value)}: ${i.message}`);
  }
  return Object.fromEntries(Object.entries(r.data).filter(([, v]) => v !== undefined));
}

/** The `--slurm-*` flags present on the command line (to reject them without `--executor slurm`). */
export function slurmFlagsGiven(f: SlurmFlags): string[] {
  return (Object.keys(slurmFlagOptions) as (keyof SlurmFlags)[]).filter((k) => {
    const v = f[k];
    return v !== undefined && !(Array.isArray(v) && v.length === 0);
  });
}

export function slurmPollMs(f: SlurmFlags): number {
  return (f["slurm-poll"] ?? 10) * 1000;
}
