/**
 * The original dSprites archive, `dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`, for users who have it: its `imgs`
 * (N x 64 x 64 uint8, 3 GB inflated) is streamed and packed to one bit per pixel (about 377 MB), and `latents_classes`
 * (N x 6) is read whole. Path: the `path` option, else the environment variable IGCR_DSPRITES_NPZ.
 */
import { parseNpyHeader, readNpy, zipEntries, zipEntryBytes, zipEntryStream } from "./npy.ts";
import { sha256Hex } from "../io/hash.ts";

export const DSPRITES_NPZ_NAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz";

export class DSpritesOriginal {
  constructor(
    readonly path: string,
    readonly count: number,
    /** One bit per pixel, image-major, row-major inside an image. */
    private readonly bits: Uint8Array,
    /** N x 6 class ids (colour, shape, scale, orientation, posX, posY) when the archive has them. */
    readonly latentsClasses: Int32Array | null,
    /** SHA-256 of the archive's bytes, lowercase hex. */
    readonly sha256: string,
  ) {}

  /** Images of the given indices as 0/1 floats, NHWC (n x 64 x 64 x 1). */
  images(indices: Int32Array, out?: Float32Array): Float32Array {
    const px = 4096;
    const dst = out ?? new Float32Array(indices.length * px);
    for (let i = 0; i < indices.length; i++) {
      const idx = indices[i];
      if (!(idx >= 0 && idx < this.count)) throw new Error(`${this.path}: index ${idx} out of [0, ${this.count})`);
      const base = idx * px;
      for (let p = 0; p < px; p++) {
        const b = base + p;
        dst[i * px + p] = (this.bits[b >> 3] >> (b & 7)) & 1;
      }
    }
    return dst;
  }
}

/** Path of the original archive from the option or IGCR_DSPRITES_NPZ; null when neither is set. */
export function dspritesNpzPath(path?: string): string | null {
  return path || Deno.env.get("IGCR_DSPRITES_NPZ") || null;
}

/** Loads the original archive (or any .npz with an `imgs` N x 64 x 64 uint8 array). Errors name the path. */
export async function loadDspritesNpz(path?: string): Promise<DSpritesOriginal> {
  const p = dspritesNpzPath(path);
  if (!p) {
    throw new Error(`dSprites .npz: no path given (pass a path or set IGCR_DSPRITES_NPZ to ${DSPRITES_NPZ_NAME})`);
  }
  let zip: Uint8Array;
  try {
    zip = await Deno.readFile(p);
  } catch (e) {
    throw new Error(`dSprites .npz: cannot read ${p}: ${(e as Error).message}`);
  }
  const entries = zipEntries(zip, p);
  const imgs = entries.find((e) => e.name === "imgs.npy");
  if (!imgs) throw new Error(`${p}: no imgs.npy inside (entries: ${entries.map((e) => e.name).join(", ")})`);

  // Stream imgs: gather the header, then pack pixels to bits as chunks arrive.
  let head = new Uint8Array(0);
  let header: ReturnType<typeof parseNpyHeader> | null = null;
  let bits = new Uint8Array(0);
  let pixel = 0, total = 0;
  for await (const chunk of zipEntryStream(zip, imgs, p)) {
    let data = chunk;
    if (!header) {
      const merged = new Uint8Array(head.length + chunk.length);
      merged.set(head);
      merged.set(chunk, head.length);
      head = merged;
      if (head.length < 12) continue;
      const hlen = head[6] === 1 ? 10 + (head[8] | (head[9] << 8)) : 12 + new DataView(head.buffer).getUint32(8, true);
      if (head.length < hlen) continue;
      header = parseNpyHeader(head, `${p}:imgs.npy`);
      const [n, h, w] = header.shape;
      if (header.shape.length !== 3 || h !== 64 || w !== 64 || !/^[|<]?[ub][1]$/.test(header.dtype)) {
        throw new Error(`${p}: imgs must be N x 64 x 64 uint8, got ${header.dtype} ${JSON.stringify(header.shape)}`);
      }
      total = n * 4096;
      bits = new Uint8Array(Math.ceil(total / 8));
      data = head.subarray(header.dataOffset);
    }
    for (let i = 0; i < data.length && pixel < total; i++, pixel++) {
      if (data[i]) bits[pixel >> 3] |= 1 << (pixel & 7);
    }
  }
  if (!header) throw new Error(`${p}: imgs.npy is truncated (no header)`);
  if (pixel !== total) throw new Error(`${p}: imgs.npy is truncated (${pixel} of ${total} pixels)`);
  const count = header.shape[0];

  let classes: Int32Array | null = null;
  const lc = entries.find((e) => e.name === "latents_classes.npy");
  if (lc) {
    const arr = readNpy(await zipEntryBytes(zip, lc, p), `${p}:latents_classes.npy`);
    if (arr.shape[0] !== count || arr.shape[1] !== 6) {
      throw new Error(`${p}: latents_classes must be ${count} x 6, got ${JSON.stringify(arr.shape)}`);
    }
    classes = Int32Array.from(arr.data);
  }
  return new DSpritesOriginal(p, count, bits, classes, await sha256Hex(zip));
}
