/**
 * Selection quality over many sub-pools (claim 2, Table 3). One pool gives one pick per criterion, which says little:
 * here every criterion picks from each sub-pool of k members, and the supervised FactorVAE score of its pick is set
 * against the sub-pool's best (the oracle) and its mean (the expected score of a random pick).
 *
 * Sub-pool picks come from the full pool's matrices restricted to the sub-pool, with no re-evaluation:
 * - ModelCentrality: centrality_i = mean of A[i][j] over the other members j of the sub-pool (A = (S + Sᵀ)/2 depends
 *   only on models i and j, so this is what the criterion computes on the sub-pool alone, on the same generated sets);
 * - UDR (Lasso, Spearman): a model's score is the median of its pair scores M[a][b] with the other members a (each pair
 *   score depends only on the two models and the shared images).
 * Ties go to the lower pool index, as in the full-pool picks (lib/selection/rank.ts `orderDescending`).
 *
 * Uncertainty: the sub-pools overlap, so they are not independent samples. The band reported per criterion is the
 * middle 95% of its pick scores over the sub-pools (a description of the spread, not a confidence interval); the
 * comparison of ModelCentrality with each alternative gets a confidence interval for its mean advantage from a
 * delete-one-model jackknife (lib/stats/jackknife.ts): the statistic is recomputed on the sub-pools that leave each
 * model out.
 */
import type { Rng } from "../rng.ts";
import { quantileSorted } from "../stats/bootstrap.ts";
import { type JackknifeInterval, jackknifeInterval } from "../stats/jackknife.ts";
import { median } from "./rank.ts";

export const CRITERIA = ["modelCentrality", "udrLasso", "udrSpearman"] as const;
export type Criterion = (typeof CRITERIA)[number];
export const CRITERION_LABEL: Record<Criterion, string> = {
  modelCentrality: "ModelCentrality",
  udrLasso: "UDR Lasso",
  udrSpearman: "UDR Spearman",
};

/** The full pool's pairwise matrices: ModelCentrality's A and the UDR pair scores (M[a][b]; the diagonal is unused). */
export type PoolMatrices = Record<Criterion, number[][]>;

/** ModelCentrality scores of `members` (pool indices) from A restricted to them. */
export function centralityWithin(A: number[][], members: number[]): number[] {
  if (members.length < 2) throw new Error(`a sub-pool needs at least 2 members, got ${members.length}`);
  return members.map((i) => {
    let s = 0;
    for (const j of members) if (j !== i) s += A[i][j];
    return s / (members.length - 1);
  });
}

/** UDR scores of `members`: model b's score is the median of M[a][b] over the other members a. */
export function udrWithin(M: number[][], members: number[]): number[] {
  if (members.length < 2) throw new Error(`a sub-pool needs at least 2 members, got ${members.length}`);
  return members.map((b) => median(members.filter((a) => a !== b).map((a) => M[a][b])));
}

/** The pool index of the best-scoring member (ties: the lower pool index). */
export function pickWithin(scores: number[], members: number[]): number {
  let best = 0;
  for (let i = 1; i < members.length; i++) {
    if (scores[i] > scores[best] || (scores[i] === scores[best] && members[i] < members[best])) best = i;
  }
  return members[best];
}

/** Each criterion's pick in a sub-pool. */
export function picksWithin(m: PoolMatrices, members: number[]): Record<Criterion, number> {
  return {
    modelCentrality: pickWithin(centralityWithin(m.modelCentrality, members), members),
    udrLasso: pickWithin(udrWithin(m.udrLasso, members), members),
    udrSpearman: pickWithin(udrWithin(m.udrSpearman, members), members),
  };
}

/** The binomial coefficient C(n, k) (exact for the pool sizes used here). */
export function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/** Every k-subset of 0..n-1, in lexicographic order. */
export function allSubsets(n: number, k: number): number[][] {
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw new Error(`sub-pool size k must be in 1..${n}, got ${k}`);
  const out: number[][] = [];
  const cur = Array.from({ length: k }, (_, i) => i);
  while (true) {
    out.push([...cur]);
    let i = k - 1;
    while (i >= 0 && cur[i] === n - k + i) i--;
    if (i < 0) return out;
    cur[i]++;
    for (let j = i + 1; j < k; j++) cur[j] = cur[j - 1] + 1;
  }
}

/**
 * The sub-pools to score: all C(n, k) when there are at most `maxSubpools`, else `maxSubpools` distinct k-subsets drawn
 * uniformly from `rng` (sorted members, sorted list).
 */
export function chooseSubpools(n: number, k: number, maxSubpools: number, rng: Rng): number[][] {
  const total = choose(n, k);
  if (total <= maxSubpools) return allSubsets(n, k);
  const seen = new Set<string>();
  const out: number[][] = [];
  while (out.length < maxSubpools) {
    const s = Array.from(rng.permutation(n).slice(0, k)).sort((a, b) => a - b);
    const key = s.join(",");
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(s);
  }
  return out.sort((a, b) => a.join(",").localeCompare(b.join(","), "en", { numeric: true }));
}

