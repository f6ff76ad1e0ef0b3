/**
 * The InfoGAN-CR training loop (paper-facts §2–4, [IGCR `gan/infogan_cr.py` `train`]).
 *
 * One iteration, all on the same real minibatch and the same latents:
 *   1. H step on a CR pair batch (skipped while alpha = 0 unless `trainHWhileAlphaZero`);
 *   2. D/Q step: D on real and fake, Q's information loss on the fake;
 *   3. `gSteps` (2) G steps: non-saturating adversarial + lambda * info + alpha * CR;
 *   4. one spectral-norm power-iteration update of every normalised layer of D/Q and H.
 * Whenever alpha or the gap changes, H's weights and its Adam slots are re-initialised.
 *
 * Each optimiser step computes its fake batch once. G's BN runs in train mode for every G forward pass of a step; the CR
 * pairs are two separate G passes with their own batch statistics, in train mode only while alpha > 0 [IGCR]. Only the
 * main fake batch (drawn from the prior) moves G's BN moving averages, three times per iteration (the D/Q step and each
 * G step, as TF's in-place batch_norm updates do). The reference also lets the pair passes move them (six more updates
 * per CR iteration); that is harmless at its gap 0, where a pair batch is distributed as a prior batch, but with a gap
 * the pairs' non-shared codes sit near the ends of [-1, 1], and the moving statistics, hence every inference-mode image,
 * would describe those instead of the prior (docs/training.md, "Batch-norm statistics").
 *
 * `createTrainer` gives a step-by-step object for benches and notebooks; `train` adds the run folder: config.json,
 * log.jsonl, samples/, checkpoint/, resume, and the snapshot just before CR switches on ("InfoGAN (modified)").
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng.ts";
import { BatchIterator, type BatchIteratorState } from "../data/batches.ts";
import { datasetForConfig } from "../data/registry.ts";
import { withDataSource } from "../data/source.ts";
import { imagesToPng, writePng } from "../viz/grid.ts";
import { alphaAt, alphaSwitchIteration, type GanConfig, gapAt, parseGanConfig } from "../config/gan.ts";
import {
  architectureFor,
  contrast,
  discriminate,
  type GanArchitecture,
  ganModel,
  type GanParams,
  generate,
  generatorTopology,
  initGan,
  initH,
  updateSpectralNorms,
} from "../models/infogan_cr.ts";
import { Adam } from "./adam.ts";
import type { TrainedModel } from "../models/capabilities.ts";
import { contrastiveLoss, discriminatorLoss, generatorAdversarialLoss, informationLoss } from "../losses/gan.ts";
import { joinLatent, sampleCrPairs, sampleLatents } from "../latents.ts";
import { hasCheckpoint, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import {
  firstNonFinite,
  NonFiniteLossError,
  refuseOverwrite,
  RESUMABLE_CHANGES,
  runLoop,
  startLog,
  writeRunConfig,
} from "./run_folder.ts";

export { NonFiniteLossError } from "./run_folder.ts";

/** What the trainer needs from a dataset: its size, image shape, and images by index (NHWC floats, row-major). */
export interface TrainingData {
  size: number;
  imageShape: [number, number, number];
  images(indices: Int32Array, out?: Float32Array): Float32Array;
}

export interface StepLosses {
  /** Iterations completed after this step. */
  iteration: number;
  alpha: number;
  gap: number;
  /** H's cross-entropy (NaN when H was not trained this iteration). */
  h: number;
  /** D/Q step: adversarial part, information part, total. */
  d_adv: number;
  d_info: number;
  d: number;
  /** Last G step: adversarial, information, contrastive, total. */
  g_adv: number;
  g_info: number;
  g_cr: number;
  g: number;
  /** Milliseconds per phase (data, h, dq, g, sn), when `timePhases` is on. */
  ms?: Record<string, number>;
}

