import assert from "node:assert/strict";
import { Teapots } from "../lib/data/teapots.ts";
import { loadTeapotPatches, tessellate } from "../lib/data/teapot_mesh.ts";
import { Rng } from "../lib/rng.ts";
import { datasetByName } from "../lib/data/registry.ts";

const tp = new Teapots();
const BASE = [1.0, 0.4, 0.8, 0.4, 0.2];

function render(row: number[]): Float32Array {
  return tp.render(Float32Array.from(row));
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/** Pixels that are not background white, and the mean colour over them. */
function foreground(img: Float32Array) {
  let n = 0, r = 0, g = 0, b = 0, x0 = 64, x1 = -1, y0 = 64, y1 = -1;
  for (let p = 0; p < 4096; p++) {
    const o = p * 3;
    if (img[o] + img[o + 1] + img[o + 2] > 2.97) continue;
    n++;
    [r, g, b] = [r + img[o], g + img[o + 1], b + img[o + 2]];
    const x = p & 63, y = p >> 6;
    [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
  }
  return { n, r: r / n, g: g / n, b: b / n, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

Deno.test("teapot mesh: 32 patches tessellate to a closed-looking mesh of the published size", () => {
  const data = loadTeapotPatches();
  assert.equal(data.patches.length, 32);
  assert.equal(data.vertices.length, 290);
  const mesh = tessellate(data, 4);
  assert.equal(mesh.indices.length / 3, 32 * 4 * 4 * 2);
  // Bounding box x -3..3.43, y -2..2, z 0..3.15, centred: half-extents 3.215, 2, 1.575.
  const hi = [0, 0, 0];
  for (let i = 0; i < mesh.positions.length; i++) hi[i % 3] = Math.max(hi[i % 3], Math.abs(mesh.positions[i]));
  assert.ok(Math.abs(hi[0] - 3.215) < 0.01 && Math.abs(hi[1] - 2) < 0.01 && Math.abs(hi[2] - 1.575) < 0.01, `${hi}`);
  for (let i = 0; i < mesh.normals.length; i += 3) {
    const l = Math.hypot(mesh.normals[i], mesh.normals[i + 1], mesh.normals[i + 2]);
    assert.ok(Math.abs(l - 1) < 1e-4, `normal ${i / 3} has length ${l}`);
  }
  assert.throws(() => loadTeapotPatches("/nonexistent/teapot.json"), /\/nonexistent\/teapot\.json/);
});

Deno.test("teapots: identical factors give identical images (also across instances); values in [0, 1]", () => {
  const a = render(BASE), b = render(BASE), c = new Teapots().render(Float32Array.from(BASE));
  assert.deepEqual(a, b);
  assert.deepEqual(a, c);
  assert.equal(a.length, 64 * 64 * 3);
  assert.ok(a.every((v) => v >= 0 && v <= 1));
  // White background in the corners; the teapot fills most of the frame in a side view.
  for (const p of [0, 63, 64 * 63, 4095]) assert.deepEqual(Array.from(a.subarray(p * 3, p * 3 + 3)), [1, 1, 1]);
  const side = foreground(render([0, 0, 0.5, 0.5, 0.5]));
  assert.ok(side.width >= 50 && side.width <= 64 && side.height >= 25, `side view ${side.width}x${side.height}`);
  // Anti-aliased: edge pixels take intermediate values, not only teapot colour or white.
  const vals = new Set(Array.from(render([0, 0, 0, 0, 0])).map((v) => Math.round(v * 20)));
  assert.ok(vals.size >= 8, `only ${vals.size} grey levels`);
});

Deno.test("teapots: each of the five factors changes the image", () => {
  const a = render(BASE);
  const deltas = [1.2, 0.6, -0.5, 0.4, 0.5];
  for (let k = 0; k < 5; k++) {
    const row = BASE.slice();
    row[k] += deltas[k];
    const d = meanAbsDiff(a, render(row));
    assert.ok(d > 0.01, `factor ${tp.factors[k].name} changed the image by only ${d}`);
  }
  // Azimuth is periodic.
  assert.ok(meanAbsDiff(render([0, 0.3, 0.5, 0.5, 0.5]), render([2 * Math.PI, 0.3, 0.5, 0.5, 0.5])) < 1e-3);
  // Top view (elevation pi/2) is rotation-about-the-view-axis of itself: the silhouette area barely depends on azimuth.
  const t1 = foreground(render([0, Math.PI / 2, 0.5, 0.5, 0.5])).n,
    t2 = foreground(render([1, Math.PI / 2, 0.5, 0.5, 0.5])).n;
  assert.ok(Math.abs(t1 - t2) / t1 < 0.03, `top-view areas ${t1} vs ${t2}`);
});

Deno.test("teapots: the colour factors set the surface colour channel by channel", () => {
  const red = foreground(render([0.5, 0.5, 1, 0, 0]));
  assert.ok(red.r > 0.3 && red.g < 0.12 && red.b < 0.12, JSON.stringify(red));
  const cyan = foreground(render([0.5, 0.5, 0, 1, 1]));
  assert.ok(cyan.r < 0.12 && cyan.g > 0.3 && Math.abs(cyan.g - cyan.b) < 0.02, JSON.stringify(cyan));
  // Brighter colour, brighter image: shading is linear in the colour until it saturates.
  const dim = foreground(render([0.5, 0.5, 0.2, 0.2, 0.2])), bright = foreground(render([0.5, 0.5, 0.4, 0.4, 0.4]));
  assert.ok(bright.r > 1.6 * dim.r - 0.05);
});

Deno.test("teapots: factors are sampled from the paper's ranges; classes bin them", () => {
  const f = tp.sampleFactors(2000, new Rng(1));
  assert.deepEqual(f, tp.sampleFactors(2000, new Rng(1)));
  for (let k = 0; k < 5; k++) {
    const [lo, hi] = tp.factors[k].range!;
    let min = Infinity, max = -Infinity;
    for (let i = k; i < f.length; i += 5) [min, max] = [Math.min(min, f[i]), Math.max(max, f[i])];
    assert.ok(min >= lo && max <= hi && min < lo + 0.02 * (hi - lo) && max > hi - 0.02 * (hi - lo));
  }
  const c = tp.factorClasses(Float32Array.from([0, 0, 0, 0.999, 1, 2 * Math.PI - 1e-3, Math.PI / 4, 0.5, 0.05, 0.5]));
  assert.deepEqual(Array.from(c), [0, 0, 0, 19, 19, 19, 10, 10, 1, 10]);
});

Deno.test("teapots: the training set is cached with its seed and factors, and reused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = await Teapots.open({ count: 12, seed: 5, cacheDir: dir });
    assert.equal(a.size, 12);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.equal(files.length, 3, `${files}`);
    assert.ok(!files.some((f) => f.includes(".tmp-")));
    const manifest = JSON.parse(Deno.readTextFileSync(`${dir}/${files.find((f) => f.endsWith(".json"))}`));
    assert.equal(manifest.seed, 5);
    assert.equal(manifest.count, 12);
    const idx = Int32Array.from([0, 7, 11]);
    const cached = a.images(idx);
    const factors = a.trainingFactors!;
    const rows = new Float32Array(15);
    idx.forEach((v, i) => rows.set(factors.subarray(v * 5, v * 5 + 5), i * 5));
    const fresh = a.render(rows);
    for (let i = 0; i < fresh.length; i++) assert.ok(Math.abs(fresh[i] - cached[i]) <= 0.5 / 255 + 1e-6);
    const stat = Deno.statSync(`${dir}/${manifest.imagesFile}`).mtime;
    const b = await Teapots.open({ count: 12, seed: 5, cacheDir: dir });
    assert.deepEqual(b.images(idx), cached);
    assert.deepEqual(Deno.statSync(`${dir}/${manifest.imagesFile}`).mtime, stat);
    const c = await Teapots.open({ count: 12, seed: 6, cacheDir: dir });
    assert.notDeepEqual(c.trainingFactors, factors);
    assert.throws(() => a.images(Int32Array.from([12])), /index 12 out of/);
    for (const t of [a, b, c]) t.close();
    // A corrupt manifest is reported by path.
    const mpath = `${dir}/${files.find((f) => f.endsWith(".json"))}`;
    Deno.writeTextFileSync(mpath, "{not json");
    await assert.rejects(Teapots.open({ count: 12, seed: 5, cacheDir: dir }), new RegExp(mpath.replaceAll(".", "\\.")));
    assert.throws(() => new Teapots().images(idx), /Teapots\.open/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("teapots: a virtual training set renders the same factor rows as the cached one, on demand", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const v = Teapots.virtual({ count: 12, seed: 5 });
    assert.equal(v.size, 12);
    const c = await Teapots.open({ count: 12, seed: 5, cacheDir: dir });
    assert.deepEqual(v.trainingFactors, c.trainingFactors);
    const idx = Int32Array.from([11, 0, 4]);
    const a = v.images(idx), b = c.images(idx);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 0.5 / 255 + 1e-6);
    assert.throws(() => v.images(Int32Array.from([12])), /index 12 out of \[0, 12\)/);
    c.close();
    // The registry's default holds no pixels and writes nothing.
    const r = await datasetByName("teapots", { count: 50, seed: 2, cacheDir: `${dir}/none` });
    assert.equal(r.size, 50);
    assert.equal(r.images(Int32Array.from([3])).length, 64 * 64 * 3);
    assert.ok(!(await Deno.stat(`${dir}/none`).then(() => true, () => false)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
