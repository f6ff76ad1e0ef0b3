/**
 * The PyTorch peer: runs /work/shared/bench/torch_infogan_cr_step.py (one InfoGAN-CR iteration at dSprites sizes, the
 * same work as bench/iteration.ts) with 1 and 2 threads, when Debian's python3-torch is importable, with glibc keeping
 * freed memory (KEEP_FREED_MEMORY).
 *
 * The script is found at ../shared/bench/ relative to the repository (override: IGCR_TORCH_SCRIPT=/path/to/script.py;
 * the interpreter: IGCR_PYTHON, default /usr/bin/python3).
 */

export const TORCH_SCRIPT_NAME = "torch_infogan_cr_step.py";

/** Where the peer script is expected: IGCR_TORCH_SCRIPT, else <repo>/../shared/bench/torch_infogan_cr_step.py. */
export function torchScriptPath(): string {
  const env = Deno.env.get("IGCR_TORCH_SCRIPT");
  if (env) return env;
  return new URL(`../../shared/bench/${TORCH_SCRIPT_NAME}`, import.meta.url).pathname;
}

function pythonPath(): string {
  return Deno.env.get("IGCR_PYTHON") ?? "/usr/bin/python3";
}

async function run(cmd: string, args: string[], env?: Record<string, string>): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { ok: r.success, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
  } catch (e) {
    return { ok: false, out: String(e) };
  }
}

/** Why the torch section cannot run here, or null when it can. */
export async function torchUnavailable(): Promise<string | null> {
  const script = torchScriptPath();
  try {
    await Deno.stat(script);
  } catch {
    return `torch peer script not found at ${script} (set IGCR_TORCH_SCRIPT)`;
  }
  const probe = await run(pythonPath(), ["-c", "import torch; print(torch.__version__)"]);
  if (!probe.ok) {
    return `PyTorch is not importable by ${pythonPath()} (install it: apt-get install -y python3-torch)`;
  }
  return null;
}

/** Parses the script's one-line result: "torch 1.13.0 threads 1 ms/iteration 612.3 images/s 105". */
export function parseTorchLine(text: string): { version: string; threads: number; ms: number } {
  const m = text.match(/torch (\S+) threads (\d+) ms\/iteration ([\d.]+)/);
  if (!m) throw new Error(`unexpected output from ${TORCH_SCRIPT_NAME}: ${text.trim().slice(-300)}`);
  return { version: m[1], threads: Number(m[2]), ms: Number(m[3]) };
}

/**
 * glibc's allocator told to keep freed memory (the environment form of mallopt M_MMAP_THRESHOLD, at glibc's maximum of
 * 32 MiB, and M_TRIM_THRESHOLD): by default it hands each large activation buffer back to the system when PyTorch frees
 * it and faults fresh pages in on the next iteration, which on this shared virtual machine made PyTorch's one-thread
 * iteration 1.6-3.4x slower (docs/speed.md). onnxruntime's arenas and the wasm heap keep their memory, so this times
 * PyTorch at its best and compares like with like.
 */
export const KEEP_FREED_MEMORY: Record<string, string> = {
  MALLOC_MMAP_THRESHOLD_: String(32 << 20),
  MALLOC_TRIM_THRESHOLD_: String(1 << 30),
};

/** Runs the peer with the given thread count (and `env` added); returns its median ms per iteration. */
export async function torchIterationMs(
  threads: number,
  iterations = 10,
  env?: Record<string, string>,
): Promise<{ version: string; ms: number }> {
  const r = await run(pythonPath(), [torchScriptPath(), String(threads), String(iterations)], {
    ...KEEP_FREED_MEMORY,
    ...env,
  });
  if (!r.ok) throw new Error(`${TORCH_SCRIPT_NAME} ${threads} failed: ${r.out.trim().slice(-500)}`);
  const p = parseTorchLine(r.out);
  return { version: p.version, ms: p.ms };
}

/** The bench section: torch ms/iteration with 1 and 2 threads, or a skip note. */
export async function benchTorch(opts: { iterations?: number } = {}): Promise<Record<string, number | string>> {
  const why = await torchUnavailable();
  if (why) return { skipped: why };
  const one = await torchIterationMs(1, opts.iterations ?? 10);
  const two = await torchIterationMs(2, opts.iterations ?? 10);
  return {
    "torch version": one.version,
    "torch 1 thread ms": one.ms,
    "torch 2 threads ms": two.ms,
    "torch best ms": Math.min(one.ms, two.ms),
  };
}

/**
 * Where the peer's one-thread iteration spends its time (bench/torch_profile.py, torch.profiler over `iterations`
 * iterations): self CPU ms per iteration of its convolutions, matrix products and other operators. Null when the peer
 * cannot run here.
 */
export async function torchProfile(iterations = 3): Promise<Record<string, number> | null> {
  if (await torchUnavailable()) return null;
  const profiler = new URL("./torch_profile.py", import.meta.url).pathname;
  const r = await run(pythonPath(), [profiler, torchScriptPath(), "1", String(iterations)], KEEP_FREED_MEMORY);
  if (!r.ok) throw new Error(`torch_profile.py failed: ${r.out.trim().slice(-500)}`);
  const line = r.out.trim().split("\n").at(-1) ?? "";
  const parsed = JSON.parse(line) as Record<string, number | string>;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(parsed)) if (typeof v === "number" && k !== "threads") out[k] = v;
  return out;
}
