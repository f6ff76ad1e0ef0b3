/**
 * `deno task export --format onnx` (cli/export.ts, lib/models/onnx_export.ts): the shipped dSprites and 3DTeapots
 * InfoGAN-CR models and a trained VAE, exported as `.onnx` files, load back in onnxruntime and give `generate()` /
 * `encode()`'s numbers within 1e-4; the files pass `onnx.checker.check_model` of Debian's python3-onnx (installed when
 * running as root, else skipped with the command to install it); bad flags and runs fail with one clear line.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { loadTrainedModel } from "../lib/models/load.ts";
import { exportOnnxModels } from "../lib/models/onnx_export.ts";
import { loadOnnxRuntime, type NativeSession } from "../lib/onnx/runtime.ts";
import { loadVaeModel } from "../lib/models/vae.ts";
import { trainVae } from "../lib/train/vae_trainer.ts";
import { Rng } from "../lib/rng.ts";
import { squares, tinyConfig as tinyVaeConfig } from "./vae_helpers.ts";

await initBackend({ backend: "wasm", quiet: true });
const ort = (await loadOnnxRuntime()).runtime;
if (!ort) console.warn(`skipping the ONNX export round trips: ${(await loadOnnxRuntime()).reason}`);

const SHIPPED = ["data/pretrained/dsprites-infogan-cr-seed1", "data/pretrained/teapots-infogan-cr-gap-seed1"];
const root = new URL("..", import.meta.url).pathname;

async function exportCli(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(root, "cli/export.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, "lengths");
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function session(path: string): Promise<NativeSession> {
  return ort!.createSession(await Deno.readFile(path), { threads: 2 });
}

/** Exported files of every test, for the Python checker test at the end. */
const exported: string[] = [];
const tmp = await Deno.makeTempDir({ prefix: "igcr-onnx-export-" });