export interface TrainerOptions {
  /** Training images; by default the dataset named in the config, from lib/data/registry.ts. */
  data?: TrainingData;
  /** Measure each phase's wall time (adds a sync point after each phase; for benches). */
  timePhases?: boolean;
  /** Test hook: return true to put NaN into the real batch of that (0-based) iteration. */
  poison?: (iteration: number) => boolean;
  /**
   * Diagnostic hook: changes the architecture the config implies (e.g. D/Q without spectral norm, bench/d_plateau.ts).
   * Such a run's checkpoint does not load as the config's model; never set by the CLI.
   */
  architecture?: (arch: GanArchitecture) => GanArchitecture;
}

export interface Trainer {
  readonly config: GanConfig;
  readonly arch: GanArchitecture;
  /** Completed iterations. */
  readonly iteration: number;
  /** One training iteration; resolves once its losses have been read back from the backend. */
  step(): Promise<StepLosses>;
  /** Writes a checkpoint (weights, Adam slots and steps, RNG states, data order, config) into `dir`. */
  save(dir: string): Promise<void>;
  /** Restores a checkpoint written by `save` (same config apart from `iterations` and output cadences). */
  restore(dir: string): Promise<void>;
  /** Encoder + generator views of the current weights (shares them: disposing it does nothing). */
  model(): TrainedModel;
  params(): GanParams;
  /** Adam step counts per optimiser (H's restarts from 0 whenever H is reset). */
  optimizerSteps(): { g: number; dq: number; h: number };
  dispose(): void;
}

/** The images the config names (the file it recorded, IGCR_DSPRITES_NPZ, or the built-in renderer). */
async function defaultData(cfg: GanConfig): Promise<TrainingData> {
  return await datasetForConfig(cfg);
}

const LOSS_NAMES = ["h", "d_adv", "d_info", "d", "g_adv", "g_info", "g_cr", "g"] as const;

