/**
 * How close the procedural dSprites come to original frames: for a 64x64 binary frame, the best intersection-over-union
 * over the whole factor grid. An exhaustive search is 737,280 renders per frame; instead, for every shape, the two
 * scales whose area is nearest the frame's and every orientation, the position is estimated from the centroid (each
 * candidate's own centroid offset is known from one reference render) and the 3 x 3 neighbouring grid positions are
 * scored.
 */
import {
  DEFAULT_GEOMETRY,
  drawSprite,
  heartLine,
  ORIENTATION_VALUES,
  POSITION_VALUES,
  SCALE_VALUES,
  spriteBounds,
  type SpriteGeometry,
} from "./dsprites.ts";

export interface SpriteMatch {
  iou: number;
  /** Class ids [shape, scale, orientation, posX, posY] of the best candidate. */
  classes: number[];
}

interface Candidate {
  shape: number;
  scaleClass: number;
  orientClass: number;
  area: number;
  /** Centroid minus shape centre, continuous coordinates. */
  offX: number;
  offY: number;
}

/** Reference renders of every (shape, scale, orientation) at the image centre: area and centroid offset. */
export class SpriteMatcher {
  private readonly cands: Candidate[] = [];
  private readonly scratch = new Uint8Array(64 * 64);
  private readonly lines;

  constructor(readonly geometry: SpriteGeometry = DEFAULT_GEOMETRY) {
    this.lines = [null, null, null, heartLine(geometry)];
    const buf = new Uint8Array(64 * 64);
    for (let shape = 1; shape <= 3; shape++) {
      for (let sc = 0; sc < 6; sc++) {
        for (let o = 0; o < 40; o++) {
          buf.fill(0);
          this.draw(buf, shape, SCALE_VALUES[sc], ORIENTATION_VALUES[o], 0.5, 0.5);
          let a = 0, sx = 0, sy = 0;
          for (let i = 0; i < 4096; i++) {
            if (buf[i]) {
              a++;
              sx += i & 63;
              sy += i >> 6;
            }
          }
          this.cands.push({
            shape,
            scaleClass: sc,
            orientClass: o,
            area: a,
            offX: sx / a + 0.5 - 32,
            offY: sy / a + 0.5 - 32,
          });
        }
      }
    }
  }

  private draw(buf: Uint8Array, shape: number, scale: number, orient: number, px: number, py: number) {
    const line = this.lines[shape] ?? undefined;
    drawSprite(buf, 0, shape, scale, orient, px, py, this.geometry, line);
  }

  /** IoU of `frame` (0/1 bytes) with one grid image; `frameArea` is the frame's pixel count. */
  iouWith(frame: Uint8Array, frameArea: number, shape: number, sc: number, o: number, kx: number, ky: number): number {
    const buf = this.scratch;
    const scale = SCALE_VALUES[sc], px = POSITION_VALUES[kx], py = POSITION_VALUES[ky];
    this.draw(buf, shape, scale, ORIENTATION_VALUES[o], px, py);
    const [x0, x1, y0, y1] = spriteBounds(shape, scale, px, py, this.geometry);
    let inter = 0, area = 0;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const i = y * 64 + x;
        if (buf[i]) {
          area++;
          inter += frame[i];
          buf[i] = 0;
        }
      }
    }
    return inter / (frameArea + area - inter);
  }

  /** The best IoU of `frame` (64x64, nonzero = on) over the grid, searched as described in the module comment. */
  match(frameIn: Uint8Array): SpriteMatch {
    const frame = new Uint8Array(4096);
    let a = 0, sx = 0, sy = 0;
    for (let i = 0; i < 4096; i++) {
      if (frameIn[i]) {
        frame[i] = 1;
        a++;
        sx += i & 63;
        sy += i >> 6;
      }
    }
    if (a === 0) return { iou: 0, classes: [0, 0, 0, 0, 0] };
    const mx = sx / a + 0.5, my = sy / a + 0.5;
    // Two nearest scales by area, per shape (areas at orientation 0).
    const keep = new Set<string>();
    for (let shape = 1; shape <= 3; shape++) {
      const byArea = [0, 1, 2, 3, 4, 5].map((sc) => {
        const c = this.cands[((shape - 1) * 6 + sc) * 40];
        return { sc, d: Math.abs(Math.log(c.area / a)) };
      }).sort((p, q) => p.d - q.d);
      for (const { sc } of byArea.slice(0, 2)) keep.add(`${shape}:${sc}`);
    }
    let best: SpriteMatch = { iou: -1, classes: [] };
    for (const c of this.cands) {
      if (!keep.has(`${c.shape}:${c.scaleClass}`)) continue;
      const kx0 = Math.round(((mx - c.offX - 16) * 31) / 32), ky0 = Math.round(((my - c.offY - 16) * 31) / 32);
      for (let ky = Math.max(0, ky0 - 1); ky <= Math.min(31, ky0 + 1); ky++) {
        for (let kx = Math.max(0, kx0 - 1); kx <= Math.min(31, kx0 + 1); kx++) {
          const iou = this.iouWith(frame, a, c.shape, c.scaleClass, c.orientClass, kx, ky);
          if (iou > best.iou) best = { iou, classes: [c.shape - 1, c.scaleClass, c.orientClass, kx, ky] };
        }
      }
    }
    return best;
  }
}
