import assert from "node:assert/strict";
import sharp from "sharp";
import {
  classesToIndex,
  drawSprite,
  DSprites,
  DSPRITES_TOTAL,
  indexToClasses,
  indexToValues,
  ORIENTATION_VALUES,
  POSITION_VALUES,
  SCALE_VALUES,
} from "../lib/data/dsprites.ts";
import { SpriteMatcher } from "../lib/data/dsprites_match.ts";
import { Rng } from "../lib/rng.ts";

/** One sprite as 0/1 bytes. */
function sprite(shape: number, sc: number, or: number, px: number, py: number): Uint8Array {
  const b = new Uint8Array(4096);
  drawSprite(b, 0, shape, SCALE_VALUES[sc], ORIENTATION_VALUES[or], POSITION_VALUES[px], POSITION_VALUES[py]);
  return b;
}

/** Area, centroid (continuous coordinates) and second central moments. */
function moments(b: Uint8Array) {
  let a = 0, sx = 0, sy = 0;
  for (let i = 0; i < 4096; i++) if (b[i]) [a, sx, sy] = [a + 1, sx + (i & 63) + 0.5, sy + (i >> 6) + 0.5];
  const mx = sx / a, my = sy / a;
  let xx = 0, yy = 0, xy = 0;
  for (let i = 0; i < 4096; i++) {
    if (!b[i]) continue;
    const dx = (i & 63) + 0.5 - mx, dy = (i >> 6) + 0.5 - my;
    xx += dx * dx;
    yy += dy * dy;
    xy += dx * dy;
  }
  return { a, mx, my, xx: xx / a, yy: yy / a, xy: xy / a };
}

function iou(p: Uint8Array, q: Uint8Array): number {
  let i = 0, u = 0;
  for (let k = 0; k < 4096; k++) {
    i += p[k] & q[k];
    u += p[k] | q[k];
  }
  return i / u;
}

Deno.test("dsprites: factor grid and index order match the original (posY fastest)", () => {
  const ds = new DSprites();
  assert.equal(ds.size, 737_280);
  assert.deepEqual(ds.factors.map((f) => f.values!.length), [3, 6, 40, 32, 32]);
  assert.deepEqual(ds.factors[0].values, [1, 2, 3]);
  assert.deepEqual(SCALE_VALUES, [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]);
  assert.equal(ORIENTATION_VALUES[0], 0);
  assert.ok(Math.abs(ORIENTATION_VALUES[39] - 2 * Math.PI) < 1e-12);
  assert.ok(Math.abs(ORIENTATION_VALUES[1] - 0.16110731556870733) < 1e-12);
  assert.equal(POSITION_VALUES[31], 1);
  assert.deepEqual(indexToClasses(1), [0, 0, 0, 0, 1]);
  assert.deepEqual(indexToClasses(32), [0, 0, 0, 1, 0]);
  assert.deepEqual(indexToClasses(1024), [0, 0, 1, 0, 0]);
  assert.deepEqual(indexToClasses(40960), [0, 1, 0, 0, 0]);
  assert.deepEqual(indexToClasses(245760), [1, 0, 0, 0, 0]);
  assert.deepEqual(indexToClasses(DSPRITES_TOTAL - 1), [2, 5, 39, 31, 31]);
  assert.deepEqual(indexToValues(245760 * 2 + 40960 * 5 + 31), [3, 1, 0, 0, 1]);
  assert.throws(() => indexToClasses(DSPRITES_TOTAL), /737280/);
  assert.throws(() => classesToIndex([0, 6, 0, 0, 0]), /class 1/);
});

Deno.test("dsprites: index -> classes -> index round-trips over all 737,280 indices, classes lexicographic", () => {
  let prev = [-1, 0, 0, 0, 0];
  for (let i = 0; i < DSPRITES_TOTAL; i++) {
    const c = indexToClasses(i);
    if (classesToIndex(c) !== i) assert.fail(`round trip broke at ${i}`);
    // Lexicographic successor of the previous classes (posY fastest).
    const next = prev.slice();
    for (let k = 4; k >= 0; k--) {
      next[k]++;
      if (next[k] < [3, 6, 40, 32, 32][k]) break;
      next[k] = 0;
    }
    if (i > 0 && c.join() !== next.join()) assert.fail(`index ${i}: ${c} is not the successor of ${prev}`);
    prev = c;
  }
});

Deno.test("dsprites: factorClasses inverts factor values; sampling is seeded", () => {
  const ds = new DSprites();
  const f = ds.sampleFactors(500, new Rng(3));
  assert.deepEqual(f, ds.sampleFactors(500, new Rng(3)));
  assert.notDeepEqual(f, ds.sampleFactors(500, new Rng(4)));
  const cls = ds.factorClasses(f);
  for (let i = 0; i < 500; i++) {
    const vals = indexToValues(classesToIndex(Array.from(cls.subarray(i * 5, i * 5 + 5))));
    for (let k = 0; k < 5; k++) assert.ok(Math.abs(vals[k] - f[i * 5 + k]) < 1e-6);
  }
  // Every class of a factor is hit.
  for (let k = 0; k < 5; k++) {
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(cls[i * 5 + k]);
    assert.equal(seen.size, [3, 6, 40, 32, 32][k]);
  }
});

