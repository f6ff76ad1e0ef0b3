/**
 * One model as the explorer shows it, prepared from a run folder (or a checkpoint inside one, such as the before-CR
 * snapshot): what the page says about it (`ExplorerModelInfo`), the generator (a VAE's decoder) and the encoder (Q's
 * code means, a VAE's posterior mean) as browser LayersModels (browser_model.ts), and real dataset images with their
 * true factors for the encoder's view, rendered here by the dataset's own renderer.
 *
 * Reads the run folder and never writes to it. Every failure is an `ExploreModelError` whose message names the folder
 * and what is wrong with it, for the command line and the page alike.
 */
import * as tf from "@tensorflow/tfjs";
import { join } from "node:path";
import { Rng } from "../rng.ts";
import { parseGanConfig } from "../config/gan.ts";
import { parseVaeConfig } from "../config/vae.ts";
import { architectureFor, initDQ, initGenerator } from "../models/infogan_cr.ts";
import type { LayerSpec } from "../models/layers.ts";
import { vaeParamsFromTensors, vaeSpecOf } from "../models/vae.ts";
import { loadCheckpoint } from "../train/checkpoint.ts";
import { pathExists } from "../io/atomic.ts";
import type { FactorSpec, GroundTruthData } from "../data/ground_truth.ts";
import { DSprites } from "../data/dsprites.ts";
import { Teapots } from "../data/teapots.ts";
import { traversalRange, traversalValues } from "../viz/traversal.ts";
import { type BrowserModel, browserModel } from "./browser_model.ts";

export class ExploreModelError extends Error {}

/** What the page knows about a model (served as part of site.json). */
export interface ExplorerModelInfo {
  id: string;
  /** Shown in the picker. */
  title: string;
  /** The folder as given on the command line (for messages; never used to build a path by the page). */
  source: string;
  kind: "gan" | "vae";
  model: string;
  dataset: string;
  profile?: string;
  seed?: number;
  /** Training iterations of this checkpoint. */
  iteration?: number;
  latent: { codes: number; noise: number; prior: "uniform" | "gaussian" };
  /** Slider range of every latent input: the prior's support for the GANs, ±3 std for a Gaussian prior. */
  sliderRange: [number, number];
  /** The traversal grid's column values (paper Figure 1: 6 values over [-1, 1] for the GANs; ±2 std for VAEs). */
  traversal: number[];
  imageShape: [number, number, number];
  /** Pixel range of the generator's output: [0, 1] (sigmoid) or [-1, 1] (tanh, CelebA). */
  valueRange: [number, number];
  /** "generator" or "decoder"; "Q" or "encoder" (a VAE's posterior mean). */
  generatorLabel: string;
  encoderLabel: string;
  /** The run's metrics.json scores (for a snapshot: metrics-before-cr.json), with their profile and protocol. */
  metrics?: { scores: Record<string, number>; profile?: string; protocol?: string };
  /** Real images of the dataset: their factor names and specs, or why there are none. */
  samples: { count: number; factors: (FactorSpec & { labels?: string[] })[] } | { count: 0; why: string };
}

export interface PreparedModel {
  info: ExplorerModelInfo;
  generator: BrowserModel;
  encoder: BrowserModel;
  /** Real images (uint8, NHWC, value k/255 in the dataset's range [0, 1]) and their factor rows (count × factors). */
  samples?: { images: Uint8Array<ArrayBuffer>; factors: number[][] };
}

export interface PrepareOptions {
  id: string;
  title?: string;
  /** A checkpoint folder inside the run other than `checkpoint` (e.g. `snapshots/before-cr-iter-1500`). */
  checkpoint?: string;
  /** How many real images to render for the encoder's view (default 200). */
  samples?: number;
  /** Seed of the real images' factors (default 0): the same seed shows the same images for every model. */
  seed?: number;
}

/** Real images for the encoder's view; 200 are enough for a stable code-factor correlation table. */
export const DEFAULT_SAMPLES = 200;

const DSPRITES_SHAPES = ["square", "ellipse", "heart"];

async function readJson(path: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  return JSON.parse(text);
}

/** The ground-truth dataset whose real images the encoder's view shows, when the toolkit can render it. */
function groundTruth(dataset: string): GroundTruthData | string {
  if (dataset === "dsprites") return new DSprites();
  if (dataset === "teapots") return new Teapots();
  if (dataset === "celeba") return "CelebA has no ground-truth factors (and its images are the user's own files)";
  return `no renderer for dataset "${dataset}"`;
}

