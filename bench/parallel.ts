/**
 * Two one-thread training runs side by side, the configuration of the `cpu` profile (lib/experiments/
 * parallel_train.ts runs the members of a reproduction as parallel one-thread processes): the machine's iterations
 * per second, ours against PyTorch's in the same configuration.
 *
 * Each side starts two processes at once with one thread each (IGCR_THREADS=1 for ours, OMP_NUM_THREADS=1 and
 * torch.set_num_threads(1) for the peer) that each time their own iterations after a warm-up; the machine's rate is
 * the sum of the two processes' rates (1000 / median ms). The two sides run one after the other, ours first.
 */
import { benchIterationProcess } from "./iteration.ts";
import { torchIterationMs, torchUnavailable } from "./torch.ts";

/** Runs `make` twice concurrently; returns both results. */
async function pair<T>(make: () => Promise<T>): Promise<[T, T]> {
  const [a, b] = await Promise.all([make(), make()]);
  return [a, b];
}

export async function benchParallel(
  opts: { iterations?: number; warmup?: number; backend?: string } = {},
): Promise<Record<string, number | string>> {
  const iterations = opts.iterations ?? 10, warmup = opts.warmup ?? 3;
  const backend = opts.backend ?? "auto";
  const ours = await pair(() =>
    benchIterationProcess({ backend, threads: 1, iterations, warmup, env: { IGCR_THREADS: "1" } })
  );
  const oursMs = ours.map((r) => r["iteration ms (median)"] as number);
  const result: Record<string, number | string> = {
    "ours engine": String(ours[0].backend),
    "ours ms/iteration, process 1": oursMs[0],
    "ours ms/iteration, process 2": oursMs[1],
    "ours iterations/s (machine)": oursMs.reduce((a, ms) => a + 1000 / ms, 0),
  };
  const why = await torchUnavailable();
  if (why) return { ...result, "torch": `skipped: ${why}` };
  const torch = await pair(() => torchIterationMs(1, iterations, { OMP_NUM_THREADS: "1" }));
  const torchMs = torch.map((t) => t.ms);
  result["torch ms/iteration, process 1"] = torchMs[0];
  result["torch ms/iteration, process 2"] = torchMs[1];
  result["torch iterations/s (machine)"] = torchMs.reduce((a, ms) => a + 1000 / ms, 0);
  result["ours / torch iterations/s"] = (result["ours iterations/s (machine)"] as number) /
    (result["torch iterations/s (machine)"] as number);
  return result;
}
