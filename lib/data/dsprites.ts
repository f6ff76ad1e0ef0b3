/**
 * dSprites, rendered procedurally: the exact factor grid of DeepMind's dataset (3 shapes x 6 scales x 40 orientations x
 * 32 x 32 positions = 737,280 binary 64x64 images, index order with posY fastest), drawn on demand, no download.
 *
 * The original was drawn with the LOVE framework and its shape geometry is undocumented. The conventions here were
 * measured on the 320 original frames in `dsprites-original-sample.gif` (see docs/datasets.md for the IoU we reach):
 * - a pixel is on when its centre lies inside the shape (no anti-aliasing); pixel i covers [i, i+1);
 * - the shape's centre is 16 + 32 * pos (posX to the right, posY downwards);
 * - orientation turns the shape counter-clockwise as displayed, about that centre;
 * - sizes scale linearly: at scale 1 the square has half-side 9.6 px (20 x 20 px upright), the ellipse semi-axes
 *   12.75 x 7.25 px, the heart is two round lobes over a point, about 20 x 17 px, centred 2 px below its centroid.
 *
 * Like InfoGAN-CR we drop the constant colour factor: 5 factors, pixels 0/1 as float.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";
import { classesOfFactors, type FactorSpec, type GroundTruthData } from "./ground_truth.ts";

export const DSPRITES_SIZE = 64;
export const SHAPE_VALUES = [1, 2, 3]; // 1 square, 2 ellipse, 3 heart (the original's labels)
export const SCALE_VALUES = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
export const ORIENTATION_VALUES = Array.from({ length: 40 }, (_, i) => (2 * Math.PI * i) / 39);
export const POSITION_VALUES = Array.from({ length: 32 }, (_, i) => i / 31);
/** Class counts per factor, in index order (posY fastest). */
export const DSPRITES_COUNTS = [3, 6, 40, 32, 32];
export const DSPRITES_BASES = [245760, 40960, 1024, 32, 1];
export const DSPRITES_TOTAL = 737280;

/** Shape geometry at scale 1, in pixels, y downwards, relative to the shape's centre. Fitted to the original frames. */
export interface SpriteGeometry {
  squareHalf: number;
  ellipseA: number;
  ellipseB: number;
  /** Heart lobes: circles at (+-lobeX, lobeY) of radius lobeR; the point at (0, tipY); the outline between is tangent. */
  lobeX: number;
  lobeY: number;
  lobeR: number;
  tipY: number;
}

export const DEFAULT_GEOMETRY: SpriteGeometry = {
  // Fitted by coordinate search maximising the mean best IoU against the 320 original frames (docs/datasets.md).
  squareHalf: 9.6, // 20 px upright (pixel centres), 368 px when turned, as in the original
  ellipseA: 12.75,
  ellipseB: 7.25,
  lobeX: 4.7,
  lobeY: -4.05,
  lobeR: 5.1,
  tipY: 8.8,
};

/** Precomputed heart outline: the tangent line from the tip to the right lobe, as a half-plane n.x <= d. */
export interface HeartLine {
  nx: number;
  ny: number;
  d: number;
  tangentY: number;
}

const NO_LINE: HeartLine = { nx: 0, ny: 0, d: 0, tangentY: 0 };

export function heartLine(g: SpriteGeometry): HeartLine {
  // Tangent from T=(0,tipY) to circle C=(lobeX,lobeY), radius r, on the outer (right) side.
  const dx = g.lobeX, dy = g.lobeY - g.tipY;
  const dist = Math.hypot(dx, dy);
  const toC = Math.atan2(dx, -dy); // angle of C seen from T, measured from "up" towards +x
  const half = Math.asin(Math.min(1, g.lobeR / dist));
  const a = toC + half; // tangent direction from T, from "up" towards +x
  const ux = Math.sin(a), uy = -Math.cos(a); // unit direction along the tangent, upwards-right
  // Outward normal points to +x side: rotate direction by -90 deg in (x, y-down) coordinates.
  const nx = -uy, ny = ux;
  const d = nx * 0 + ny * g.tipY;
  const along = (g.lobeX - 0) * ux + (g.lobeY - g.tipY) * uy; // distance from T to the tangent point
  return { nx, ny, d, tangentY: g.tipY + along * uy };
}

