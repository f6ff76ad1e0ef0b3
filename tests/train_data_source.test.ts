/** Training runs record the data file they trained on (issue 12, item 2): train() and trainVae() on the wasm backend. */
import assert from "node:assert/strict";
import { initBackend, shutdownBackend } from "../lib/backend.ts";
import { parseGanConfig, presetFor } from "../lib/config/gan.ts";
import { parseVaeConfig, presetFor as vaePresetFor } from "../lib/config/vae.ts";
import { train } from "../lib/train/trainer.ts";
import { trainVae } from "../lib/train/vae_trainer.ts";
import { sha256, writeArchive } from "./dsprites_archive.ts";

await initBackend({ backend: "wasm", quiet: true });
const dir = await Deno.makeTempDir();
const path = `${dir}/mini.npz`;
await writeArchive(path);

Deno.test("dsprites archive: train and trainVae record the archive they trained on in config.json", async () => {
  const before = Deno.env.get("IGCR_DSPRITES_NPZ");
  const out = await Deno.makeTempDir();
  try {
    Deno.env.set("IGCR_DSPRITES_NPZ", path);
    const want = await sha256(path);
    const gan = parseGanConfig({ ...presetFor("dsprites", "smoke", { model: "infogan-cr", seed: 1 }), iterations: 2 });
    (await train(gan, `${out}/gan`, { grids: false, progress: false })).dispose();
    const ganCfg = JSON.parse(await Deno.readTextFile(`${out}/gan/config.json`));
    assert.equal(ganCfg.data?.sha256, want);
    const vae = parseVaeConfig({ ...vaePresetFor("dsprites", "smoke", "factor-vae"), iterations: 2 });
    await trainVae(vae, `${out}/vae`, { grids: false, progress: false });
    assert.equal(JSON.parse(await Deno.readTextFile(`${out}/vae/config.json`)).data?.sha256, want);
    // Without the variable, a run on the built-in renderer records no file.
    Deno.env.delete("IGCR_DSPRITES_NPZ");
    (await train(gan, `${out}/plain`, { grids: false, progress: false })).dispose();
    assert.ok(!("data" in JSON.parse(await Deno.readTextFile(`${out}/plain/config.json`))));
    // The recorded file is what --resume and `--config` reopen, with or without the variable.
    (await train({ ...ganCfg, iterations: 3 }, `${out}/gan`, { resume: true, grids: false, progress: false }))
      .dispose();
    assert.equal(JSON.parse(await Deno.readTextFile(`${out}/gan/config.json`)).data?.sha256, want);
  } finally {
    if (before === undefined) Deno.env.delete("IGCR_DSPRITES_NPZ");
    else Deno.env.set("IGCR_DSPRITES_NPZ", before);
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("dsprites archive (training): clean up", async () => {
  await Deno.remove(dir, { recursive: true });
  await shutdownBackend();
});
