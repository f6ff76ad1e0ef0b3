/**
 * The WebGPU path end to end: a tiny InfoGAN-CR run trains and is evaluated through `--backend webgpu` in a subprocess.
 * tfjs-backend-webgpu cannot read tensors synchronously under Deno (its dataSync needs an OffscreenCanvas), so this
 * fails if any sync read creeps back into training or evaluation. The losses must match a wasm run of the same seed: the
 * same initial weights, data and latents give the same first iterations up to float rounding.
 *
 * Runs on whatever adapter Deno's navigator.gpu offers, a software one (llvmpipe) included
 * (IGCR_WEBGPU_ALLOW_FALLBACK=1); skipped, with the reason printed, when there is none.
 */
import assert from "node:assert/strict";

async function findAdapter(): Promise<{ description: string } | { skip: string }> {
  const gpu = (globalThis.navigator as unknown as {
    gpu?: { requestAdapter(): Promise<{ info?: { description?: string; device?: string } } | null> };
  }).gpu;
  if (!gpu) return { skip: "navigator.gpu is missing in this Deno" };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { skip: "navigator.gpu.requestAdapter() returned no adapter" };
    return { description: adapter.info?.description || adapter.info?.device || "unnamed adapter" };
  } catch (e) {
    return { skip: `navigator.gpu.requestAdapter() failed: ${(e as Error).message}` };
  }
}

const adapter = await findAdapter();
if ("skip" in adapter) console.log(`backend_webgpu: skipped: ${adapter.skip}`);

async function cli(script: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`../cli/${script}`, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", IGCR_WEBGPU_ALLOW_FALLBACK: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

type LogLine = Record<string, number | null>;

async function readLog(dir: string): Promise<LogLine[]> {
  return (await Deno.readTextFile(`${dir}/log.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test({
  name: "webgpu: a smoke InfoGAN-CR run trains (same losses as wasm) and evaluates through --backend webgpu",
  ignore: "skip" in adapter,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "igcr-webgpu-" });
    try {
      const base = ["--dataset", "dsprites", "--model", "infogan-cr", "--profile", "smoke", "--seed", "2"];
      const train = ["--iterations", "2", "--no-grids"];
      const gpu = await cli("train.ts", [...base, ...train, "--out", `${dir}/gpu`, "--backend", "webgpu"]);
      assert.equal(gpu.code, 0, gpu.stderr);
      assert.match(gpu.stderr, /backend: webgpu/);
      const ref = await cli("train.ts", [...base, ...train, "--out", `${dir}/wasm`, "--backend", "wasm"]);
      assert.equal(ref.code, 0, ref.stderr);

      const [lg, lw] = [await readLog(`${dir}/gpu`), await readLog(`${dir}/wasm`)];
      assert.deepEqual(lg.map((l) => l.iter), [1, 2]);
      for (let i = 0; i < 2; i++) {
        for (const k of ["h", "d_adv", "d_info", "d", "g_adv", "g_info", "g"]) {
          const g = lg[i][k]!, w = lw[i][k]!;
          assert.ok(Number.isFinite(g), `iteration ${i + 1} ${k} on webgpu: ${g}`);
          assert.ok(
            Math.abs(g - w) <= 1e-3 * Math.max(1, Math.abs(w)),
            `iteration ${i + 1} ${k}: webgpu ${g}, wasm ${w}`,
          );
        }
      }
      const state = JSON.parse(await Deno.readTextFile(`${dir}/gpu/checkpoint/state.json`));
      assert.equal(state.state.iteration, 2);

      // One metric keeps this short on a software adapter: it still renders and encodes 1000 images via async reads.
      const ev = await cli("evaluate.ts", [
        "--checkpoint",
        `${dir}/gpu`,
        "--profile",
        "smoke",
        "--metrics",
        "mig",
        "--backend",
        "webgpu",
      ]);
      assert.equal(ev.code, 0, ev.stderr);
      const metrics = JSON.parse(await Deno.readTextFile(`${dir}/gpu/metrics.json`));
      assert.match(metrics.backend, /^webgpu/);
      assert.equal(metrics.sampleSizes.observational, 1000);
      assert.ok(metrics.scores.mig >= 0 && metrics.scores.mig <= 1, `MIG ${metrics.scores.mig}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
