import assert from "node:assert/strict";
import { dci, dciFromImportance } from "../lib/metrics/dci.ts";
import { explicitness } from "../lib/metrics/explicitness.ts";
import { discretizedMiMatrix, mig, migFromMi } from "../lib/metrics/mig.ts";
import { modularityFromMi } from "../lib/metrics/modularity.ts";
import { sap } from "../lib/metrics/sap.ts";
import { Rng } from "../lib/rng.ts";
import { LiteralFactors, matricesFrom } from "./metrics_fixtures.ts";

const data = new LiteralFactors([10, 8, 12, 6]);
const K = 4;
const allContinuous = new Array<boolean>(K).fill(false);
// Explicitness fits an L2-penalised logistic regression on the raw codes, so a code scaled far down (0.01) needs weights
// the penalty forbids and scores lower: the metric is not scale-invariant, unlike the others. Scales here stay in [0.5, 10].
const perm = [2, 0, 3, 1], scales = [3, -0.5, 10, 0.5];
const perfect = matricesFrom(data, 4000, 1, (f) => {
  const z = new Array<number>(K);
  perm.forEach((d, k) => (z[d] = scales[k] * f[k]));
  return z;
});
const independent = matricesFrom(data, 4000, 2, (_f, rng) => Array.from({ length: K }, () => rng.normal()));

Deno.test("observational metrics: a perfect representation (permuted, rescaled) scores near 1", () => {
  const mi = discretizedMiMatrix(perfect);
  const m = migFromMi(mi);
  assert.ok(m.score > 0.98, `MIG ${m.score}`);
  // The matching code carries the factor's whole entropy.
  for (let k = 0; k < K; k++) assert.ok(Math.abs(mi.mi[perm[k]][k] - mi.factorEntropy[k]) < 1e-9);
  const mod = modularityFromMi(mi);
  assert.ok(mod.score > 0.99, `modularity ${mod.score}`);
  const s = sap(perfect, { categorical: allContinuous });
  assert.ok(s.score > 0.99, `SAP ${s.score}`);
  const lasso = dci(perfect, { regressor: "lasso" });
  assert.ok(lasso.disentanglement > 0.999 && lasso.completeness > 0.999, JSON.stringify(lasso));
  const rf = dci(perfect, { regressor: "random-forest", forestDepths: [4, 2, 4, 2], rng: new Rng(0) });
  assert.ok(rf.disentanglement > 0.97 && rf.completeness > 0.97, `${rf.disentanglement} ${rf.completeness}`);
  const ex = explicitness(perfect);
  assert.ok(ex.score > 0.95, `explicitness ${ex.score}`);
});

Deno.test("observational metrics: codes independent of the factors score near 0 (explicitness near 0.5)", () => {
  const mi = discretizedMiMatrix(independent);
  assert.ok(migFromMi(mi).score < 0.03, `MIG ${migFromMi(mi).score}`);
  const s = sap(independent, { categorical: allContinuous });
  assert.ok(s.score < 0.01, `SAP ${s.score}`);
  // Lasso (alpha 0.02) zeroes almost every coefficient of unrelated codes; the few chance survivors make the entropy
  // ratio of DCI meaningless (it can be anywhere in [0, 1]), so here the importances themselves must be near 0.
  const lasso = dci(independent, { regressor: "lasso" });
  assert.ok(Math.max(...lasso.importance.flat()) < 0.05, `lasso importances ${lasso.importance}`);
  const rf = dci(independent, { regressor: "random-forest", forestDepths: 3, rng: new Rng(0) });
  assert.ok(rf.disentanglement < 0.15, `DCI rf ${rf.disentanglement}`);
  const ex = explicitness(independent);
  assert.ok(Math.abs(ex.score - 0.5) < 0.05, `explicitness ${ex.score}`);
});

