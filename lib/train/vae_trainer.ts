/**
 * Training loop of the VAE baselines (FactorVAE and beta-VAE), as the released `FactorVAE.train` (paper-facts §4): per
 * iteration one Adam step of the VAE (encoder + decoder) on a minibatch, then, for FactorVAE, one Adam step of the TC
 * discriminator on the SAME minibatch with a fresh encoder pass (the code's second `sess.run` re-evaluates z with the
 * just-updated encoder and a new eps).
 *
 * Randomness, all from the config's seed: data order (`data`), reparameterisation noise (`noise`), the TC-D's
 * per-dimension permutations (`permute`), weight init (`init/*`). All three stream states, the batch position and both
 * optimisers' moments go into the checkpoint, so N iterations + save + resume + N iterations equals 2N iterations.
 *
 * A run folder (`trainVae`): config.json, log.jsonl (one `{iter, recon, kl, tc, vae, tcd, time, itPerSec}` line every
 * `logEvery` iterations), checkpoint/ (latest, written atomically by lib/train/checkpoint.ts), samples/ (PNG grids).
 */
import * as tf from "@tensorflow/tfjs";
import { Rng, type RngState } from "../rng.ts";
import { parseVaeConfig, type VaeConfig } from "../config/vae.ts";
import { Adam } from "./adam.ts";
import {
  decoderForward,
  disposeVaeParams,
  encoderForward,
  initVaeParams,
  type ParamGroup,
  reparameterize,
  tcdForward,
  VaeModel,
  type VaeParams,
  vaeParamsFromTensors,
  type VaeSpec,
  vaeSpecOf,
} from "../models/vae.ts";
import {
  bernoulliReconstruction,
  gaussianKl,
  permuteDims,
  tcDiscriminatorLoss,
  totalCorrelation,
} from "../losses/vae.ts";
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import {
  firstNonFinite,
  NonFiniteLossError,
  nonResumableDifferences,
  refuseOverwrite,
  runLoop,
  startLog,
  writeRunConfig,
} from "./run_folder.ts";
import { BatchIterator, type BatchIteratorState } from "../data/batches.ts";
import { datasetForConfig } from "../data/registry.ts";
import { withDataSource } from "../data/source.ts";
import { imagesToPng, writePng } from "../viz/grid.ts";

/** What the trainer needs of a dataset: its size and the images at given indices (row-major n x h x w x c). */
export interface ImageSource {
  size: number;
  images(indices: Int32Array): Float32Array;
}

/** Losses of one iteration (before its update). `tc` (unweighted TC estimate) and `tcd` are 0 for beta-VAE. */
export interface VaeLosses {
  recon: number;
  kl: number;
  tc: number;
  vae: number;
  tcd: number;
}

export interface VaeTrainer {
  readonly config: VaeConfig;
  /** Completed iterations. */
  readonly iteration: number;
  /** One training iteration; throws on a NaN/Inf loss (before applying that update). */
  /** One training iteration; resolves once its losses have been read back from the backend. */
  step(): Promise<VaeLosses>;
  /** Writes the checkpoint (weights, optimiser moments, RNG and data-order state) into `dir`, atomically. */
  save(dir: string): Promise<void>;
  /** The current model; shares the trainer's weights (its `dispose` leaves them alone). */
  model(): VaeModel;
  dispose(): void;
}

export interface VaeTrainerOptions {
  data: ImageSource;
  /** Continue from this checkpoint (as `loadCheckpoint` returns it); its tensors are copied, not taken over. */
  checkpoint?: Checkpoint;
}

// ---- the trainer ----------------------------------------------------------------------------------------------------

function flatten(groups: Record<string, ParamGroup>): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const [g, vars] of Object.entries(groups)) for (const [k, v] of Object.entries(vars)) out[`${g}/${k}`] = v;
  return out;
}

/** Gradients of `f` with respect to `vars` (stable keys), plus the scalars `f` kept. */
function gradsOf(
  f: () => tf.Scalar,
  vars: Record<string, tf.Variable>,
): { value: tf.Scalar; grads: Record<string, tf.Tensor> } {
  const keys = Object.keys(vars);
  const list = keys.map((k) => vars[k]);
  const { value, grads } = tf.variableGrads(f, list);
  const byKey: Record<string, tf.Tensor> = {};
  keys.forEach((k, i) => (byKey[k] = grads[list[i].name]));
  return { value, grads: byKey };
}

function checkFinite(losses: VaeLosses, iteration: number): void {
  const bad = firstNonFinite({ ...losses });
  if (bad) {
    throw new NonFiniteLossError(
      `training diverged: loss "${bad.key}" is ${bad.value} at iteration ${iteration + 1}; stopped before applying ` +
        "that update (the last checkpoint is intact)",
      bad.key,
      iteration,
    );
  }
}

