/**
 * Latent traversals (paper Figure 1): hold every input of the generator fixed except one code, sweep that code over
 * evenly spaced values, and look at what changes. A disentangled code changes one factor only.
 */
import * as tf from "@tensorflow/tfjs";
import type { Generator, LatentSpec } from "../models/capabilities.ts";
import { samplePrior } from "../models/capabilities.ts";
import type { Rng } from "../rng.ts";

/** `steps` evenly spaced values from lo to hi inclusive (Figure 1 uses 6 over [-1, 1]: -1, -0.6, -0.2, 0.2, 0.6, 1). */
export function traversalValues(steps: number, lo = -1, hi = 1): number[] {
  if (!(Number.isInteger(steps) && steps >= 2)) throw new Error(`traversal steps must be an integer ≥ 2, got ${steps}`);
  return Array.from({ length: steps }, (_, i) => lo + ((hi - lo) * i) / (steps - 1));
}

/** The range a code is swept over: [-1, 1] for the GANs' uniform prior, [-2, 2] (±2 std) for a Gaussian prior. */
export function traversalRange(latent: LatentSpec): [number, number] {
  return latent.prior === "uniform" ? [-1, 1] : [-2, 2];
}

export interface TraversalImages {
  /** NHWC images, row-major over the grid: row r, column v at index r * values.length + v. */
  images: Float32Array;
  n: number;
  h: number;
  w: number;
  c: number;
  rows: number;
  cols: number;
}

async function render(gen: Generator, codes: Float32Array, noise: Float32Array, n: number): Promise<TraversalImages> {
  const { codes: k, noise: m } = gen.latent;
  const out = tf.tidy(() => {
    const c = tf.tensor2d(codes, [n, k]);
    return m > 0 ? gen.generate(c, tf.tensor2d(noise, [n, m])) : gen.generate(c);
  });
  try {
    const [, h, w, ch] = out.shape;
    return { images: (await out.data()) as Float32Array, n, h, w, c: ch, rows: 0, cols: 0 };
  } finally {
    out.dispose();
  }
}

/**
 * Figure-1 style grid for one base latent: row i sweeps code i over `values` with every other input held at the same
 * random draw. rows = codes, cols = values.length.
 */
export async function traversalGrid(gen: Generator, values: number[], rng: Rng): Promise<TraversalImages> {
  const { codes: k, noise: m, prior } = gen.latent;
  const baseC = samplePrior(prior, 1, k, rng);
  const baseZ = samplePrior(prior, 1, m, rng);
  const n = k * values.length;
  const codes = new Float32Array(n * k);
  const noise = new Float32Array(n * m);
  for (let i = 0; i < k; i++) {
    for (let v = 0; v < values.length; v++) {
      const r = i * values.length + v;
      codes.set(baseC, r * k);
      codes[r * k + i] = values[v];
      noise.set(baseZ, r * m);
    }
  }
  const t = await render(gen, codes, noise, n);
  return { ...t, rows: k, cols: values.length };
}

/**
 * Frames of an animation for one code: frame v shows `bases` different random latents (one per tile), each with code
 * `code` set to values[v]. Watching the frames shows what that code does across many images.
 */
export async function codeSweepFrames(
  gen: Generator,
  code: number,
  values: number[],
  bases: number,
  rng: Rng,
): Promise<TraversalImages[]> {
  const { codes: k, noise: m, prior } = gen.latent;
  if (!(code >= 0 && code < k)) throw new Error(`code ${code} is out of range: the generator has ${k} codes`);
  const baseC = samplePrior(prior, bases, k, rng);
  const baseZ = samplePrior(prior, bases, m, rng);
  const frames: TraversalImages[] = [];
  for (const v of values) {
    const codes = baseC.slice();
    for (let b = 0; b < bases; b++) codes[b * k + code] = v;
    const t = await render(gen, codes, baseZ, bases);
    frames.push({ ...t, rows: 1, cols: bases });
  }
  return frames;
}
