/**
 * What a dataset looks like, as one PNG: random samples, or (for a grid dataset) one traversal row per factor. Used by
 * `deno task grid` and the notebooks.
 */
import { Rng } from "../rng.ts";
import { classesToIndex, DSprites, DSPRITES_COUNTS } from "../data/dsprites.ts";
import { Teapots } from "../data/teapots.ts";
import { loadCeleba } from "../data/celeba.ts";
import { SpriteMatcher } from "../data/dsprites_match.ts";
import sharp from "sharp";
import { framesToGif, imagesToPng, traversalIndices } from "./grid.ts";

export const DSPRITES_SAMPLE_GIF = new URL("../../data/dsprites-original-sample.gif", import.meta.url);

/** The 320 frames of the original dSprites sample GIF as 0/1 bytes (n x 64 x 64). */
export async function originalDspritesFrames(path: string | URL = DSPRITES_SAMPLE_GIF): Promise<Uint8Array> {
  const gif = await Deno.readFile(path);
  const { data, info } = await sharp(gif, { animated: true }).raw().toBuffer({ resolveWithObject: true });
  const n = info.height / 64, out = new Uint8Array(n * 4096);
  for (let p = 0; p < out.length; p++) out[p] = data[p * info.channels] > 127 ? 1 : 0;
  return out;
}

/**
 * Original frames next to our best-matching renders: pairs of rows, the original above, ours below, for `cols` frames
 * spread over the sample. Returns the PNG and the per-frame IoUs.
 */
export async function dspritesVsOriginalPng(cols = 16, rows = 2): Promise<{ png: Uint8Array; ious: number[] }> {
  const frames = await originalDspritesFrames();
  const n = frames.length / 4096, m = new SpriteMatcher(), ds = new DSprites();
  const picks = Array.from({ length: cols * rows }, (_, i) => Math.floor(((i + 0.5) * n) / (cols * rows)));
  const tiles = new Float32Array(picks.length * 2 * 4096);
  const ious: number[] = [];
  picks.forEach((f, i) => {
    const frame = frames.subarray(f * 4096, (f + 1) * 4096);
    const best = m.match(frame);
    ious.push(best.iou);
    const r = Math.floor(i / cols), c = i % cols;
    const top = (2 * r * cols + c) * 4096, bottom = ((2 * r + 1) * cols + c) * 4096;
    for (let p = 0; p < 4096; p++) tiles[top + p] = frame[p];
    tiles.set(ds.images(Int32Array.of(classesToIndex(best.classes))), bottom);
  });
  return { png: await imagesToPng(tiles, picks.length * 2, 64, 64, 1, { cols }), ious };
}

export interface DatasetGridOptions {
  n?: number;
  seed?: number;
  cols?: number;
  /** One row per factor stepping over its grid (dSprites) or range (teapots), the others fixed. */
  traverse?: boolean;
  /** CelebA folder (else IGCR_CELEBA_DIR). */
  celebaDir?: string;
  celebaSize?: 32 | 64;
}

export async function datasetGridPng(name: string, opts: DatasetGridOptions = {}): Promise<Uint8Array> {
  const rng = new Rng(opts.seed ?? 0).fork("grid");
  const n = opts.n ?? 64;
  if (name === "dsprites") {
    const ds = new DSprites();
    if (opts.traverse) {
      const steps = opts.cols ?? 10;
      return imagesToPng(traversalImages("dsprites", steps), 5 * steps, 64, 64, 1, { cols: steps });
    }
    const idx = Int32Array.from({ length: n }, () => rng.int(ds.size));
    return imagesToPng(ds.images(idx), n, 64, 64, 1, { cols: opts.cols });
  }
  if (name === "teapots") {
    const tp = new Teapots();
    if (opts.traverse) {
      const steps = opts.cols ?? 10;
      return imagesToPng(traversalImages("teapots", steps), 5 * steps, 64, 64, 3, { cols: steps });
    }
    return imagesToPng(tp.render(tp.sampleFactors(n, rng)), n, 64, 64, 3, { cols: opts.cols });
  }
  if (name === "celeba") {
    if (opts.traverse) throw new Error("celeba has no known factors to traverse");
    const data = await loadCeleba({ dir: opts.celebaDir, size: opts.celebaSize });
    const m = Math.min(n, data.size);
    const idx = Int32Array.from({ length: m }, () => rng.int(data.size));
    const s = data.imageShape[0];
    const png = await imagesToPng(data.images(idx), m, s, s, 3, { cols: opts.cols, valueRange: [-1, 1] });
    data.close();
    return png;
  }
  throw new Error(`unknown dataset ${JSON.stringify(name)} (known: dsprites, teapots, celeba)`);
}

/** Traversal images, factor-major (5 rows of `steps`), for the two grid-like datasets. */
export function traversalImages(name: "dsprites" | "teapots", steps: number): Float32Array {
  if (name === "dsprites") {
    // Base image: an upright heart at scale 0.8 near the centre, so every factor's effect is visible.
    const idx = traversalIndices(DSPRITES_COUNTS, classesToIndex, [2, 3, 0, 16, 16], steps);
    return new DSprites().images(idx);
  }
  const tp = new Teapots();
  const base = [Math.PI / 3, Math.PI / 6, 0.8, 0.4, 0.2];
  const rows = new Float32Array(5 * steps * 5);
  for (let k = 0; k < 5; k++) {
    const [lo, hi] = tp.factors[k].range!;
    for (let s = 0; s < steps; s++) {
      const row = base.slice();
      row[k] = lo + ((hi - lo) * s) / (steps - 1);
      rows.set(row, (k * steps + s) * 5);
    }
  }
  return tp.render(rows);
}

/** An animated traversal: frame s shows every factor at step s, side by side (one column per factor). */
export async function traversalGif(name: "dsprites" | "teapots", steps = 20, delayMs = 120): Promise<Uint8Array> {
  const c = name === "dsprites" ? 1 : 3, per = 64 * 64 * c;
  const all = traversalImages(name, steps);
  const frames: Uint8Array[] = [];
  // There and back again, so the loop has no jump.
  const order = [...Array(steps).keys(), ...Array.from({ length: steps - 2 }, (_, i) => steps - 2 - i)];
  for (const s of order) {
    const row = new Float32Array(5 * per);
    for (let k = 0; k < 5; k++) row.set(all.subarray((k * steps + s) * per, (k * steps + s + 1) * per), k * per);
    frames.push(await imagesToPng(row, 5, 64, 64, c, { cols: 5 }));
  }
  return framesToGif(frames, { delayMs });
}
