/**
 * CelebA, loaded from a local `img_align_celeba` folder (the `dir` option, else IGCR_CELEBA_DIR), as InfoGAN-CR prepared
 * it: centre crop 128 x 128 of the 178 x 218 aligned faces, bilinear resize to 32 x 32 (the paper) or 64 x 64, RGB,
 * values in [-1, 1]. Decoding and cropping use sharp; the resize is our own bilinear with OpenCV's `INTER_LINEAR`
 * sample positions (src = (dst + 0.5) * scale - 0.5, no anti-aliasing), which is what `cv2.resize` did in the paper's
 * preprocessing. The result is cached under data/cache as one uint8 file plus a zod-validated JSON manifest.
 * No generating factors are known: `factors` is empty.
 */
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { z } from "zod";
import type { Rng } from "../rng.ts";
import type { FactorSpec, GroundTruthData } from "./ground_truth.ts";
import { commitFiles, U8Images } from "./u8_images.ts";

export const CELEBA_CROP = 128;
const IMAGE_EXT = /\.(jpe?g|png)$/i;
/** Bump when preprocessing changes, so stale caches are not reused. */
export const CELEBA_PREP_VERSION = 1;

export const CelebaManifest = z.object({
  dataset: z.literal("celeba"),
  version: z.number().int(),
  dir: z.string(),
  size: z.union([z.literal(32), z.literal(64)]),
  count: z.number().int().positive(),
  skipped: z.number().int().nonnegative(),
  filesSeen: z.number().int().positive(),
  imagesFile: z.string(),
  files: z.array(z.string()),
}).strict();
export type CelebaManifest = z.infer<typeof CelebaManifest>;

export interface CelebaOptions {
  /** The img_align_celeba folder (default: IGCR_CELEBA_DIR). */
  dir?: string;
  /** Output side: 32 (the paper, default) or 64. */
  size?: 32 | 64;
  /** Use only the first `limit` files (sorted by name). */
  limit?: number;
  /** Skip files that cannot be decoded instead of failing; the count is reported in `skipped`. */
  skipUnreadable?: boolean;
  /** Cache folder (default data/cache); `null` disables the cache. */
  cacheDir?: string | null;
  onProgress?: (done: number, total: number) => void;
}

export class CelebA implements GroundTruthData {
  readonly name = "celeba";
  readonly imageShape: [number, number, number];
  readonly valueRange: [number, number] = [-1, 1];
  readonly factors: FactorSpec[] = [];

  constructor(readonly manifest: CelebaManifest, private readonly pixels: U8Images) {
    this.imageShape = [manifest.size, manifest.size, 3];
  }

  get size(): number {
    return this.manifest.count;
  }

  /** How many unreadable files were skipped (with `skipUnreadable`). */
  get skipped(): number {
    return this.manifest.skipped;
  }

  images(indices: Int32Array, out?: Float32Array): Float32Array {
    return this.pixels.read(indices, out);
  }

  /** CelebA has no factors: rows of length 0. */
  sampleFactors(_n: number, _rng: Rng): Float32Array {
    return new Float32Array(0);
  }

  observe(_factors: Float32Array): tf.Tensor4D {
    throw new Error("celeba: images are not generated from factors; use images(indices)");
  }

  /** A tensor of the images at `indices`, in [-1, 1]. */
  observeIndices(indices: Int32Array): tf.Tensor4D {
    const s = this.manifest.size;
    return tf.tensor4d(this.images(indices), [indices.length, s, s, 3]);
  }

  factorClasses(_factors: Float32Array): Int32Array {
    return new Int32Array(0);
  }

  close(): void {
    this.pixels.close();
  }
}

/**
 * Bilinear resize of an RGB uint8 image with OpenCV's INTER_LINEAR sample positions (half-pixel centres, edge clamp).
 */
export function resizeBilinear(src: Uint8Array, sw: number, sh: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh * 3);
  const fx = sw / dw, fy = sh / dh;
  for (let y = 0; y < dh; y++) {
    let sy = (y + 0.5) * fy - 0.5;
    if (sy < 0) sy = 0;
    const y0 = Math.min(sh - 1, Math.floor(sy)), y1 = Math.min(sh - 1, y0 + 1), wy = sy - y0;
    for (let x = 0; x < dw; x++) {
      let sx = (x + 0.5) * fx - 0.5;
      if (sx < 0) sx = 0;
      const x0 = Math.min(sw - 1, Math.floor(sx)), x1 = Math.min(sw - 1, x0 + 1), wx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const a = src[(y0 * sw + x0) * 3 + c], b = src[(y0 * sw + x1) * 3 + c];
        const d = src[(y1 * sw + x0) * 3 + c], e = src[(y1 * sw + x1) * 3 + c];
        const v = (1 - wy) * ((1 - wx) * a + wx * b) + wy * ((1 - wx) * d + wx * e);
        out[(y * dw + x) * 3 + c] = Math.round(v);
      }
    }
  }
  return out;
}

