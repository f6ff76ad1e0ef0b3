import assert from "node:assert/strict";
import { averageRanks, kendallTauB, median, orderDescending, spearmanRho } from "../lib/selection/rank.ts";

Deno.test("rank: Kendall tau-b is +1 for the same order, -1 for the reverse, and matches hand-computed cases", () => {
  assert.equal(kendallTauB([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(kendallTauB([1, 2, 3, 4], [0.4, 0.3, 0.2, 0.1]), -1);
  // 10 pairs: discordant (0,1), (0,2), (3,4); the other 7 concordant → (7 - 3) / 10.
  assert.ok(Math.abs(kendallTauB([1, 2, 3, 4, 5], [3, 1, 2, 5, 4]) - 0.4) < 1e-12);
  // Ties: x ties on pair (1,2), y on (2,3); the 4 other pairs concordant → 4 / sqrt((6-1)(6-1)) = 0.8 (tau-a would be 4/6).
  assert.ok(Math.abs(kendallTauB([1, 2, 2, 3], [1, 2, 3, 3]) - 0.8) < 1e-12);
  // Pair (1,2) tied on both sides, (1,3) and (2,3) discordant, the 3 others concordant → (3 - 2) / sqrt(5 · 5).
  assert.ok(Math.abs(kendallTauB([1, 2, 2, 4], [1, 3, 3, 2]) - 0.2) < 1e-12);
  // Ties on both sides of the same order still reach +1 under tau-b.
  assert.equal(kendallTauB([1, 1, 2, 3], [5, 5, 6, 9]), 1);
  assert.ok(Number.isNaN(kendallTauB([1, 1, 1], [1, 2, 3])), "a fully tied ranking has no tau");
});

Deno.test("rank: average ranks, Spearman rho, median and the stable descending order", () => {
  assert.deepEqual(Array.from(averageRanks([10, 20, 20, 30])), [1, 2.5, 2.5, 4]);
  assert.deepEqual(Array.from(averageRanks([3, 1, 2])), [3, 1, 2]);
  assert.equal(spearmanRho([1, 2, 3, 4], [1, 4, 9, 16]), 1); // monotone, not linear
  assert.equal(spearmanRho([1, 2, 3], [3, 2, 1]), -1);
  // ranks x [1,2,3,4], y [2,1,4,3]: Pearson of ranks = 1 - 6·4/(4·15) = 0.6.
  assert.ok(Math.abs(spearmanRho([1, 2, 3, 4], [20, 10, 40, 30]) - 0.6) < 1e-12);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.deepEqual(orderDescending([0.2, 0.9, 0.2, 0.5]), [1, 3, 0, 2]);
  assert.throws(() => kendallTauB([1, 2], [1]), /equal lengths, got 2 and 1/);
  assert.throws(() => orderDescending([0.1, NaN]), /scores\[1\] is NaN/);
  assert.throws(() => median([]), /empty/);
});
