/** Test helpers for the GAN model and trainer tests: a tiny stand-in dataset and a small config. */
import { presetFor } from "../lib/config/gan.ts";
import type { GanConfig } from "../lib/config/gan.ts";
import type { TrainingData } from "../lib/train/trainer.ts";

/** 16x16x1 images of a filled square: 4 sizes x 8 x 8 positions (256 images), pixels 0/1 like dSprites. */
export function tinySquares(side = 16): TrainingData {
  const sizes = [3, 4, 5, 6];
  const size = sizes.length * 64;
  return {
    size,
    imageShape: [side, side, 1],
    images(indices: Int32Array, out?: Float32Array): Float32Array {
      const px = side * side;
      const dst = out ?? new Float32Array(indices.length * px);
      dst.fill(0, 0, indices.length * px);
      indices.forEach((idx, i) => {
        const s = sizes[Math.floor(idx / 64)], x = (idx % 64) % 8, y = Math.floor((idx % 64) / 8);
        for (let r = y; r < Math.min(side, y + s); r++) {
          for (let c = x; c < Math.min(side, x + s); c++) dst[i * px + r * side + c] = 1;
        }
      });
      return dst;
    },
  };
}

/** The dSprites smoke preset with tiny cadences; `over` replaces top-level keys. */
export function tinyConfig(over: Partial<GanConfig> = {}): GanConfig {
  return { ...presetFor("dsprites", "smoke", { seed: 7 }), batchSize: 4, ...over };
}
