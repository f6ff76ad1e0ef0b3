/**
 * The explorer without a browser: the server's path safety (every request for `../`, an absolute path, an encoded
 * traversal or a file of a run folder that is not one of the prepared model files is refused, over a raw socket so no
 * client tidies the path first), the Host check, the browser models against the toolkit's own `generate()` and
 * `encode()` (GAN and VAE), the messages for bad run folders, the static export's refusals, and the command line
 * (a port in use; a broken run named on stderr).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { loopbackHost, safeId, sitePath } from "../lib/explore/paths.ts";
import { buildSite } from "../lib/explore/site.ts";
import { serveSite } from "../lib/explore/server.ts";
import { exportSite } from "../lib/explore/static_export.ts";
import { ExploreModelError, prepareModel } from "../lib/explore/prepare.ts";
import { loadBrowserModel } from "../lib/explore/browser_model.ts";
import { loadTrainedModel } from "../lib/models/load.ts";
import { trainVae } from "../lib/train/vae_trainer.ts";
import { squares, tinyConfig as tinyVaeConfig } from "./vae_helpers.ts";
import { brokenCopy, loadSite, SEED1 } from "./explore_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("explore paths: only plain site keys pass; traversal, absolute, encoded and odd paths are refused", () => {
  const ok: [string, string][] = [
    ["/", "index.html"],
    ["/index.html", "index.html"],
    ["/vendor/tf.es2017.min.js", "vendor/tf.es2017.min.js"],
    ["/models/dsprites-seed1/generator/model.json", "models/dsprites-seed1/generator/model.json"],
  ];
  for (const [p, key] of ok) assert.deepEqual(sitePath(p), { ok: true, key }, p);
  const refused = [
    "/../etc/passwd",
    "/models/../../deno.json",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/deno.json",
    "/models/x/%2e%2e/%2e%2e/config.json",
    "/..%2fdeno.json",
    "/%2fetc%2fpasswd",
    "//etc/passwd",
    "/C:/Windows/win.ini",
    "/models\\..\\deno.json",
    "/models/%5c..%5cdeno.json",
    "/index.html%00.png",
    "/.git/config",
    "/models/./x",
    "/%",
    "/models/",
    "etc/passwd",
  ];
  for (const p of refused) assert.equal(sitePath(p).ok, false, `${p} must be refused`);
  assert.equal(safeId("../../etc"), "etc");
  assert.equal(safeId("seed 1/ö"), "seed-1");
  assert.equal(safeId("..."), "model");
  assert.ok(loopbackHost("127.0.0.1:8000", 8000) && loopbackHost("localhost:8000", 8000));
  assert.ok(!loopbackHost("evil.example:8000", 8000) && !loopbackHost("127.0.0.1:9", 8000) && !loopbackHost(null, 1));
});

/** One raw HTTP/1.1 request, so the request target reaches the server exactly as written. */
async function rawGet(port: number, target: string, host = `127.0.0.1:${port}`, method = "GET") {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(`${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text };
  } finally {
    try {
      conn.close();
    } catch { /* closed by the server */ }
  }
}

Deno.test("explore server: serves the page and the prepared model files, refuses everything else", async () => {
  await initBackend({ quiet: true });
  const site = await loadSite();
  const server = serveSite(site);
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const port = server.port;
    const index = await rawGet(port, "/");
    assert.equal(index.status, 200);
    assert.match(index.text, /content-security-policy: default-src 'self'/i);
    assert.match(index.text, /InfoGAN-CR explorer/);
    const gen = await rawGet(port, "/models/dsprites-infogan-cr-seed1/generator/model.json");
    assert.equal(gen.status, 200);
    assert.match(gen.text, /"format":"layers-model"/);
    assert.equal((await rawGet(port, "/site.json", `127.0.0.1:${port}`, "HEAD")).status, 200);

    const config = await Deno.readTextFile(join(SEED1, "config.json"));
    const denoJson = await Deno.readTextFile(join(ROOT, "deno.json"));
    const passwd = await Deno.readTextFile("/etc/passwd").catch(() => "root:x:0:0");
    const attempts = [
      "/../../../../../../etc/passwd",
      "/..%2f..%2f..%2f..%2fetc%2fpasswd",
      "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/models/dsprites-infogan-cr-seed1/../../../deno.json",
      "/models/dsprites-infogan-cr-seed1/%2e%2e/%2e%2e/%2e%2e/deno.json",
      "//etc/passwd",
      "/etc/passwd",
      `/${ROOT.replace(/^\//, "")}deno.json`,
      "http://127.0.0.1/etc/passwd",
      "/models/dsprites-infogan-cr-seed1/config.json",
      "/models/dsprites-infogan-cr-seed1/checkpoint/state.json",
      "/models/dsprites-infogan-cr-seed1/checkpoint/generator/weights.bin",
      "/data/pretrained/dsprites-infogan-cr-seed1/config.json",
      "/deno.json",
      "/lib/explore/server.ts",
      "/node_modules/@tensorflow/tfjs/package.json",
      "/vendor/../deno.json",
      "/C:/Windows/win.ini",
      "/index.html%00",
      "/.env",
    ];
    for (const a of attempts) {
      const r = await rawGet(port, a);
      assert.ok(r.status === 400 || r.status === 404, `${a}: status ${r.status}`);
      const body = r.text.split("\r\n\r\n").slice(1).join("");
      for (const secret of [config, denoJson, passwd]) {
        assert.ok(!body.includes(secret.slice(0, 40)), `${a} leaked a file`);
      }
    }
    // A page elsewhere that rebinds its own name to 127.0.0.1 gets nothing.
    assert.equal((await rawGet(port, "/site.json", "evil.example")).status, 403);
    assert.equal((await rawGet(port, "/site.json", `evil.example:${port}`)).status, 403);
    assert.equal((await rawGet(port, "/site.json", `localhost:${port}`)).status, 200);
    assert.equal((await rawGet(port, "/site.json", `127.0.0.1:${port}`, "POST")).status, 405);
  } finally {
    await server.shutdown();
  }
});

