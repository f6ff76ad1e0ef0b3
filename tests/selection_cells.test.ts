/**
 * ModelCentrality's cell cache (lib/selection/cross_eval_cells.ts): cells computed in row blocks, in any order and
 * across processes, assemble into exactly the matrix `modelCentrality` computes in one go; cells already cached are not
 * computed again; the folder store survives a reopen, ignores half-written and foreign files, and changes its key when
 * what a cell depends on changes.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../lib/rng.ts";
import { modelCentrality, resolveSizes } from "../lib/selection/model_centrality.ts";
import {
  assembleMatrix,
  type CellInputs,
  cellsKey,
  cellsPresent,
  computeCells,
  memoryCellStore,
  missingCells,
  modelCentralityCached,
  openFolderCellStore,
} from "../lib/selection/cross_eval_cells.ts";
import { rotatedModel } from "./selection_helpers.ts";

await tf.setBackend("cpu");

const SIZES = { groupsPerCode: 40, groupSize: 10, priorSamples: 200 };
const models = [0, 15, 30, 40].map((d) => rotatedModel(`rot${d}`, d, 0.6));

Deno.test("cells: row blocks computed in any order assemble into modelCentrality's matrix, and nothing is computed twice", async () => {
  const whole = await modelCentrality(models, new Rng(4), { ...SIZES, chunk: 64 });
  const store = memoryCellStore(models.length);
  const sizes = resolveSizes(SIZES);
  // Blocks of 3 rows, last block first (as Slurm may run them), each computing only its own rows.
  assert.equal(await computeCells(models, new Rng(4), sizes, store, { rows: [3], chunk: 64 }), 4);
  assert.equal(cellsPresent(store, [3]), 4);
  assert.deepEqual([...missingCells(store, [0, 1, 2, 3]).entries()].map(([j, rows]) => [j, rows]), [
    [0, [0, 1, 2]],
    [1, [0, 1, 2]],
    [2, [0, 1, 2]],
    [3, [0, 1, 2]],
  ]);
  assert.throws(() => assembleMatrix(store), /lacks 12 of 16 cells \(0-0, 0-1/);
  assert.equal(await computeCells(models, new Rng(4), sizes, store, { rows: [0, 1, 2], chunk: 64 }), 12);
  assert.deepEqual(assembleMatrix(store), whole.S);
  // A complete cache: assembly only, same result as the one-go computation.
  const cached = await modelCentralityCached(models, new Rng(4), store, { ...SIZES, chunk: 64 });
  assert.equal(cached.cellsComputed, 0);
  assert.deepEqual(cached.S, whole.S);
  assert.deepEqual(cached.scores, whole.scores);
  assert.equal(cached.pick, whole.pick);
  // A different seed gives different cells (the store does not hide the rng).
  const other = memoryCellStore(models.length);
  await computeCells(models, new Rng(5), sizes, other, { chunk: 64 });
  assert.notDeepEqual(assembleMatrix(other), whole.S);
  await assert.rejects(() => computeCells(models, new Rng(4), sizes, store, { rows: [4] }), /row 4 is outside 0-3/);
});

Deno.test("cells: the folder store writes each cell atomically, reloads them, skips foreign or broken files, keys by inputs", async () => {
  const pool = await Deno.makeTempDir({ prefix: "cells_" });
  try {
    const inputs: CellInputs = {
      schema: "igcr-mc-cells/1",
      sizes: resolveSizes(SIZES),
      seed: 0,
      members: models.map((m, i) => ({ name: m.name, config: `c${i}`, iteration: 10 })),
    };
    const a = await openFolderCellStore(pool, inputs);
    assert.equal(a.dir, `${pool}/cross-eval/${a.key}`);
    await computeCells(models, new Rng(1), inputs.sizes, a.store, {
      rows: [0, 1],
      chunk: 64,
      meta: { backend: "cpu" },
    });
    const files = [...Deno.readDirSync(`${a.dir}/cells`)].map((e) => e.name).sort();
    assert.equal(files.length, 8);
    assert.ok(files.every((f) => /^\d+-\d+\.json$/.test(f)), files.join(","));
    const cell = JSON.parse(await Deno.readTextFile(`${a.dir}/cells/1-2.json`));
    assert.equal(cell.encoder, "rot15");
    assert.equal(cell.generator, "rot30");
    assert.equal(cell.backend, "cpu");

    // A leftover temporary file, a corrupt cell and a cell naming other members count as missing.
    await Deno.writeTextFile(`${a.dir}/cells/2-0.json.tmp-1-abcd`, "{");
    await Deno.writeTextFile(`${a.dir}/cells/2-1.json`, "{not json");
    await Deno.writeTextFile(
      `${a.dir}/cells/2-2.json`,
      JSON.stringify({ schema: "igcr-mc-cell/1", encoder: "other", generator: "rot30", value: 0.5 }),
    );
    const b = await openFolderCellStore(pool, inputs);
    assert.equal(b.key, a.key);
    assert.equal(cellsPresent(b.store, [0, 1]), 8);
    assert.equal(cellsPresent(b.store, [2]), 0);
    assert.equal(b.store.get(1, 2), a.store.get(1, 2));
    assert.equal(await computeCells(models, new Rng(1), inputs.sizes, b.store, { chunk: 64 }), 8);

    // The full matrix from the folder equals the one-go computation.
    const whole = await modelCentrality(models, new Rng(1), { ...SIZES, chunk: 64 });
    const c = await openFolderCellStore(pool, inputs);
    assert.deepEqual(assembleMatrix(c.store), whole.S);

    // Anything a cell depends on changes the key: seed, sizes, a member's config or iteration, the member order.
    const keys = new Set([
      a.key,
      await cellsKey({ ...inputs, seed: 1 }),
      await cellsKey({ ...inputs, sizes: { ...inputs.sizes, groupSize: 11 } }),
      await cellsKey({ ...inputs, members: inputs.members.map((m, i) => (i === 2 ? { ...m, iteration: 11 } : m)) }),
      await cellsKey({ ...inputs, members: inputs.members.map((m, i) => (i === 2 ? { ...m, config: "x" } : m)) }),
      await cellsKey({ ...inputs, members: [...inputs.members].reverse() }),
    ]);
    assert.equal(keys.size, 6);
  } finally {
    await Deno.remove(pool, { recursive: true });
  }
});
