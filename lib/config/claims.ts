/**
 * The settings of the two claim experiments per profile (docs/training.md#profiles): how many seeds the paired design
 * of claim 1 trains, where the learning curve takes its snapshots, how the evaluation noise is measured, the bootstrap
 * and the sub-pools of claim 2. The run lengths themselves live in the presets (lib/config/gan.ts, lib/config/vae.ts):
 * the InfoGAN phase is the dSprites preset up to its CR switch, both arms run from there to its last iteration.
 *
 * `cpu` budget (2 cores, `reproduce --parallel 2`, about 3 hours in all): see CPU_BUDGET in docs/training.md; every
 * count here was chosen with the measured cost per unit written beside it.
 */
import type { Profile } from "./gan.ts";

export interface ClaimsPlan {
  /**
   * Training seeds of the paired design. Each trains the InfoGAN phase once and branches a CR arm and a control arm;
   * the CR arms are also the InfoGAN-CR pool of claim 2.
   */
  seeds: number[];
  /** Seeds whose snapshots are scored for the learning curve (FactorVAE and MIG). */
  curveSeeds: number[];
  /** Snapshot iterations of the curve (0 = untrained), roughly log-spaced up to the end of the runs. */
  snapshotAt: number[];
  /** Evaluation seeds for re-scoring one model: the spread of its scores is the metric's own noise. */
  evalNoiseSeeds: number[];
  /** Bootstrap-t resamples and the seed they are drawn from (lib/stats/bootstrap.ts). */
  bootstrap: { resamples: number; seed: number; level: number };
  /** Seeds of the FactorVAE pool of claim 2, each trained at every TC weight of the paper's grid {1, 10, 20, 40}. */
  vaePoolSeeds: number[];
  /** Sub-pools of claim 2: size k, at most `max` of them (all when C(n, k) is smaller), drawn with `seed`. */
  subpools: { k: number; max: number; seed: number };
  /**
   * How far above the untrained model a pool member's FactorVAE score must be to count as "learnt something": at least
   * this much, and at least 3 evaluation-noise standard deviations.
   */
  clearMargin: number;
}

/** smoke: the fewest runs and evaluations that exercise every step (3 seeds: a pool needs 3 for its sub-pools). */
const SMOKE: ClaimsPlan = {
  seeds: [1, 2, 3],
  curveSeeds: [1],
  snapshotAt: [0, 1],
  evalNoiseSeeds: [1, 2],
  bootstrap: { resamples: 2_000, seed: 20_214, level: 0.95 },
  vaePoolSeeds: [1],
  subpools: { k: 2, max: 200, seed: 20_215 },
  clearMargin: 0.05,
};

/**
 * cpu: 8 seeds (the pool of claim 2 needs at least 8; Table 1's interval needs at least 6); the curve on 3 of them,
 * with snapshots roughly log-spaced in the InfoGAN phase (0 to the branch at 1,500) and one inside the arms (1,700);
 * 5 evaluation seeds; sub-pools of 5 (all 56 of each pool of 8). The FactorVAE pool is 2 seeds per TC weight (8
 * models of 3,000 iterations at batch 32, lib/config/vae.ts). Budget: docs/training.md#profiles.
 */
const CPU: ClaimsPlan = {
  seeds: [1, 2, 3, 4, 5, 6, 7, 8],
  curveSeeds: [1, 2, 3],
  snapshotAt: [0, 10, 30, 100, 300, 1_000, 1_700],
  evalNoiseSeeds: [1, 2, 3, 4, 5],
  bootstrap: { resamples: 10_000, seed: 20_214, level: 0.95 },
  vaePoolSeeds: [1, 2],
  subpools: { k: 5, max: 500, seed: 20_215 },
  clearMargin: 0.05,
};

const PAPER: ClaimsPlan = {
  seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  curveSeeds: [1, 2, 3],
  snapshotAt: [0, 100, 1_000, 3_000, 10_000, 30_000, 100_000, 288_000, 322_560],
  evalNoiseSeeds: [1, 2, 3, 4, 5],
  bootstrap: { resamples: 10_000, seed: 20_214, level: 0.95 },
  vaePoolSeeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  subpools: { k: 5, max: 500, seed: 20_215 },
  clearMargin: 0.05,
};

export function claimsPlan(profile: Profile): ClaimsPlan {
  switch (profile) {
    case "smoke":
      return SMOKE;
    case "cpu":
      return CPU;
    case "paper":
      return PAPER;
  }
}
