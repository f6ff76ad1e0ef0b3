/**
 * `deno task grid --dataset dsprites --out docs/img/dsprites.png [--traverse] [--n 64] [--seed 0] [--cols 8]
 *  [--celeba-dir DIR] [--celeba-size 32|64] [--compare-original] [--gif]`: writes a PNG grid of dataset samples (or factor
 *  traversals; or, for dsprites with --compare-original, frames of the original sample GIF above our best matches; or with
 *  --gif an animated traversal, one column per factor).
 */
import { z } from "zod";
import { defineCommand, UsageError } from "../lib/cli/command.ts";

export const command = defineCommand({
  name: "grid",
  summary: "writes a PNG grid (and factor traversals) of a dataset",
  flags: {
    dataset: { type: "string", schema: z.enum(["dsprites", "teapots", "celeba"]), required: true, doc: "the dataset" },
    out: {
      type: "string",
      schema: z.string().min(1),
      required: true,
      placeholder: "FILE.png",
      doc: "the image to write",
    },
    traverse: { type: "boolean", inUsage: true, doc: "one row per factor stepping over its range, the others fixed" },
    gif: { type: "boolean", doc: "an animated traversal, one column per factor (dsprites or teapots)" },
    "compare-original": {
      type: "boolean",
      doc: "frames of the original dSprites sample GIF above our best matches (dsprites)",
    },
    n: { type: "number", schema: z.number().int().positive().max(1024), default: 64, doc: "how many samples" },
    seed: { type: "number", schema: z.number().int(), default: 0, doc: "the seed of the sampled factors" },
    cols: { type: "number", schema: z.number().int().positive(), defaultDoc: "a square grid", doc: "columns" },
    "celeba-dir": { type: "string", placeholder: "DIR", defaultDoc: "IGCR_CELEBA_DIR", doc: "CelebA's image folder" },
    "celeba-size": { type: "number", schema: z.literal([32, 64]), doc: "CelebA's image side" },
  },
  examples: [
    "deno task grid --dataset dsprites --traverse --out docs/img/dsprites.png",
    "deno task grid --dataset teapots --gif --out teapots.gif",
  ],
  check(f) {
    if (f.gif && f.dataset === "celeba") throw new UsageError("--gif traverses factors: --dataset dsprites or teapots");
    if (f["compare-original"] && f.dataset !== "dsprites") {
      throw new UsageError("--compare-original applies to --dataset dsprites only");
    }
  },
});

if (import.meta.main) {
  await command.run(async (f) => {
    const { datasetGridPng, dspritesVsOriginalPng, traversalGif } = await import("../lib/viz/dataset_grid.ts");
    const { writePng } = await import("../lib/viz/grid.ts");
    const t0 = performance.now();
    let png: Uint8Array;
    if (f.gif) {
      png = await traversalGif(f.dataset as "dsprites" | "teapots");
    } else if (f["compare-original"]) {
      const r = await dspritesVsOriginalPng();
      png = r.png;
      console.log(
        `mean best IoU of the shown frames: ${(r.ious.reduce((a, b) => a + b, 0) / r.ious.length).toFixed(4)}`,
      );
    } else {
      png = await datasetGridPng(f.dataset, {
        n: f.n,
        seed: f.seed,
        cols: f.cols,
        traverse: f.traverse,
        celebaDir: f["celeba-dir"],
        celebaSize: f["celeba-size"],
      });
    }
    await writePng(f.out, png);
    console.log(`wrote ${f.out} (${png.length} bytes, ${(performance.now() - t0).toFixed(0)} ms)`);
  });
}
