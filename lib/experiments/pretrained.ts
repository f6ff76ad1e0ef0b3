/**
 * The pretrained models shipped in data/pretrained/ (inference-only exports of `reproduce --profile cpu` runs, see
 * lib/models/export.ts). A notebook whose context allows it uses a shipped run instead of training one, but only when
 * the shipped config.json is exactly the config the experiment asks for, so a shipped model never stands in for a
 * different profile, seed or variant. `IGCR_TRAIN=1` turns this off (train from scratch).
 */
import { join } from "node:path";
import { canonicalJson } from "../io/canonical_json.ts";

/** data/pretrained/ of this checkout. */
export const PRETRAINED_DIR = new URL("../../data/pretrained/", import.meta.url).pathname;

/** Whether notebooks use shipped models (default yes; IGCR_TRAIN=1 trains everything from scratch). */
export function pretrainedAllowed(): boolean {
  return Deno.env.get("IGCR_TRAIN") !== "1";
}

/**
 * The folder of the shipped run `name` when its config equals `config` (key order ignored), else null. `root` defaults
 * to data/pretrained/.
 */
export function pretrainedRunDir(name: string, config: unknown, root = PRETRAINED_DIR): string | null {
  const dir = join(root, name);
  let shipped: unknown;
  try {
    shipped = JSON.parse(Deno.readTextFileSync(join(dir, "config.json")));
  } catch {
    return null;
  }
  return sameConfig(shipped, config) ? dir : null;
}

/** Whether two configs are equal as JSON, whatever the key order. */
export function sameConfig(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