export async function createTrainer(config: GanConfig, opts: TrainerOptions = {}): Promise<Trainer> {
  const cfg = parseGanConfig(config);
  const data = opts.data ?? (await defaultData(cfg));
  const baseArch = architectureFor(cfg.dataset, data.imageShape, cfg.noiseDims);
  const arch = opts.architecture ? opts.architecture(baseArch) : baseArch;
  const { codes, noise } = arch.latent;
  const n = cfg.batchSize;
  const [ih, iw, ic] = arch.imageShape;

  const root = new Rng(cfg.seed);
  let initRng = root.fork("init");
  let latentRng = root.fork("latents");
  // CR pairs have their own stream, so that a run with CR and one without draw the same main latents and batches
  // (the paired arms of lib/train/branch.ts differ in the regularizer only).
  let pairRng = root.fork("cr-pairs");
  let batches = new BatchIterator(data, n, root.fork("data"));
  const params = initGan(arch, initRng);
  const adam = {
    g: new Adam({ ...cfg.adam, lr: cfg.lr.g }),
    dq: new Adam({ ...cfg.adam, lr: cfg.lr.d }),
    h: new Adam({ ...cfg.adam, lr: cfg.lr.h }),
  };
  let iteration = 0;

  // H's weights and Adam slots start afresh; its spectral-norm vectors carry over, as in the reference, which
  // re-initialises only H's trainable variables (u is not trainable).
  const resetH = () => {
    const fresh = initH(arch, initRng);
    for (const [name, v] of params.h.state) if (name.endsWith("/sn_u")) fresh.get(name).assign(v);
    params.h.dispose();
    params.h = fresh;
    adam.h.reset();
  };

  const step = async (): Promise<StepLosses> => {
    const it = iteration;
    const alpha = alphaAt(cfg, it);
    const gap = gapAt(cfg, it);
    if (it > 0 && (alpha !== alphaAt(cfg, it - 1) || gap !== gapAt(cfg, it - 1))) resetH();

    const ms: Record<string, number> = {};
    let tMark = performance.now();
    // Phase timing waits for the phase's result with an async read: synchronous readback does not exist on every
    // backend (tfjs-backend-webgpu needs an OffscreenCanvas for it, which Deno lacks).
    const mark = async (phase: string, sync?: tf.Tensor) => {
      if (!opts.timePhases) return;
      if (sync) await sync.data();
      const now = performance.now();
      ms[phase] = (ms[phase] ?? 0) + now - tMark;
      tMark = now;
    };
    const realBuf = batches.next().images;
    if (opts.poison?.(it)) realBuf[0] = NaN;
    const lat = sampleLatents(latentRng, n, codes, noise);
    const trainH = alpha > 0 || cfg.trainHWhileAlphaZero;
    const pairs = trainH ? sampleCrPairs(pairRng, n, codes, noise, gap) : null;

    const parts: tf.Scalar[] = [];
    const keep = (t: tf.Scalar) => {
      parts.push(tf.keep(t));
      return t;
    };
    // Each phase runs in its own tidy so that the (async) phase marks can sit between them; the inputs live across
    // phases and are disposed at the end.
    const latent = tf.tensor2d(joinLatent(lat.c, lat.z, n, codes, noise), [n, codes + noise]);
    const c = tf.tensor2d(lat.c, [n, codes]);
    const real = tf.tensor4d(realBuf, [n, ih, iw, ic]);
    let p1: tf.Tensor2D | null = null, p2: tf.Tensor2D | null = null, idx: tf.Tensor1D | null = null;
    if (pairs) {
      p1 = tf.tensor2d(joinLatent(pairs.c1, pairs.z, n, codes, noise), [n, codes + noise]);
      p2 = tf.tensor2d(joinLatent(pairs.c2, pairs.z, n, codes, noise), [n, codes + noise]);
      idx = tf.tensor1d(pairs.index, "int32");
    }
    let values: Float32Array;
    try {
      // The pair passes normalise with their own batch statistics but leave G's moving averages to the prior batch.
      const pairMode = alpha > 0 ? { training: true, noStatUpdate: true } : { training: false };
      const gMode = { training: true };
      await mark("data");

      // 1. H step.
      tf.tidy(() => {
        if (pairs) {
          const x1 = generate(arch, params.g, p1!, pairMode);
          const x2 = generate(arch, params.g, p2!, pairMode);
          keep(adam.h.minimize(params.h.trainable, () => contrastiveLoss(contrast(arch, params.h, x1, x2), idx!)));
        } else keep(tf.scalar(NaN));
      });
      await mark("h", parts[0]);

      // 2. D/Q step; D has no BN, so real and fake go through it as one batch.
      const dTotal = tf.tidy(() => {
        const fake = generate(arch, params.g, latent, gMode);
        const both = tf.concat([real, fake], 0);
        let dAdv!: tf.Scalar, dInfo!: tf.Scalar;
        const total = adam.dq.minimize(params.dq.trainable, () => {
          const { dLogit, qMean } = discriminate(arch, params.dq, both);
          const [realLogit, fakeLogit] = tf.split(dLogit, 2) as [tf.Tensor1D, tf.Tensor1D];
          const qFake = tf.slice(qMean, [n, 0], [n, codes]) as tf.Tensor2D;
          dAdv = tf.keep(discriminatorLoss(realLogit, fakeLogit));
          dInfo = tf.keep(informationLoss(c, qFake));
          return tf.add(dAdv, tf.mul(dInfo, cfg.infoWeight)) as tf.Scalar;
        });
        parts.push(dAdv, dInfo, tf.keep(total));
        return total;
      });
      await mark("dq", dTotal);

      // 3. G steps on the same latents.
      const gLast = tf.tidy(() => {
        let gAdv: tf.Scalar | null = null, gInfo: tf.Scalar | null = null, gCr: tf.Scalar | null = null;
        let gTotal: tf.Scalar | null = null;
        for (let s = 0; s < cfg.gSteps; s++) {
          tf.dispose([gAdv, gInfo, gCr, gTotal].filter((t) => t !== null));
          gTotal = adam.g.minimize(params.g.trainable, () => {
            const x = generate(arch, params.g, latent, gMode);
            const { dLogit, qMean } = discriminate(arch, params.dq, x);
            gAdv = tf.keep(generatorAdversarialLoss(dLogit));
            gInfo = tf.keep(informationLoss(c, qMean));
            let total = tf.add(gAdv, tf.mul(gInfo, cfg.infoWeight));
            if (alpha > 0) {
              const x1 = generate(arch, params.g, p1!, pairMode);
              const x2 = generate(arch, params.g, p2!, pairMode);
              gCr = tf.keep(contrastiveLoss(contrast(arch, params.h, x1, x2), idx!));
              total = tf.add(total, tf.mul(gCr, alpha));
            } else gCr = tf.keep(tf.scalar(NaN));
            return total as tf.Scalar;
          });
          tf.keep(gTotal);
        }
        parts.push(gAdv!, gInfo!, gCr!, gTotal!);
        return gTotal!;
      });
      await mark("g", gLast);

      // 4. Spectral-norm power iterations, once per iteration after all optimiser steps.
      tf.tidy(() => updateSpectralNorms(arch, params));
      await mark("sn", params.dq.state.get("d_out/sn_u")); // absent when a diagnostic architecture drops SN

      const stacked = tf.stack(parts);
      try {
        values = await stacked.data() as Float32Array;
      } finally {
        stacked.dispose();
      }
    } finally {
      tf.dispose([latent, c, real, ...[p1, p2, idx].filter((t) => t !== null), ...parts]);
    }
    iteration = it + 1;
    const losses: StepLosses = { iteration, alpha, gap } as StepLosses;
    LOSS_NAMES.forEach((k, i) => (losses[k] = values[i]));
    if (opts.timePhases) losses.ms = ms;
    const bad = firstNonFinite(
      Object.fromEntries(LOSS_NAMES.map((k) => [k, losses[k]])),
      (k) => (k === "h" && !trainH) || (k === "g_cr" && !(alpha > 0)),
    );
    if (bad) {
      throw new NonFiniteLossError(
        `training stopped: loss ${bad.key} is ${bad.value} at iteration ${it} (0-based)`,
        bad.key,
        it,
      );
    }
    return losses;
  };

  let topology: object | null = null;
  const checkpointContent = () => ({
    // G's folder doubles as a tfjs LayersModel (tf.loadLayersModel on generator/model.json).
    manifests: { generator: { format: "layers-model", modelTopology: topology ??= generatorTopology(arch) } },
    tensors: {
      generator: params.g.all(),
      discriminator: params.dq.all(),
      contrastive: params.h.all(),
      adam_g: adam.g.slots(),
      adam_dq: adam.dq.slots(),
      adam_h: adam.h.slots(),
    },
    state: {
      iteration,
      adamSteps: { g: adam.g.t, dq: adam.dq.t, h: adam.h.t },
      rng: { init: initRng.state(), latents: latentRng.state(), pairs: pairRng.state() },
      batches: batches.state(),
      imageShape: arch.imageShape,
      config: cfg,
    },
  });

  const restore = async (dir: string) => {
    const ck = await loadCheckpoint(dir);
    try {
      const s = ck.state as ReturnType<typeof checkpointContent>["state"];
      const saved = s.config as Record<string, unknown>;
      for (const key of Object.keys(cfg) as (keyof GanConfig)[]) {
        if (RESUMABLE_CHANGES.has(key)) continue;
        if (JSON.stringify(saved[key]) !== JSON.stringify(cfg[key])) {
          throw new Error(
            `cannot resume from ${dir}: config "${key}" was ${JSON.stringify(saved[key])}, now ${
              JSON.stringify(cfg[key])
            }`,
          );
        }
      }
      params.g.assignFrom(ck.tensors.generator, `checkpoint ${dir}/generator`);
      params.dq.assignFrom(ck.tensors.discriminator, `checkpoint ${dir}/discriminator`);
      // H may have been re-initialised from a different init-RNG position, but its shapes are fixed.
      params.h.assignFrom(ck.tensors.contrastive, `checkpoint ${dir}/contrastive`);
      adam.g.load(ck.tensors.adam_g, s.adamSteps.g);
      adam.dq.load(ck.tensors.adam_dq, s.adamSteps.dq);
      adam.h.load(ck.tensors.adam_h, s.adamSteps.h);
      initRng = new Rng(s.rng.init);
      latentRng = new Rng(s.rng.latents);
      // Checkpoints written before the pair stream existed drew pairs from the latent stream: they resume with a
      // fresh pair stream (not bit-exact with their own continuation).
      pairRng = s.rng.pairs ? new Rng(s.rng.pairs) : root.fork("cr-pairs");
      batches = BatchIterator.restore(data, s.batches as BatchIteratorState);
      iteration = s.iteration;
    } finally {
      for (const m of Object.values(ck.tensors)) tf.dispose(m);
    }
  };

  const view = ganModel(`${cfg.model}-${cfg.dataset}-seed${cfg.seed}`, arch, params.g, params.dq, false);
  // ganModel captured the ParamSets; H is replaced on reset but the model never uses H.

  return {
    config: cfg,
    arch,
    get iteration() {
      return iteration;
    },
    step,
    save: (dir: string) => saveCheckpoint(dir, checkpointContent()),
    restore,
    model: () => view,
    params: () => params,
    optimizerSteps: () => ({ g: adam.g.t, dq: adam.dq.t, h: adam.h.t }),
    dispose() {
      params.g.dispose();
      params.dq.dispose();
      params.h.dispose();
      adam.g.reset();
      adam.dq.reset();
      adam.h.reset();
    },
  };
}

