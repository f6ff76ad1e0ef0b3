/**
 * Where a dataset's images come from. dSprites is drawn by the toolkit's own renderer unless the original archive is
 * given (`IGCR_DSPRITES_NPZ`, or the dataset option `npz`); a run trained on the original records the file in its
 * config (`data`: path and sha256), and every metrics result records the source it was scored on, so a number never
 * stands without saying which images produced it.
 */
import { z } from "zod";

/** A data file a run or a score used: the path it was opened from and the SHA-256 of its bytes. */
export const DataSourceRecord = z.strictObject({
  kind: z.literal("dsprites-npz"),
  path: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits"),
  /** Images in the file (737,280 for the original). */
  images: z.number().int().positive(),
});
export type DataSourceRecord = z.infer<typeof DataSourceRecord>;

/** A file, or the toolkit's own images (dSprites' procedural renderer, our 3DTeapots renders, a test dataset). */
export type DataSourceInfo = DataSourceRecord | { kind: "built-in"; dataset: string };

/** The source of a dataset object: its `source` record when it was read from a file, else built-in. */
export function dataSourceOf(data: { name: string; source?: DataSourceRecord }): DataSourceInfo {
  return data.source ?? { kind: "built-in", dataset: data.name };
}

/** One line for reports and logs. */
export function describeDataSource(info: DataSourceInfo): string {
  if (info.kind === "dsprites-npz") {
    return `the original dSprites archive ${info.path} (${info.images.toLocaleString("en-US")} images, sha256 ` +
      `${info.sha256.slice(0, 12)}…)`;
  }
  if (info.dataset === "dsprites") {
    return "dSprites drawn by this toolkit's procedural renderer (not the original file)";
  }
  if (info.dataset === "teapots") return "3DTeapots rendered by this toolkit (not the authors' OpenDR renders)";
  return `${info.dataset}, as this toolkit makes it`;
}

/**
 * A config with the data source it was trained on: `data` set to the file's record, or removed for built-in images
 * (so configs of runs on built-in images stay as they always were, and match the shipped models').
 */
export function withDataSource<C extends { data?: DataSourceRecord }>(
  config: C,
  data: object,
): C {
  // Any dataset object: only one read from a file carries a `source` record.
  const source = (data as { source?: DataSourceRecord }).source;
  const { data: _old, ...rest } = config;
  return (source ? { ...rest, data: source } : rest) as C;
}
