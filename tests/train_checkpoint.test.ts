import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/backend.ts";
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from "../lib/train/checkpoint.ts";

await initBackend({ backend: "cpu", quiet: true });

Deno.test("checkpoint: save then load gives the same tensors and state, in tfjs weights format", async () => {
  const dir = await Deno.makeTempDir();
  const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
  const b = tf.tensor1d([7, 8], "int32");
  const c = tf.scalar(-0.5);
  await saveCheckpoint(`${dir}/ck`, {
    tensors: { g: { "dense/kernel": a, step: b }, opt: { m: c } },
    state: { iter: 5, rng: [1, 2, 3, 4] },
  });
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/ck/g/model.json`));
  assert.equal(manifest.weightsManifest[0].paths[0], "weights.bin");
  assert.deepEqual(manifest.weightsManifest[0].weights.map((w: { name: string }) => w.name), ["dense/kernel", "step"]);
  assert.equal((await Deno.stat(`${dir}/ck/g/weights.bin`)).size, 6 * 4 + 2 * 4);
  const ck = await loadCheckpoint(`${dir}/ck`);
  assert.deepEqual(ck.state, { iter: 5, rng: [1, 2, 3, 4] });
  assert.deepEqual(await ck.tensors.g["dense/kernel"].array(), [[1, 2, 3], [4, 5, 6]]);
  assert.equal(ck.tensors.g.step.dtype, "int32");
  assert.deepEqual(await ck.tensors.opt.m.data(), new Float32Array([-0.5]));
  // Saving again replaces the checkpoint and leaves no temporary folders behind.
  await saveCheckpoint(`${dir}/ck`, { tensors: { g: { x: c } }, state: { iter: 6 } });
  const entries = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.deepEqual(entries, ["ck"]);
  const ck2 = await loadCheckpoint(`${dir}/ck`);
  assert.deepEqual(Object.keys(ck2.tensors), ["g"]);
  assert.equal(ck2.state.iter, 6);
  tf.dispose([a, b, c]);
  for (const m of [...Object.values(ck.tensors), ...Object.values(ck2.tensors)]) tf.dispose(m);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkpoint: missing and corrupt files give errors naming the path", async () => {
  const dir = await Deno.makeTempDir();
  assert.equal(await hasCheckpoint(`${dir}/none`), false);
  await assert.rejects(loadCheckpoint(`${dir}/none`), /no checkpoint at .*none/);
  const t = tf.ones([4, 4]);
  await saveCheckpoint(`${dir}/ck`, { tensors: { g: { t } }, state: {} });
  // Truncate the weights file.
  await Deno.writeFile(`${dir}/ck/g/weights.bin`, new Uint8Array(10));
  await assert.rejects(loadCheckpoint(`${dir}/ck`), /ck\/g\/weights\.bin holds 10 bytes .* \(truncated or corrupt\)/);
  await Deno.writeTextFile(`${dir}/ck/state.json`, "{not json");
  await assert.rejects(loadCheckpoint(`${dir}/ck`), /cannot read .*ck\/state\.json/);
  await assert.rejects(
    saveCheckpoint(`${dir}/ck2`, { tensors: { "bad/name": { t } }, state: {} }),
    /tensor group name "bad\/name"/,
  );
  t.dispose();
  await Deno.remove(dir, { recursive: true });
});