interface VaeCheckpointState {
  model: string;
  iteration: number;
  adamVaeT: number;
  adamTcdT: number;
  rng: { noise: RngState; permute: RngState };
  batches: BatchIteratorState;
}

/** The trainer state of a checkpoint, checked against the config before any tensor is touched. */
function checkpointState(ck: Checkpoint, config: VaeConfig): VaeCheckpointState {
  const s = ck.state as Partial<VaeCheckpointState>;
  if (s.model !== config.model) {
    throw new Error(`checkpoint is of model "${s.model}", the config asks for "${config.model}"`);
  }
  if (
    typeof s.iteration !== "number" || !s.rng || !s.batches || typeof s.adamVaeT !== "number" ||
    typeof s.adamTcdT !== "number"
  ) {
    throw new Error("checkpoint state lacks iteration, rng, batches or optimiser step counts (not a VAE checkpoint?)");
  }
  return s as VaeCheckpointState;
}

/** A trainer for `config`, at iteration 0 or at the given checkpoint. */
export function createVaeTrainer(configIn: VaeConfig, opts: VaeTrainerOptions): VaeTrainer {
  const config = parseVaeConfig(configIn);
  const spec: VaeSpec = vaeSpecOf(config);
  const [h, w, c] = config.imageShape;
  const B = config.batchSize;
  const d = config.latentDim;
  const isFactor = config.model === "factor-vae";

  const root = new Rng(config.seed);
  const dataRng = root.fork("data");
  let noiseRng = root.fork("noise");
  let permRng = root.fork("permute");
  let batches = new BatchIterator(opts.data, B, dataRng);

  const saved = opts.checkpoint ? checkpointState(opts.checkpoint, config) : null;
  const params: VaeParams = opts.checkpoint
    ? vaeParamsFromTensors(spec, opts.checkpoint.tensors)
    : initVaeParams(spec, root.fork("init"));
  const vaeVars = flatten({ encoder: params.encoder, decoder: params.decoder });
  const tcdVars = flatten({ tcd: params.tcd });
  const adamVae = new Adam(config.optimVae);
  adamVae.init(vaeVars);
  const adamTcd = config.model === "factor-vae" ? new Adam(config.optimTcd) : null;
  adamTcd?.init(tcdVars);
  let iteration = 0;

  if (opts.checkpoint && saved) {
    try {
      adamVae.restore(vaeVars, saved.adamVaeT, opts.checkpoint.tensors.adam_vae, "VAE checkpoint");
      adamTcd?.restore(tcdVars, saved.adamTcdT, opts.checkpoint.tensors.adam_tcd, "VAE checkpoint (TC discriminator)");
      batches = BatchIterator.restore(opts.data, saved.batches);
    } catch (e) {
      adamVae.dispose();
      adamTcd?.dispose();
      disposeVaeParams(params);
      throw e;
    }
    noiseRng = new Rng(saved.rng.noise);
    permRng = new Rng(saved.rng.permute);
    iteration = saved.iteration;
  }

  const gamma = config.model === "factor-vae" ? config.gamma : 0;
  const beta = config.model === "beta-vae" ? config.beta : 1;

  async function step(): Promise<VaeLosses> {
    const pixels = batches.next().images;
    if (pixels.length !== B * h * w * c) {
      throw new Error(`data source returned ${pixels.length} values for a batch of ${B} images of ${h}x${w}x${c}`);
    }
    const x = tf.tensor4d(pixels, [B, h, w, c]);
    try {
      const losses = await vaeUpdate(x);
      if (adamTcd) losses.tcd = await tcdUpdate(x, adamTcd, losses);
      iteration++;
      return losses;
    } finally {
      x.dispose();
    }
  }

  /** The VAE's step: L = recon + beta * KL + gamma * TC (beta = 1 for FactorVAE, gamma = 0 for beta-VAE). */
  async function vaeUpdate(x: tf.Tensor4D): Promise<VaeLosses> {
    const eps = tf.tensor2d(noiseRng.normalArray(B * d), [B, d]);
    let kept: tf.Scalar[] = [];
    const vaeStep = gradsOf(() => {
      const { mean, logvar } = encoderForward(params.encoder, x);
      const z = reparameterize(mean, logvar, eps);
      const recon = bernoulliReconstruction(decoderForward(params.decoder, spec, z), x);
      const kl = gaussianKl(mean, logvar);
      const tc = isFactor ? totalCorrelation(tcdForward(params.tcd, z)) : tf.scalar(0);
      kept = [tf.keep(recon), tf.keep(kl), tf.keep(tc)];
      return recon.add(kl.mul(beta)).add(tc.mul(gamma)) as tf.Scalar;
    }, vaeVars);
    try {
      // Async readback: synchronous reads are unavailable on some backends (tfjs-backend-webgpu under Deno).
      const stacked = tf.stack([...kept, vaeStep.value]);
      let vals: Float32Array;
      try {
        vals = await stacked.data() as Float32Array;
      } finally {
        stacked.dispose();
      }
      const losses: VaeLosses = { recon: vals[0], kl: vals[1], tc: vals[2], vae: vals[3], tcd: 0 };
      checkFinite(losses, iteration);
      adamVae.apply(vaeVars, vaeStep.grads);
      return losses;
    } finally {
      tf.dispose([...kept, vaeStep.value, ...Object.values(vaeStep.grads), eps]);
    }
  }

  /** The TC discriminator's step, on a fresh z from the just-updated encoder and its per-dim permutation. */
  async function tcdUpdate(x: tf.Tensor4D, adam: Adam, losses: VaeLosses): Promise<number> {
    const eps = noiseRng.normalArray(B * d);
    const z = tf.tidy(() => {
      const { mean, logvar } = encoderForward(params.encoder, x);
      return reparameterize(mean, logvar, tf.tensor2d(eps, [B, d]));
    });
    const tcdStep = gradsOf(
      () => tcDiscriminatorLoss(tcdForward(params.tcd, z), tcdForward(params.tcd, permuteDims(z, permRng))),
      tcdVars,
    );
    try {
      const value = (await tcdStep.value.data())[0];
      checkFinite({ ...losses, tcd: value }, iteration);
      adam.apply(tcdVars, tcdStep.grads);
      return value;
    } finally {
      tf.dispose([z, tcdStep.value, ...Object.values(tcdStep.grads)]);
    }
  }

  async function save(dir: string): Promise<void> {
    const tensors: Record<string, tf.NamedTensorMap> = {
      encoder: params.encoder,
      decoder: params.decoder,
      adam_vae: adamVae.slots(),
    };
    if (adamTcd) {
      tensors.tcd = params.tcd;
      tensors.adam_tcd = adamTcd.slots();
    }
    await saveCheckpoint(dir, {
      tensors,
      state: {
        model: config.model,
        iteration,
        adamVaeT: adamVae.t,
        adamTcdT: adamTcd?.t ?? 0,
        rng: { noise: noiseRng.state(), permute: permRng.state() },
        batches: batches.state(),
        config,
      },
    });
  }

  let disposed = false;
  return {
    config,
    get iteration() {
      return iteration;
    },
    step,
    save,
    model: () =>
      new VaeModel(params, spec, {
        name: config.model,
        representation: config.representation,
        encodeSeed: config.seed,
        ownsParams: false,
      }),
    dispose() {
      if (disposed) return;
      disposed = true;
      adamVae.dispose();
      adamTcd?.dispose();
      disposeVaeParams(params);
    },
  };
}

