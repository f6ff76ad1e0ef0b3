/**
 * 3DTeapots, rendered by the project: the Utah teapot at 64x64x3 with the five factors of the paper's variant (a),
 * `all_color_incomplete_rotation_up_light`: azimuth U[0, 2pi], elevation U[0, pi/2], red, green, blue U[0, 1]; fixed
 * light, white background (scene details in teapot_render.ts).
 *
 * Training uses a fixed set of images, like the paper's 200,000: `count` factor rows drawn from `seed`. Two ways to hold it:
 * - `Teapots.open({ count, seed })` renders it once and caches it under data/cache/ as uint8 pixels + float32 factor
 *   values + a JSON manifest (seed, count, files), every file written atomically; later calls read the cache;
 * - `Teapots.virtual({ count, seed })` keeps only the factor rows and renders a batch when it is asked for (no disk,
 *   no start-up cost; about 1-2k images/s on one core). Both draw the same factor rows for the same seed and count.
 */
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { Rng } from "../rng.ts";
import { classesOfFactors, type FactorSpec, type GroundTruthData } from "./ground_truth.ts";
import { DEFAULT_TEAPOT_PATH, loadTeapotPatches, tessellate, type TriangleMesh } from "./teapot_mesh.ts";
import { TeapotRenderer } from "./teapot_render.ts";
import { U8Images } from "./u8_images.ts";

export const TEAPOT_FACTORS: FactorSpec[] = [
  { name: "azimuth", kind: "continuous", range: [0, 2 * Math.PI] },
  { name: "elevation", kind: "continuous", range: [0, Math.PI / 2] },
  { name: "red", kind: "continuous", range: [0, 1] },
  { name: "green", kind: "continuous", range: [0, 1] },
  { name: "blue", kind: "continuous", range: [0, 1] },
];

const PX = 64 * 64 * 3;
/** Bump when the renderer's output changes, so stale caches are not reused. */
export const TEAPOT_RENDER_VERSION = 1;

export const TeapotManifest = z.object({
  dataset: z.literal("teapots"),
  version: z.number().int(),
  seed: z.number().int(),
  count: z.number().int().positive(),
  imageShape: z.tuple([z.literal(64), z.literal(64), z.literal(3)]),
  imagesFile: z.string(),
  factorsFile: z.string(),
  factorNames: z.array(z.string()),
  supersample: z.number().int().positive(),
  tessellation: z.number().int().positive(),
}).strict();
export type TeapotManifest = z.infer<typeof TeapotManifest>;

export interface TeapotOptions {
  /** Supersampling per axis (default 3: 9 samples per pixel). */
  supersample?: number;
  /** Quads per patch side (default 8). */
  tessellation?: number;
  /** Patch file (default data/utah-teapot.json). */
  patchPath?: string | URL;
}

export interface TeapotOpenOptions extends TeapotOptions {
  /** Training set size: the paper's 200,000; smaller for the cpu and smoke profiles. */
  count: number;
  seed: number;
  /** Cache folder (default data/cache). */
  cacheDir?: string;
  /** Progress callback during generation. */
  onProgress?: (done: number, total: number) => void;
}

let meshCache: { key: string; mesh: TriangleMesh } | null = null;

function meshFor(opts: TeapotOptions): TriangleMesh {
  const key = `${opts.patchPath ?? DEFAULT_TEAPOT_PATH}|${opts.tessellation ?? 8}`;
  if (meshCache?.key !== key) {
    meshCache = { key, mesh: tessellate(loadTeapotPatches(opts.patchPath), opts.tessellation) };
  }
  return meshCache.mesh;
}

export class Teapots implements GroundTruthData {
  readonly name = "teapots";
  readonly imageShape: [number, number, number] = [64, 64, 3];
  readonly valueRange: [number, number] = [0, 1];
  readonly factors = TEAPOT_FACTORS;
  readonly renderer: TeapotRenderer;
  private cache: { manifest: TeapotManifest; pixels: U8Images; factors: Float32Array } | null = null;
  private virtualFactors: Float32Array | null = null;

