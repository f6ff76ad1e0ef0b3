/**
 * The static export: the explorer's site table (site.ts) written as a folder of plain files that any static web server
 * (GitHub Pages, `python3 -m http.server`, nginx) can host, with no server code. Written into a temporary sibling
 * folder and renamed into place, so an interrupted export leaves no half-written site. It refuses a target inside a
 * model's run or pool folder (the explorer never writes there), one that contains such a folder (replacing it would
 * delete it), and an existing folder that is neither empty nor an earlier export.
 */
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { Site } from "./site.ts";
import { pathExists } from "../io/atomic.ts";

function inside(child: string, parent: string): boolean {
  const r = relative(parent, child);
  return r === "" || !(r === ".." || r.startsWith("../") || isAbsolute(r));
}

/** The path with symbolic links resolved as far as it exists (a folder given through a link is still caught). */
async function canonical(path: string): Promise<string> {
  const abs = resolve(path);
  let head = abs;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(await Deno.realPath(head), ...[...rest].reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return abs;
      rest.push(basename(head));
      head = up;
    }
  }
}

/** The export target is refused (inside or around a model's folder, or someone else's folder). */
export class ExportTargetError extends Error {}

async function isEarlierExport(dir: string): Promise<boolean> {
  try {
    const j = JSON.parse(await Deno.readTextFile(join(dir, "site.json")));
    return j?.schema === "igcr-explorer/1" && (await pathExists(join(dir, "index.html")));
  } catch {
    return false;
  }
}

/** Writes `site` to `outDir` (replacing an earlier export there). Returns the files written, relative to `outDir`. */
export async function exportSite(site: Site, outDir: string): Promise<string[]> {
  const out = resolve(outDir);
  const outs = [out, await canonical(out)];
  for (const given of site.sources) {
    for (const src of [resolve(given), await canonical(given)]) {
      if (outs.some((o) => inside(o, src))) {
        throw new ExportTargetError(`--export ${outDir} is inside ${given}; the explorer never writes there`);
      }
      if (outs.some((o) => inside(src, o))) {
        throw new ExportTargetError(`--export ${outDir} contains ${given}; choose a folder of its own`);
      }
    }
  }
  if (await pathExists(out)) {
    const st = await Deno.stat(out);
    if (!st.isDirectory) throw new ExportTargetError(`--export ${outDir} is a file`);
    let empty = true;
    for await (const _ of Deno.readDir(out)) {
      empty = false;
      break;
    }
    if (!empty && !(await isEarlierExport(out))) {
      throw new ExportTargetError(
        `--export ${outDir} exists and is not an explorer export; choose a new or empty folder`,
      );
    }
  }
  await Deno.mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${Deno.pid}`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  const keys = [...site.files.keys()].sort();
  try {
    for (const key of keys) {
      const path = join(tmp, ...key.split("/"));
      await Deno.mkdir(dirname(path), { recursive: true });
      await Deno.writeFile(path, site.files.get(key)!.bytes);
    }
    await Deno.remove(out, { recursive: true }).catch(() => {});
    await Deno.rename(tmp, out);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  return keys;
}
