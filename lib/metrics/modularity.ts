/**
 * Modularity (Ridgeway & Zemel 2018), as [IGCR] metric.py computes it from the 20-bin MI matrix m (codes x factors):
 *
 *   modularity_d = 1 - ( sum_k m[d][k]^2 - max_k m[d][k]^2 ) / ( max_k m[d][k]^2 * (K - 1) )
 *   Modularity   = (1/D) * sum_d modularity_d
 *
 * i.e. one minus the squared deviation of code d's MI profile from an ideal profile that keeps only its largest entry.
 * A code with zero MI to every factor has no defined value ([IGCR] would produce NaN); it is counted as 0 here, since a
 * code that says nothing about any factor is no evidence of modularity.
 */
import type { MiMatrix } from "./mig.ts";

export interface ModularityResult {
  score: number;
  perCode: number[];
}

export function modularityFromMi({ mi }: MiMatrix): ModularityResult {
  const perCode = mi.map((row) => {
    const K = row.length;
    if (K < 2) return 1;
    const sq = row.map((v) => v * v);
    const max = Math.max(...sq);
    if (!(max > 0)) return 0;
    const rest = sq.reduce((a, b) => a + b, 0) - max;
    return 1 - rest / (max * (K - 1));
  });
  return { score: perCode.reduce((a, b) => a + b, 0) / perCode.length, perCode };
}