  constructor(readonly options: TeapotOptions = {}) {
    this.renderer = new TeapotRenderer(meshFor(options), { supersample: options.supersample ?? 3 });
  }

  /** Training-set size once a set is attached (`Teapots.open`); undefined for a render-only instance. */
  get size(): number | undefined {
    return this.cache?.manifest.count ?? (this.virtualFactors ? this.virtualFactors.length / 5 : undefined);
  }

  /** Factor values of the attached training set (count x 5). */
  get trainingFactors(): Float32Array | undefined {
    return this.cache?.factors ?? this.virtualFactors ?? undefined;
  }

  sampleFactors(n: number, rng: Rng): Float32Array {
    const out = new Float32Array(n * 5);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 5; k++) {
        const [lo, hi] = TEAPOT_FACTORS[k].range!;
        out[i * 5 + k] = rng.uniform(lo, hi);
      }
    }
    return out;
  }

  render(factors: Float32Array, out?: Float32Array): Float32Array {
    if (factors.length % 5 !== 0) throw new Error(`teapots: ${factors.length} factor values is not n x 5`);
    const n = factors.length / 5;
    const dst = out ?? new Float32Array(n * PX);
    if (dst.length < n * PX) throw new Error(`teapots render: out holds ${dst.length} values, need ${n * PX}`);
    for (let i = 0; i < n; i++) this.renderer.render(viewOf(factors, i), dst, i * PX);
    return dst;
  }

  observe(factors: Float32Array): tf.Tensor4D {
    return tf.tensor4d(this.render(factors), [factors.length / 5, 64, 64, 3]);
  }

  /** Images of the attached training set, by index (values k/255). */
  images(indices: Int32Array, out?: Float32Array): Float32Array {
    if (this.cache) return this.cache.pixels.read(indices, out);
    const f = this.virtualFactors;
    if (!f) throw new Error("teapots: no training set attached; use `await Teapots.open({ count, seed })`");
    const n = f.length / 5;
    const rows = new Float32Array(indices.length * 5);
    for (let i = 0; i < indices.length; i++) {
      const idx = indices[i];
      if (!(idx >= 0 && idx < n)) throw new Error(`teapots: index ${idx} out of [0, ${n})`);
      rows.set(f.subarray(idx * 5, idx * 5 + 5), i * 5);
    }
    return this.render(rows, out);
  }

  factorClasses(factors: Float32Array, bins = 20): Int32Array {
    return classesOfFactors(this.factors, factors, bins);
  }

  close(): void {
    this.cache?.pixels.close();
  }

  /** A Teapots whose training set is rendered batch by batch from its factor rows (nothing on disk). */
  static virtual(opts: { count: number; seed: number } & TeapotOptions): Teapots & { size: number } {
    if (!Number.isInteger(opts.count) || opts.count <= 0) {
      throw new Error(`teapots: count must be > 0, got ${opts.count}`);
    }
    const t = new Teapots(opts);
    t.virtualFactors = trainingFactorRows(t, opts.count, opts.seed);
    return t as Teapots & { size: number };
  }

  /** A Teapots with its training set: read from data/cache when present, rendered and written there otherwise. */
  static async open(opts: TeapotOpenOptions): Promise<Teapots & { size: number }> {
    if (!Number.isInteger(opts.count) || opts.count <= 0) {
      throw new Error(`teapots: count must be > 0, got ${opts.count}`);
    }
    const t = new Teapots(opts);
    const dir = opts.cacheDir ?? "data/cache";
    const ss = opts.supersample ?? 3, tess = opts.tessellation ?? 8;
    const stem = `teapots-v${TEAPOT_RENDER_VERSION}-s${opts.seed}-n${opts.count}-ss${ss}-t${tess}`;
    const manifestPath = `${dir}/${stem}.json`;
    let manifest: TeapotManifest | null = null;
    try {
      manifest = TeapotManifest.parse(JSON.parse(await Deno.readTextFile(manifestPath)));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new Error(
          `teapot cache manifest ${manifestPath} is corrupt (${(e as Error).message}); delete it to rebuild`,
        );
      }
    }
    if (!manifest) manifest = await buildTeapotCache(t, dir, stem, opts, ss, tess);
    const factorsPath = `${dir}/${manifest.factorsFile}`;
    const fbytes = await Deno.readFile(factorsPath);
    if (fbytes.length !== manifest.count * 5 * 4) throw new Error(`teapot cache ${factorsPath}: wrong size`);
    const factors = new Float32Array(fbytes.buffer, fbytes.byteOffset, manifest.count * 5);
    t.cache = { manifest, pixels: new U8Images(`${dir}/${manifest.imagesFile}`, manifest.count, [64, 64, 3]), factors };
    return t as Teapots & { size: number };
  }
}

