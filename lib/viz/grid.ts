/**
 * Image grids and animations: tiles a batch of NHWC images into one raw buffer in JS and encodes it once with sharp
 * (encoding one buffer takes milliseconds; compositing many small images takes tens of times longer).
 */
import type * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { writeBytesAtomic } from "../io/atomic.ts";

export interface GridOptions {
  /** Columns (default: ceil(sqrt(n))). */
  cols?: number;
  /** Pixels of padding between and around tiles (default 2). */
  pad?: number;
  /** Value range of the input, mapped to 0..255 (default [0, 1]; CelebA uses [-1, 1]). */
  valueRange?: [number, number];
  /** Padding grey level 0..255 (default 128). */
  padValue?: number;
}

/** Tiles n images (NHWC floats) into a raw uint8 buffer; returns it with its size. */
export function tileImages(
  images: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  opts: GridOptions = {},
): { data: Uint8Array; width: number; height: number; channels: number } {
  if (images.length < n * h * w * c) throw new Error(`tileImages: ${images.length} values, need ${n} x ${h}x${w}x${c}`);
  if (c !== 1 && c !== 3) throw new Error(`tileImages: 1 or 3 channels, got ${c}`);
  const cols = Math.max(1, Math.min(n, opts.cols ?? Math.ceil(Math.sqrt(n))));
  const rows = Math.max(1, Math.ceil(n / cols));
  const pad = opts.pad ?? 2;
  const [lo, hi] = opts.valueRange ?? [0, 1];
  const width = cols * w + (cols + 1) * pad, height = rows * h + (rows + 1) * pad;
  const data = new Uint8Array(width * height * c).fill(opts.padValue ?? 128);
  const k = 255 / (hi - lo);
  for (let i = 0; i < n; i++) {
    const r = Math.floor(i / cols), col = i % cols;
    const ox = pad + col * (w + pad), oy = pad + r * (h + pad);
    for (let y = 0; y < h; y++) {
      let src = ((i * h + y) * w) * c;
      let dst = ((oy + y) * width + ox) * c;
      for (let x = 0; x < w * c; x++, src++, dst++) {
        const v = (images[src] - lo) * k;
        data[dst] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
      }
    }
  }
  return { data, width, height, channels: c };
}

/** Encodes raw uint8 pixels as PNG; one channel is written as a greyscale PNG (not expanded to RGB). */
export async function rawToPng(data: Uint8Array, width: number, height: number, channels: number): Promise<Uint8Array> {
  let img = sharp(data, { raw: { width, height, channels: channels as 1 | 3 } });
  if (channels === 1) img = img.toColourspace("b-w");
  return new Uint8Array(await img.png().toBuffer());
}

/** A tiled PNG of n images (NHWC floats or a 4D tensor). */
export async function imagesToPng(
  images: Float32Array | tf.Tensor4D,
  n: number,
  h: number,
  w: number,
  c: number,
  opts: GridOptions = {},
): Promise<Uint8Array> {
  const arr = images instanceof Float32Array ? images : new Float32Array(await images.data());
  const t = tileImages(arr, n, h, w, c, opts);
  return rawToPng(t.data, t.width, t.height, t.channels);
}

/** Writes bytes atomically (see lib/io/atomic.ts); creates the folder. */
export const writeFileAtomic = writeBytesAtomic;

export const writePng = writeFileAtomic;

/**
 * An animated GIF from PNG frames of equal size: the frames are decoded, stacked vertically into one raw buffer and
 * encoded as pages of `pageHeight` (looping forever).
 */
export async function framesToGif(frames: Uint8Array[], opts: { delayMs?: number } = {}): Promise<Uint8Array> {
  if (frames.length === 0) throw new Error("framesToGif: no frames");
  const decoded = await Promise.all(
    frames.map((f) => sharp(f).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true })),
  );
  const { width, height, channels } = decoded[0].info;
  for (const [i, d] of decoded.entries()) {
    if (d.info.width !== width || d.info.height !== height || d.info.channels !== channels) {
      throw new Error(`framesToGif: frame ${i} is ${d.info.width}x${d.info.height}, frame 0 is ${width}x${height}`);
    }
  }
  const all = new Uint8Array(width * height * channels * frames.length);
  decoded.forEach((d, i) => all.set(d.data, i * width * height * channels));
  const gif = await sharp(all, { raw: { width, height: height * frames.length, channels, pageHeight: height } })
    .gif({ delay: Array(frames.length).fill(opts.delayMs ?? 100), loop: 0 })
    .toBuffer();
  return new Uint8Array(gif);
}

/** One traversal row per factor for a grid dataset: factor k steps over its grid (up to `steps` values), others fixed. */
export function traversalIndices(
  counts: number[],
  classesToIndex: (c: number[]) => number,
  base: number[],
  steps = 10,
): Int32Array {
  const out: number[] = [];
  for (let k = 0; k < counts.length; k++) {
    const m = Math.min(steps, counts[k]);
    for (let s = 0; s < steps; s++) {
      const c = base.slice();
      // Spread the row's values over the whole grid; short factors (shape) repeat their values.
      c[k] = m === counts[k] && counts[k] <= steps ? s % counts[k] : Math.round((s * (counts[k] - 1)) / (steps - 1));
      out.push(classesToIndex(c));
    }
  }
  return Int32Array.from(out);
}
