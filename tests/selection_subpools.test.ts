/**
 * Selection over sub-pools (claim 2): picks from the full pool's matrices restricted to a sub-pool must equal what the
 * criteria compute on the sub-pool alone; the summaries, regrets and the jackknife comparison behave as defined.
 */
import assert from "node:assert/strict";
import { Rng } from "../lib/rng.ts";
import { centralityScores, symmetrise } from "../lib/selection/model_centrality.ts";
import {
  allSubsets,
  centralityWithin,
  choose,
  chooseSubpools,
  pickWithin,
  type PoolMatrices,
  selectionQuality,
  subpoolOutcomes,
  udrWithin,
} from "../lib/selection/subpools.ts";
import { udrFromRepresentations } from "../lib/selection/udr.ts";

Deno.test("allSubsets: every k-subset once, in lexicographic order; chooseSubpools samples distinct ones", () => {
  assert.deepEqual(allSubsets(4, 2), [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
  assert.equal(allSubsets(8, 5).length, choose(8, 5));
  assert.equal(choose(8, 5), 56);
  assert.equal(choose(40, 5), 658_008);
  assert.throws(() => allSubsets(3, 4), /k must be in 1\.\.3/);
  assert.equal(chooseSubpools(8, 5, 100, new Rng(1)).length, 56, "all of them when there are few");
  const some = chooseSubpools(12, 5, 50, new Rng(1));
  assert.equal(some.length, 50);
  assert.equal(new Set(some.map((s) => s.join(","))).size, 50, "distinct");
  assert.ok(some.every((s) => s.length === 5 && s.every((v, i) => i === 0 || v > s[i - 1])), "sorted members");
  assert.deepEqual(some, chooseSubpools(12, 5, 50, new Rng(1)), "seeded");
});

Deno.test("restricting ModelCentrality's A to a sub-pool equals ModelCentrality on the sub-pool's own S", () => {
  const rng = new Rng(5);
  const n = 6;
  const S = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.uniform(0.2, 0.9)));
  const A = symmetrise(S);
  assert.deepEqual(centralityWithin(A, [0, 1, 2, 3, 4, 5]), centralityScores(A));
  for (const members of [[0, 2, 5], [1, 3, 4, 5], [4, 1]]) {
    const sub = members.map((i) => members.map((j) => S[i][j]));
    const direct = centralityScores(symmetrise(sub));
    const restricted = centralityWithin(A, members);
    direct.forEach((v, i) => assert.ok(Math.abs(v - restricted[i]) < 1e-12, `member ${members[i]}`));
  }
});

Deno.test("restricting the UDR pair matrix to a sub-pool equals UDR on the sub-pool's representations", () => {
  const rng = new Rng(9);
  const n = 120, dims = [4, 4, 3, 4, 5];
  const base = Array.from({ length: n * 4 }, () => rng.normal());
  // Models share a latent structure with model-specific noise and mixing, so their pair scores differ.
  const reps = dims.map((d, m) =>
    Float32Array.from({ length: n * d }, (_, k) => {
      const row = Math.floor(k / d), col = k % d;
      return base[row * 4 + (col % 4)] * (1 + 0.3 * m) + (m * 0.4 + 0.1) * rng.normal();
    })
  );
  for (const method of ["lasso", "spearman"] as const) {
    const full = udrFromRepresentations(reps, n, dims, { method });
    assert.deepEqual(udrWithin(full.matrix, [0, 1, 2, 3, 4]), full.scores);
    for (const members of [[0, 2, 4], [1, 2, 3, 4], [0, 3]]) {
      const sub = udrFromRepresentations(members.map((m) => reps[m]), n, members.map((m) => dims[m]), { method });
      const restricted = udrWithin(full.matrix, members);
      sub.scores.forEach((v, i) => assert.ok(Math.abs(v - restricted[i]) < 1e-12, `${method} member ${members[i]}`));
      assert.equal(pickWithin(restricted, members), members[sub.pick], `${method} pick`);
    }
  }
});

Deno.test("pickWithin: highest score, ties to the lower pool index", () => {
  assert.equal(pickWithin([0.3, 0.5, 0.5], [7, 4, 2]), 2);
  assert.equal(pickWithin([0.9, 0.5], [3, 1]), 3);
});

