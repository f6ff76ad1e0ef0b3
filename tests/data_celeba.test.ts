import assert from "node:assert/strict";
import sharp from "sharp";
import { loadCeleba, resizeBilinear } from "../lib/data/celeba.ts";

/** A 178 x 218 RGB image whose red channel is the column, green the row, blue a constant: a known pattern. */
function pattern(): Uint8Array {
  const w = 178, h = 218, px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) px.set([x, y, 77], (y * w + x) * 3);
  }
  return px;
}

async function png(px: Uint8Array, w = 178, h = 218): Promise<Uint8Array> {
  return new Uint8Array(await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer());
}

async function jpeg(seed: number): Promise<Uint8Array> {
  const w = 178, h = 218, px = new Uint8Array(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7 + seed * 31 + (i >> 9)) & 255;
  return new Uint8Array(
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer(),
  );
}

const toByte = (v: number) => ((v + 1) / 2) * 255;

Deno.test("celeba: centre crop 128 and bilinear resize on a known pattern, 32 and 64, values in [-1, 1]", async () => {
  const dir = await Deno.makeTempDir(), cache = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/000001.png`, await png(pattern()));
    for (const size of [32, 64] as const) {
      const data = await loadCeleba({ dir, size, cacheDir: cache });
      assert.equal(data.size, 1);
      assert.deepEqual(data.imageShape, [size, size, 3]);
      assert.deepEqual(data.factors, []);
      assert.deepEqual(data.valueRange, [-1, 1]);
      const img = data.images(Int32Array.from([0]));
      const f = 128 / size;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          // Crop origin (25, 45); OpenCV's INTER_LINEAR samples the crop at (i + 0.5) * f - 0.5.
          const wantR = 25 + (x + 0.5) * f - 0.5, wantG = 45 + (y + 0.5) * f - 0.5;
          const o = (y * size + x) * 3;
          assert.ok(Math.abs(toByte(img[o]) - wantR) <= 0.51, `(${x},${y}) R ${toByte(img[o])} vs ${wantR}`);
          assert.ok(Math.abs(toByte(img[o + 1]) - wantG) <= 0.51, `(${x},${y}) G ${toByte(img[o + 1])} vs ${wantG}`);
          assert.ok(Math.abs(toByte(img[o + 2]) - 77) < 1e-3);
        }
      }
      data.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("celeba: bilinear resize averages the two middle pixels of each 4-pixel run", () => {
  const src = new Uint8Array(8 * 1 * 3);
  for (let x = 0; x < 8; x++) src.set([x * 10, 0, 255], x * 3);
  const out = resizeBilinear(src, 8, 1, 2, 1);
  assert.deepEqual(Array.from(out), [15, 0, 255, 55, 0, 255]);
});

Deno.test("celeba: JPEG folder is decoded, cached with a manifest, and the cache is reused", async () => {
  const dir = await Deno.makeTempDir(), cache = await Deno.makeTempDir();
  try {
    for (let i = 0; i < 5; i++) await Deno.writeFile(`${dir}/00000${i}.jpg`, await jpeg(i));
    await Deno.writeTextFile(`${dir}/list_attr_celeba.txt`, "not an image, and not named like one");
    const a = await loadCeleba({ dir, cacheDir: cache });
    assert.equal(a.size, 5);
    assert.deepEqual(a.manifest.files, ["000000.jpg", "000001.jpg", "000002.jpg", "000003.jpg", "000004.jpg"]);
    const imgs = a.images(Int32Array.from([0, 4]));
    assert.ok(imgs.every((v) => v >= -1 && v <= 1));
    assert.notDeepEqual(imgs.subarray(0, 3072), imgs.subarray(3072));
    const names = [...Deno.readDirSync(cache)].map((e) => e.name);
    assert.equal(names.filter((n) => n.endsWith(".json")).length, 1);
    assert.ok(!names.some((n) => n.includes(".tmp-")));
    const u8 = names.find((n) => n.endsWith(".u8"))!;
    const before = Deno.statSync(`${cache}/${u8}`).mtime;
    const b = await loadCeleba({ dir, cacheDir: cache });
    assert.deepEqual(b.images(Int32Array.from([0, 4])), imgs);
    assert.deepEqual(Deno.statSync(`${cache}/${u8}`).mtime, before);
    const limited = await loadCeleba({ dir, cacheDir: cache, limit: 2 });
    assert.equal(limited.size, 2);
    for (const d of [a, b, limited]) d.close();
    // An invalid manifest is reported by path.
    const m = names.find((n) => n.endsWith(".json"))!;
    await Deno.writeTextFile(`${cache}/${m}`, JSON.stringify({ dataset: "celeba" }));
    await assert.rejects(loadCeleba({ dir, cacheDir: cache }), new RegExp(`${m.replaceAll(".", "\\.")} is invalid`));
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("celeba: missing folder, empty folder, non-image, truncated JPEG and small image each name the path", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assert.rejects(
      loadCeleba({ dir: `${root}/missing`, cacheDir: null }),
      new RegExp(`${root}/missing does not exist`),
    );
    await Deno.mkdir(`${root}/empty`);
    await assert.rejects(loadCeleba({ dir: `${root}/empty`, cacheDir: null }), new RegExp(`${root}/empty contains no`));

    const mk = async (name: string, files: Record<string, Uint8Array>) => {
      await Deno.mkdir(`${root}/${name}`);
      for (const [f, b] of Object.entries(files)) await Deno.writeFile(`${root}/${name}/${f}`, b);
      return `${root}/${name}`;
    };
    const good = await jpeg(1);
    const text = await mk("text", { "000001.jpg": good, "000002.jpg": new TextEncoder().encode("hello, not a jpeg") });
    await assert.rejects(
      loadCeleba({ dir: text, cacheDir: null }),
      new RegExp(`${text}/000002\\.jpg is not a readable image`),
    );
    const trunc = await mk("trunc", {
      "000001.jpg": good,
      "000002.jpg": good.subarray(0, Math.floor(good.length * 0.6)),
    });
    await assert.rejects(
      loadCeleba({ dir: trunc, cacheDir: null }),
      new RegExp(`${trunc}/000002\\.jpg is not a readable image`),
    );
    const small = await mk("small", {
      "000001.png": new Uint8Array(
        await sharp({ create: { width: 100, height: 100, channels: 3, background: "red" } }).png().toBuffer(),
      ),
    });
    await assert.rejects(loadCeleba({ dir: small, cacheDir: null }), /000001\.png .*smaller than the 128x128 crop/);

    const mixed = await mk("mixed", {
      "000001.jpg": good,
      "000002.jpg": new TextEncoder().encode("text"),
      "000003.jpg": good.subarray(0, 2000),
      "000004.jpg": await jpeg(4),
    });
    const d = await loadCeleba({ dir: mixed, cacheDir: null, skipUnreadable: true });
    assert.equal(d.size, 2);
    assert.equal(d.skipped, 2);
    assert.deepEqual(d.manifest.files, ["000001.jpg", "000004.jpg"]);
    d.close();
    if (!Deno.env.get("IGCR_CELEBA_DIR")) await assert.rejects(loadCeleba({ cacheDir: null }), /no folder given/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
