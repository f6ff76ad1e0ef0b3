/**
 * Discrete mutual information and the histogram discretisation used by MIG and modularity.
 */

/**
 * Equal-width histogram discretisation as numpy's `np.digitize(x, np.histogram(x, bins)[1][:-1])`: `bins` equal-width
 * bins between min(x) and max(x), the maximum falling in the last bin. Returns 0-based bin ids in 0..bins-1 (numpy's
 * are 1-based; mutual information does not depend on labels).
 *
 * The edges are numpy's to the last bit, so that a code lying exactly on an edge (quantised or saturated codes) lands
 * in the same bin as in numpy: edge_j = lo + j * ((hi - lo) / bins) (np.linspace's form: the step first), the last
 * edge exactly hi, and a zero range widened to [v - 0.5, v + 0.5]. numpy (1.x) computes the edges in float64 and stores
 * them in the input's dtype, so for float32 codes (a network's outputs, and every `CodesAndFactors`) each edge is
 * rounded to float32 before the comparison; `dtype` says which numpy would see (default: float32 for a Float32Array).
 */
export function histogramDiscretize(
  x: ArrayLike<number>,
  bins = 20,
  dtype: "float32" | "float64" = x instanceof Float32Array ? "float32" : "float64",
): Int32Array {
  if (!Number.isInteger(bins) || bins < 1) {
    throw new Error(`histogramDiscretize: bins must be a positive integer, got ${bins}`);
  }
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) throw new Error(`histogramDiscretize: x[${i}] = ${v} is not finite`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === hi) {
    lo -= 0.5;
    hi += 0.5;
  }
  const round = dtype === "float32" ? Math.fround : (v: number) => v;
  const step = (hi - lo) / bins;
  const edges = new Float64Array(bins + 1);
  for (let j = 0; j < bins; j++) edges[j] = round(lo + j * step);
  edges[bins] = round(hi);
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    // largest j in 0..bins-1 with edges[j] <= x (binary search over the left edges)
    let a = 0, b = bins - 1;
    const v = dtype === "float32" ? Math.fround(x[i]) : x[i];
    while (a < b) {
      const m = (a + b + 1) >> 1;
      if (edges[m] <= v) a = m;
      else b = m - 1;
    }
    out[i] = a;
  }
  return out;
}

function countLabels(a: ArrayLike<number>, name: string): number {
  let max = -1;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (!Number.isInteger(v) || v < 0) {
      throw new Error(`mutualInfo: ${name}[${i}] = ${v} is not a non-negative integer`);
    }
    if (v > max) max = v;
  }
  return max + 1;
}

/**
 * Mutual information of two discrete label vectors in nats, as scikit-learn's `mutual_info_score`:
 *
 *   I(A; B) = sum_{a,b} p(a,b) * ln( p(a,b) / (p(a) p(b)) )
 *
 * with empirical probabilities from the contingency table.
 */
export function mutualInfoDiscrete(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`mutualInfo: label vectors differ in length (${a.length} vs ${b.length})`);
  const n = a.length;
  if (n === 0) throw new Error("mutualInfo: empty label vectors");
  const na = countLabels(a, "a"), nb = countLabels(b, "b");
  const joint = new Float64Array(na * nb);
  const pa = new Float64Array(na), pb = new Float64Array(nb);
  for (let i = 0; i < n; i++) {
    joint[a[i] * nb + b[i]]++;
    pa[a[i]]++;
    pb[b[i]]++;
  }
  let mi = 0;
  for (let i = 0; i < na; i++) {
    if (pa[i] === 0) continue;
    for (let j = 0; j < nb; j++) {
      const c = joint[i * nb + j];
      if (c === 0) continue;
      mi += (c / n) * Math.log((c * n) / (pa[i] * pb[j]));
    }
  }
  return Math.max(mi, 0);
}

/** Shannon entropy of a discrete label vector in nats (= its mutual information with itself). */
export function entropyDiscrete(a: ArrayLike<number>): number {
  const k = countLabels(a, "a");
  const counts = new Float64Array(k);
  for (let i = 0; i < a.length; i++) counts[a[i]]++;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / a.length) * Math.log(c / a.length);
  return h;
}
