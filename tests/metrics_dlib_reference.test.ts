/**
 * The `disentanglement-lib` protocol's computations against scikit-learn and numpy themselves, on the fixed data of
 * tests/fixtures/dlib_reference.json (written by tests/fixtures/dlib_reference.py with Debian's scikit-learn 1.2.1,
 * numpy 1.24.2 and scipy 1.10.1; rerun it to regenerate):
 * - gradient-boosted classification trees vs `GradientBoostingClassifier()`;
 * - DCI vs disentanglement_lib's `_compute_dci` (restated on scikit-learn in the generator);
 * - histogram discretisation vs `np.digitize(x, np.histogram(x, 20)[1][:-1])` on codes lying on the bin edges, and
 *   MIG / modularity built on it;
 * - explicitness vs `explicitness_per_factor` on standardised codes, in both `LogisticRegression()` forms.
 */
import assert from "node:assert/strict";
import { gradientBoostingDecision, gradientBoostingFit, gradientBoostingPredict } from "../lib/ml/gradient_boosting.ts";
import { histogramDiscretize } from "../lib/ml/mutual_info.ts";
import { dciGradientBoosting } from "../lib/metrics/dci.ts";
import { explicitness } from "../lib/metrics/explicitness.ts";
import type { CodesAndFactors } from "../lib/metrics/matrices.ts";
import { discretizedMiMatrix, migFromMi } from "../lib/metrics/mig.ts";
import { modularityFromMi } from "../lib/metrics/modularity.ts";

const ref = JSON.parse(await Deno.readTextFile(new URL("./fixtures/dlib_reference.json", import.meta.url)));

const maxDiff = (got: ArrayLike<number>, want: number[]) => {
  assert.equal(got.length, want.length);
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]));
  return m;
};

const matrix = (codes: number[], classes: number[], n: number, codeDim: number, numFactors: number) => ({
  codes: Float32Array.from(codes),
  factorValues: Float32Array.from(classes),
  factorClasses: Int32Array.from(classes),
  n,
  codeDim,
  numFactors,
} satisfies CodesAndFactors);

for (const name of ["multiclass", "binary", "singleFeature"]) {
  Deno.test(`gradient boosting (${name}) matches scikit-learn's GradientBoostingClassifier()`, () => {
    const c = ref.gbt[name];
    const m = gradientBoostingFit(c.X, c.n, c.p, c.y);
    assert.ok(maxDiff(m.init, c.init) < 1e-12, "prior scores");
    // The training rows' scores do not depend on how exact ties between features are broken: equal to rounding.
    const train = maxDiff(gradientBoostingDecision(m, c.X, c.n), c.decisionTrain);
    assert.ok(train < 1e-9, `training scores differ by ${train}`);
    assert.deepEqual(Array.from(gradientBoostingPredict(m, c.X, c.n)), c.predictTrain);
    assert.deepEqual(Array.from(gradientBoostingPredict(m, c.XTest, c.nTest)), c.predictTest);
    const imp = maxDiff(m.featureImportances, c.importances);
    const test = maxDiff(gradientBoostingDecision(m, c.XTest, c.nTest), c.decisionTest);
    if (c.p === 1) {
      // One feature: nothing is left to chance, so everything is equal to rounding.
      assert.ok(imp < 1e-12 && test < 1e-9, `importances ${imp}, test scores ${test}`);
    } else {
      // Where two features split a node's rows alike, scikit-learn takes one at random (its own results vary by
      // importancesSpread over random_state 0..9) and this implementation the first: importances stay within 0.01.
      assert.ok(imp < 0.01, `importances differ by ${imp} (scikit-learn's own spread ${c.importancesSpread})`);
    }
  });
}

