/**
 * The Slurm executor's pure parts, no Slurm needed: the job-array script text (array line, %K, pass-through options,
 * the commands each task runs — checked by running the script under bash with a stub `deno`), the parsing of squeue,
 * scontrol, jobcomp and sacct output (canned from a real Slurm 22.05), the state file, resume planning, and the follow
 * loop against a scripted fake Slurm. tests/slurm_pool.test.ts runs the same code on a real one-node cluster.
 */
import assert from "node:assert/strict";
import {
  arraySpec,
  type CommandRunner,
  parseArraySpec,
  parseJobcompFile,
  parseSacct,
  parseSbatchOutput,
  parseScontrolJobs,
  parseSlurmConfig,
  parseSlurmDuration,
  parseSqueue,
  type QueueEntry,
  type SlurmClient,
  slurmClient,
  SlurmOptions,
  taskPhase,
  type TaskRecord,
} from "../lib/cluster/slurm.ts";
import { crossEvalScript, rowBlock, rowBlockCount, trainScript } from "../lib/cluster/pool_scripts.ts";
import {
  emptyPoolState,
  endRecordFor,
  parsePoolState,
  planResume,
  readPoolState,
  type SubmittedJob,
  writePoolState,
} from "../lib/cluster/pool_state.ts";
import { followArray } from "../lib/cluster/follow.ts";
import { mergeSlurmOptions, runPoolOnSlurm } from "../lib/cluster/slurm_pool.ts";
import { slurmOptionsFromFlags } from "../lib/cluster/slurm_flags.ts";
import { command as poolCommand } from "../cli/pool.ts";
import { command as selectCommand } from "../cli/select.ts";
import { formatPoolProgress, memberConfig, poolMembers, PoolSpec } from "../lib/selection/pool.ts";
import { presetFor as ganPreset } from "../lib/config/gan.ts";
import { presetFor as vaePreset } from "../lib/config/vae.ts";

const opts = (o: Partial<SlurmOptions> = {}) => SlurmOptions.parse({ args: [], ...o });

Deno.test("slurm: --array values fold runs and carry %K; parsing them back gives the same ids", () => {
  assert.equal(arraySpec([0, 1, 2]), "0-2");
  assert.equal(arraySpec([5, 0, 2, 1, 7, 8], 2), "0-2,5,7-8%2");
  assert.equal(arraySpec([3]), "3");
  assert.deepEqual(parseArraySpec("0-2,5,7-8%2"), [0, 1, 2, 5, 7, 8]);
  assert.deepEqual(parseArraySpec("0-8:4"), [0, 4, 8]);
  assert.throws(() => arraySpec([]), /at least one task/);
  assert.throws(() => parseArraySpec("a-b"), /not a Slurm --array value/);
});

Deno.test("slurm: options are validated, and the flags that set them are named in errors", () => {
  assert.throws(() => SlurmOptions.parse({ time: "four hours", args: [] }), /Slurm time/);
  assert.throws(() => SlurmOptions.parse({ args: ["mem=8G"] }), /starting with -/);
  assert.throws(() => SlurmOptions.parse({ args: ["--mem=8G\n#SBATCH --x"] }), /one line/);
  // Flags are checked as they are parsed, naming the flag and what it accepts.
  const base = ["--dataset", "dsprites", "--model", "infogan-cr", "--profile", "smoke", "--seeds", "2", "--out", "p"];
  assert.throws(() => poolCommand.parse([...base, "--slurm-time", "soon"]), /^UsageError: --slurm-time "soon": /);
  assert.throws(() => poolCommand.parse([...base, "--slurm-arg=--ok", "--slurm-arg=bad"]), /--slurm-arg "bad"/);
  assert.throws(() => poolCommand.parse([...base, "--slurm-max-running", "0"]), /--slurm-max-running 0/);
  const f = poolCommand.parse([...base, "--executor", "slurm", "--slurm-cpus", "4", "--slurm-arg=--mem=8G"]);
  assert.deepEqual(slurmOptionsFromFlags(f), { cpus: 4, args: ["--mem=8G"] });
  assert.throws(() => selectCommand.parse(["--pool", "p", "--slurm-gpus", "1"]), /--slurm-gpus needs --executor slurm/);
  assert.throws(
    () => selectCommand.parse(["--pool", "p", "--executor", "slurm", "--method", "udr-lasso"]),
    /--method excludes it/,
  );
  assert.throws(() => selectCommand.parse(["--pool", "p", "--cells-key", "0123456789abcdef"]), /goes with --rows/);
  // A flag given now wins over the recorded one; recorded ones stay otherwise.
  assert.deepEqual(mergeSlurmOptions(opts({ time: "1:00:00", cpus: 2, args: ["--mem=4G"] }), { cpus: 4, args: [] }), {
    time: "1:00:00",
    cpus: 4,
    args: ["--mem=4G"],
  });
});