/** Largest distance of any shape point from its centre at scale 1 (bounding box for the per-pixel test). */
function shapeRadius(shape: number, g: SpriteGeometry): number {
  if (shape === 1) return g.squareHalf * Math.SQRT2;
  if (shape === 2) return Math.max(g.ellipseA, g.ellipseB);
  return Math.max(Math.hypot(g.lobeX, g.lobeY) + g.lobeR, Math.abs(g.tipY));
}

/** Inclusive pixel box [x0, x1, y0, y1] that contains every pixel a sprite can turn on. */
export function spriteBounds(
  shape: number,
  scale: number,
  posX: number,
  posY: number,
  g: SpriteGeometry = DEFAULT_GEOMETRY,
): [number, number, number, number] {
  const S = DSPRITES_SIZE;
  const cx = 16 + 32 * posX, cy = 16 + 32 * posY;
  const rad = shapeRadius(shape, g) * scale + 1;
  return [
    Math.max(0, Math.floor(cx - rad)),
    Math.min(S - 1, Math.ceil(cx + rad)),
    Math.max(0, Math.floor(cy - rad)),
    Math.min(S - 1, Math.ceil(cy + rad)),
  ];
}

/**
 * Draws one sprite (ones on a zeroed 64x64 plane) into `out` starting at `offset`. Point-in-shape per pixel centre within
 * the shape's bounding box: a few hundred tests per image.
 */
export function drawSprite(
  out: Float32Array | Uint8Array,
  offset: number,
  shape: number,
  scale: number,
  orientation: number,
  posX: number,
  posY: number,
  g: SpriteGeometry = DEFAULT_GEOMETRY,
  line: HeartLine = shape === 3 ? heartLine(g) : NO_LINE,
): void {
  const S = DSPRITES_SIZE;
  const cx = 16 + 32 * posX, cy = 16 + 32 * posY;
  const [x0, x1, y0, y1] = spriteBounds(shape, scale, posX, posY, g);
  // Pixel (display) -> shape frame: undo a counter-clockwise display rotation (y points down, hence the signs).
  const c = Math.cos(orientation) / scale, s = Math.sin(orientation) / scale;
  const sh = shape | 0;
  const hq = g.squareHalf, ia = 1 / g.ellipseA, ib = 1 / g.ellipseB;
  const lx = g.lobeX, ly = g.lobeY, r2 = g.lobeR * g.lobeR;
  for (let py = y0; py <= y1; py++) {
    const ry = py + 0.5 - cy;
    const row = offset + py * S;
    for (let px = x0; px <= x1; px++) {
      const rx = px + 0.5 - cx;
      const u = c * rx - s * ry;
      const v = s * rx + c * ry;
      let inside: boolean;
      if (sh === 1) {
        inside = Math.abs(u) <= hq && Math.abs(v) <= hq;
      } else if (sh === 2) {
        const a = u * ia, b = v * ib;
        inside = a * a + b * b <= 1;
      } else {
        const au = Math.abs(u);
        const ex = au - lx, ey = v - ly;
        const inLobe = ex * ex + ey * ey <= r2;
        if (inLobe) inside = true;
        else if (v < ly) inside = false; // above the lobe centres only the lobes count (keeps the notch)
        else inside = line.nx * au + line.ny * v <= line.d && (v >= line.tangentY || au <= lx);
      }
      if (inside) out[row + px] = 1;
    }
  }
}

/** Factor values (shape, scale, orientation, posX, posY) of a flat index of the original grid. */
export function indexToValues(index: number): [number, number, number, number, number] {
  const c = indexToClasses(index);
  return [
    SHAPE_VALUES[c[0]],
    SCALE_VALUES[c[1]],
    ORIENTATION_VALUES[c[2]],
    POSITION_VALUES[c[3]],
    POSITION_VALUES[c[4]],
  ];
}