function renderSamples(
  dataset: string,
  imageShape: [number, number, number],
  n: number,
  seed: number,
): { meta: ExplorerModelInfo["samples"]; images?: Uint8Array<ArrayBuffer>; factors?: number[][] } {
  const data = groundTruth(dataset);
  if (typeof data === "string") return { meta: { count: 0, why: data } };
  if (data.imageShape.join("x") !== imageShape.join("x")) {
    return {
      meta: {
        count: 0,
        why: `the model takes ${imageShape.join("×")} images, ${dataset} has ${data.imageShape.join("×")}`,
      },
    };
  }
  if (n === 0 || !data.render) return { meta: { count: 0, why: "no real images asked for" } };
  const rows = data.sampleFactors(n, new Rng(seed).fork("explore-samples"));
  const pixels = data.render(rows);
  const images = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) images[i] = Math.round(Math.min(1, Math.max(0, pixels[i])) * 255);
  const k = data.factors.length;
  const factors = Array.from({ length: n }, (_, i) => Array.from(rows.subarray(i * k, i * k + k)));
  const specs = data.factors.map((
    f,
  ) => (dataset === "dsprites" && f.name === "shape" ? { ...f, labels: DSPRITES_SHAPES } : { ...f }));
  return { meta: { count: n, factors: specs }, images, factors };
}

/** The VAE encoder (posterior mean only) and decoder (sigmoid of the Bernoulli logits) as layer tables. */
function vaeLayerSpecs(cfg: ReturnType<typeof parseVaeConfig>): { encoder: LayerSpec[]; decoder: LayerSpec[] } {
  const [h, w, c] = cfg.imageShape;
  const { encoderChannels: ec, encoderHidden, decoderHidden, decoderChannels: dc } = cfg.arch;
  const encoder: LayerSpec[] = [
    ...ec.map((f, i): LayerSpec => ({ op: "conv", name: `conv${i}`, filters: f, kernel: 4, act: "relu" })),
    { op: "flatten" },
    { op: "dense", name: "fc", units: encoderHidden, act: "linear" },
    { op: "dense", name: "mean", units: cfg.latentDim, act: "linear" },
  ];
  const outs = [dc[1], dc[2], dc[3], c];
  const decoder: LayerSpec[] = [
    { op: "dense", name: "fc0", units: decoderHidden, act: "relu" },
    { op: "dense", name: "fc1", units: (h / 16) * (w / 16) * dc[0], act: "relu" },
    { op: "reshape", shape: [h / 16, w / 16, dc[0]] },
    ...outs.map((f, i): LayerSpec => ({
      op: "deconv",
      name: `deconv${i}`,
      filters: f,
      kernel: 4,
      act: i < 3 ? "relu" : "sigmoid",
    })),
  ];
  return { encoder, decoder };
}

/** Loads the run folder `dir` (read only) and builds everything the page needs to show it. Caller owns nothing. */
export async function prepareModel(dir: string, opts: PrepareOptions): Promise<PreparedModel> {
  try {
    return await prepare(dir, opts);
  } catch (e) {
    if (e instanceof ExploreModelError) throw e;
    throw new ExploreModelError(`${dir}: ${(e as Error).message}`);
  }
}