export interface TrainOptions extends TrainerOptions {
  resume?: boolean;
  /** Show the progress line (default true). */
  progress?: boolean;
  /** Write sample and traversal grids (default true). */
  grids?: boolean;
}

/** Fixed latents for the periodic grids, so grids at different iterations are comparable. */
function gridLatents(arch: GanArchitecture, seed: number) {
  const { codes, noise } = arch.latent;
  const rng = new Rng(seed).fork("grid-latents");
  const samples = sampleLatents(rng, 64, codes, noise);
  const steps = 10, bases = 2;
  const base = sampleLatents(rng, bases, codes, noise);
  const rows = bases * codes;
  const c = new Float32Array(rows * steps * codes), z = new Float32Array(rows * steps * noise);
  for (let b = 0; b < bases; b++) {
    for (let k = 0; k < codes; k++) {
      for (let s = 0; s < steps; s++) {
        const r = (b * codes + k) * steps + s;
        c.set(base.c.subarray(b * codes, (b + 1) * codes), r * codes);
        c[r * codes + k] = -1 + (2 * s) / (steps - 1);
        z.set(base.z.subarray(b * noise, (b + 1) * noise), r * noise);
      }
    }
  }
  return { samples, traversal: { c, z, n: rows * steps, cols: steps } };
}

