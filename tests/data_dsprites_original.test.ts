/**
 * The original dSprites archive as the training and metric data: `datasetByName("dsprites")` with the `npz` option or
 * IGCR_DSPRITES_NPZ, the source recorded in run configs (path and sha256) and metric results, and errors that name the
 * file. The archives are small ones written here: a complete sub-grid of the factor classes whose images are our renders
 * inverted, so that every check can tell the archive's pixels from the procedural renderer's.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { parseGanConfig, presetFor } from "../lib/config/gan.ts";
import { parseVaeConfig, presetFor as vaePresetFor } from "../lib/config/vae.ts";
import { classesToIndex, DSprites } from "../lib/data/dsprites.ts";
import { DSpritesArchive } from "../lib/data/dsprites_original.ts";
import { datasetByName, datasetForConfig } from "../lib/data/registry.ts";
import { dataSourceOf, describeDataSource, withDataSource } from "../lib/data/source.ts";
import { evaluateMetrics } from "../lib/metrics/evaluate.ts";
import { formatProvenance } from "../lib/report/format.ts";
import { Rng } from "../lib/rng.ts";
import { sha256, writeArchive } from "./dsprites_archive.ts";
await tf.setBackend("cpu");

const dir = await Deno.makeTempDir();
const path = `${dir}/mini.npz`;
const rows = await writeArchive(path);

Deno.test("dsprites archive: datasetByName serves its images for training rows and for factor rows", async () => {
  const data = await datasetByName("dsprites", { npz: path }) as DSpritesArchive;
  assert.ok(data instanceof DSpritesArchive);
  assert.equal(data.size, 72);
  assert.deepEqual(data.source, { kind: "dsprites-npz", path, sha256: await sha256(path), images: 72 });
  const ds = new DSprites();
  // Training rows are the archive's rows, in its order.
  const first = data.images(Int32Array.of(0, 71));
  const want = ds.images(Int32Array.of(classesToIndex(rows[0]), classesToIndex(rows[71]))).map((v) => 1 - v);
  assert.deepEqual(first, want);
  // Factor rows (the metrics' path) find their image by class, and only the archive's classes are drawn.
  const f = data.sampleFactors(40, new Rng(1));
  for (let k = 0; k < 5; k++) {
    const seen = new Set(Array.from({ length: 40 }, (_, i) => f[i * 5 + k]));
    assert.ok([...seen].every((v) => data.factors[k].values!.map(Math.fround).includes(v)), `factor ${k}`);
  }
  assert.deepEqual(data.render(f), ds.render(f).map((v) => 1 - v));
  assert.deepEqual(
    Array.from(data.factorClasses(f).subarray(0, 5)),
    [0, 1, 2, 3, 4].map((k) => {
      return data.factors[k].values!.map(Math.fround).indexOf(f[k]);
    }),
  );
  // The same seed draws the same factors as the procedural dataset when the archive is complete in a factor.
  const gridShape = data.sampleFactors(5, new Rng(9)).filter((_, i) => i % 5 === 0);
  assert.deepEqual(gridShape, ds.sampleFactors(5, new Rng(9)).filter((_, i) => i % 5 === 0));
  const missing = Float32Array.of(1, 0.6, 0, 0, 0); // scale class 1 is not in the archive
  assert.throws(() => data.render(missing), new RegExp(`${path.replaceAll(".", "\\.")} has no image for`));
});

Deno.test("dsprites archive: IGCR_DSPRITES_NPZ selects it; unset, the procedural renderer", async () => {
  const before = Deno.env.get("IGCR_DSPRITES_NPZ");
  try {
    Deno.env.set("IGCR_DSPRITES_NPZ", path);
    const data = await datasetByName("dsprites");
    assert.equal(data.source?.path, path);
    Deno.env.delete("IGCR_DSPRITES_NPZ");
    const plain = await datasetByName("dsprites");
    assert.ok(plain instanceof DSprites && dataSourceOf(plain).kind === "built-in");
    assert.deepEqual(dataSourceOf(plain), { kind: "built-in", dataset: "dsprites" });
  } finally {
    if (before === undefined) Deno.env.delete("IGCR_DSPRITES_NPZ");
    else Deno.env.set("IGCR_DSPRITES_NPZ", before);
  }
});

Deno.test("dsprites archive: run configs record it and reopen only the same file", async () => {
  const data = await datasetByName("dsprites", { npz: path });
  const gan = withDataSource(presetFor("dsprites", "smoke", { model: "infogan-cr", seed: 1 }), data);
  assert.deepEqual(parseGanConfig(JSON.parse(JSON.stringify(gan))).data, data.source);
  const vae = withDataSource(vaePresetFor("dsprites", "smoke", "factor-vae"), data);
  assert.equal(parseVaeConfig(JSON.parse(JSON.stringify(vae))).data?.sha256, data.source!.sha256);
  // Built-in images leave configs exactly as before (so shipped models still match).
  const plain = presetFor("dsprites", "smoke", { model: "infogan-cr", seed: 1 });
  assert.deepEqual(withDataSource(gan, new DSprites()), plain);
  assert.ok(!("data" in withDataSource(plain, new DSprites())));

  assert.equal((await datasetForConfig(gan)).source?.sha256, data.source!.sha256);
  const wrong = { ...gan, data: { ...gan.data!, sha256: "0".repeat(64) } };
  await assert.rejects(
    datasetForConfig(wrong),
    new RegExp(`${path.replaceAll(".", "\\.")} has sha256 [0-9a-f]{64}, not 0{64}`),
  );
  assert.throws(() => parseGanConfig({ ...gan, data: { ...gan.data!, sha256: "xyz" } }), /data\.sha256/);
});

Deno.test("dsprites archive: missing, corrupt, incomplete or unlabelled files give errors naming them", async () => {
  await assert.rejects(datasetByName("dsprites", { npz: `${dir}/nope.npz` }), /cannot read .*nope\.npz/);
  const corrupt = `${dir}/corrupt.npz`;
  const bytes = await Deno.readFile(path);
  await Deno.writeFile(corrupt, bytes.subarray(0, bytes.length >> 1));
  await assert.rejects(datasetByName("dsprites", { npz: corrupt }), /corrupt\.npz/);
  const holes = `${dir}/holes.npz`;
  await writeArchive(holes, { drop: 3 });
  await assert.rejects(datasetByName("dsprites", { npz: holes }), /holes\.npz: holds 69 images but .* 72 combinations/);
  const bare = `${dir}/bare.npz`;
  await writeArchive(bare, { noClasses: true });
  await assert.rejects(datasetByName("dsprites", { npz: bare }), /bare\.npz: no latents_classes\.npy/);
});

Deno.test("dsprites archive: metrics are computed on its images and record the file; the report says so", async () => {
  const data = await datasetByName("dsprites", { npz: path });
  // Code 0 = the image's mean pixel: about 0.03-0.1 for our renders, 0.9-0.97 for the inverted archive images.
  let meanCode = 0;
  const encoder = {
    codeSize: 2,
    encode: (x: tf.Tensor4D) =>
      tf.tidy(() => {
        const m = x.mean([1, 2, 3]).reshape([-1, 1]) as tf.Tensor2D;
        meanCode = Math.max(meanCode, m.min().dataSync()[0]);
        return tf.concat([m, m.mul(-1)], 1) as tf.Tensor2D;
      }),
  };
  const r = await evaluateMetrics(data, encoder, { protocol: "infogan-cr", profile: "smoke", metrics: ["mig"] });
  assert.ok(meanCode > 0.8, `the encoder saw the archive's inverted images (min mean pixel ${meanCode})`);
  assert.deepEqual(r.dataSource, data.source);
  const line = formatProvenance({
    profile: "smoke",
    backend: "cpu",
    seeds: [1],
    wallTimeS: 1,
    data: describeDataSource(r.dataSource),
  });
  assert.match(
    line,
    new RegExp(`data: the original dSprites archive ${path.replaceAll(".", "\\.")} \\(72 images, sha256 [0-9a-f]{12}`),
  );
  assert.match(describeDataSource(dataSourceOf(new DSprites())), /procedural renderer \(not the original file\)/);
});

globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
