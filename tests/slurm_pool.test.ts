/**
 * The Slurm executor on a real Slurm: a one-node cluster on this machine (Debian's slurm-wlm 22.05 and munge, installed
 * with apt when running as root, as CI does; a `slurm.conf` for 127.0.0.1 in a temporary folder with free ports and a
 * `jobcomp/filetxt` completion record; `munged`, `slurmctld` and `slurmd` started here and stopped at the end, also on
 * failure). On it:
 *
 * 1. a smoke pool of 3 InfoGAN-CR members goes through `deno task pool --executor slurm --evaluate`: every member
 *    trains and is evaluated inside a Slurm array task (its log shows SLURM_ARRAY_TASK_ID), the state file holds the
 *    job id, and Slurm's completion record shows every task of the array COMPLETED;
 * 2. `deno task select --executor slurm` computes ModelCentrality's 3×3 cells as a job array over row blocks and picks
 *    from the assembled matrix;
 * 3. faults: a pool written with `--no-submit`, one member given a config that fails, another cancelled with `scancel`
 *    mid-training: the failing one is reported by index with its log while the others go on, `--resume` resubmits only
 *    the unfinished two, the cancelled one continues from its checkpoint to the full iteration count, and the finished
 *    member is never run again.
 *
 * Not root (and so no way to install Slurm or start its daemons): skipped, with a message saying how to run it.
 */
import assert from "node:assert/strict";
import { type Cluster, sh, startCluster } from "./slurm_cluster.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const dec = new TextDecoder();

const isRoot = Deno.uid() === 0;
if (!isRoot) {
  console.log(
    "slurm_pool: skipped: starting munged, slurmctld and slurmd needs root (run the tests as root, as CI does; it " +
      "installs slurm-wlm and munge with apt-get)",
  );
}

