/**
 * JSON with object keys sorted at every level, so that two equal values (configs, step inputs) give the same text
 * whatever order their keys were written in; and a short hash of it, to key caches and resumable steps.
 */
import { sha256Hex } from "./hash.ts";

export function canonicalJson(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) =>
      x && typeof x === "object" && !Array.isArray(x)
        ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
        : x,
  );
}

/** 16 hex digits of a sha256 over the canonical JSON of `v`. */
export async function jsonKey(v: unknown): Promise<string> {
  return (await sha256Hex(canonicalJson(v))).slice(0, 16);
}