async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  assert.equal(x.length, y.length);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
}

Deno.test("explore browser models: G and Q (spectral norm folded) equal generate() and encode() of the run", async () => {
  await initBackend({ quiet: true });
  for (const checkpoint of [undefined, "snapshots/before-cr-iter-1500"]) {
    const p = await prepareModel(SEED1, { id: "m", checkpoint, samples: 4 });
    assert.equal(p.info.kind, "gan");
    assert.deepEqual(p.info.latent, { codes: 5, noise: 5, prior: "uniform" });
    assert.equal(p.info.iteration, checkpoint ? 1500 : 2000);
    const model = await loadTrainedModel(SEED1, { checkpoint });
    const [g, q] = [await loadBrowserModel(p.generator), await loadBrowserModel(p.encoder)];
    const latent = tf.tensor2d(Array.from({ length: 30 }, (_, i) => Math.sin(1.3 * i + 0.2)), [3, 10]);
    const c = latent.slice([0, 0], [3, 5]) as tf.Tensor2D, z = latent.slice([0, 5], [3, 5]) as tf.Tensor2D;
    const ref = model.generate(c, z);
    const out = g.predict(latent) as tf.Tensor;
    assert.ok((await maxDiff(out, ref)) < 1e-5, "generator");
    // Q on the real images the page shows (stored as 8-bit, as the page reads them).
    const real = tf.tensor4d(Float32Array.from(p.samples!.images, (v) => v / 255), [4, 64, 64, 1]);
    assert.ok((await maxDiff(q.predict(real) as tf.Tensor, model.encode(real))) < 1e-5, "encoder");
    assert.equal(p.samples!.factors.length, 4);
    tf.dispose([latent, c, z, ref, out, real]);
    g.dispose();
    q.dispose();
    model.dispose();
  }
});

