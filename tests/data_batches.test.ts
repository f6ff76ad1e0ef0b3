import assert from "node:assert/strict";
import { BatchIterator } from "../lib/data/batches.ts";
import { DATASET_NAMES, datasetByName } from "../lib/data/registry.ts";
import { Rng } from "../lib/rng.ts";

/** A source whose "image" i is the single value i, so batches show which indices they hold. */
const source = (n: number) => ({
  size: n,
  images: (idx: Int32Array) => Float32Array.from(idx),
});

Deno.test("batches: floor(N/batch) batches per epoch, each epoch a fresh seeded permutation", () => {
  const it = new BatchIterator(source(103), 10, new Rng(1));
  assert.equal(it.batchesPerEpoch, 10);
  const epochs: number[][] = [];
  for (let e = 0; e < 3; e++) {
    const seen: number[] = [];
    for (let b = 0; b < 10; b++) {
      const { images, indices } = it.next();
      assert.equal(it.epoch, e);
      assert.deepEqual(Array.from(images), Array.from(indices));
      seen.push(...indices);
    }
    assert.equal(new Set(seen).size, 100); // no repeats inside an epoch
    assert.ok(seen.every((v) => v >= 0 && v < 103));
    epochs.push(seen);
  }
  assert.notDeepEqual(epochs[0], epochs[1]);
  assert.notDeepEqual(epochs[0].slice().sort(), Array.from({ length: 100 }, (_, i) => i)); // shuffled
  it.next();
  assert.equal(it.epoch, 3);
  // Same seed, same stream; another seed, another.
  const again = new BatchIterator(source(103), 10, new Rng(1));
  assert.deepEqual(Array.from(again.next().indices), epochs[0].slice(0, 10));
  assert.notDeepEqual(
    Array.from(new BatchIterator(source(103), 10, new Rng(2)).next().indices),
    epochs[0].slice(0, 10),
  );
  assert.throws(() => new BatchIterator(source(5), 10, new Rng(1)), /fewer than one batch/);
});

Deno.test("batches: state() then restore continues exactly, mid-epoch and at an epoch boundary", () => {
  for (const taken of [3, 10, 17]) {
    const a = new BatchIterator(source(50), 5, new Rng(9));
    for (let i = 0; i < taken; i++) a.next();
    const state = JSON.parse(JSON.stringify(a.state()));
    const b = BatchIterator.restore(source(50), state);
    for (let i = 0; i < 25; i++) {
      const x = a.next(), y = b.next();
      assert.deepEqual(y.indices, x.indices, `after ${taken}, step ${i}`);
      assert.equal(b.epoch, a.epoch);
    }
  }
  assert.throws(() => BatchIterator.restore(source(49), new BatchIterator(source(50), 5, new Rng(1)).state()), /50/);
});

Deno.test("registry: dsprites by name is ready to train; unknown names are refused", async () => {
  const d = await datasetByName("dsprites");
  assert.equal(d.size, 737_280);
  assert.equal(d.images(Int32Array.from([5])).length, 4096);
  assert.deepEqual(DATASET_NAMES, ["dsprites", "teapots", "celeba"]);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(datasetByName("mnist" as any), /unknown dataset "mnist"/);
  const it = new BatchIterator(d, 64, new Rng(0));
  assert.equal(it.next().images.length, 64 * 4096);
});
