import assert from "node:assert/strict";
import { DSprites, DSPRITES_TOTAL } from "../lib/data/dsprites.ts";
import { DSPRITES_NPZ_NAME, dspritesNpzPath, loadDspritesNpz } from "../lib/data/dsprites_npz.ts";
import { buildZip, crc32, encodeNpy, parseNpyHeader, readNpy, zipEntries } from "../lib/data/npy.ts";

/** A miniature dSprites archive: `n` of our own renders and their classes (colour column first, as the original). */
async function miniNpz(
  indices: number[],
  compress: boolean,
  zip64 = false,
): Promise<{ bytes: Uint8Array; pixels: Float32Array }> {
  const ds = new DSprites();
  const pixels = ds.images(Int32Array.from(indices));
  const classes: number[] = [];
  for (const i of indices) classes.push(0, ...ds.indexToClasses(i));
  const bytes = await buildZip(
    {
      "imgs.npy": encodeNpy(pixels, [indices.length, 64, 64], "|u1"),
      "latents_classes.npy": encodeNpy(classes, [indices.length, 6], "<i8"),
    },
    compress,
    { zip64 },
  );
  return { bytes, pixels };
}

Deno.test("npy: header parsing and round trip of each written dtype", () => {
  const vals = [0, 1, 2.5, -3, 1e6];
  for (const dt of ["<f4", "<f8", "<i8"] as const) {
    const b = encodeNpy(vals.map((v) => (dt === "<i8" ? Math.round(v) : v)), [5], dt);
    assert.equal(parseNpyHeader(b).dataOffset % 64, 0); // numpy aligns data to 64 bytes
    const r = readNpy(b);
    assert.deepEqual(r.shape, [5]);
    assert.deepEqual(Array.from(r.data), vals.map((v) => (dt === "<i8" ? Math.round(v) : v)));
  }
  const m = readNpy(encodeNpy([1, 2, 3, 4, 5, 6], [2, 3], "|u1"));
  assert.deepEqual(m.shape, [2, 3]);
  assert.throws(() => readNpy(new Uint8Array(20), "x.npy"), /x\.npy: not a \.npy/);
  const b = encodeNpy([1, 2, 3], [3], "<f8");
  assert.throws(() => readNpy(b.subarray(0, b.length - 4), "y.npy"), /y\.npy: truncated/);
});

Deno.test("zip: CRC-32 of a known string; entries of stored and deflated archives", async () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  for (const compress of [false, true]) {
    const z = await buildZip({ "a.npy": new Uint8Array(1000).fill(7), "b.npy": new Uint8Array(3) }, compress);
    const e = zipEntries(z);
    assert.deepEqual(e.map((x) => [x.name, x.method, x.size]), [["a.npy", compress ? 8 : 0, 1000], [
      "b.npy",
      compress ? 8 : 0,
      3,
    ]]);
    if (compress) assert.ok(e[0].compressedSize < 100);
  }
  assert.throws(() => zipEntries(new Uint8Array(100), "bad.npz"), /bad\.npz: not a zip/);
});

Deno.test("dsprites npz: loads a small archive (stored, deflated, zip64) pixel for pixel", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const indices = [0, 1, 40960 + 77, 245760 * 2 + 1024 * 13 + 32 * 5 + 9, DSPRITES_TOTAL - 1];
    for (const [compress, zip64] of [[false, false], [true, false], [true, true]]) {
      const { bytes, pixels } = await miniNpz(indices, compress, zip64);
      const path = `${dir}/mini-${compress}-${zip64}.npz`;
      await Deno.writeFile(path, bytes);
      const orig = await loadDspritesNpz(path);
      assert.equal(orig.count, indices.length);
      assert.deepEqual(orig.images(Int32Array.from([0, 1, 2, 3, 4])), pixels);
      assert.deepEqual(orig.images(Int32Array.from([3])), pixels.subarray(3 * 4096, 4 * 4096));
      assert.deepEqual(Array.from(orig.latentsClasses!.subarray(6, 12)), [0, 0, 0, 0, 0, 1]);
      assert.throws(() => orig.images(Int32Array.from([5])), /out of \[0, 5\)/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dsprites npz: bad inputs give errors naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(loadDspritesNpz(`${dir}/nope.npz`), new RegExp(`cannot read ${dir}/nope\\.npz`));
    const noImgs = `${dir}/noimgs.npz`;
    await Deno.writeFile(noImgs, await buildZip({ "other.npy": encodeNpy([1], [1], "|u1") }, false));
    await assert.rejects(loadDspritesNpz(noImgs), /noimgs\.npz: no imgs\.npy/);
    const wrong = `${dir}/wrong.npz`;
    await Deno.writeFile(
      wrong,
      await buildZip({ "imgs.npy": encodeNpy(new Array(2 * 32 * 32).fill(0), [2, 32, 32], "|u1") }, true),
    );
    await assert.rejects(loadDspritesNpz(wrong), /wrong\.npz: imgs must be N x 64 x 64/);
    const { bytes } = await miniNpz([0, 1], false);
    const cut = `${dir}/cut.npz`;
    await Deno.writeFile(cut, bytes.subarray(0, 3000));
    await assert.rejects(loadDspritesNpz(cut), /cut\.npz/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const realPath = dspritesNpzPath() ?? `data/${DSPRITES_NPZ_NAME}`;
let realPresent = false;
try {
  realPresent = (await Deno.stat(realPath)).isFile;
} catch {
  realPresent = false;
}
if (!realPresent) {
  console.log(
    `dsprites npz: ${realPath} not present (set IGCR_DSPRITES_NPZ): skipping the comparison with the original`,
  );
}

Deno.test({
  name: "dsprites npz: pixel differences between our renders and the original archive (when present)",
  ignore: !realPresent,
  fn: async () => {
    const orig = await loadDspritesNpz(realPath);
    assert.equal(orig.count, DSPRITES_TOTAL);
    const ds = new DSprites();
    const n = 4000, step = Math.floor(DSPRITES_TOTAL / n);
    const idx = Int32Array.from({ length: n }, (_, i) => i * step + (i % step));
    const a = ds.images(idx), b = orig.images(idx);
    let diff = 0, inter = 0, union = 0;
    for (let p = 0; p < a.length; p++) {
      diff += a[p] !== b[p] ? 1 : 0;
      inter += a[p] && b[p] ? 1 : 0;
      union += a[p] || b[p] ? 1 : 0;
    }
    console.log(
      `ours vs original on ${n} images: ${(diff / n).toFixed(2)} differing pixels per image, IoU ${
        (inter / union).toFixed(4)
      }`,
    );
    assert.ok(inter / union > 0.9);
  },
});