async function prepare(dir: string, opts: PrepareOptions): Promise<PreparedModel> {
  const fail = (msg: string): never => {
    throw new ExploreModelError(`${dir}: ${msg}`);
  };
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) fail("no such folder");
    throw e;
  }
  if (!st!.isDirectory) fail("is a file, not a run folder");
  let raw: { kind?: unknown; model?: unknown } | undefined;
  try {
    raw = (await readJson(join(dir, "config.json"))) as typeof raw;
  } catch (e) {
    fail(`config.json is not readable JSON (${(e as Error).message})`);
  }
  if (raw === undefined) fail("not a run folder (no config.json)");
  const sub = opts.checkpoint ?? "checkpoint";
  const ckDir = join(dir, sub);
  if (!(await pathExists(join(ckDir, "state.json")))) {
    fail(`has no trained model (${sub}/state.json is missing; has the run reached its first checkpoint?)`);
  }
  const isVae = raw!.model === "factor-vae" || raw!.model === "beta-vae";
  const isGan = raw!.model === "infogan-cr" || raw!.model === "infogan";
  if (!isVae && !isGan) {
    fail(
      `config.json has model ${
        JSON.stringify(raw!.model)
      }; the explorer opens infogan-cr, infogan, factor-vae, beta-vae`,
    );
  }
  const genGroup = isVae ? "decoder" : "generator";
  const encGroup = isVae ? "encoder" : "discriminator";
  for (const g of [genGroup, encGroup]) {
    if (!(await pathExists(join(ckDir, g, "model.json")))) {
      fail(
        `has no ${g === genGroup ? (isVae ? "decoder" : "generator") : (isVae ? "encoder" : "encoder (D/Q)")}: ` +
          `${sub}/${g}/model.json is missing`,
      );
    }
  }
  const ck = await loadCheckpoint(ckDir);
  try {
    const metricsFile = sub.startsWith("snapshots/before-cr") ? "metrics-before-cr.json" : "metrics.json";
    const m = (await readJson(join(dir, metricsFile)).catch(() => undefined)) as
      | { scores?: Record<string, number>; profile?: string; protocol?: string }
      | undefined;
    const metrics = m?.scores ? { scores: m.scores, profile: m.profile, protocol: m.protocol } : undefined;
    const iteration = typeof ck.state.iteration === "number" ? ck.state.iteration : undefined;
    const common = { id: opts.id, title: opts.title ?? opts.id, source: sub === "checkpoint" ? dir : join(dir, sub) };
    let info: ExplorerModelInfo, generator: BrowserModel, encoder: BrowserModel;
    if (isGan) {
      const cfg = parseGanConfig(raw);
      const shape = ck.state.imageShape as [number, number, number] | undefined;
      const arch = architectureFor(cfg.dataset, shape, cfg.noiseDims);
      // Check the weights against the architecture (names and shapes) with the toolkit's own loader first.
      const rng = new Rng(0);
      const g = initGenerator(arch, rng), dq = initDQ(arch, rng);
      try {
        g.assignFrom(ck.tensors.generator ?? {}, `${sub}/generator`);
        dq.assignFrom(ck.tensors.discriminator ?? {}, `${sub}/discriminator`);
        generator = await browserModel(arch.g, [arch.latent.codes + arch.latent.noise], g.all(), `${sub}/generator`);
        encoder = await browserModel([...arch.trunk, ...arch.qHead], arch.imageShape, dq.all(), `${sub}/discriminator`);
      } finally {
        g.dispose();
        dq.dispose();
      }
      const range = traversalRange(arch.latent);
      const smp = renderSamples(cfg.dataset, arch.imageShape, opts.samples ?? DEFAULT_SAMPLES, opts.seed ?? 0);
      info = {
        ...common,
        kind: "gan",
        model: cfg.model,
        dataset: cfg.dataset,
        profile: cfg.profile,
        seed: cfg.seed,
        iteration,
        latent: { ...arch.latent },
        sliderRange: range,
        traversal: traversalValues(6, ...range),
        imageShape: arch.imageShape,
        valueRange: arch.valueRange,
        generatorLabel: "generator",
        encoderLabel: "Q",
        metrics,
        samples: smp.meta,
      };
      return {
        info,
        generator,
        encoder,
        samples: smp.images ? { images: smp.images, factors: smp.factors! } : undefined,
      };
    }
    const cfg = parseVaeConfig(raw, join(dir, "config.json"));
    const spec = vaeSpecOf(cfg);
    // vaeParamsFromTensors checks every name and shape against the config.
    const params = vaeParamsFromTensors(spec, {
      encoder: ck.tensors.encoder,
      decoder: ck.tensors.decoder,
      tcd: ck.tensors.tcd,
    });
    const layers = vaeLayerSpecs(cfg);
    try {
      generator = await browserModel(layers.decoder, [cfg.latentDim], params.decoder, `${sub}/decoder`);
      encoder = await browserModel(layers.encoder, cfg.imageShape, params.encoder, `${sub}/encoder`);
    } finally {
      for (const grp of [params.encoder, params.decoder, params.tcd]) for (const v of Object.values(grp)) v.dispose();
    }
    const latent = { codes: cfg.latentDim, noise: 0, prior: "gaussian" as const };
    const smp = renderSamples(cfg.dataset, cfg.imageShape, opts.samples ?? DEFAULT_SAMPLES, opts.seed ?? 0);
    info = {
      ...common,
      kind: "vae",
      model: cfg.model,
      dataset: cfg.dataset,
      profile: cfg.profile,
      seed: cfg.seed,
      iteration,
      latent,
      sliderRange: [-3, 3],
      traversal: traversalValues(6, ...traversalRange(latent)),
      imageShape: cfg.imageShape,
      valueRange: [0, 1],
      generatorLabel: "decoder",
      encoderLabel: "encoder",
      metrics,
      samples: smp.meta,
    };
    return {
      info,
      generator,
      encoder,
      samples: smp.images ? { images: smp.images, factors: smp.factors! } : undefined,
    };
  } finally {
    for (const t of Object.values(ck.tensors)) tf.dispose(t);
  }
}
