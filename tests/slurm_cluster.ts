/**
 * A one-node Slurm cluster on this machine, for tests/slurm_pool.test.ts and bench/slurm_pool.ts (platform-notes:
 * "Browsers and clusters from Debian"): Debian's slurm-wlm and munge (installed with apt when missing; root only), a
 * `slurm.conf` for 127.0.0.1 in a temporary folder with free ports, `select/cons_tres` so every CPU runs a task, and a
 * `jobcomp/filetxt` completion record; `munged`, `slurmctld` and `slurmd` run as children of this process and
 * `stop()` ends them (after cancelling what is still queued) and removes the folder.
 */
const dec = new TextDecoder();

export async function sh(cmd: string, args: string[], env?: Record<string, string>) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

export async function which(cmd: string): Promise<boolean> {
  return (await sh("bash", ["-c", `command -v ${cmd}`])).code === 0;
}

/** A daemon's path: on PATH, or in /usr/sbin (not on every non-login PATH). */
async function daemon(name: string): Promise<string | null> {
  const r = await sh("bash", ["-c", `command -v ${name}`]);
  if (r.code === 0) return r.stdout.trim();
  return (await Deno.stat(`/usr/sbin/${name}`).catch(() => null)) ? `/usr/sbin/${name}` : null;
}

/** Installs slurm-wlm and munge with apt when a daemon is missing (root only). */
export async function ensureSlurm(): Promise<void> {
  const have = async () =>
    (await daemon("slurmctld")) !== null && (await daemon("slurmd")) !== null && (await daemon("munged")) !== null &&
    (await which("sbatch"));
  if (await have()) return;
  const install = () =>
    sh("apt-get", [
      "-o",
      "DPkg::Lock::Timeout=900",
      "install",
      "-y",
      "--no-install-recommends",
      "slurm-wlm",
      "munge",
    ], { DEBIAN_FRONTEND: "noninteractive", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" });
  let r = await install();
  if (r.code !== 0) {
    await sh("apt-get", ["-o", "DPkg::Lock::Timeout=900", "update"]);
    r = await install();
  }
  if (r.code !== 0 || !(await have())) {
    throw new Error(`apt-get install slurm-wlm munge failed: ${(r.stderr || r.stdout).trim().split("\n").at(-1)}`);
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export interface Cluster {
  dir: string;
  /** Environment for Slurm's commands (SLURM_CONF). */
  env: Record<string, string>;
  /** The completion record file. */
  jobcomp: string;
  cpus: number;
  stop(): Promise<void>;
}

/** A one-node cluster in a temporary folder (platform-notes: "Browsers and clusters from Debian"). */
export async function startCluster(opts: { cpus?: number } = {}): Promise<Cluster> {
  await ensureSlurm();
  const dir = await Deno.makeTempDir({ prefix: "igcr_slurm_" });
  for (const d of ["state", "spool", "log"]) await Deno.mkdir(`${dir}/${d}`);
  const host = (await sh("hostname", ["-s"])).stdout.trim();
  const cpus = opts.cpus ?? Math.max(2, navigator.hardwareConcurrency);
  const conf = `${dir}/slurm.conf`;
  await Deno.writeTextFile(
    conf,
    [
      "ClusterName=igcrtest",
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${freePort()}`,
      `SlurmdPort=${freePort()}`,
      "SlurmUser=root",
      "SlurmdUser=root",
      "AuthType=auth/munge",
      "CredType=cred/munge",
      `AuthInfo=socket=${dir}/munge.sock`,
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/log/slurmctld.log`,
      `SlurmdLogFile=${dir}/log/slurmd.log`,
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "MpiDefault=none",
      "ReturnToService=2",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_CPU",
      "AccountingStorageType=accounting_storage/none",
      "JobCompType=jobcomp/filetxt",
      `JobCompLoc=${dir}/jobcomp.txt`,
      "KillWait=5",
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN`,
      "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
      "",
    ].join("\n"),
  );
  await Deno.writeFile(`${dir}/munge.key`, crypto.getRandomValues(new Uint8Array(1024)), { mode: 0o600 });
  const env = { SLURM_CONF: conf };
  const spawn = (cmd: string, args: string[]) =>
    new Deno.Command(cmd, { args, env, stdin: "null", stdout: "null", stderr: "null" }).spawn();
  const daemons: Deno.ChildProcess[] = [];
  const stop = async () => {
    await sh("scancel", ["--me"], env).catch(() => {});
    for (const d of daemons.reverse()) {
      try {
        d.kill("SIGTERM");
      } catch { /* already gone */ }
      await d.status;
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    daemons.push(spawn((await daemon("munged"))!, [
      "-F",
      "--force",
      `--socket=${dir}/munge.sock`,
      `--key-file=${dir}/munge.key`,
      `--pid-file=${dir}/munged.pid`,
      `--log-file=${dir}/log/munged.log`,
      `--seed-file=${dir}/munged.seed`,
    ]));
    for (let k = 0; k < 50 && !(await Deno.stat(`${dir}/munge.sock`).catch(() => null)); k++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    daemons.push(spawn((await daemon("slurmctld"))!, ["-D", "-f", conf]));
    daemons.push(spawn((await daemon("slurmd"))!, ["-D", "-f", conf]));
    for (let k = 0;; k++) {
      const s = await sh("sinfo", ["-h", "-o", "%T"], env);
      if (s.code === 0 && /^idle/m.test(s.stdout)) break;
      if (k > 60) {
        const log = await Deno.readTextFile(`${dir}/log/slurmctld.log`).catch(() => "");
        throw new Error(`the test cluster did not come up: sinfo says "${s.stdout.trim() || s.stderr.trim()}"\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, env, jobcomp: `${dir}/jobcomp.txt`, cpus, stop };
}
