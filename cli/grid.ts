/**
 * `deno task grid --dataset dsprites --out docs/img/dsprites.png [--traverse] [--n 64] [--seed 0] [--cols 8]
 *  [--celeba-dir DIR] [--celeba-size 32|64] [--compare-original] [--gif]`: writes a PNG grid of dataset samples (or factor
 *  traversals; or, for dsprites with --compare-original, frames of the original sample GIF above our best matches; or with
 *  --gif an animated traversal, one column per factor).
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { datasetGridPng, dspritesVsOriginalPng, traversalGif } from "../lib/viz/dataset_grid.ts";
import { writePng } from "../lib/viz/grid.ts";

const Flags = z.object({
  dataset: z.enum(["dsprites", "teapots", "celeba"]),
  out: z.string().min(1),
  traverse: z.boolean().default(false),
  "compare-original": z.boolean().default(false),
  gif: z.boolean().default(false),
  n: z.coerce.number().int().positive().max(1024).default(64),
  seed: z.coerce.number().int().default(0),
  cols: z.coerce.number().int().positive().optional(),
  "celeba-dir": z.string().optional(),
  "celeba-size": z.coerce.number().pipe(z.union([z.literal(32), z.literal(64)])).optional(),
}).strict();

const { values } = parseArgs({
  args: Deno.args,
  options: {
    dataset: { type: "string" },
    out: { type: "string" },
    traverse: { type: "boolean" },
    "compare-original": { type: "boolean" },
    gif: { type: "boolean" },
    n: { type: "string" },
    seed: { type: "string" },
    cols: { type: "string" },
    "celeba-dir": { type: "string" },
    "celeba-size": { type: "string" },
  },
  strict: true,
});
const parsed = Flags.safeParse(values);
if (!parsed.success) {
  console.error(`grid: bad flags: ${parsed.error.issues.map((i) => `--${i.path.join(".")}: ${i.message}`).join("; ")}`);
  console.error("usage: deno task grid --dataset dsprites|teapots|celeba --out FILE.png [--traverse] [--n 64]");
  Deno.exit(2);
}
const f = parsed.data;
const t0 = performance.now();
let png: Uint8Array;
if (f.gif) {
  if (f.dataset === "celeba") throw new Error("--gif traverses factors: dsprites or teapots only");
  png = await traversalGif(f.dataset);
} else if (f["compare-original"]) {
  if (f.dataset !== "dsprites") throw new Error("--compare-original applies to --dataset dsprites only");
  const r = await dspritesVsOriginalPng();
  png = r.png;
  console.log(`mean best IoU of the shown frames: ${(r.ious.reduce((a, b) => a + b, 0) / r.ious.length).toFixed(4)}`);
} else {
  png = await datasetGridPng(f.dataset, {
    n: f.n,
    seed: f.seed,
    cols: f.cols,
    traverse: f.traverse,
    celebaDir: f["celeba-dir"],
    celebaSize: f["celeba-size"] as 32 | 64 | undefined,
  });
}
await writePng(f.out, png);
console.log(`wrote ${f.out} (${png.length} bytes, ${(performance.now() - t0).toFixed(0)} ms)`);