export interface SubpoolOutcome {
  members: number[];
  picks: Record<Criterion, number>;
  /** Supervised score of each criterion's pick, of the sub-pool's best (oracle) and its mean (a random pick). */
  score: Record<Criterion | "oracle" | "random", number>;
}

/** Every criterion's pick, and the supervised scores that judge it, in each sub-pool. */
export function subpoolOutcomes(m: PoolMatrices, supervised: number[], subpools: number[][]): SubpoolOutcome[] {
  const n = supervised.length;
  supervised.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new Error(`supervised score of pool member ${i} is ${v}, not a finite number`);
  });
  for (const c of CRITERIA) {
    if (m[c].length !== n || m[c].some((r) => r.length !== n)) {
      throw new Error(`the ${CRITERION_LABEL[c]} matrix is not ${n} × ${n} (the pool has ${n} supervised scores)`);
    }
  }
  return subpools.map((members) => {
    const picks = picksWithin(m, members);
    const vals = members.map((i) => supervised[i]);
    return {
      members,
      picks,
      score: {
        modelCentrality: supervised[picks.modelCentrality],
        udrLasso: supervised[picks.udrLasso],
        udrSpearman: supervised[picks.udrSpearman],
        oracle: Math.max(...vals),
        random: vals.reduce((a, b) => a + b, 0) / vals.length,
      },
    };
  });
}

export type Selector = Criterion | "oracle" | "random";
export const SELECTORS: readonly Selector[] = [...CRITERIA, "random", "oracle"];
export const SELECTOR_LABEL: Record<Selector, string> = {
  ...CRITERION_LABEL,
  random: "Random pick (sub-pool mean)",
  oracle: "Oracle (sub-pool best)",
};

export interface SelectorSummary {
  selector: Selector;
  /** Mean supervised score of its picks over the sub-pools. */
  mean: number;
  /** The 2.5% and 97.5% quantiles of its pick scores over the sub-pools (spread, not a confidence interval). */
  bandLo: number;
  bandHi: number;
  /** Mean of oracle − pick. */
  regret: number;
}

export interface Advantage {
  /** ModelCentrality against this selector. */
  versus: Exclude<Selector, "modelCentrality" | "oracle">;
  /** Mean over sub-pools of (ModelCentrality's pick score − the selector's). */
  mean: number;
  wins: number;
  ties: number;
  losses: number;
  /** Confidence interval of `mean` by the delete-one-model jackknife. */
  interval: JackknifeInterval;
}

export interface SelectionQuality {
  poolSize: number;
  k: number;
  subpools: number;
  /** Whether every k-subset was scored (else a seeded random sample of them). */
  exhaustive: boolean;
  summaries: SelectorSummary[];
  advantages: Advantage[];
  /** Level of the bands and intervals. */
  level: number;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * Selection quality of every criterion over sub-pools of size k of a pool (k is reduced to n − 1 when the pool is that
 * small, so that every leave-one-model-out set still has sub-pools).
 */
export function selectionQuality(
  m: PoolMatrices,
  supervised: number[],
  opts: { k: number; maxSubpools: number; rng: Rng; level?: number },
): SelectionQuality {
  const n = supervised.length;
  if (n < 3) throw new Error(`selection quality needs a pool of at least 3 models, got ${n}`);
  const level = opts.level ?? 0.95;
  const k = Math.max(2, Math.min(opts.k, n - 1));
  const subs = chooseSubpools(n, k, opts.maxSubpools, opts.rng);
  const out = subpoolOutcomes(m, supervised, subs);
  const alpha = 1 - level;
  const summaries = SELECTORS.map((sel): SelectorSummary => {
    const v = out.map((o) => o.score[sel]).sort((a, b) => a - b);
    return {
      selector: sel,
      mean: mean(v),
      bandLo: quantileSorted(v, alpha / 2),
      bandHi: quantileSorted(v, 1 - alpha / 2),
      regret: mean(out.map((o) => o.score.oracle - o.score[sel])),
    };
  });
  const advantages = (["udrLasso", "udrSpearman", "random"] as const).map((versus): Advantage => {
    const d = out.map((o) => o.score.modelCentrality - o.score[versus]);
    const loo = Array.from({ length: n }, (_, left) => {
      const kept = d.filter((_, s) => !out[s].members.includes(left));
      return kept.length > 0 ? mean(kept) : NaN;
    });
    return {
      versus,
      mean: mean(d),
      wins: d.filter((x) => x > 0).length,
      ties: d.filter((x) => x === 0).length,
      losses: d.filter((x) => x < 0).length,
      interval: jackknifeInterval(mean(d), loo, level),
    };
  });
  return {
    poolSize: n,
    k,
    subpools: subs.length,
    exhaustive: subs.length === choose(n, k),
    summaries,
    advantages,
    level,
  };
}