/** Writes samples/iter-N.png (64 samples) and samples/traversal-iter-N.png (row = one code swept over [-1, 1]). */
export async function writeGrids(trainer: Trainer, dir: string, tag: string): Promise<void> {
  const arch = trainer.arch;
  const { codes, noise } = arch.latent;
  const [h, w, ch] = arch.imageShape;
  const lat = gridLatents(arch, trainer.config.seed);
  const model = trainer.model();
  await Deno.mkdir(dir, { recursive: true });
  const render = async (c: Float32Array, z: Float32Array, count: number, cols: number, path: string) => {
    const ct = tf.tensor2d(c, [count, codes]);
    const zt = noise > 0 ? tf.tensor2d(z, [count, noise]) : undefined;
    const x = model.generate(ct, zt);
    tf.dispose([ct, zt].filter((t) => t !== undefined));
    try {
      const png = await imagesToPng(x, count, h, w, ch, { cols, pad: 1, valueRange: arch.valueRange });
      await writePng(path, png);
    } finally {
      x.dispose();
    }
  };
  await render(lat.samples.c, lat.samples.z, 64, 8, `${dir}/samples-${tag}.png`);
  await render(lat.traversal.c, lat.traversal.z, lat.traversal.n, lat.traversal.cols, `${dir}/traversal-${tag}.png`);
}