for (const run of SHIPPED) {
  Deno.test({
    name: `export --format onnx: ${run.split("/").at(-1)} round-trips through onnxruntime within 1e-4`,
    ignore: !ort,
    async fn() {
      const out = join(tmp, run.split("/").at(-1)!);
      const r = await exportCli(["--run", join(root, run), "--out", out, "--format", "onnx"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /generator\.onnx, encoder\.onnx, config\.json, ONNX\.md/);
      assert.match(await Deno.readTextFile(join(out, "ONNX.md")), /deno task train --dataset/);
      exported.push(join(out, "generator.onnx"), join(out, "encoder.onnx"));

      const model = await loadTrainedModel(join(root, run));
      const { codes, noise } = model.latent;
      const n = 16, rng = new Rng(5);
      const c = tf.tensor2d(rng.uniformArray(n * codes, -1, 1), [n, codes]);
      const z = tf.tensor2d(rng.uniformArray(n * noise, -1, 1), [n, noise]);
      const x = model.generate(c, z);
      const e = model.encode(x);
      const [xs, es] = [x.dataSync() as Float32Array, e.dataSync() as Float32Array];
      const g = await session(join(out, "generator.onnx")), q = await session(join(out, "encoder.onnx"));
      try {
        const gi = g.run({
          codes: { data: c.dataSync() as Float32Array, dims: c.shape },
          noise: { data: z.dataSync() as Float32Array, dims: z.shape },
        });
        assert.deepEqual(gi.images.dims, x.shape);
        assert.ok(maxAbsDiff(gi.images.data, xs) <= 1e-4, `generator: ${maxAbsDiff(gi.images.data, xs)}`);
        const qi = q.run({ images: { data: xs, dims: x.shape } });
        assert.ok(maxAbsDiff(qi.codes.data, es) <= 1e-4, `encoder: ${maxAbsDiff(qi.codes.data, es)}`);
      } finally {
        g.dispose();
        q.dispose();
        tf.dispose([c, z, x, e]);
        model.dispose();
      }
    },
  });
}

Deno.test({
  name: "export --format onnx: a trained VAE's encoder (mean, logvar) and decoder round-trip within 1e-4",
  ignore: !ort,
  async fn() {
    const run = join(tmp, "vae-run"), out = join(tmp, "vae-onnx");
    await trainVae(tinyVaeConfig("beta-vae", { iterations: 3 }), run, { data: squares(), progress: false });
    const files = await exportOnnxModels(run, out);
    assert.deepEqual(files, ["encoder.onnx", "decoder.onnx", "config.json", "ONNX.md"]);
    exported.push(join(out, "encoder.onnx"), join(out, "decoder.onnx"));
    const model = await loadVaeModel(run);
    const d = model.codeSize, n = 8;
    const codes = tf.tensor2d(new Rng(3).normalArray(n * d), [n, d]);
    const x = model.generate(codes);
    const xs = x.dataSync() as Float32Array;
    const dec = await session(join(out, "decoder.onnx")), enc = await session(join(out, "encoder.onnx"));
    try {
      const got = dec.run({ codes: { data: codes.dataSync() as Float32Array, dims: [n, d] } });
      assert.ok(maxAbsDiff(got.images.data, xs) <= 1e-4, "decoder");
      const post = model.posterior(x);
      const e = enc.run({ images: { data: xs, dims: x.shape } });
      assert.ok(maxAbsDiff(e.mean.data, post.mean.dataSync() as Float32Array) <= 1e-4, "mean");
      assert.ok(maxAbsDiff(e.logvar.data, post.logvar.dataSync() as Float32Array) <= 1e-4, "logvar");
      tf.dispose([post.mean, post.logvar]);
    } finally {
      dec.dispose();
      enc.dispose();
      tf.dispose([codes, x]);
      model.dispose();
    }
  },
});

Deno.test("export --format onnx: bad input fails with one line naming it, and writes nothing", async () => {
  const out = join(tmp, "bad");
  const fmt = await exportCli(["--run", join(root, SHIPPED[0]), "--out", out, "--format", "onnnx"]);
  assert.equal(fmt.code, 2, "a usage error");
  assert.match(fmt.stderr, /--format "onnnx": expected one of tfjs, onnx/);
  const snaps = await exportCli(["--run", join(root, SHIPPED[0]), "--out", out, "--format", "onnx", "--no-snapshots"]);
  assert.equal(snaps.code, 2);
  assert.match(snaps.stderr, /--no-snapshots applies to --format tfjs only/);
  const empty = join(tmp, "not-a-run");
  await Deno.mkdir(empty);
  const missing = await exportCli(["--run", empty, "--out", out, "--format", "onnx"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^export: cannot read .*not-a-run\/config\.json/);
  assert.equal(missing.stderr.trim().split("\n").length, 1, missing.stderr);
  await Deno.writeTextFile(join(empty, "config.json"), JSON.stringify({ model: "gan-xl" }));
  const unknown = await exportCli(["--run", empty, "--out", out, "--format", "onnx"]);
  assert.match(unknown.stderr, /config\.json has model "gan-xl"; expected infogan-cr, infogan, factor-vae or beta-vae/);
  await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
});

/** Installs Debian's python3-onnx when running as root; returns why it cannot be used, or null. */
async function pythonOnnx(): Promise<string | null> {
  const probe = () => new Deno.Command("/usr/bin/python3", { args: ["-c", "import onnx"], stderr: "null" }).output();
  try {
    if ((await probe()).success) return null;
  } catch {
    return "/usr/bin/python3 is missing";
  }
  if (Deno.uid() !== 0) return "python3-onnx is not installed (as root: apt-get install -y python3-onnx)";
  const apt = await new Deno.Command("apt-get", {
    args: ["-o", "DPkg::Lock::Timeout=900", "install", "-y", "--no-install-recommends", "python3-onnx"],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!apt.success) return `apt-get install python3-onnx failed: ${new TextDecoder().decode(apt.stderr).slice(-300)}`;
  return (await probe()).success ? null : "python3-onnx installed but `import onnx` fails";
}

Deno.test({
  name: "export --format onnx: the files pass onnx.checker.check_model (Debian python3-onnx)",
  async fn() {
    try {
      if (!ort) return;
      assert.ok(exported.length >= 2, "the export tests above ran");
      const why = await pythonOnnx();
      if (why) {
        console.warn(`skipping the onnx.checker test: ${why}`);
        return;
      }
      const script = [
        "import sys, onnx",
        "for p in sys.argv[1:]:",
        "    m = onnx.load(p)",
        "    onnx.checker.check_model(m, full_check=True)",
        "    print(p, 'ok', [i.name for i in m.graph.input], [o.name for o in m.graph.output])",
      ].join("\n");
      const r = await new Deno.Command("/usr/bin/python3", { args: ["-c", script, ...exported] }).output();
      const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
      assert.ok(r.success, text);
      assert.equal(text.match(/ ok /g)?.length, exported.length, text);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
