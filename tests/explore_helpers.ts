/** Shared fixtures of the explorer tests (not a test file itself): a shipped model, broken copies of it, a small site. */
import { join } from "node:path";
import { buildSite, type Site } from "../lib/explore/site.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** The shipped dSprites model the explorer tests open. */
export const SEED1 = join(ROOT, "data/pretrained/dsprites-infogan-cr-seed1");
export const SEED2 = join(ROOT, "data/pretrained/dsprites-infogan-cr-seed2");

/**
 * A copy of SEED1's final model under `root/name`, broken on purpose: "truncate" cuts the generator's weights.bin in
 * half, "no-generator" leaves out checkpoint/generator, "no-checkpoint" leaves out the checkpoint altogether ("none":
 * an intact copy, with the before-CR snapshot).
 */
export async function brokenCopy(
  root: string,
  name: string,
  how: "truncate" | "no-generator" | "no-checkpoint" | "none",
): Promise<string> {
  const dir = join(root, name);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.copyFile(join(SEED1, "config.json"), join(dir, "config.json"));
  if (how === "no-checkpoint") return dir;
  const groups = how === "no-generator" ? ["discriminator"] : ["generator", "discriminator"];
  const copyCheckpoint = async (sub: string) => {
    for (const g of groups) {
      await Deno.mkdir(join(dir, sub, g), { recursive: true });
      for (const f of ["model.json", "weights.bin"]) {
        await Deno.copyFile(join(SEED1, sub, g, f), join(dir, sub, g, f));
      }
    }
    await Deno.copyFile(join(SEED1, sub, "state.json"), join(dir, sub, "state.json"));
  };
  await copyCheckpoint("checkpoint");
  if (how === "none") await copyCheckpoint("snapshots/before-cr-iter-1500");
  if (how === "truncate") {
    const w = join(dir, "checkpoint", "generator", "weights.bin");
    const bytes = await Deno.readFile(w);
    await Deno.writeFile(w, bytes.slice(0, bytes.length >> 1));
  }
  return dir;
}

/** A site with SEED1 (and its before-CR snapshot) and a few real images. Needs an initialised backend. */
export function loadSite(): Promise<Site> {
  return buildSite({ runs: [SEED1], samples: 4 });
}
