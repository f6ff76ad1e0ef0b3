import assert from "node:assert/strict";
import { codeScale, factorVaeDlFromVotes, factorVaeFromVotes, type FactorVaeVotes } from "../lib/metrics/factor_vae.ts";
import { Rng } from "../lib/rng.ts";

/** Votes where code dim perm[k] equals factor k times scales[k]; group g fixes factor `fixed(g)`. */
function perfectVotes(
  rng: Rng,
  groups: number,
  groupSize: number,
  perm: number[],
  scales: number[],
  fixed: (g: number) => number,
  extraDims = 0,
): FactorVaeVotes {
  const K = perm.length, D = K + extraDims;
  const codes = new Float32Array(groups * groupSize * D);
  const fixedFactor = new Int32Array(groups);
  for (let g = 0; g < groups; g++) {
    const f = fixed(g);
    fixedFactor[g] = f;
    const fixedValue = rng.uniform(-1, 1);
    for (let r = 0; r < groupSize; r++) {
      const row = (g * groupSize + r) * D;
      for (let k = 0; k < K; k++) codes[row + perm[k]] = scales[k] * (k === f ? fixedValue : rng.uniform(-1, 1));
      for (let e = K; e < D; e++) codes[row + e] = rng.normal();
    }
  }
  return {
    codes,
    groups,
    groupSize,
    codeDim: D,
    fixedFactor,
    numFactors: K,
    scale: codeScale(codes, groups * groupSize, D, 0),
  };
}

Deno.test("factorVaeFromVotes: perfect representation (permuted, rescaled) scores exactly 1", () => {
  const v = perfectVotes(new Rng(1), 100, 50, [3, 0, 4, 1, 2], [0.1, 5, 1, 30, 2], (g) => g % 5);
  const r = factorVaeFromVotes(v);
  assert.equal(r.score, 1);
  // Every vote for factor k lands on code dim perm[k].
  assert.equal(r.voteTable[3][0], 20);
  assert.equal(r.voteTable[0][1], 20);
  assert.equal(r.voteTable[2][4], 20);
});

Deno.test("factorVaeFromVotes: hand-made vote table and score", () => {
  // 2 dims, 2 factors, groups of 2 rows. Group votes: dim0, dim0, dim1, dim0 with fixed factors 0, 1, 1, 0.
  const rows = [
    [0, 0],
    [0, 5], // group 0: dim 0 constant -> vote dim 0
    [1, 0],
    [1, 3], // group 1: vote dim 0
    [0, 2],
    [4, 2], // group 2: vote dim 1
    [2, 1],
    [2, 7], // group 3: vote dim 0
  ];
  const v: FactorVaeVotes = {
    codes: new Float32Array(rows.flat()),
    groups: 4,
    groupSize: 2,
    codeDim: 2,
    fixedFactor: new Int32Array([0, 1, 1, 0]),
    numFactors: 2,
    scale: new Float32Array([1, 1]),
  };
  const r = factorVaeFromVotes(v);
  assert.deepEqual(r.voteTable, [[2, 1], [0, 1]]);
  assert.equal(r.score, 3 / 4);
});

Deno.test("factorVaeFromVotes: the global scale matters (a wide dim divided by its std)", () => {
  // dim 1 varies by 2 inside the group, dim 0 by 1; with scale [0.1, 100] dim 1 becomes the smaller one.
  const v: FactorVaeVotes = {
    codes: new Float32Array([0, 0, 1, 2]),
    groups: 1,
    groupSize: 2,
    codeDim: 2,
    fixedFactor: new Int32Array([0]),
    numFactors: 1,
    scale: new Float32Array([1, 1]),
  };
  assert.deepEqual(factorVaeFromVotes(v).voteTable, [[1], [0]]);
  assert.deepEqual(factorVaeFromVotes({ ...v, scale: new Float32Array([0.1, 100]) }).voteTable, [[0], [1]]);
});

Deno.test("factorVaeFromVotes: a code copying one factor twice is not penalised", () => {
  const rng = new Rng(2);
  const v = perfectVotes(rng, 100, 50, [0, 1, 2, 3, 4], [1, 1, 1, 1, 1], (g) => g % 5);
  // Append a sixth dim that duplicates dim 0 (factor 0).
  const D = 6, n = v.groups * v.groupSize;
  const codes = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < 5; d++) codes[i * D + d] = v.codes[i * 5 + d];
    codes[i * D + 5] = 2 * v.codes[i * 5];
  }
  const r = factorVaeFromVotes({ ...v, codes, codeDim: D, scale: codeScale(codes, n, D, 0) });
  assert.equal(r.score, 1);
});

Deno.test("factorVaeFromVotes: independent codes under the infogan-cr protocol score above 1/K (same-vote scoring)", () => {
  const rng = new Rng(3);
  const groups = 500, L = 100, D = 5, K = 5;
  const codes = rng.normalArray(groups * L * D);
  const fixedFactor = Int32Array.from({ length: groups }, (_, g) => g % K);
  const r = factorVaeFromVotes({
    codes,
    groups,
    groupSize: L,
    codeDim: D,
    fixedFactor,
    numFactors: K,
    scale: codeScale(codes, groups * L, D, 0),
  });
  // Each dim gets ~100 votes spread over 5 factors; its max count is ~27 rather than 20: score about 0.25-0.3.
  assert.ok(r.score > 0.2 && r.score < 0.35, `score ${r.score}`);
});

Deno.test("factorVaeDlFromVotes: perfect -> 1, independent -> about 1/K on held-out votes, pruning", () => {
  const rng = new Rng(4);
  const perm = [2, 0, 1, 3], scales = [1, 2, 3, 4];
  const randomFactor = () => rng.int(4);
  const mk = (groups: number) => {
    const v = perfectVotes(rng, groups, 64, perm, scales, randomFactor, 1);
    // dim 4 (noise) is made nearly constant so it must be pruned
    for (let i = 0; i < groups * 64; i++) v.codes[i * 5 + 4] *= 1e-3;
    v.scale = codeScale(v.codes, groups * 64, 5, 1);
    return v;
  };
  const tr = mk(400), ev = mk(200);
  const r = factorVaeDlFromVotes(tr, { ...ev, scale: tr.scale });
  assert.equal(r.score, 1);
  assert.deepEqual(r.activeDims, [0, 1, 2, 3]);

  const K = 5, D = 5;
  const indep = (groups: number): FactorVaeVotes => {
    const codes = rng.normalArray(groups * 64 * D);
    return {
      codes,
      groups,
      groupSize: 64,
      codeDim: D,
      fixedFactor: Int32Array.from({ length: groups }, () => rng.int(K)),
      numFactors: K,
      scale: codeScale(codes, groups * 64, D, 1),
    };
  };
  const t2 = indep(2000), e2 = indep(1000);
  const r2 = factorVaeDlFromVotes(t2, { ...e2, scale: t2.scale });
  assert.ok(Math.abs(r2.score - 1 / K) < 0.06, `score ${r2.score}`);
});

Deno.test("factorVaeFromVotes: bad input names the field", () => {
  const v: FactorVaeVotes = {
    codes: new Float32Array(3),
    groups: 1,
    groupSize: 2,
    codeDim: 2,
    fixedFactor: new Int32Array([0]),
    numFactors: 1,
    scale: new Float32Array([1, 1]),
  };
  assert.throws(() => factorVaeFromVotes(v), /codes has length 3/);
  assert.throws(
    () => factorVaeFromVotes({ ...v, codes: new Float32Array(4), fixedFactor: new Int32Array([3]) }),
    /fixedFactor\[0\] = 3/,
  );
});
