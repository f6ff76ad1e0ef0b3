/**
 * Mutual Information Gap (Chen et al. 2018), as computed by [IGCR] metric.py (paper-facts §5):
 *
 *   m[d][k] = I( bin20(z_d) ; v_k )                  (nats; codes discretised into 20 equal-width bins)
 *   MIG     = (1/K) * sum_k ( m_(1)[k] - m_(2)[k] ) / H(v_k)
 *
 * where m_(1) and m_(2) are the largest and second-largest entries of column k over code dims, v_k is factor k's class
 * id, and H(v_k) = I(v_k; v_k). Protocol parameter: bins (20 in both protocols). The discretised MI matrix is also what
 * modularity uses, so it is exported separately.
 */
import { entropyDiscrete, histogramDiscretize, mutualInfoDiscrete } from "../ml/mutual_info.ts";
import { checkCodesAndFactors, type CodesAndFactors, column, intColumn } from "./matrices.ts";

export interface MiMatrix {
  /** [codeDim][numFactors] mutual information in nats. */
  mi: number[][];
  /** Entropy of each factor's class ids, nats. */
  factorEntropy: number[];
}

/** The discretised code-factor mutual-information matrix shared by MIG and modularity. */
export function discretizedMiMatrix(m: CodesAndFactors, bins = 20): MiMatrix {
  checkCodesAndFactors(m, "mutual-information matrix");
  // Float32 columns: numpy sees a network's float32 codes, and its bin edges depend on that (mutual_info.ts).
  const binned = Array.from(
    { length: m.codeDim },
    (_, d) => histogramDiscretize(Float32Array.from(column(m.codes, m.n, m.codeDim, d)), bins, "float32"),
  );
  const classes = Array.from({ length: m.numFactors }, (_, k) => intColumn(m.factorClasses, m.n, m.numFactors, k));
  const mi = binned.map((b) => classes.map((c) => mutualInfoDiscrete(b, c)));
  return { mi, factorEntropy: classes.map((c) => entropyDiscrete(c)) };
}

export interface MigResult {
  score: number;
  /** Normalised gap per factor. */
  perFactor: number[];
  mi: number[][];
  factorEntropy: number[];
}

/** MIG from a precomputed MI matrix. A factor with zero entropy (constant) is skipped; no usable factor gives 0. */
export function migFromMi({ mi, factorEntropy }: MiMatrix): MigResult {
  const K = factorEntropy.length;
  const perFactor: number[] = [];
  for (let k = 0; k < K; k++) {
    const col = mi.map((row) => row[k]).sort((a, b) => b - a);
    const gap = col[0] - (col.length > 1 ? col[1] : 0);
    perFactor.push(factorEntropy[k] > 0 ? gap / factorEntropy[k] : NaN);
  }
  const used = perFactor.filter((v) => !Number.isNaN(v));
  const score = used.length ? used.reduce((a, b) => a + b, 0) / used.length : 0;
  return { score, perFactor, mi, factorEntropy };
}

/** MIG on codes and factor class ids (see the module comment for the equation). */
export function mig(m: CodesAndFactors, opts: { bins?: number } = {}): MigResult {
  return migFromMi(discretizedMiMatrix(m, opts.bins ?? 20));
}
