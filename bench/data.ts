/**
 * Data throughput, for `deno task bench` (and standalone: `deno run -A bench/data.ts`): images per second for dSprites
 * rendering (random grid indices through the tensor-free fast path), 3DTeapots rendering (random factors), batch
 * iteration (dSprites, batch 64, as training uses it), and reading a cached teapot set.
 */
import { BatchIterator } from "../lib/data/batches.ts";
import { DSprites } from "../lib/data/dsprites.ts";
import { Teapots } from "../lib/data/teapots.ts";
import { Rng } from "../lib/rng.ts";

/** Runs `step` (which handles `per` images) until `minMs` has passed; returns images per second. */
function rate(per: number, step: () => void, minMs: number): number {
  step(); // warm-up (JIT)
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    step();
    n += per;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

export async function benchData(opts: { minMs?: number } = {}): Promise<Record<string, number | string>> {
  const minMs = opts.minMs ?? 1500;
  const rng = new Rng(0);
  const ds = new DSprites();
  const out = new Float32Array(64 * 4096);
  const dsprites = rate(64, () => {
    const idx = Int32Array.from({ length: 64 }, () => rng.int(ds.size));
    ds.images(idx, out);
  }, minMs);

  const tp = new Teapots();
  const tout = new Float32Array(16 * 64 * 64 * 3);
  const teapots = rate(16, () => tp.render(tp.sampleFactors(16, rng), tout), minMs);

  const it = new BatchIterator(ds, 64, new Rng(1));
  const batches = rate(64, () => it.next(), minMs);

  const dir = await Deno.makeTempDir({ prefix: "igcr-bench-" });
  let cached = 0;
  try {
    const set = await Teapots.open({ count: 256, seed: 0, cacheDir: dir });
    const cit = new BatchIterator(set, 64, new Rng(2));
    cached = rate(64, () => cit.next(), minMs);
    set.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return {
    "data.dsprites_render_images_per_s": Math.round(dsprites),
    "data.teapots_render_images_per_s": Math.round(teapots),
    "data.dsprites_batch64_images_per_s": Math.round(batches),
    "data.teapots_cached_batch64_images_per_s": Math.round(cached),
    "data.note": "single thread, JS; teapots 3x3 supersampled, 4096 triangles",
  };
}

if (import.meta.main) {
  console.log(JSON.stringify(await benchData(), null, 2));
}