/** Where `train` keeps the snapshot of iteration `it` listed in the config's `snapshotAt` (relative to the run folder). */
export function snapshotPath(it: number): string {
  return `snapshots/iter-${it}`;
}

/**
 * Trains a run in `runDir`: config.json, log.jsonl, samples/, checkpoint/ (latest), snapshots/ (the InfoGAN snapshot
 * before CR switches on). With `resume`, continues from runDir/checkpoint exactly. Returns the final trainer (caller
 * disposes).
 */
export async function train(config: GanConfig, runDir: string, opts: TrainOptions = {}): Promise<Trainer> {
  const requested = parseGanConfig(config);
  // The run's config.json says which images it was trained on, whichever way they were chosen.
  const data = opts.data ?? (await defaultData(requested));
  const cfg = withDataSource(requested, data);
  await Deno.mkdir(runDir, { recursive: true });
  const ckDir = `${runDir}/checkpoint`;
  const trainer = await createTrainer(cfg, { ...opts, data });
  try {
    if (opts.resume) {
      if (!(await hasCheckpoint(ckDir))) throw new Error(`--resume: no checkpoint in ${ckDir}`);
      await trainer.restore(ckDir);
      await startLog(`${runDir}/log.jsonl`, trainer.iteration);
    } else {
      await refuseOverwrite(runDir);
      await startLog(`${runDir}/log.jsonl`, null);
    }
    await writeRunConfig(runDir, cfg);
    const switchAt = alphaSwitchIteration(cfg);
    const snapshotAt = new Set(cfg.snapshotAt ?? []);
    await runLoop(runDir, cfg, `${cfg.model} ${cfg.dataset}`, {
      iteration: () => trainer.iteration,
      async beforeStep(it) {
        // The paper's "InfoGAN (modified)" row: the model just before CR switches on.
        if (switchAt !== null && it === switchAt && switchAt > 0) {
          await trainer.save(`${runDir}/snapshots/before-cr-iter-${switchAt}`);
        }
        if (snapshotAt.has(it)) await trainer.save(`${runDir}/${snapshotPath(it)}`);
      },
      async step() {
        try {
          return await trainer.step();
        } catch (e) {
          if (!(e instanceof NonFiniteLossError)) throw e;
          const where = (await hasCheckpoint(ckDir))
            ? `the last checkpoint in ${ckDir} is intact (resume from it with --resume)`
            : "no checkpoint had been written yet";
          throw new NonFiniteLossError(`${e.message}; ${where}`, e.loss, e.iteration);
        }
      },
      logFields: ({ iteration: _it, ...rest }) => rest,
      shown: (l) => ({ d: l.d, g: l.g, q: l.d_info, h: l.h, cr: l.g_cr }),
      grids: opts.grids === false ? undefined : (tag) => writeGrids(trainer, `${runDir}/samples`, tag),
      save: () => trainer.save(ckDir),
    }, opts.progress !== false);
    if (snapshotAt.has(trainer.iteration)) await trainer.save(`${runDir}/${snapshotPath(trainer.iteration)}`);
    return trainer;
  } catch (e) {
    trainer.dispose();
    throw e;
  }
}