/** The training set's factor rows: the same for cached and virtual sets of one seed and count. */
function trainingFactorRows(t: Teapots, count: number, seed: number): Float32Array {
  return t.sampleFactors(count, new Rng(seed).fork("teapots-train"));
}

function viewOf(f: Float32Array, i: number) {
  const o = i * 5;
  return { azimuth: f[o], elevation: f[o + 1], r: f[o + 2], g: f[o + 3], b: f[o + 4] };
}

async function buildTeapotCache(
  t: Teapots,
  dir: string,
  stem: string,
  opts: TeapotOpenOptions,
  ss: number,
  tess: number,
): Promise<TeapotManifest> {
  await Deno.mkdir(dir, { recursive: true });
  const factors = trainingFactorRows(t, opts.count, opts.seed);
  const tag = `${Deno.pid}-${Date.now()}`;
  const imagesFile = `${stem}.u8`, factorsFile = `${stem}.factors.f32`;
  const tmpImages = `${dir}/${imagesFile}.tmp-${tag}`, tmpFactors = `${dir}/${factorsFile}.tmp-${tag}`;
  const tmpManifest = `${dir}/${stem}.json.tmp-${tag}`;
  const file = await Deno.open(tmpImages, { write: true, create: true, truncate: true });
  try {
    const chunk = 256;
    const bytes = new Uint8Array(chunk * PX);
    for (let s = 0; s < opts.count; s += chunk) {
      const m = Math.min(chunk, opts.count - s);
      for (let i = 0; i < m; i++) t.renderer.render(viewOf(factors, s + i), bytes, i * PX, true);
      let w = 0;
      const part = bytes.subarray(0, m * PX);
      while (w < part.length) w += await file.write(part.subarray(w));
      opts.onProgress?.(s + m, opts.count);
    }
  } catch (e) {
    file.close();
    await Deno.remove(tmpImages).catch(() => {});
    throw e;
  }
  file.close();
  await Deno.writeFile(tmpFactors, new Uint8Array(factors.buffer));
  const manifest: TeapotManifest = {
    dataset: "teapots",
    version: TEAPOT_RENDER_VERSION,
    seed: opts.seed,
    count: opts.count,
    imageShape: [64, 64, 3],
    imagesFile,
    factorsFile,
    factorNames: TEAPOT_FACTORS.map((f) => f.name),
    supersample: ss,
    tessellation: tess,
  };
  await Deno.writeTextFile(tmpManifest, JSON.stringify(manifest, null, 2) + "\n");
  // Data files first, manifest last: a manifest on disk means its files are complete.
  await Deno.rename(tmpImages, `${dir}/${imagesFile}`);
  await Deno.rename(tmpFactors, `${dir}/${factorsFile}`);
  await Deno.rename(tmpManifest, `${dir}/${stem}.json`);
  return manifest;
}
