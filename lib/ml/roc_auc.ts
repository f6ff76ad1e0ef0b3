/**
 * Area under the ROC curve, computed as the Mann-Whitney U statistic with tied scores sharing their average rank:
 *
 *   AUC = ( sum_{i positive} rank_i - P (P + 1) / 2 ) / (P * N)
 *
 * which equals the probability that a random positive scores above a random negative (ties count one half), the value
 * scikit-learn's `roc_auc_score` gives.
 */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): number {
  const n = scores.length;
  if (positive.length !== n) throw new Error(`rocAuc: ${n} scores but ${positive.length} labels`);
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((i, j) => scores[i] - scores[j]);
  let pos = 0, rankSum = 0;
  for (let s = 0; s < n;) {
    let e = s;
    while (e + 1 < n && scores[order[e + 1]] === scores[order[s]]) e++;
    const avgRank = (s + e) / 2 + 1;
    for (let k = s; k <= e; k++) {
      if (positive[order[k]]) {
        pos++;
        rankSum += avgRank;
      }
    }
    s = e + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) throw new Error(`rocAuc: needs both classes, got ${pos} positives and ${neg} negatives`);
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Macro-averaged one-vs-rest ROC AUC of class probabilities `proba` (n x k, row-major) against integer labels, as
 * `roc_auc_score(one_hot(labels), proba, average="macro")`. A class absent from the labels (or present in every row) has
 * no AUC; scikit-learn raises there, here it is skipped and counted in `skipped`.
 */
export function rocAucMacroOvR(
  proba: ArrayLike<number>,
  n: number,
  k: number,
  labels: ArrayLike<number>,
): { auc: number; skipped: number } {
  if (proba.length !== n * k) throw new Error(`rocAucMacroOvR: proba has length ${proba.length}, expected ${n * k}`);
  if (labels.length !== n) throw new Error(`rocAucMacroOvR: labels has length ${labels.length}, expected ${n}`);
  let sum = 0, used = 0, skipped = 0;
  const col = new Float64Array(n);
  const isPos = new Uint8Array(n);
  for (let c = 0; c < k; c++) {
    let pos = 0;
    for (let i = 0; i < n; i++) {
      col[i] = proba[i * k + c];
      isPos[i] = labels[i] === c ? 1 : 0;
      pos += isPos[i];
    }
    if (pos === 0 || pos === n) {
      skipped++;
      continue;
    }
    sum += rocAuc(col, isPos);
    used++;
  }
  if (used === 0) throw new Error("rocAucMacroOvR: no class has both positives and negatives");
  return { auc: sum / used, skipped };
}