Deno.test("explore browser models: a VAE's decoder and posterior mean equal the toolkit's", async () => {
  await initBackend({ quiet: true });
  const dir = await Deno.makeTempDir({ prefix: "igcr-explore-vae-" });
  try {
    const cfg = tinyVaeConfig("factor-vae", { iterations: 3, checkpointEvery: 3 });
    await trainVae(cfg, dir, { data: squares(20), progress: false });
    const p = await prepareModel(dir, { id: "vae" });
    assert.equal(p.info.kind, "vae");
    assert.equal(p.info.generatorLabel, "decoder");
    assert.deepEqual(p.info.latent, { codes: 4, noise: 0, prior: "gaussian" });
    assert.equal(p.info.samples.count, 0);
    assert.match((p.info.samples as { why: string }).why, /16×16×1 images, dsprites has 64×64×1/);
    const model = await loadTrainedModel(dir);
    const [dec, enc] = [await loadBrowserModel(p.generator), await loadBrowserModel(p.encoder)];
    const z = tf.tensor2d(Array.from({ length: 12 }, (_, i) => Math.cos(i)), [3, 4]);
    const x = model.generate(z);
    assert.ok((await maxDiff(dec.predict(z) as tf.Tensor, x)) < 1e-5, "decoder");
    const { mean, logvar } = (model as unknown as { posterior(x: tf.Tensor4D): { mean: tf.Tensor; logvar: tf.Tensor } })
      .posterior(x);
    assert.ok((await maxDiff(enc.predict(x) as tf.Tensor, mean)) < 1e-5, "posterior mean");
    tf.dispose([z, x, mean, logvar]);
    dec.dispose();
    enc.dispose();
    model.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("explore bad input: each broken run folder gets a message naming it and what is wrong", async () => {
  await initBackend({ quiet: true });
  const root = await Deno.makeTempDir({ prefix: "igcr-explore-bad-" });
  try {
    const expect = async (dir: string, re: RegExp) => {
      const e = await prepareModel(dir, { id: "x" }).then(() => null, (e) => e);
      assert.ok(e instanceof ExploreModelError, `${dir}: expected an error`);
      assert.ok(e.message.startsWith(dir), `names the folder: ${e.message}`);
      assert.match(e.message, re);
    };
    await expect(join(root, "missing"), /no such folder/);
    await Deno.mkdir(join(root, "empty"));
    await expect(join(root, "empty"), /not a run folder \(no config.json\)/);
    const truncated = await brokenCopy(root, "truncated", "truncate");
    await expect(
      truncated,
      /generator\/weights\.bin holds \d+ bytes but .* describes 1015812 \(truncated or corrupt\)/,
    );
    const noGen = await brokenCopy(root, "no-generator", "no-generator");
    await expect(noGen, /has no generator: checkpoint\/generator\/model\.json is missing/);
    const noCk = await brokenCopy(root, "no-checkpoint", "no-checkpoint");
    await expect(noCk, /has no trained model \(checkpoint\/state\.json is missing/);
    // The site keeps going: the broken model is listed with its error, the others open.
    const site = await buildSite({ runs: [SEED1, truncated], samples: 2 });
    const models = site.json.models;
    assert.deepEqual(models.map((m) => m.id), [
      "dsprites-infogan-cr-seed1",
      "dsprites-infogan-cr-seed1-before-cr",
      "truncated",
    ]);
    assert.match((models[2] as { error: string }).error, /truncated or corrupt/);
    assert.equal(site.errors.length, 1);
    assert.ok(!site.files.has("models/truncated/generator/model.json"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p);
      else out.push(`${p} ${(await Deno.stat(p)).size}`);
    }
  };
  await walk(dir);
  return out.sort();
}

Deno.test("explore export: writes the site as plain files, never into or over a model's folder", async () => {
  await initBackend({ quiet: true });
  const root = await Deno.makeTempDir({ prefix: "igcr-explore-export-" });
  try {
    // A copy of a shipped run, given to the explorer through a link.
    const real = await brokenCopy(root, "real-run", "none");
    const run = join(root, "run");
    await Deno.symlink(real, run);
    const before = await listing(real);
    const site = await buildSite({ runs: [run], samples: 2 });
    const out = join(root, "site");
    const files = await exportSite(site, out);
    assert.deepEqual(files, [...site.files.keys()].sort());
    for (const f of files) {
      assert.deepEqual(await Deno.readFile(join(out, f)), site.files.get(f)!.bytes, f);
    }
    await exportSite(site, out); // replacing an earlier export is fine
    await assert.rejects(exportSite(site, join(run, "explorer")), /inside .*never writes there/);
    // The run was given through a link: its real folder is refused too.
    await assert.rejects(exportSite(site, join(real, "explorer", "deeper")), /inside .*never writes there/);
    await assert.rejects(exportSite(site, root), /contains .*run/);
    const foreign = join(root, "foreign");
    await Deno.mkdir(foreign);
    await Deno.writeTextFile(join(foreign, "notes.txt"), "mine");
    await assert.rejects(exportSite(site, foreign), /exists and is not an explorer export/);
    assert.equal(await Deno.readTextFile(join(foreign, "notes.txt")), "mine");
    assert.deepEqual(await listing(real), before, "the run folder is unchanged");
    // A published export names the runs by their folder only, not by where they lie on this machine.
    const published = await buildSite({ runs: [run], samples: 2, publish: true });
    const text = new TextDecoder().decode(published.files.get("site.json")!.bytes);
    assert.ok(!text.includes(root), "no local path in a published site.json");
    assert.deepEqual(published.json.models.map((m) => m.source), ["run", "run/snapshots/before-cr-iter-1500"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

async function runCli(args: string[], until: RegExp): Promise<{ code: number | null; out: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "cli/explore.ts"), ...args],
    stdout: "piped",
    stderr: "piped",
    cwd: ROOT,
  }).spawn();
  let out = "";
  const read = async (s: ReadableStream<Uint8Array>) => {
    for await (const t of s.pipeThrough(new TextDecoderStream())) out += t;
  };
  const done = Promise.all([read(child.stdout), read(child.stderr)]);
  const t0 = Date.now();
  let code: number | null = null;
  const status = child.status.then((s) => (code = s.code));
  while (code === null && !until.test(out) && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 100));
  // A command that stops by itself (an error) does so right after its message; a server keeps running.
  const t1 = Date.now();
  while (code === null && Date.now() - t1 < 3000) await new Promise((r) => setTimeout(r, 100));
  if (code === null) {
    child.kill("SIGTERM");
    await status;
    code = null;
  }
  await done;
  return { code, out };
}

Deno.test("explore command line: a port in use and a broken run are named", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  const root = await Deno.makeTempDir({ prefix: "igcr-explore-cli-" });
  try {
    const inUse = await runCli(["--port", String(port), "--run", SEED1], /in use/);
    assert.equal(inUse.code, 2);
    assert.match(inUse.out, new RegExp(`^explore: port ${port} on 127\\.0\\.0\\.1 is already in use .*--port`, "m"));
    const bad = await runCli(["--port", "x"], /help/);
    assert.equal(bad.code, 2);
    assert.match(bad.out, /^explore: --port "x": expected a number$/m);
    const missing = await runCli(["--run", join(root, "nope")], /help/);
    assert.equal(missing.code, 2);
    assert.match(missing.out, /^explore: --run .*nope: no such folder$/m);
    const broken = await brokenCopy(root, "broken", "truncate");
    const r = await runCli(["--run", broken], /model\(s\) at http/);
    assert.match(r.out, new RegExp(`explore: error: ${broken}: checkpoint: .*truncated or corrupt`));
    assert.match(r.out, /explore: 0 model\(s\) at http:\/\/127\.0\.0\.1:\d+\//);
  } finally {
    taken.close();
    await Deno.remove(root, { recursive: true });
  }
});