const POOL = "/shared/pools/p q"; // a space, to check the quoting
const PROJECT = "/shared/igcr";

function fullTrainScript(evaluate: boolean, maxRunning?: number): string {
  return trainScript({
    project: PROJECT,
    pool: POOL,
    members: ["s0", "s1", "s2"],
    evaluate,
    slurm: opts({
      partition: "gpu",
      time: "4:00:00",
      cpus: 4,
      gpus: "a100:1",
      maxRunning,
      args: ["--mem=8G", "--account=proj"],
    }),
    backend: "tfjs-node-gpu",
    description: "infogan-cr on dsprites, profile cpu",
  });
}

Deno.test("train script: array line with %K, pass-through options, one member per task", () => {
  const s = fullTrainScript(true, 2);
  const lines = s.split("\n");
  assert.equal(lines[0], "#!/bin/bash");
  for (
    const want of [
      "#SBATCH --array=0-2%2",
      "#SBATCH --job-name=igcr-p_q",
      `#SBATCH --output='${POOL}/logs/slurm-%A_%a.out'`,
      `#SBATCH --chdir=${PROJECT}`,
      "#SBATCH --partition=gpu",
      "#SBATCH --time=4:00:00",
      "#SBATCH --cpus-per-task=4",
      "#SBATCH --gpus=a100:1",
      "#SBATCH --mem=8G",
      "#SBATCH --account=proj",
      "export IGCR_BACKEND=tfjs-node-gpu",
      "MEMBERS=(s0 s1 s2)",
    ]
  ) assert.ok(lines.includes(want), `missing line: ${want}\n${s}`);
  // Every #SBATCH line comes before the first command (sbatch stops reading directives there).
  const firstCommand = lines.findIndex((l) => l && !l.startsWith("#"));
  assert.ok(lines.findLastIndex((l) => l.startsWith("#SBATCH")) < firstCommand);
  assert.ok(lines.filter((l) => l.startsWith("# ")).length >= 5, "commented for a reader");
  assert.ok(!fullTrainScript(true).includes("%2"), "no %K unless asked");
  assert.match(fullTrainScript(true), /^#SBATCH --array=0-2$/m);
  assert.doesNotMatch(fullTrainScript(false), /task evaluate/);
});

/** Runs a script's body under bash as array task `task`, with `deno` replaced by a stub that logs its arguments. */
async function runWithStubDeno(
  script: string,
  task: number,
  pool: string,
  stubExit = 0,
): Promise<{ code: number; calls: string[]; log: string }> {
  const dir = await Deno.makeTempDir({ prefix: "stub_deno_" });
  try {
    const calls = `${dir}/calls.txt`;
    await Deno.writeTextFile(`${dir}/deno`, `#!/bin/bash\necho "$*" >> ${calls}\nexit ${stubExit}\n`);
    await Deno.chmod(`${dir}/deno`, 0o755);
    await Deno.writeTextFile(`${dir}/job.sh`, script);
    const out = await new Deno.Command("bash", {
      args: [`${dir}/job.sh`],
      env: { DENO: `${dir}/deno`, SLURM_ARRAY_TASK_ID: String(task), SLURM_ARRAY_JOB_ID: "77", IGCR_THREADS: "" },
      clearEnv: false,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const read = (p: string) => Deno.readTextFile(p).catch(() => "");
    return {
      code: out.code,
      calls: (await read(calls)).trim().split("\n").filter(Boolean),
      log: new TextDecoder().decode(out.stderr) + (await read(`${pool}/logs/${["s0", "s1", "s2"][task] ?? "x"}.log`)),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("train script: each task runs train --config for its member (--resume over a checkpoint), then evaluate", async () => {
  const root = await Deno.makeTempDir({ prefix: "train_script_" });
  try {
    const pool = `${root}/p q`;
    const project = await Deno.makeTempDir({ prefix: "project_" });
    await Deno.mkdir(`${pool}/logs`, { recursive: true });
    const script = (evaluate: boolean) =>
      trainScript({
        project,
        pool,
        members: ["s0", "s1", "s2"],
        evaluate,
        slurm: opts(),
        description: "test",
      });
    const syntax = await new Deno.Command("bash", { args: ["-n", "-c", script(true)] }).output();
    assert.equal(syntax.code, 0, new TextDecoder().decode(syntax.stderr));

    const r1 = await runWithStubDeno(script(true), 1, pool);
    assert.equal(r1.code, 0, r1.log);
    assert.deepEqual(r1.calls, [
      `task train --config ${pool}/configs/s1.json --out ${pool}/s1`,
      `task evaluate --checkpoint ${pool}/s1 --metrics factor-vae --protocol infogan-cr`,
    ]);
    assert.match(r1.log, /Slurm job 77_1 \(SLURM_ARRAY_TASK_ID=1\) on .*: member s1/);

    // A checkpoint (or only its .old fallback) makes the task continue the run; metrics.json skips the evaluation.
    await Deno.mkdir(`${pool}/s2/checkpoint.old`, { recursive: true });
    await Deno.writeTextFile(`${pool}/s2/checkpoint.old/state.json`, "{}");
    await Deno.writeTextFile(`${pool}/s2/metrics.json`, "{}");
    const r2 = await runWithStubDeno(script(true), 2, pool);
    assert.deepEqual(r2.calls, [`task train --config ${pool}/configs/s2.json --out ${pool}/s2 --resume`]);

    // A failing train fails the task (non-zero exit, so Slurm records FAILED) and evaluate does not run.
    const r3 = await runWithStubDeno(script(true), 0, pool, 3);
    assert.equal(r3.code, 3);
    assert.equal(r3.calls.length, 1);
    // A task id beyond the member list is an error, not a silent no-op.
    const r4 = await runWithStubDeno(script(false), 5, pool);
    assert.notEqual(r4.code, 0);
    assert.deepEqual(r4.calls, []);
    await Deno.remove(project, { recursive: true });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("cross-eval script: task b computes rows b·R … min(N, b·R+R)−1 with select --rows and the cache key", async () => {
  assert.equal(rowBlockCount(5, 2), 3);
  assert.deepEqual(rowBlock(2, 2, 5), [4, 4]);
  const root = await Deno.makeTempDir({ prefix: "xeval_script_" });
  try {
    await Deno.mkdir(`${root}/logs`);
    const s = crossEvalScript({
      project: root,
      pool: root,
      n: 5,
      rowsPerTask: 2,
      profile: "smoke",
      seed: 3,
      chunk: 64,
      cellsKey: "0123456789abcdef",
      slurm: opts({ maxRunning: 1 }),
    });
    assert.match(s, /^#SBATCH --array=0-2%1$/m);
    const calls: string[][] = [];
    for (const b of [0, 2]) calls.push((await runWithStubDeno(s, b, root)).calls);
    const cmd = (rows: string) =>
      `task select --pool ${root} --profile smoke --seed 3 --chunk 64 --rows ${rows} --cells-key 0123456789abcdef`;
    assert.deepEqual(calls, [[cmd("0-1")], [cmd("4-4")]]);
    assert.match(await Deno.readTextFile(`${root}/logs/cross-eval-rows-4-4.log`), /SLURM_ARRAY_TASK_ID=2/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// Canned output of Slurm 22.05 (Debian 12), one-node cluster, array job 6 of two tasks, task 1 cancelled.
const SQUEUE = `8|0|9|RUNNING|1:02:03|vm|/tmp/p/slurm/train.sbatch
8|2|8|PENDING|0:00|(JobArrayTaskLimit)|/tmp/p/slurm/train.sbatch
12|N/A|12|PENDING|0:00|(Priority)|/home/u/other.sh
`;
const SCONTROL =
  `JobId=6 ArrayJobId=6 ArrayTaskId=1 JobName=t UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901758 Nice=0 Account=(null) QOS=(null) JobState=CANCELLED Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:15 RunTime=00:00:02 TimeLimit=UNLIMITED NodeList=vm StdOut=/tmp/sp_cl/out-6_1.log
JobId=7 ArrayJobId=6 ArrayTaskId=0 JobName=t UserId=root(0) GroupId=root(0) JobState=COMPLETED Reason=None ExitCode=0:0 RunTime=00:00:09 NodeList=vm
JobId=10 ArrayJobId=10 ArrayTaskId=3-4%2 ArrayTaskThrottle=2 JobName=t JobState=PENDING Reason=JobArrayTaskLimit ExitCode=0:0 RunTime=00:00:00
`;
const JOBCOMP =
  `JobId=4 UserId=root(0) GroupId=root(0) Name=t JobState=FAILED Partition=debug TimeLimit=UNLIMITED StartTime=2026-12-01T22:15:19 EndTime=2026-12-01T22:15:26 NodeList=vm NodeCnt=1 ProcCnt=1 WorkDir=/tmp/sp_cl ReservationName= Tres=cpu=1,mem=1M,node=1,billing=1 Account= QOS= WcKey= Cluster=unknown SubmitTime=2026-12-01T22:15:12 EligibleTime=2026-12-01T22:15:19 ArrayJobId=1 ArrayTaskId=2 DerivedExitCode=0:0 ExitCode=3:0
JobId=6 UserId=root(0) GroupId=root(0) Name=t JobState=CANCELLED Partition=debug TimeLimit=525600 StartTime=2026-12-01T22:17:53 EndTime=2026-12-01T22:17:55 NodeList=vm NodeCnt=1 ProcCnt=1 WorkDir=/tmp/sp_cl ReservationName= Tres=cpu=1,mem=1M,node=1,billing=1 Account= QOS= WcKey= Cluster=unknown SubmitTime=2026-12-01T22:17:53 EligibleTime=2026-12-01T22:17:53 ArrayJobId=6 ArrayTaskId=1 DerivedExitCode=0:0 ExitCode=0:0
`;

Deno.test("slurm output: squeue, scontrol, jobcomp, sacct, config and sbatch are parsed into tasks", () => {
  assert.equal(parseSbatchOutput("42\n"), "42");
  assert.equal(parseSbatchOutput("42;cluster1"), "42");
  assert.throws(() => parseSbatchOutput("sbatch: error: Batch job submission failed"), /job id was expected/);
  assert.equal(parseSlurmDuration("0:05"), 5);
  assert.equal(parseSlurmDuration("1:02:03"), 3723);
  assert.equal(parseSlurmDuration("2-01:00:00"), 2 * 86400 + 3600);
  assert.equal(parseSlurmDuration("30"), 1800);
  assert.ok(Number.isNaN(parseSlurmDuration("UNLIMITED")));

  const q = parseSqueue(SQUEUE);
  assert.deepEqual(q.map((e) => [e.arrayJobId, e.taskId, e.jobId, e.phase, e.elapsedS]), [
    ["8", 0, "9", "running", 3723],
    ["8", 2, "8", "queued", 0],
    ["12", null, "12", "queued", 0],
  ]);
  assert.equal(q[0].command, "/tmp/p/slurm/train.sbatch");
  assert.equal(q[1].where, "(JobArrayTaskLimit)");
  assert.throws(() => parseSqueue("8|0|RUNNING"), /7 fields/);

  const sc = parseScontrolJobs(SCONTROL);
  assert.deepEqual(sc.map((r) => [r.arrayJobId, r.taskId, r.jobId, r.state, r.exitCode, r.elapsedS, r.nodes]), [
    ["6", 1, "6", "CANCELLED", "0:15", 2, "vm"],
    ["6", 0, "7", "COMPLETED", "0:0", 9, "vm"],
  ], "the pending range record (3-4%2) is left to squeue");

  const jc = parseJobcompFile(JOBCOMP);
  assert.deepEqual(jc.map((r) => [r.arrayJobId, r.taskId, r.jobId, r.state, r.exitCode, r.elapsedS]), [
    ["1", 2, "4", "FAILED", "3:0", 7],
    ["6", 1, "6", "CANCELLED", "0:0", 2],
  ]);

  const sa = parseSacct(
    "12_3|15|COMPLETED|0:0|00:01:02|node1\n12_4|16|CANCELLED by 0|0:15|00:00:07|node2\n12_[5-9]|12|PENDING|0:0|00:00:00|None assigned\n",
  );
  assert.deepEqual(sa.map((r) => [r.arrayJobId, r.taskId, r.jobId, r.state, r.elapsedS]), [
    ["12", 3, "15", "COMPLETED", 62],
    ["12", 4, "16", "CANCELLED by 0", 7],
  ]);
  assert.equal(taskPhase("CANCELLED by 0"), "ended");
  assert.equal(taskPhase("COMPLETING"), "running");
  assert.equal(taskPhase("NODE_FAIL"), "ended");
  assert.equal(taskPhase("REQUEUED"), "queued");

  const cfg = parseSlurmConfig(
    "Configuration data as of x\nJobCompLoc              = /tmp/j.txt\nMinJobAge = 300 sec\n",
  );
  assert.equal(cfg.get("JobCompLoc"), "/tmp/j.txt");
  assert.equal(cfg.get("MinJobAge"), "300 sec");
});

Deno.test("slurm records: the newest job's record wins, then scontrol over sacct over jobcomp (its last line)", () => {
  const rec = (job: string, task: number, state: string, source: TaskRecord["source"]): TaskRecord => ({
    arrayJobId: job,
    taskId: task,
    jobId: job,
    state,
    exitCode: "0:0",
    elapsedS: 1,
    nodes: "n",
    source,
  });
  const records = [
    rec("5", 1, "FAILED", "scontrol"),
    rec("9", 1, "PENDING", "jobcomp"),
    rec("9", 1, "NODE_FAIL", "jobcomp"),
    rec("9", 2, "TIMEOUT", "jobcomp"),
    rec("9", 2, "CANCELLED", "scontrol"),
  ];
  assert.equal(endRecordFor(records, ["5", "9"], 1)?.state, "NODE_FAIL");
  assert.equal(endRecordFor(records, ["5"], 1)?.state, "FAILED");
  assert.equal(endRecordFor(records, ["5", "9"], 2)?.state, "CANCELLED");
  assert.equal(endRecordFor(records, ["5", "9"], 3), undefined);
});

Deno.test("pool state: round trip through the file; a corrupt file is an error naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pool_state_" });
  try {
    assert.equal(await readPoolState(dir), null);
    const st = { ...emptyPoolState(opts({ cpus: 2 }), true), executor: "slurm" as const };
    st.jobs.push({ kind: "train", jobId: "12", tasks: [0, 2], script: "slurm/train.sbatch", submittedAt: "t" });
    await writePoolState(dir, st);
    assert.deepEqual(await readPoolState(dir), st);
    await Deno.writeTextFile(
      `${dir}/pool-state.json`,
      JSON.stringify({ ...st, jobs: [{ ...st.jobs[0], jobId: "x" }] }),
    );
    await assert.rejects(() => readPoolState(dir), /pool-state\.json: jobs\.0\.jobId: .*fix or delete the file/);
    await Deno.writeTextFile(`${dir}/pool-state.json`, "{");
    await assert.rejects(() => readPoolState(dir), /pool-state\.json is not valid JSON/);
    assert.throws(() => parsePoolState({ schema: "igcr-pool-state/0" }), /schema/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resume planning: finished members are never resubmitted, queued ones are followed, the rest submitted", () => {
  const finished = new Set([0, 3]);
  const plan = planResume(6, (i) => finished.has(i), new Set([1, 3, 7]));
  assert.deepEqual(plan, { finished: [0, 3], active: [1], submit: [2, 4, 5] });
  assert.deepEqual(planResume(2, () => true, new Set()).submit, []);
});

Deno.test("member configs: the preset of the pool's profile with the member's seed, iterations and grid values", () => {
  const gan = PoolSpec.parse({
    dataset: "dsprites",
    model: "infogan",
    profile: "smoke",
    seeds: [4],
    grid: {},
    iterations: 7,
  });
  assert.deepEqual(memberConfig(gan, poolMembers(gan)[0]), {
    ...ganPreset("dsprites", "smoke", { model: "infogan", seed: 4 }),
    iterations: 7,
  });
  const vae = PoolSpec.parse({
    dataset: "dsprites",
    model: "factor-vae",
    profile: "cpu",
    seeds: [1],
    grid: { gamma: [10, 40] },
  });
  const [m10, m40] = poolMembers(vae);
  assert.deepEqual(memberConfig(vae, m40), { ...vaePreset("dsprites", "cpu", "factor-vae"), seed: 1, gamma: 40 });
  assert.equal(memberConfig(vae, m10).seed, 1);
  const bad = PoolSpec.parse({ ...vae, grid: { lr: [1] } });
  assert.throws(() => memberConfig(bad, poolMembers(bad)[0]), /--grid lr has no config field/);
});

/** A fake Slurm whose queue follows a script of polls; `ended` serves fixed records. */
function fakeSlurm(polls: QueueEntry[][], records: TaskRecord[]): SlurmClient & { polls: number } {
  const c = {
    polls: 0,
    submit: () => Promise.reject(new Error("not in this test")),
    queue: () => Promise.resolve(polls[Math.min(c.polls++, polls.length - 1)]),
    ended: () => Promise.resolve(records),
    cancel: () => Promise.resolve(),
  };
  return c;
}

const entry = (task: number, state: string, job = "20"): QueueEntry => ({
  arrayJobId: job,
  taskId: task,
  jobId: job,
  state,
  phase: taskPhase(state),
  elapsedS: 5,
  where: state === "RUNNING" ? "node1" : "(Priority)",
  command: "/p/slurm/train.sbatch",
});

Deno.test("follow: queued → running → done or failed by index with Slurm's record and the log; disk decides done", async () => {
  const finishedOnDisk = new Set<number>();
  const polls = [
    [entry(0, "RUNNING"), entry(1, "RUNNING"), entry(2, "PENDING"), entry(3, "RUNNING")],
    [entry(1, "RUNNING"), entry(2, "RUNNING")], // 0 finished; 3 left the queue unfinished (scancel)
    [entry(2, "RUNNING")], // 1 COMPLETED in Slurm's eyes, files not visible yet
    [], // 1's files appear; 2 completed without its files (grace runs out after this and the next polls)
    [],
    [],
  ];
  const slurm = fakeSlurm(polls, [
    {
      arrayJobId: "20",
      taskId: 3,
      jobId: "23",
      state: "CANCELLED",
      exitCode: "0:15",
      elapsedS: 7,
      nodes: "node1",
      source: "scontrol",
    },
    {
      arrayJobId: "20",
      taskId: 1,
      jobId: "21",
      state: "COMPLETED",
      exitCode: "0:0",
      elapsedS: 9,
      nodes: "node1",
      source: "jobcomp",
    },
    {
      arrayJobId: "20",
      taskId: 2,
      jobId: "22",
      state: "COMPLETED",
      exitCode: "0:0",
      elapsedS: 9,
      nodes: "node1",
      source: "jobcomp",
    },
  ]);
  const lines: string[] = [];
  let t = 0;
  const result = await followArray({
    slurm,
    jobIds: ["20"],
    units: [0, 1, 2, 3].map((i) => ({ index: i, label: `member ${i} (s${i})`, log: `/p/logs/s${i}.log` })),
    isFinished: (i) => {
      if (i === 0 && slurm.polls >= 2) finishedOnDisk.add(0);
      if (i === 1 && slurm.polls >= 4) finishedOnDisk.add(1);
      return Promise.resolve(finishedOnDisk.has(i));
    },
    what: "pool",
    graceCompleted: 2,
    print: (l) => lines.push(l),
    sleep: () => {
      t += 10_000;
      return Promise.resolve();
    },
    now: () => t,
  });
  assert.deepEqual(result.done, [0, 1]);
  assert.deepEqual(result.failed.map((f) => [f.index, f.log]), [[3, "/p/logs/s3.log"], [2, "/p/logs/s2.log"]]);
  assert.match(result.failed[0].reason, /^CANCELLED, exit 0:15, after 7s on node1$/);
  assert.match(result.failed[1].reason, /COMPLETED.*not complete on disk/);
  const text = lines.join("\n");
  assert.match(text, /^member 2 \(s2\): running on node1 \(job 20_2, log \/p\/logs\/s2\.log\)$/m);
  assert.match(text, /^member 3 \(s3\): FAILED \(CANCELLED, exit 0:15, after 7s on node1\), see \/p\/logs\/s3\.log$/m);
  assert.match(text, /^pool: 1 queued, 3 running, 0 done, 0 failed; 0s elapsed$/m);
  assert.equal(lines.at(-1), "pool: 0 queued, 0 running, 2 done, 2 failed; 50s elapsed");
  assert.equal(
    formatPoolProgress("pool", { queued: 1, running: 2, done: 3, failed: 0 }, 80),
    "pool: 1 queued, 2 running, 3 done, 0 failed; 1m20s elapsed",
  );
});

async function poolCli(args: string[]): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../cli/pool.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr) };
}

Deno.test("pool CLI: --executor slurm --no-submit writes configs, script and state without Slurm; flags are checked", async () => {
  const root = await Deno.makeTempDir({ prefix: "pool_slurm_cli_" });
  try {
    const base = [
      "--dataset",
      "dsprites",
      "--model",
      "infogan-cr",
      "--profile",
      "smoke",
      "--seeds",
      "2",
      "--out",
      root,
    ];
    const w = await poolCli([
      ...base,
      ...["--iterations", "3", "--executor", "slurm", "--no-submit", "--slurm-time", "1:00:00"],
      ...["--slurm-arg=--mem=2G", "--slurm-max-running", "1", "--evaluate"],
    ]);
    assert.equal(w.code, 0, w.text);
    const script = await Deno.readTextFile(`${root}/slurm/train.sbatch`);
    assert.match(script, /^#SBATCH --array=0-1%1$/m);
    assert.match(script, /^#SBATCH --time=1:00:00$/m);
    assert.match(script, /^#SBATCH --mem=2G$/m);
    const cfg = JSON.parse(await Deno.readTextFile(`${root}/configs/s1.json`));
    assert.deepEqual([cfg.seed, cfg.iterations, cfg.profile], [1, 3, "smoke"]);
    const state = JSON.parse(await Deno.readTextFile(`${root}/pool-state.json`));
    assert.deepEqual([state.executor, state.evaluate, state.slurm.maxRunning, state.jobs], ["slurm", true, 1, []]);

    // Other flags for the same folder would silently change a member: refused, naming the file.
    const clash = await poolCli([...base, "--iterations", "5", "--executor", "slurm", "--no-submit"]);
    assert.equal(clash.code, 1);
    assert.match(clash.text, /configs\/s0\.json differs from the config these flags give/);
    // --resume takes the pool from pool.json and the executor and options from the state file; flags given now win.
    const resumed = await poolCli(["--out", root, "--resume", "--no-submit", "--slurm-time", "2:00:00"]);
    assert.equal(resumed.code, 0, resumed.text);
    assert.match(await Deno.readTextFile(`${root}/slurm/train.sbatch`), /^#SBATCH --time=2:00:00\n#SBATCH --mem=2G$/m);
    assert.match(await Deno.readTextFile(`${root}/slurm/train.sbatch`), /task evaluate/, "--evaluate is remembered");
    // The local executor resumes from pool.json too.
    const local = await poolCli(["--out", root, "--resume", "--executor", "local", "--dry-run"]);
    assert.equal(local.code, 0, local.text);
    assert.match(local.text, /would run: deno task train .*--seed 1 --out \S+\/s1 --iterations 3\n/);

    for (
      const [args, msg] of [
        [["--out", root, "--resume", "--seeds", "3"], /--resume reads the pool from .*pool\.json; drop --seeds/],
        [[...base.slice(0, -1), `${root}/fresh`, "--slurm-time", "1:00"], /--slurm-time needs --executor slurm/],
        [[...base, "--executor", "slurm", "--parallel", "2"], /--parallel is for the local executor/],
        [[...base, "--executor", "slurm", "--slurm-time", "soon"], /--slurm-time "soon": /],
        [["--out", `${root}/none`, "--resume"], /none\/pool\.json does not exist/],
        [["--out", root], /--dataset, --model, --profile, --seeds required/],
      ] as [string[], RegExp][]
    ) {
      const r = await poolCli(args);
      assert.notEqual(r.code, 0, args.join(" "));
      assert.match(r.text, msg);
      assert.equal(r.code, 2, r.text);
      assert.match(r.text.trim().split("\n")[0], /^pool: /);
      assert.doesNotMatch(r.text, /^\s+at /m, "no stack trace");
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("runPoolOnSlurm: submits only what is neither finished nor queued, adopts a hand-submitted job, reports by index", async () => {
  const root = await Deno.makeTempDir({ prefix: "pool_orchestrate_" });
  try {
    const spec = PoolSpec.parse({
      dataset: "dsprites",
      model: "infogan-cr",
      profile: "smoke",
      seeds: [0, 1, 2],
      grid: {},
    });
    const members = poolMembers(spec);
    // Member 0 is finished on disk (checkpoint at the config's iteration count, metrics.json).
    const cfg = memberConfig(spec, members[0]);
    await Deno.mkdir(`${root}/s0/checkpoint`, { recursive: true });
    await Deno.writeTextFile(`${root}/s0/config.json`, JSON.stringify(cfg));
    await Deno.writeTextFile(
      `${root}/s0/checkpoint/state.json`,
      JSON.stringify({ state: { iteration: cfg.iterations } }),
    );
    await Deno.writeTextFile(`${root}/s0/metrics.json`, "{}");
    const script = `${root}/slurm/train.sbatch`;
    const submitted: string[] = [];
    let polls = 0;
    const hand: QueueEntry = { ...entry(1, "RUNNING", "50"), command: script };
    const client: SlurmClient = {
      submit: (s, array) => {
        assert.equal(s, script);
        submitted.push(array!);
        return Promise.resolve("51");
      },
      // Poll 0 is the plan; 1 and 2 the follow loop; then both tasks are gone.
      queue: () => Promise.resolve(polls++ < 3 ? [hand, ...(submitted.length ? [entry(2, "PENDING", "51")] : [])] : []),
      ended: () =>
        Promise.resolve([
          {
            arrayJobId: "50",
            taskId: 1,
            jobId: "50",
            state: "NODE_FAIL",
            exitCode: "0:0",
            elapsedS: 3,
            nodes: "n1",
            source: "scontrol",
          },
          {
            arrayJobId: "51",
            taskId: 2,
            jobId: "52",
            state: "FAILED",
            exitCode: "1:0",
            elapsedS: 2,
            nodes: "n2",
            source: "jobcomp",
          },
        ]),
      cancel: () => Promise.resolve(),
    };
    const lines: string[] = [];
    const r = await runPoolOnSlurm({
      poolDir: root,
      spec,
      members,
      evaluate: true,
      slurm: opts(),
      client,
      submit: true,
      keepConfigs: false,
      pollMs: 1,
      print: (l) => lines.push(l),
    });
    const text = lines.join("\n");
    assert.deepEqual(submitted, ["2"], text);
    assert.equal(r.exitCode, 1);
    assert.match(text, /1 finished, 1 still in Slurm's queue, 1 to submit/);
    assert.match(text, /found job 50 running .*train\.sbatch \(submitted by hand\?\)/);
    assert.match(text, new RegExp(`member 1 \\(s1\\): NODE_FAIL, exit 0:0, after 3s on n1; log ${root}/logs/s1\\.log`));
    assert.match(text, new RegExp(`member 2 \\(s2\\): FAILED, exit 1:0, after 2s on n2; log ${root}/logs/s2\\.log`));
    const state = JSON.parse(await Deno.readTextFile(`${root}/pool-state.json`));
    assert.deepEqual(state.jobs.map((j: SubmittedJob) => [j.jobId, j.tasks, j.adopted ?? false]), [
      ["51", [2], false],
      ["50", [1], true],
    ]);
    assert.ok(await Deno.stat(`${root}/configs/s2.json`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("slurmClient: the commands it runs and how it reads them (fake runner)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "slurm_client_" });
  try {
    await Deno.writeTextFile(`${dir}/jobcomp.txt`, JOBCOMP);
    const calls: string[] = [];
    let accounting = "accounting_storage/none";
    const runner: CommandRunner = (cmd, args) => {
      calls.push([cmd, ...args].join(" "));
      const ok = (stdout: string) => Promise.resolve({ code: 0, stdout, stderr: "" });
      if (cmd === "sbatch") return ok("99\n");
      if (cmd === "squeue" && args.includes("--me")) {
        return Promise.resolve({ code: 1, stdout: "", stderr: "squeue: unrecognized option '--me'" });
      }
      if (cmd === "id") return ok("alice\n");
      if (cmd === "squeue") return ok(SQUEUE);
      if (cmd === "scontrol" && args[0] === "show") {
        return ok(
          `AccountingStorageType   = ${accounting}\nJobCompType = jobcomp/filetxt\nJobCompLoc = ${dir}/jobcomp.txt\n`,
        );
      }
      if (cmd === "scontrol") {
        return args.at(-1) === "6"
          ? ok(SCONTROL)
          : Promise.resolve({ code: 1, stdout: "", stderr: "Invalid job id specified" });
      }
      if (cmd === "sacct") return ok("1_2|4|OUT_OF_MEMORY|0:125|00:00:07|vm\n");
      if (cmd === "scancel") return ok("");
      throw new Error(`unexpected ${cmd}`);
    };
    const c = slurmClient(runner);
    assert.equal(await c.submit("/p/slurm/train.sbatch", "1,3%2"), "99");
    assert.equal(calls[0], "sbatch --parsable --array=1,3%2 /p/slurm/train.sbatch");
    // By job id, or by script (a job submitted by hand); others' jobs are left out. Old Slurm: -u instead of --me.
    assert.deepEqual((await c.queue(["8"])).map((e) => e.taskId), [0, 2]);
    assert.deepEqual((await c.queue([], "/tmp/p/slurm/train.sbatch")).map((e) => e.taskId), [0, 2]);
    assert.deepEqual(await c.queue(["77"], "/elsewhere.sbatch"), []);
    assert.ok(calls.includes("squeue -h -r -u alice -o %F|%K|%A|%T|%M|%R|%o"));
    // Ended: scontrol (job 6), the jobcomp file (jobs 1 and 6); sacct only where accounting is on.
    const ended = await c.ended(["1", "6"]);
    assert.deepEqual(ended.map((r) => `${r.source}:${r.arrayJobId}_${r.taskId}:${r.state}`), [
      "scontrol:6_1:CANCELLED",
      "scontrol:6_0:COMPLETED",
      "jobcomp:1_2:FAILED",
      "jobcomp:6_1:CANCELLED",
    ]);
    assert.ok(!calls.some((l) => l.startsWith("sacct")));
    accounting = "accounting_storage/slurmdbd";
    const withSacct = await slurmClient(runner).ended(["1"]);
    assert.deepEqual(withSacct.map((r) => `${r.source}:${r.state}`), ["sacct:OUT_OF_MEMORY", "jobcomp:FAILED"]);
    await c.cancel("12", [3, 4]);
    assert.equal(calls.at(-1), "scancel 12_[3-4]");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
