/**
 * Wall time of the same smoke pool under the local executor and under Slurm on this machine (a one-node cluster started
 * here, tests/slurm_cluster.ts; root only, as it starts munged/slurmctld/slurmd):
 *
 *   deno run -A bench/slurm_pool.ts [--reps 2] [--seeds 3] [--iterations 2] [--evaluate]
 *
 * Each rep runs both executors back to back on fresh pool folders (local first on odd reps, Slurm first on even ones,
 * so a drift in machine load does not favour one). Both run as many members at once as the machine has cores: the
 * local executor with `--parallel <cores>`, Slurm with one CPU per task on a node of <cores> CPUs; every member gets one
 * wasm thread (IGCR_THREADS=1). Prints one line per run and the mean of each executor, and checks that both executors
 * trained every member with the same config.json.
 */
import { parseArgs } from "node:util";
import { startCluster } from "../tests/slurm_cluster.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    reps: { type: "string", default: "2" },
    seeds: { type: "string", default: "3" },
    iterations: { type: "string", default: "2" },
    evaluate: { type: "boolean", default: false },
  },
  strict: true,
});
const reps = Number(values.reps), seeds = Number(values.seeds), iterations = Number(values.iterations);
if (![reps, seeds, iterations].every((v) => Number.isInteger(v) && v >= 1)) {
  throw new Error("--reps, --seeds and --iterations take positive integers");
}
if (Deno.uid() !== 0) {
  console.error("bench/slurm_pool.ts: needs root (it starts munged, slurmctld and slurmd)");
  Deno.exit(2);
}

const cores = Math.max(2, navigator.hardwareConcurrency);
const cluster = await startCluster({ cpus: cores });
const work = await Deno.makeTempDir({ prefix: "igcr_bench_pool_" });
const times: Record<string, number[]> = { local: [], slurm: [] };
try {
  const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ").slice(0, 3).join(" ");
  console.log(
    `smoke pool: ${seeds} InfoGAN-CR members on dSprites, ${iterations} iterations${
      values.evaluate ? " + evaluate" : ""
    }` +
      `; ${cores} at a time, 1 wasm thread each; load average at start ${load}`,
  );
  for (let rep = 1; rep <= reps; rep++) {
    const order = rep % 2 === 1 ? ["local", "slurm"] : ["slurm", "local"];
    for (const executor of order) {
      const out = `${work}/${executor}-${rep}`;
      const args = [
        "run",
        "-A",
        `${ROOT}/cli/pool.ts`,
        ...["--dataset", "dsprites", "--model", "infogan-cr", "--profile", "smoke", "--seeds", String(seeds)],
        ...["--iterations", String(iterations), "--out", out],
        ...(values.evaluate ? ["--evaluate"] : []),
        ...(executor === "local"
          ? ["--parallel", String(cores)]
          : ["--executor", "slurm", "--slurm-cpus", "1", "--slurm-poll", "1"]),
      ];
      const t0 = performance.now();
      const r = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: ROOT,
        env: { ...cluster.env, DENO: Deno.execPath(), IGCR_THREADS: "1", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const s = (performance.now() - t0) / 1000;
      if (r.code !== 0) {
        throw new Error(
          `${executor} pool failed:\n${new TextDecoder().decode(r.stdout)}${new TextDecoder().decode(r.stderr)}`,
        );
      }
      times[executor].push(s);
      console.log(`rep ${rep} ${executor.padEnd(5)} ${s.toFixed(1)} s`);
    }
    // Both executors train the same members: the Slurm tasks' configs (train --config) equal the local presets.
    for (let i = 0; i < seeds; i++) {
      const [a, b] = await Promise.all(
        ["local", "slurm"].map((e) => Deno.readTextFile(`${work}/${e}-${rep}/s${i}/config.json`)),
      );
      if (JSON.stringify(JSON.parse(a)) !== JSON.stringify(JSON.parse(b))) {
        throw new Error(`member s${i}: the local and Slurm runs have different configs`);
      }
    }
  }
  const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
  console.log(`mean: local ${mean(times.local).toFixed(1)} s, slurm ${mean(times.slurm).toFixed(1)} s`);
} finally {
  await cluster.stop();
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