/** A pool where `good` ranks models by their supervised score and the other criteria rank them in reverse. */
function pool(supervised: number[], good: "modelCentrality" | "udrLasso"): PoolMatrices {
  const byScore = supervised.map((s) => supervised.map((t) => (s + t) / 2));
  const reverse = supervised.map((s) => supervised.map((t) => 2 - (s + t) / 2));
  return {
    modelCentrality: good === "modelCentrality" ? byScore : reverse,
    udrLasso: good === "udrLasso" ? byScore : reverse,
    udrSpearman: reverse,
  };
}

Deno.test("subpoolOutcomes: oracle is the best member, random the mean; picks follow the matrices", () => {
  const sup = [0.4, 0.7, 0.55, 0.62, 0.3];
  const out = subpoolOutcomes(pool(sup, "modelCentrality"), sup, [[0, 1, 2], [2, 3, 4]]);
  assert.deepEqual(out[0].picks, { modelCentrality: 1, udrLasso: 0, udrSpearman: 0 });
  const flat = { ...pool(sup, "modelCentrality"), udrSpearman: sup.map(() => sup.map(() => 0.5)) };
  assert.equal(subpoolOutcomes(flat, sup, [[2, 3, 4]])[0].picks.udrSpearman, 2, "all tied: the lowest pool index");
  assert.deepEqual(out[1].score.oracle, 0.62);
  assert.ok(Math.abs(out[1].score.random - (0.55 + 0.62 + 0.3) / 3) < 1e-15);
  assert.equal(out[1].score.modelCentrality, 0.62);
  assert.equal(out[1].score.udrLasso, 0.3);
  assert.throws(() => subpoolOutcomes(pool(sup, "udrLasso"), [0.4, NaN, 0.5, 0.6, 0.3], [[0, 1]]), /member 1 is NaN/);
  assert.throws(() => subpoolOutcomes(pool(sup, "udrLasso"), sup.slice(0, 4), [[0, 1]]), /not 4 × 4/);
});

Deno.test("selectionQuality: a criterion that tracks the labels has zero regret and a clearly positive advantage", () => {
  const sup = [0.41, 0.72, 0.55, 0.63, 0.3, 0.66, 0.5, 0.58];
  const q = selectionQuality(pool(sup, "modelCentrality"), sup, { k: 5, maxSubpools: 500, rng: new Rng(1) });
  assert.equal(q.subpools, 56);
  assert.ok(q.exhaustive);
  const mc = q.summaries.find((s) => s.selector === "modelCentrality")!;
  const oracle = q.summaries.find((s) => s.selector === "oracle")!;
  assert.equal(mc.regret, 0);
  assert.equal(mc.mean, oracle.mean);
  for (const a of q.advantages) {
    assert.ok(a.interval.lo > 0, `advantage over ${a.versus}: ${JSON.stringify(a.interval)}`);
    assert.equal(a.losses, 0);
  }
  // Reversed roles: ModelCentrality now picks the worst and loses to UDR Lasso in every sub-pool.
  const bad = selectionQuality(pool(sup, "udrLasso"), sup, { k: 5, maxSubpools: 500, rng: new Rng(1) });
  const vsLasso = bad.advantages.find((a) => a.versus === "udrLasso")!;
  assert.ok(vsLasso.interval.hi < 0);
  assert.equal(vsLasso.wins, 0);
  // Identical matrices: the same pick everywhere, no advantage and an interval of exactly 0.
  const same = pool(sup, "modelCentrality");
  const tied = selectionQuality({ ...same, udrLasso: same.modelCentrality }, sup, {
    k: 5,
    maxSubpools: 500,
    rng: new Rng(1),
  });
  const t = tied.advantages.find((a) => a.versus === "udrLasso")!;
  assert.deepEqual([t.mean, t.ties, t.interval.lo, t.interval.hi], [0, 56, 0, 0]);
  // The spread band holds the middle 95% of the sub-pools' picks.
  for (const s of q.summaries) assert.ok(s.bandLo <= s.mean && s.mean <= s.bandHi, s.selector);
  // A small pool: k shrinks to n − 1 so every leave-one-out set still has sub-pools.
  const small = selectionQuality(pool(sup.slice(0, 3), "modelCentrality"), sup.slice(0, 3), {
    k: 5,
    maxSubpools: 10,
    rng: new Rng(1),
  });
  assert.equal(small.k, 2);
  assert.equal(small.subpools, 3);
});
