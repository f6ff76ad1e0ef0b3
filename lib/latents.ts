/**
 * Latent sampling for InfoGAN-CR (paper-facts §2, [IGCR `gan/latent.py` `JointLatent.sample`, `sample_cr`]).
 * All values come from the seeded Rng in a fixed order, so a seed (and a restored Rng state) gives the same latents.
 */
import type { Rng } from "./rng.ts";

/** n rows of codes (n x codes) and noise (n x noise), every entry i.i.d. Uniform[-1, 1]. */
export function sampleLatents(rng: Rng, n: number, codes: number, noise: number): { c: Float32Array; z: Float32Array } {
  const c = rng.uniformArray(n * codes, -1, 1);
  const z = rng.uniformArray(n * noise, -1, 1);
  return { c, z };
}

export interface CrPairs {
  /** Per row, the index i of the code shared by x' and x'' (H's target). */
  index: Int32Array;
  /** Codes of x' and of x'' (n x codes each). */
  c1: Float32Array;
  c2: Float32Array;
  /** Noise, shared by x' and x'' (n x noise). */
  z: Float32Array;
}

/**
 * Contrastive-regulariser pairs. Per row: i ~ Uniform{0..k-1}; c'_i = c''_i ~ U[-1, 1]; for j != i, a, b ~
 * U[-1 + g/2, 1 - g/2] independently, and the larger moves up by g/2, the smaller down by g/2, so |c'_j - c''_j| >= g
 * and both stay in [-1, 1]; one noise draw shared by both images.
 */
export function sampleCrPairs(rng: Rng, n: number, codes: number, noise: number, gap: number): CrPairs {
  if (!(gap >= 0 && gap <= 2)) throw new Error(`CR gap must be in [0, 2], got ${gap}`);
  const index = new Int32Array(n);
  const c1 = new Float32Array(n * codes);
  const c2 = new Float32Array(n * codes);
  const z = new Float32Array(n * noise);
  const half = gap / 2;
  for (let r = 0; r < n; r++) {
    const i = rng.int(codes);
    index[r] = i;
    const u = rng.uniform(-1, 1);
    for (let j = 0; j < codes; j++) {
      if (j === i) {
        c1[r * codes + j] = u;
        c2[r * codes + j] = u;
        continue;
      }
      const a = rng.uniform(-1 + half, 1 - half);
      const b = rng.uniform(-1 + half, 1 - half);
      c1[r * codes + j] = a >= b ? a + half : a - half;
      c2[r * codes + j] = a >= b ? b - half : b + half;
    }
    for (let j = 0; j < noise; j++) z[r * noise + j] = rng.uniform(-1, 1);
  }
  return { index, c1, c2, z };
}

/** Joins codes and noise row by row into G's input [c_1..c_k, z_1..z_m]. */
export function joinLatent(c: Float32Array, z: Float32Array, n: number, codes: number, noise: number): Float32Array {
  const out = new Float32Array(n * (codes + noise));
  for (let r = 0; r < n; r++) {
    out.set(c.subarray(r * codes, (r + 1) * codes), r * (codes + noise));
    out.set(z.subarray(r * noise, (r + 1) * noise), r * (codes + noise) + codes);
  }
  return out;
}
