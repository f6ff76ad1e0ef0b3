/**
 * Datasets by name, for configs and commands: each comes back ready to train on (`size` and `images(indices)` over its
 * training images) and, where factors are known, ready for the metrics.
 */
import type { GroundTruthData } from "./ground_truth.ts";
import { DSprites } from "./dsprites.ts";
import { Teapots } from "./teapots.ts";
import { loadCeleba } from "./celeba.ts";
import { openDspritesArchive } from "./dsprites_original.ts";
import { dspritesNpzPath } from "./dsprites_npz.ts";
import type { DataSourceRecord } from "./source.ts";

export type DatasetName = "dsprites" | "teapots" | "celeba";
export const DATASET_NAMES: DatasetName[] = ["dsprites", "teapots", "celeba"];

export type TrainingData = GroundTruthData & {
  size: number;
  images(indices: Int32Array, out?: Float32Array): Float32Array;
};

export interface DatasetOptions {
  /**
   * dSprites: the original archive `dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz` to train and score on, else the
   * environment variable IGCR_DSPRITES_NPZ; neither set = the procedural renderer.
   */
  npz?: string;
  /** dSprites: the SHA-256 the archive must have (a run's recorded file); a different file is an error. */
  sha256?: string;
  /** Teapots: training-set size (default: the paper's 200,000) and its seed (default 1). */
  count?: number;
  seed?: number;
  /**
   * Teapots: render the training set once into data/cache (true) or render each batch from its factor rows when asked
   * (false, the default: nothing is written, nothing is rendered up front). Default from IGCR_TEAPOTS_CACHE=1.
   */
  cache?: boolean;
  /** CelebA: folder (else IGCR_CELEBA_DIR), output size, file limit, skipping unreadable files. */
  dir?: string;
  size?: 32 | 64;
  limit?: number;
  skipUnreadable?: boolean;
  /** Cache folder for generated sets (default data/cache). */
  cacheDir?: string;
  onProgress?: (done: number, total: number) => void;
}

export async function datasetByName(name: DatasetName, opts: DatasetOptions = {}): Promise<TrainingData> {
  switch (name) {
    case "dsprites": {
      const path = dspritesNpzPath(opts.npz);
      if (!path) return new DSprites();
      const data = await openDspritesArchive(path);
      if (opts.sha256 !== undefined && data.source.sha256 !== opts.sha256) {
        throw new Error(
          `${path} has sha256 ${data.source.sha256}, not ${opts.sha256} as recorded for this run: it is a different ` +
            "file (set IGCR_DSPRITES_NPZ to the archive the run used)",
        );
      }
      return data as TrainingData;
    }
    case "teapots": {
      const count = opts.count ?? 200_000, seed = opts.seed ?? 1;
      const cache = opts.cache ?? Deno.env.get("IGCR_TEAPOTS_CACHE") === "1";
      if (!cache) return Teapots.virtual({ count, seed }) as TrainingData;
      return await Teapots.open({ count, seed, cacheDir: opts.cacheDir, onProgress: opts.onProgress }) as TrainingData;
    }
    case "celeba":
      return await loadCeleba({
        dir: opts.dir,
        size: opts.size,
        limit: opts.limit,
        skipUnreadable: opts.skipUnreadable,
        cacheDir: opts.cacheDir,
        onProgress: opts.onProgress,
      });
    default:
      throw new Error(`unknown dataset ${JSON.stringify(name)} (known: ${DATASET_NAMES.join(", ")})`);
  }
}

/**
 * The dataset a run's config names, from the file it recorded (`data`: the original dSprites archive, checked by its
 * sha256; IGCR_DSPRITES_NPZ may point to the same file elsewhere), else as `datasetByName` gives it.
 */
export async function datasetForConfig(
  config: { dataset: DatasetName; data?: DataSourceRecord },
  opts: DatasetOptions = {},
): Promise<TrainingData> {
  const rec = config.data;
  if (!rec) return await datasetByName(config.dataset, opts);
  return await datasetByName(config.dataset, {
    ...opts,
    npz: dspritesNpzPath(opts.npz) ?? rec.path,
    sha256: rec.sha256,
  });
}