/** Decodes one file, centre-crops 128 x 128 and resizes to size x size RGB bytes. Errors name the file. */
export async function preprocessCeleba(path: string, size: 32 | 64): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new Error(`celeba: cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    // failOn "truncated" turns libjpeg's "premature end of data" into an error instead of a grey-filled image.
    const img = sharp(bytes, { failOn: "truncated" });
    const meta = await img.metadata();
    const w = meta.width ?? 0, h = meta.height ?? 0;
    if (w < CELEBA_CROP || h < CELEBA_CROP) {
      throw new Error(`is ${w}x${h}, smaller than the ${CELEBA_CROP}x${CELEBA_CROP} crop`);
    }
    const left = Math.floor((w - CELEBA_CROP) / 2), top = Math.floor((h - CELEBA_CROP) / 2);
    const { data, info } = await img
      .extract({ left, top, width: CELEBA_CROP, height: CELEBA_CROP })
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return resizeBilinear(new Uint8Array(data), CELEBA_CROP, CELEBA_CROP, size, size);
  } catch (e) {
    throw new Error(`celeba: ${path} is not a readable image: ${(e as Error).message}`);
  }
}

function hashText(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/** Lists the folder's image files, sorted; errors name the folder when it is missing or has none. */
export async function listCelebaFiles(dir: string): Promise<string[]> {
  let info;
  try {
    info = await Deno.stat(dir);
  } catch {
    throw new Error(`celeba: folder ${dir} does not exist (set --celeba-dir or IGCR_CELEBA_DIR to img_align_celeba)`);
  }
  if (!info.isDirectory) throw new Error(`celeba: ${dir} is not a folder`);
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile && IMAGE_EXT.test(e.name)) names.push(e.name);
  if (names.length === 0) throw new Error(`celeba: folder ${dir} contains no .jpg/.png images`);
  return names.sort();
}

/** Loads (and caches) CelebA from a local folder. */
export async function loadCeleba(opts: CelebaOptions = {}): Promise<CelebA> {
  const dir = opts.dir ?? Deno.env.get("IGCR_CELEBA_DIR");
  if (!dir) {
    throw new Error("celeba: no folder given (pass dir or set IGCR_CELEBA_DIR to your img_align_celeba folder)");
  }
  const size = opts.size ?? 32;
  if (size !== 32 && size !== 64) throw new Error(`celeba: size must be 32 or 64, got ${size}`);
  let files = await listCelebaFiles(dir);
  if (opts.limit !== undefined) files = files.slice(0, opts.limit);
  const absDir = await Deno.realPath(dir);
  const cacheDir = opts.cacheDir === undefined ? "data/cache" : opts.cacheDir;
  const stem = `celeba-v${CELEBA_PREP_VERSION}-${
    hashText(`${absDir}|${files.length}|${opts.skipUnreadable ?? false}`)
  }-${size}`;
  const workDir = cacheDir ?? await Deno.makeTempDir({ prefix: "igcr-celeba-" });
  const manifestPath = `${workDir}/${stem}.json`;

  if (cacheDir) {
    try {
      const m = CelebaManifest.parse(JSON.parse(await Deno.readTextFile(manifestPath)));
      if (m.dir === absDir && m.filesSeen === files.length) {
        return new CelebA(m, new U8Images(`${workDir}/${m.imagesFile}`, m.count, [size, size, 3], [-1, 1]));
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new Error(`celeba: cache manifest ${manifestPath} is invalid (${(e as Error).message}); delete it`);
      }
    }
  }

  await Deno.mkdir(workDir, { recursive: true });
  const tag = `${Deno.pid}-${Date.now()}`;
  const imagesFile = `${stem}.u8`;
  const tmpImages = `${workDir}/${imagesFile}.tmp-${tag}`, tmpManifest = `${manifestPath}.tmp-${tag}`;
  // Streamed to disk: at 64 x 64 the whole set is 2.5 GB.
  const file = await Deno.open(tmpImages, { write: true, create: true, truncate: true });
  const kept: string[] = [];
  let skipped = 0;
  const parallel = 8;
  try {
    for (let s = 0; s < files.length; s += parallel) {
      const part = files.slice(s, s + parallel);
      const results = await Promise.allSettled(part.map((f) => preprocessCeleba(`${dir}/${f}`, size)));
      for (const [i, r] of results.entries()) {
        if (r.status === "fulfilled") {
          let w = 0;
          while (w < r.value.length) w += await file.write(r.value.subarray(w));
          kept.push(part[i]);
        } else if (opts.skipUnreadable) skipped++;
        else throw r.reason;
      }
      opts.onProgress?.(Math.min(files.length, s + parallel), files.length);
    }
    if (kept.length === 0) throw new Error(`celeba: no readable images in ${dir} (${skipped} skipped)`);
  } catch (e) {
    file.close();
    await Deno.remove(cacheDir ? tmpImages : workDir, { recursive: true }).catch(() => {});
    throw e;
  }
  file.close();
  const manifest: CelebaManifest = {
    dataset: "celeba",
    version: CELEBA_PREP_VERSION,
    dir: absDir,
    size,
    count: kept.length,
    skipped,
    filesSeen: files.length,
    imagesFile,
    files: kept,
  };
  await Deno.writeTextFile(tmpManifest, JSON.stringify(manifest) + "\n");
  await commitFiles([[tmpImages, `${workDir}/${imagesFile}`], [tmpManifest, manifestPath]]);
  const pixels = new U8Images(`${workDir}/${imagesFile}`, kept.length, [size, size, 3], [-1, 1]);
  // Without a cache folder the files lived in a temp folder: drop it once the pixels are in memory.
  if (!cacheDir && pixels.inMemory) await Deno.remove(workDir, { recursive: true });
  return new CelebA(manifest, pixels);
}