Deno.test("mixing two codes by a rotation lowers DCI and MIG by the predicted amount", () => {
  // z0 = cos t f0' + sin t f1', z1 = -sin t f0' + cos t f1' (f' = factor z-scored); other codes copy their factor.
  const n = 20000;
  const centre = (k: number, v: number) => (v - 0.5) / Math.sqrt((data.levels[k] + 1) / (12 * (data.levels[k] - 1)));
  const at = (t: number) =>
    matricesFrom(data, n, 7, (f) => {
      const a = centre(0, f[0]), b = centre(1, f[1]);
      return [Math.cos(t) * a + Math.sin(t) * b, -Math.sin(t) * a + Math.cos(t) * b, f[2], f[3]];
    });
  for (const t of [Math.PI / 8, Math.PI / 4]) {
    const m = at(t);
    const got = dci(m, { regressor: "lasso", lassoAlpha: 0.02 });
    // Codes are orthonormal after z-scoring, so Lasso soft-thresholds the inverse rotation's entries by alpha.
    const c = Math.abs(Math.cos(t)) - 0.02, s = Math.abs(Math.sin(t)) - 0.02, one = 1 - 0.02;
    const predicted = dciFromImportance([[c, s, 0, 0], [s, c, 0, 0], [0, 0, one, 0], [0, 0, 0, one]]);
    assert.ok(
      Math.abs(got.disentanglement - predicted.disentanglement) < 0.02,
      `t=${t}: DCI ${got.disentanglement} vs predicted ${predicted.disentanglement}`,
    );
    assert.ok(got.disentanglement < 0.95);
  }
  // At 45 degrees both mixed codes know f0 and f1 equally: their MIG gaps vanish, leaving (K - 2)/K.
  const m45 = mig(at(Math.PI / 4));
  assert.ok(Math.abs(m45.perFactor[0]) < 0.05 && Math.abs(m45.perFactor[1]) < 0.05, JSON.stringify(m45.perFactor));
  assert.ok(Math.abs(m45.score - (K - 2) / K) < 0.04, `MIG ${m45.score}`);
  // Unmixed (t = 0) the same construction is perfect again.
  assert.ok(mig(at(0)).score > 0.98);
});

Deno.test("a code copying one factor twice is penalised by MIG (that factor's gap is 0)", () => {
  const m = matricesFrom(data, 4000, 3, (f) => [f[0], f[1], f[2], f[3], 2 * f[0]]);
  const r = mig(m);
  assert.ok(r.perFactor[0] < 1e-9, `gap ${r.perFactor[0]}`);
  assert.ok(Math.abs(r.score - (K - 1) / K) < 0.02, `MIG ${r.score}`);
});

Deno.test("SAP: a categorical factor is scored by the balanced linear SVM's accuracy", () => {
  const bin = new LiteralFactors([2, 10]);
  const m = matricesFrom(bin, 2000, 4, (f, rng) => [f[0] + 0.01 * rng.normal(), f[1]]);
  const r = sap(m, { categorical: [true, false], svmC: 0.01 });
  // Code 0 separates the binary factor perfectly; code 1 is unrelated (balanced accuracy about 0.5).
  assert.equal(r.scoreMatrix[0][0], 1);
  assert.ok(Math.abs(r.scoreMatrix[1][0] - 0.5) < 0.05, `${r.scoreMatrix[1][0]}`);
  assert.ok(Math.abs(r.perFactor[0] - 0.5) < 0.05);
});

Deno.test("DCI from an importance matrix: known values and bad input", () => {
  assert.deepEqual(dciFromImportance([[1, 0], [0, 1]]), { disentanglement: 1, completeness: 1 });
  const u = dciFromImportance([[1, 1], [1, 1]]);
  assert.ok(Math.abs(u.disentanglement) < 1e-12 && Math.abs(u.completeness) < 1e-12);
  // One code explains both factors fully: completeness 1 (each factor in one code), disentanglement 0.
  const one = dciFromImportance([[1, 1], [0, 0]]);
  assert.ok(Math.abs(one.disentanglement) < 1e-12 && Math.abs(one.completeness - 1) < 1e-12);
  assert.throws(() => dciFromImportance([[-1, 0]]), /non-negative/);
});
