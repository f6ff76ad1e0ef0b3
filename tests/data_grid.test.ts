import assert from "node:assert/strict";
import sharp from "sharp";
import { classesToIndex, DSPRITES_COUNTS, indexToClasses } from "../lib/data/dsprites.ts";
import { framesToGif, imagesToPng, tileImages, traversalIndices, writePng } from "../lib/viz/grid.ts";
import { datasetGridPng, traversalGif } from "../lib/viz/dataset_grid.ts";

Deno.test("grid: tiles land where they should; 1-channel PNGs stay greyscale; value range is mapped", async () => {
  const n = 3, h = 2, w = 3;
  const imgs = new Float32Array(n * h * w);
  for (let i = 0; i < n; i++) imgs.fill(i / 2, i * h * w, (i + 1) * h * w);
  const t = tileImages(imgs, n, h, w, 1, { cols: 2, pad: 1, padValue: 9 });
  assert.equal(t.width, 2 * 3 + 3);
  assert.equal(t.height, 2 * 2 + 3);
  assert.equal(t.data[1 * t.width + 1], 0); // tile 0 at (1, 1)
  assert.equal(t.data[1 * t.width + 5], 128); // tile 1 at (5, 1): value 0.5
  assert.equal(t.data[4 * t.width + 1], 255); // tile 2 at (1, 4)
  assert.equal(t.data[0], 9);
  const png = await imagesToPng(imgs, n, h, w, 1, { cols: 2, pad: 1 });
  const meta = await sharp(png).metadata();
  assert.equal(meta.channels, 1);
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(data[(4 * 9 + 1) * info.channels], 255);
  assert.equal(data[(1 * 9 + 1) * info.channels], 0);
  const rgb = await imagesToPng(Float32Array.from([-1, 0, 1]), 1, 1, 1, 3, { pad: 0, valueRange: [-1, 1] });
  assert.deepEqual(Array.from(await sharp(rgb).raw().toBuffer()), [0, 128, 255]);
  assert.throws(() => tileImages(imgs, 4, h, w, 1), /need 4/);
});

Deno.test("grid: writePng is atomic and framesToGif makes an animated GIF of every frame", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const frames = await Promise.all(
      [0, 0.5, 1].map((v) => imagesToPng(new Float32Array(16 * 16).fill(v), 1, 16, 16, 1, { pad: 0 })),
    );
    const gif = await framesToGif(frames, { delayMs: 50 });
    const meta = await sharp(gif, { animated: true }).metadata();
    assert.equal(meta.format, "gif");
    assert.equal(meta.pages, 3);
    assert.equal(meta.pageHeight, 16);
    assert.deepEqual(meta.delay, [50, 50, 50]);
    await writePng(`${dir}/sub/a.png`, frames[1]);
    assert.deepEqual(await Deno.readFile(`${dir}/sub/a.png`), frames[1]);
    assert.deepEqual([...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name), ["a.png"]);
    await assert.rejects(framesToGif([]), /no frames/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("grid: a traversal row varies only its own factor, across the factor's grid", () => {
  const base = [2, 3, 0, 16, 16];
  const idx = traversalIndices(DSPRITES_COUNTS, classesToIndex, base, 10);
  assert.equal(idx.length, 50);
  for (let k = 0; k < 5; k++) {
    const row = Array.from(idx.subarray(k * 10, k * 10 + 10)).map(indexToClasses);
    for (const c of row) for (let j = 0; j < 5; j++) if (j !== k) assert.equal(c[j], base[j]);
    const vals = new Set(row.map((c) => c[k]));
    assert.equal(vals.size, Math.min(10, DSPRITES_COUNTS[k]));
    assert.equal(Math.max(...vals), DSPRITES_COUNTS[k] - 1);
  }
});

Deno.test("grid: dataset grids and traversal GIFs have the documented layout", async () => {
  const trav = await sharp(await datasetGridPng("dsprites", { traverse: true })).metadata();
  assert.deepEqual([trav.width, trav.height, trav.channels], [10 * 64 + 11 * 2, 5 * 64 + 6 * 2, 1]);
  const tp = await sharp(await datasetGridPng("teapots", { n: 6, cols: 3 })).metadata();
  assert.deepEqual([tp.width, tp.height, tp.channels], [3 * 64 + 4 * 2, 2 * 64 + 3 * 2, 3]);
  // Seeded: the same seed draws the same samples.
  assert.deepEqual(
    await datasetGridPng("dsprites", { n: 9, seed: 4 }),
    await datasetGridPng("dsprites", { n: 9, seed: 4 }),
  );
  assert.notDeepEqual(
    await datasetGridPng("dsprites", { n: 9, seed: 4 }),
    await datasetGridPng("dsprites", { n: 9, seed: 5 }),
  );
  const gif = await sharp(await traversalGif("dsprites", 6), { animated: true }).metadata();
  assert.deepEqual([gif.format, gif.pages, gif.pageHeight, gif.width], ["gif", 6 + 4, 68, 5 * 64 + 6 * 2]);
  await assert.rejects(datasetGridPng("celeba", { traverse: true }), /no known factors/);
  await assert.rejects(datasetGridPng("mnist"), /unknown dataset "mnist"/);
});