// ---- a run folder -------------------------------------------------------------------------------------------------

export interface TrainVaeProgress {
  iteration: number;
  total: number;
  losses: VaeLosses;
  /** Iterations per second since this call started. */
  itPerSec: number;
  /** Estimated seconds to finish. */
  etaSec: number;
}

export interface TrainVaeOptions {
  /** Training images; by default the dataset named in the config, from lib/data/registry.ts. */
  data?: ImageSource;
  /** Continue from `runDir/checkpoint` exactly (the run's config.json may differ only in lengths and cadences). */
  resume?: boolean;
  /** Show the progress line on stderr (default true). */
  progress?: boolean;
  /** Write sample and traversal grids every `sampleEvery` iterations (default true). */
  grids?: boolean;
  /** Called after every iteration. */
  onProgress?: (p: TrainVaeProgress) => void;
  /** Called after each checkpoint is written. */
  onCheckpoint?: (trainer: VaeTrainer) => Promise<void> | void;
}

async function readTextOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/**
 * Writes `samples-TAG.png` (reconstructions: 32 training images over their reconstructions from the posterior mean)
 * and `traversal-TAG.png` (row j: latent j swept over [-2, 2] from the posterior mean of one fixed image).
 */
export async function writeVaeGrids(model: VaeModel, data: ImageSource, dir: string, tag: string, seed: number) {
  const [h, w, c] = model.spec.imageShape;
  const d = model.spec.latentDim;
  const rng = new Rng(seed).fork("grid-images");
  const idx = Int32Array.from({ length: 32 }, () => rng.int(data.size));
  const x = tf.tensor4d(data.images(idx).slice(0, 32 * h * w * c), [32, h, w, c]);
  const steps = 9;
  let recon: tf.Tensor | null = null, trav: tf.Tensor | null = null;
  try {
    const [r, baseT] = tf.tidy(() => {
      const { mean } = encoderForward(model.params.encoder, x);
      return [tf.concat([x, model.generate(mean)]), mean.slice([0, 0], [1, d])];
    });
    recon = r;
    let base: Float32Array;
    try {
      base = await baseT.data() as Float32Array;
    } finally {
      baseT.dispose();
    }
    const codes = new Float32Array(d * steps * d);
    for (let j = 0; j < d; j++) {
      for (let s = 0; s < steps; s++) {
        const row = j * steps + s;
        codes.set(base, row * d);
        codes[row * d + j] = -2 + (4 * s) / (steps - 1);
      }
    }
    trav = tf.tidy(() => model.generate(tf.tensor2d(codes, [d * steps, d])));
    await Deno.mkdir(dir, { recursive: true });
    const opts = { pad: 1, valueRange: [0, 1] as [number, number] };
    const png1 = await imagesToPng(await recon.data() as Float32Array, 64, h, w, c, { ...opts, cols: 16 });
    await writePng(`${dir}/samples-${tag}.png`, png1);
    const png2 = await imagesToPng(await trav.data() as Float32Array, d * steps, h, w, c, {
      ...opts,
      cols: steps,
    });
    await writePng(`${dir}/traversal-${tag}.png`, png2);
  } finally {
    tf.dispose([x, recon, trav].filter((t) => t !== null));
  }
}