Deno.test("gradient boosting: bad input names the problem", () => {
  assert.throws(() => gradientBoostingFit([1, 2, 3], 3, 1, [0, 0, 0]), /at least 2 classes/);
  assert.throws(() => gradientBoostingFit([1, 2, NaN], 3, 1, [0, 1, 0]), /X\[2\] = NaN is not finite/);
  assert.throws(() => gradientBoostingFit([1, 2, 3], 3, 1, [0, 1.5, 0]), /y\[1\] = 1.5/);
  assert.throws(() => gradientBoostingFit([1, 2], 3, 1, [0, 1, 0]), /X has length 2/);
});

Deno.test("DCI (gradient boosting) matches disentanglement_lib's _compute_dci", () => {
  const c = ref.dci;
  const r = dciGradientBoosting(
    matrix(c.codes, c.classes, c.n, c.codeDim, c.numFactors),
    matrix(c.codesTest, c.classesTest, c.nTest, c.codeDim, c.numFactors),
  );
  assert.equal(r.informativenessTrain, c.informativenessTrain);
  assert.ok(Math.abs(r.informativenessTest - c.informativenessTest) <= 0.01, `${r.informativenessTest}`);
  // Tie-breaking between features again (scikit-learn's own spread over random states is in c.spread).
  assert.ok(maxDiff(r.importance.flat(), c.importance) < 0.01, "importance matrix");
  assert.ok(Math.abs(r.disentanglement - c.disentanglement) < 0.005, `disentanglement ${r.disentanglement}`);
  assert.ok(Math.abs(r.completeness - c.completeness) < 0.01, `completeness ${r.completeness}`);
});

Deno.test("histogram discretisation equals numpy's digitize/histogram for codes on the bin edges", () => {
  let naiveCases = 0;
  for (const c of ref.histogram) {
    const x = c.dtype === "float32" ? Float32Array.from(c.x) : Float64Array.from(c.x);
    assert.deepEqual(Array.from(histogramDiscretize(x, 20)), c.bins, `${c.dtype} [${c.lo}, ${c.hi}]`);
    if (c.naiveDiffers > 0) naiveCases++;
  }
  // The fixture is only a test if the old edges (lo + j * (hi - lo) / bins in float64) get some of it wrong.
  assert.ok(naiveCases >= 6, `${naiveCases} cases where the old edges differ`);
});

Deno.test("MIG and modularity on quantised codes match disentanglement_lib's", () => {
  const c = ref.migModularity;
  const mi = discretizedMiMatrix(matrix(c.codes, c.classes, c.n, c.codeDim, c.numFactors), 20);
  assert.ok(maxDiff(mi.mi.flat(), c.mi) < 1e-12, "MI matrix");
  assert.ok(maxDiff(mi.factorEntropy, c.factorEntropy) < 1e-12, "factor entropies");
  assert.ok(Math.abs(migFromMi(mi).score - c.mig) < 1e-12, "MIG");
  assert.ok(Math.abs(modularityFromMi(mi).score - c.modularity) < 1e-12, "modularity");
  assert.ok(c.naiveDiffers > 0, "the old edges put some of these codes in other bins");
});

for (const form of ["ovr", "multinomial"] as const) {
  Deno.test(`explicitness (${form}) matches disentanglement_lib's explicitness_per_factor`, () => {
    const c = ref.explicitness;
    const train = matrix(c.codes, c.classes, c.n, c.codeDim, c.numFactors);
    const test = matrix(c.codesTest, c.classesTest, c.nTest, c.codeDim, c.numFactors);
    // scikit-learn stops at tol 1e-4; the AUCs agree to about that.
    for (const [standardize, key] of [[true, "normalised"], [false, "raw"]] as const) {
      const want = c[`${form}-${key}`];
      const r = explicitness(train, { test, multiClass: form, standardize });
      assert.ok(maxDiff(r.perFactor, want.perFactorTest) < 2e-4, `${form} ${key} test ${r.perFactor}`);
      const self = explicitness(train, { multiClass: form, standardize });
      assert.ok(maxDiff(self.perFactor, want.perFactorTrain) < 2e-4, `${form} ${key} train ${self.perFactor}`);
    }
  });
}