/** Runs a toolkit CLI as the user would (the cluster's SLURM_CONF, deno for the tasks via DENO). */
function cli(cluster: Cluster, script: string, args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/cli/${script}`, ...args],
    cwd: ROOT,
    env: { ...cluster.env, DENO: Deno.execPath(), NO_COLOR: "1", IGCR_THREADS: "1" },
    stdout: "piped",
    stderr: "piped",
  });
}

async function run(cluster: Cluster, script: string, args: string[]) {
  const t0 = performance.now();
  const out = await cli(cluster, script, args).output();
  return {
    code: out.code,
    text: dec.decode(out.stdout) + dec.decode(out.stderr),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Slurm's completion record: (array job, task) → state. */
async function jobcomp(cluster: Cluster): Promise<Map<string, string>> {
  const text = await Deno.readTextFile(cluster.jobcomp).catch(() => "");
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const job = /ArrayJobId=(\d+)/.exec(line)?.[1], task = /ArrayTaskId=(\d+)/.exec(line)?.[1];
    const state = /JobState=(\S+)/.exec(line)?.[1];
    if (job && task && state) m.set(`${job}_${task}`, state);
  }
  return m;
}

const readJson = async (p: string) => JSON.parse(await Deno.readTextFile(p));
const checkpointIteration = async (run: string) =>
  (await readJson(`${run}/checkpoint/state.json`).catch(() => null))?.state?.iteration as number | undefined;
const headers = (log: string) => log.split("\n").filter((l) => /^== .* Slurm job /.test(l));

Deno.test({
  name: "slurm: a smoke pool trains as a job array, select picks from row-block cells, faults are reported and resumed",
  ignore: !isRoot,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const cluster = await startCluster();
    const work = await Deno.makeTempDir({ prefix: "igcr_slurm_pools_" });
    try {
      const pool = `${work}/pool`;
      await t.step("a smoke pool of 3 members through --executor slurm, evaluated in the same tasks", async () => {
        const r = await run(cluster, "pool.ts", [
          ...["--dataset", "dsprites", "--model", "infogan-cr", "--profile", "smoke", "--seeds", "3"],
          ...["--iterations", "2", "--out", pool, "--evaluate", "--executor", "slurm", "--slurm-poll", "1"],
          "--slurm-cpus=1",
        ]);
        assert.equal(r.code, 0, r.text);
        console.log(`slurm_pool: the 3-member smoke pool took ${r.seconds.toFixed(0)} s through Slurm`);
        const state = await readJson(`${pool}/pool-state.json`);
        assert.equal(state.jobs.length, 1);
        const job = state.jobs[0].jobId;
        assert.match(r.text, new RegExp(`submitted job ${job} \\(--array=0-2\\)`));
        assert.match(r.text, /^pool: 0 queued, 0 running, 3 done, 0 failed; .* elapsed$/m);
        const record = await jobcomp(cluster);
        for (let i = 0; i < 3; i++) {
          assert.equal(record.get(`${job}_${i}`), "COMPLETED", `Slurm's record of task ${i}: ${[...record]}`);
          const log = await Deno.readTextFile(`${pool}/logs/s${i}.log`);
          assert.match(log, new RegExp(`Slurm job ${job}_${i} \\(SLURM_ARRAY_TASK_ID=${i}\\)`));
          assert.match(log, /task train --config .*configs\/s\d\.json/);
          assert.equal(await checkpointIteration(`${pool}/s${i}`), 2);
          assert.ok((await readJson(`${pool}/s${i}/metrics.json`)).scores.factorVae >= 0, "evaluated in the task");
        }
      });

      await t.step(
        "select: ModelCentrality cells as a job array over row blocks, assembled and picked from",
        async () => {
          const r = await run(cluster, "select.ts", [
            ...["--pool", pool, "--method", "model-centrality", "--executor", "slurm", "--rows-per-task", "2"],
            ...["--slurm-poll", "1", "--no-plots"],
          ]);
          assert.equal(r.code, 0, r.text);
          assert.match(
            r.text,
            /9 of 9 cells were cached, 0 computed here/,
            "the matrix was assembled from the tasks' cells",
          );
          const state = await readJson(`${pool}/pool-state.json`);
          const xe = state.jobs.find((j: { kind: string }) => j.kind === "cross-eval");
          assert.deepEqual(xe.tasks, [0, 1]);
          const record = await jobcomp(cluster);
          assert.equal(record.get(`${xe.jobId}_0`), "COMPLETED");
          assert.equal(record.get(`${xe.jobId}_1`), "COMPLETED");
          assert.match(await Deno.readTextFile(`${pool}/logs/cross-eval-rows-2-2.log`), /SLURM_ARRAY_TASK_ID=1/);
          const sel = await readJson(`${pool}/selection.json`);
          const mc = sel.methods["model-centrality"];
          assert.equal(mc.S.length, 3);
          assert.ok(["s0", "s1", "s2"].includes(sel.members[mc.pick].name));
        },
      );

      const faults = `${work}/faults`;
      await t.step(
        "faults: a failing member is reported by index, a cancelled one resumes, nothing is trained twice",
        async () => {
          const w = await run(cluster, "pool.ts", [
            ...["--dataset", "dsprites", "--model", "infogan-cr", "--profile", "smoke", "--seeds", "3"],
            ...["--iterations", "2", "--out", faults, "--executor", "slurm", "--no-submit"],
          ]);
          assert.equal(w.code, 0, w.text);
          assert.equal((await readJson(`${faults}/pool-state.json`)).jobs.length, 0, "--no-submit submits nothing");
          assert.match(await Deno.readTextFile(`${faults}/slurm/train.sbatch`), /^#SBATCH --array=0-2$/m);
          // Member 1's config cannot train; member 2 runs longer, with a checkpoint after every iteration.
          const c1 = await readJson(`${faults}/configs/s1.json`);
          await Deno.writeTextFile(`${faults}/configs/s1.json`, JSON.stringify({ ...c1, batchSize: 0 }));
          const c2 = await readJson(`${faults}/configs/s2.json`);
          await Deno.writeTextFile(
            `${faults}/configs/s2.json`,
            JSON.stringify({ ...c2, iterations: 8, checkpointEvery: 1, sampleEvery: 100 }),
          );

          const child = cli(cluster, "pool.ts", ["--out", faults, "--resume", "--slurm-poll", "1"]).spawn();
          const outP = child.output();
          // scancel member 2 once it has a checkpoint and before it is done.
          let cancelledAt: number | undefined;
          for (let k = 0; k < 600 && cancelledAt === undefined; k++) {
            const it = await checkpointIteration(`${faults}/s2`);
            if (it !== undefined && it >= 1) {
              const job = (await readJson(`${faults}/pool-state.json`)).jobs[0].jobId;
              const s = await sh("scancel", [`${job}_2`], cluster.env);
              assert.equal(s.code, 0, s.stderr);
              cancelledAt = it;
            } else await new Promise((r) => setTimeout(r, 250));
          }
          assert.ok(
            cancelledAt !== undefined && cancelledAt < 8,
            `member 2 was cancelled mid-training (${cancelledAt})`,
          );
          const first = await outP;
          const text1 = dec.decode(first.stdout) + dec.decode(first.stderr);
          assert.equal(first.code, 1, text1);
          assert.match(text1, new RegExp(`member 1 \\(s1\\): FAILED, exit 1:0.*; log ${faults}/logs/s1\\.log`));
          assert.match(text1, new RegExp(`member 2 \\(s2\\): CANCELLED.*; log ${faults}/logs/s2\\.log`));
          assert.match(text1, /member 0 \(s0\): done/);
          assert.match(await Deno.readTextFile(`${faults}/logs/s1.log`), /batchSize/, "the log says why");
          const s2Partial = await checkpointIteration(`${faults}/s2`);
          assert.ok(
            s2Partial !== undefined && s2Partial < 8,
            `a partial checkpoint survives the cancel (${s2Partial})`,
          );

          const second = await run(cluster, "pool.ts", ["--out", faults, "--resume", "--slurm-poll", "1"]);
          assert.equal(second.code, 1, second.text); // member 1 still fails: it is reported again
          assert.match(second.text, /1 finished, 0 still in Slurm's queue, 2 to submit/);
          assert.match(second.text, /submitted job \d+ \(--array=1-2\)/);
          assert.match(second.text, /member 2 \(s2\): done/);
          assert.equal(await checkpointIteration(`${faults}/s2`), 8, "the cancelled member ends with the full count");

          // Nothing trained twice: member 0 ran in one task only; member 2's second task resumed from its checkpoint,
          // and its log.jsonl holds each iteration once.
          assert.equal(headers(await Deno.readTextFile(`${faults}/logs/s0.log`)).length, 1);
          assert.equal(await checkpointIteration(`${faults}/s0`), 2);
          const log2 = await Deno.readTextFile(`${faults}/logs/s2.log`);
          assert.equal(headers(log2).length, 2);
          const secondRun = log2.slice(log2.lastIndexOf(headers(log2)[1]));
          assert.match(secondRun, /task train --config \S+ --out \S+ --resume/);
          const firstIteration = Number(/ (\d+)\/8 \(/.exec(secondRun)?.[1]);
          assert.ok(firstIteration >= 2 && firstIteration <= s2Partial! + 1, `resumed at ${firstIteration}`);
          const iters = (await Deno.readTextFile(`${faults}/s2/log.jsonl`)).trim().split("\n").map((l) =>
            JSON.parse(l).iter
          );
          assert.deepEqual(iters, [1, 2, 3, 4, 5, 6, 7, 8]);
        },
      );
    } finally {
      await cluster.stop();
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
