/** Shared fixtures of the VAE tests: a tiny config and a tiny synthetic image set (not a test file itself). */
import { parseVaeConfig, presetFor, type VaeConfig, type VaeModelName } from "../lib/config/vae.ts";
import type { ImageSource } from "../lib/train/vae_trainer.ts";

/** A 16x16x1 VAE with narrow layers and a 2-layer TC-D, so a step takes milliseconds on the cpu backend. */
export function tinyConfig(model: VaeModelName = "factor-vae", over: Record<string, unknown> = {}): VaeConfig {
  const base = presetFor("dsprites", "smoke", model) as Record<string, unknown>;
  const raw: Record<string, unknown> = {
    ...base,
    seed: 5,
    iterations: 6,
    batchSize: 8,
    imageShape: [16, 16, 1],
    latentDim: 4,
    arch: { encoderChannels: [4, 4, 8, 8], encoderHidden: 16, decoderHidden: 16, decoderChannels: [8, 8, 4, 4] },
    optimVae: { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
    logEvery: 1,
    checkpointEvery: 2,
    ...over,
  };
  if (model === "factor-vae") raw.tcd = { hidden: 16, layers: 2 };
  return parseVaeConfig(raw);
}

/** n binary 16x16 images of a 4x4 square at distinct positions: a dataset with two generating factors. */
export function squares(n = 32): ImageSource & { calls: number } {
  const src = {
    size: n,
    calls: 0,
    images(indices: Int32Array): Float32Array {
      src.calls++;
      const out = new Float32Array(indices.length * 256);
      indices.forEach((k, i) => {
        const px = (k * 5) % 13, py = (k * 3 + Math.floor(k / 13)) % 13;
        for (let y = py; y < py + 4; y++) for (let x = px; x < px + 4; x++) out[i * 256 + y * 16 + x] = 1;
      });
      return out;
    },
  };
  return src;
}
