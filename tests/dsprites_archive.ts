/** A small original-format dSprites archive (.npz) for tests, written from the procedural renderer's images. */
import { classesToIndex, DSprites } from "../lib/data/dsprites.ts";
import { buildZip, encodeNpy } from "../lib/data/npy.ts";
import { Rng } from "../lib/rng.ts";

/** Class ids per factor held by the test archive: 3 x 2 x 2 x 3 x 2 = 72 images. */
export const SUBGRID = [[0, 1, 2], [0, 5], [0, 10], [0, 16, 31], [0, 31]];

function product(lists: number[][]): number[][] {
  return lists.reduce<number[][]>((acc, l) => acc.flatMap((a) => l.map((v) => [...a, v])), [[]]);
}

/** A .npz of the sub-grid (rows in a shuffled order); `drop` leaves rows out, `noClasses` omits latents_classes. */
export async function writeArchive(
  path: string,
  opts: { drop?: number; noClasses?: boolean } = {},
): Promise<number[][]> {
  const ds = new DSprites();
  const combos = product(SUBGRID);
  const rng = new Rng(5);
  for (let i = combos.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [combos[i], combos[j]] = [combos[j], combos[i]];
  }
  const rows = combos.slice(0, combos.length - (opts.drop ?? 0));
  const pixels = ds.images(Int32Array.from(rows, (c) => classesToIndex(c))).map((v) => 1 - v);
  const files: Record<string, Uint8Array> = { "imgs.npy": encodeNpy(pixels, [rows.length, 64, 64], "|u1") };
  if (!opts.noClasses) {
    files["latents_classes.npy"] = encodeNpy(rows.flatMap((c) => [0, ...c]), [rows.length, 6], "<i8");
  }
  await Deno.writeFile(path, await buildZip(files, true));
  return rows;
}

export async function sha256(path: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(path)));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}