Deno.test("dsprites: images(indices), render(factors) and observe agree; binary values", () => {
  const ds = new DSprites();
  const idx = Int32Array.from([0, 12345, 500000, 737279]);
  const a = ds.images(idx);
  const f = new Float32Array(idx.length * 5);
  idx.forEach((v, i) => f.set(indexToValues(v), i * 5));
  assert.deepEqual(a, ds.render(f));
  const t = ds.observe(f);
  assert.deepEqual(t.shape, [4, 64, 64, 1]);
  assert.deepEqual(new Float32Array(t.dataSync()), a);
  t.dispose();
  assert.ok(a.every((v) => v === 0 || v === 1));
  // A preallocated buffer is overwritten, not accumulated.
  const out = new Float32Array(4 * 4096).fill(1);
  assert.deepEqual(ds.images(idx, out), a);
});

Deno.test("dsprites: posX moves the centroid right and posY down by 32/31 px per step", () => {
  for (const shape of [1, 2, 3]) {
    let prevX = -Infinity, prevY = -Infinity;
    for (let k = 0; k < 32; k++) {
      const mx = moments(sprite(shape, 3, 0, k, 16)).mx;
      const my = moments(sprite(shape, 3, 0, 16, k)).my;
      assert.ok(mx > prevX && my > prevY, `shape ${shape} pos ${k}`);
      if (shape !== 3) assert.ok(Math.abs(mx - (16 + (32 * k) / 31)) < 0.6, `centre of shape ${shape} at ${k}: ${mx}`);
      [prevX, prevY] = [mx, my];
    }
  }
});

Deno.test("dsprites: scale increases the area monotonically; sizes at scale 1 match the original", () => {
  for (const shape of [1, 2, 3]) {
    for (const or of [0, 7, 23]) {
      let prev = 0;
      for (let sc = 0; sc < 6; sc++) {
        const a = moments(sprite(shape, sc, or, 16, 16)).a;
        assert.ok(a > prev, `shape ${shape} orientation ${or} scale ${sc}: ${a} <= ${prev}`);
        prev = a;
      }
    }
  }
  assert.equal(moments(sprite(1, 5, 0, 0, 0)).a, 400); // 20 x 20 upright, as the original
  assert.equal(moments(sprite(1, 0, 0, 0, 0)).a, 100);
  assert.ok(Math.abs(moments(sprite(2, 5, 0, 0, 0)).a - 288) <= 8);
  const heart = moments(sprite(3, 5, 0, 0, 0));
  assert.ok(Math.abs(heart.a - 222) <= 8, `heart area ${heart.a}`);
  assert.ok(heart.my < 16 - 1.4 && heart.my > 16 - 2.6, `heart centroid ${heart.my} should be ~2 px above 16`);
});

Deno.test("dsprites: orientation turns the ellipse's principal axis counter-clockwise as displayed", () => {
  for (let or = 0; or < 40; or++) {
    const m = moments(sprite(2, 5, or, 16, 16));
    // Principal axis angle with y flipped to point up (counter-clockwise positive as displayed).
    const angle = 0.5 * Math.atan2(-2 * m.xy, m.xx - m.yy);
    const want = ORIENTATION_VALUES[or];
    let d = (angle - want) % Math.PI;
    if (d > Math.PI / 2) d -= Math.PI;
    if (d < -Math.PI / 2) d += Math.PI;
    assert.ok(Math.abs(d) < 0.06, `orientation ${or}: axis ${angle.toFixed(3)} vs ${want.toFixed(3)}`);
  }
  // Orientation 0 and 2 pi draw the same image (the original's grid repeats its first value).
  assert.deepEqual(sprite(3, 4, 0, 9, 20), sprite(3, 4, 39, 9, 20));
  // The heart is not symmetric under a half turn.
  assert.ok(iou(sprite(3, 5, 0, 16, 16), sprite(3, 5, 20, 16, 16)) < 0.8);
});

Deno.test("dsprites: the three shapes differ", () => {
  for (const sc of [0, 5]) {
    const s = [1, 2, 3].map((shape) => sprite(shape, sc, 0, 16, 16));
    assert.ok(iou(s[0], s[1]) < 0.85 && iou(s[0], s[2]) < 0.85 && iou(s[1], s[2]) < 0.85);
  }
});

Deno.test("dsprites: best IoU against the 320 original frames (dsprites-original-sample.gif)", async () => {
  const gif = await Deno.readFile(new URL("../data/dsprites-original-sample.gif", import.meta.url));
  const { data, info } = await sharp(gif, { animated: true }).raw().toBuffer({ resolveWithObject: true });
  const frames = info.height / 64;
  assert.equal(frames, 320);
  const m = new SpriteMatcher();
  const per: number[][] = [[], [], []];
  for (let f = 0; f < frames; f++) {
    const frame = new Uint8Array(4096);
    for (let p = 0; p < 4096; p++) frame[p] = data[(f * 4096 + p) * info.channels] > 127 ? 1 : 0;
    const r = m.match(frame);
    per[r.classes[0]].push(r.iou);
  }
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const all = mean(per.flat());
  console.log(
    `best IoU vs original frames: mean ${all.toFixed(4)}; square ${mean(per[0]).toFixed(4)} (${per[0].length}),` +
      ` ellipse ${mean(per[1]).toFixed(4)} (${per[1].length}), heart ${mean(per[2]).toFixed(4)} (${per[2].length})`,
  );
  assert.ok(all >= 0.97, `mean best IoU ${all}`);
  assert.ok(mean(per[0]) >= 0.995 && mean(per[1]) >= 0.985 && mean(per[2]) >= 0.95);
  // The sample holds all three shapes.
  assert.ok(per.every((p) => p.length >= 50));
});