/**
 * Trains a VAE into the run folder `runDir`: config.json, log.jsonl, checkpoint/ (latest), samples/. Refuses to
 * overwrite an existing checkpoint unless `resume`, which continues exactly where the checkpoint stopped. A NaN/Inf loss
 * throws, leaving the last checkpoint as it was. Returns the number of completed iterations.
 */
export async function trainVae(
  configIn: VaeConfig,
  runDir: string,
  opts: TrainVaeOptions = {},
): Promise<{ iterations: number }> {
  const requested = parseVaeConfig(configIn);
  const ckDir = `${runDir}/checkpoint`;
  const data = opts.data ?? (await datasetForConfig(requested));
  // The run's config.json says which images it was trained on, whichever way they were chosen.
  const config = withDataSource(requested, data);
  const shape = (data as { imageShape?: number[] }).imageShape;
  if (shape && shape.join("x") !== config.imageShape.join("x")) {
    throw new Error(`dataset images are ${shape.join("x")}, the config's imageShape is ${config.imageShape.join("x")}`);
  }
  await Deno.mkdir(runDir, { recursive: true });

  let checkpoint: Checkpoint | undefined;
  if (opts.resume) {
    const savedText = await readTextOrNull(`${runDir}/config.json`);
    if (savedText === null) throw new Error(`cannot resume: ${runDir}/config.json does not exist`);
    const saved = parseVaeConfig(JSON.parse(savedText), `${runDir}/config.json`);
    const diff = nonResumableDifferences(saved as Record<string, unknown>, config as Record<string, unknown>);
    if (diff.length) throw new Error(`cannot resume ${runDir}: the config differs in ${diff.join(", ")}`);
    checkpoint = await loadCheckpoint(ckDir);
  } else await refuseOverwrite(runDir);

  let trainer: VaeTrainer;
  try {
    trainer = createVaeTrainer(config, { data, checkpoint });
  } finally {
    if (checkpoint) { for (const g of Object.values(checkpoint.tensors)) tf.dispose(g); }
  }
  const start = trainer.iteration;
  try {
    await writeRunConfig(runDir, config);
    await startLog(`${runDir}/log.jsonl`, opts.resume ? start : null);
    await runLoop(runDir, config, `${config.model} ${config.dataset}`, {
      iteration: () => trainer.iteration,
      step: () => trainer.step(),
      logFields: (losses) => ({ ...losses }),
      shown: (losses) =>
        config.model === "factor-vae" ? { ...losses } : { recon: losses.recon, kl: losses.kl, vae: losses.vae },
      grids: opts.grids !== false && config.sampleEvery > 0
        ? async (tag) => {
          const model = trainer.model();
          await writeVaeGrids(model, data, `${runDir}/samples`, tag, config.seed);
          model.dispose();
        }
        : undefined,
      save: () => trainer.save(ckDir),
      afterCheckpoint: () => opts.onCheckpoint?.(trainer),
      afterIteration: opts.onProgress
        ? (it, losses, elapsed) => {
          const rate = (it - start) / Math.max(elapsed, 1e-9);
          opts.onProgress!({
            iteration: it,
            total: config.iterations,
            losses,
            itPerSec: rate,
            etaSec: (config.iterations - it) / rate,
          });
        }
        : undefined,
    }, opts.progress !== false);
    return { iterations: trainer.iteration };
  } finally {
    trainer.dispose();
  }
}