export function indexToClasses(index: number): number[] {
  if (!Number.isInteger(index) || index < 0 || index >= DSPRITES_TOTAL) {
    throw new Error(`dSprites index must be an integer in [0, ${DSPRITES_TOTAL}), got ${index}`);
  }
  const out = new Array<number>(5);
  let r = index;
  for (let k = 0; k < 5; k++) {
    out[k] = Math.floor(r / DSPRITES_BASES[k]);
    r -= out[k] * DSPRITES_BASES[k];
  }
  return out;
}

export function classesToIndex(classes: number[]): number {
  if (classes.length !== 5) throw new Error(`dSprites classes need 5 entries, got ${classes.length}`);
  let idx = 0;
  for (let k = 0; k < 5; k++) {
    const v = classes[k];
    if (!Number.isInteger(v) || v < 0 || v >= DSPRITES_COUNTS[k]) {
      throw new Error(`dSprites class ${k} must be an integer in [0, ${DSPRITES_COUNTS[k]}), got ${v}`);
    }
    idx += v * DSPRITES_BASES[k];
  }
  return idx;
}

export class DSprites implements GroundTruthData {
  readonly name = "dsprites";
  readonly imageShape: [number, number, number] = [64, 64, 1];
  readonly valueRange: [number, number] = [0, 1];
  readonly size = DSPRITES_TOTAL;
  readonly factors: FactorSpec[] = [
    { name: "shape", kind: "discrete", values: SHAPE_VALUES },
    { name: "scale", kind: "discrete", values: SCALE_VALUES },
    { name: "orientation", kind: "discrete", values: ORIENTATION_VALUES },
    { name: "posX", kind: "discrete", values: POSITION_VALUES },
    { name: "posY", kind: "discrete", values: POSITION_VALUES },
  ];
  private readonly lines: HeartLine;

  constructor(readonly geometry: SpriteGeometry = DEFAULT_GEOMETRY) {
    this.lines = heartLine(geometry);
  }

  /** Uniform over the grid: every class id drawn independently, as the original's factor-sampling in metrics. */
  sampleFactors(n: number, rng: Rng): Float32Array {
    const out = new Float32Array(n * 5);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 5; k++) out[i * 5 + k] = this.factors[k].values![rng.int(DSPRITES_COUNTS[k])];
    }
    return out;
  }

  render(factors: Float32Array, out?: Float32Array): Float32Array {
    if (factors.length % 5 !== 0) throw new Error(`dSprites factors: ${factors.length} values is not n x 5`);
    const n = factors.length / 5, px = 64 * 64;
    const dst = out ?? new Float32Array(n * px);
    if (dst.length < n * px) throw new Error(`dSprites render: out holds ${dst.length} values, need ${n * px}`);
    dst.fill(0, 0, n * px);
    for (let i = 0; i < n; i++) {
      const f = i * 5, shape = Math.round(factors[f]);
      if (shape < 1 || shape > 3) throw new Error(`dSprites shape must be 1, 2 or 3, got ${factors[f]}`);
      drawSprite(
        dst,
        i * px,
        shape,
        factors[f + 1],
        factors[f + 2],
        factors[f + 3],
        factors[f + 4],
        this.geometry,
        this.lines,
      );
    }
    return dst;
  }

  images(indices: Int32Array, out?: Float32Array): Float32Array {
    const n = indices.length, px = 64 * 64;
    const dst = out ?? new Float32Array(n * px);
    if (dst.length < n * px) throw new Error(`dSprites images: out holds ${dst.length} values, need ${n * px}`);
    dst.fill(0, 0, n * px);
    for (let i = 0; i < n; i++) {
      const [sh, sc, or, x, y] = indexToValues(indices[i]);
      drawSprite(dst, i * px, sh, sc, or, x, y, this.geometry, this.lines);
    }
    return dst;
  }

  observe(factors: Float32Array): tf.Tensor4D {
    const n = factors.length / 5;
    return tf.tensor4d(this.render(factors), [n, 64, 64, 1]);
  }

  indexToClasses(index: number): number[] {
    return indexToClasses(index);
  }

  classesToIndex(classes: number[]): number {
    return classesToIndex(classes);
  }

  factorClasses(factors: Float32Array): Int32Array {
    return classesOfFactors(this.factors, factors);
  }
}
