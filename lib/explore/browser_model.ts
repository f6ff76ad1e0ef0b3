/**
 * The networks the explorer's page runs, as standard TensorFlow.js LayersModels (a `model.json` with the topology and a
 * weights manifest, plus one `weights.bin`), built in memory from a run's checkpoint.
 *
 * Why a dedicated browser model rather than the run's own files: the page then needs nothing but
 * `tf.loadLayersModel(url)` and `model.predict(latent)`, with no copy of this toolkit's layer tables or spectral-norm code
 * in the browser. Everything the toolkit does at inference that a plain layer stack would not is settled here, on the
 * server: batch norm is a BatchNormalization layer carrying the run's moving averages (inference mode), and each
 * spectral-normalised kernel of Q is replaced by W / sigma(W) computed exactly as `runLayers` computes it at inference
 * (one power iteration from the stored u, `spectralNormalize`). The generator and decoder have no spectral norm.
 */
import * as tf from "@tensorflow/tfjs";
import { BN_EPSILON, BN_MOMENTUM, type LayerSpec, LRELU_SLOPE, spectralNormalize } from "../models/layers.ts";

/** A LayersModel as the page fetches it: `model.json` (naming `weights.bin`) and the bytes of `weights.bin`. */
export interface BrowserModel {
  modelJson: Record<string, unknown>;
  weights: Uint8Array<ArrayBuffer>;
}

/**
 * A tf.sequential topology for `specs` (the toolkit's layer tables) on inputs of shape `input` (without batch). Layer
 * names are the spec names, so the weight names are the checkpoint's (`g_fc0/kernel`, `g_fc0_bn/moving_mean`, ...).
 */
export function layersTopology(specs: LayerSpec[], input: number[]): object {
  const model = tf.sequential();
  let first = true;
  const inputShape = () => {
    if (!first) return {};
    first = false;
    return { inputShape: input };
  };
  const act = (name: string, a: string) => {
    if (a === "lrelu") model.add(tf.layers.leakyReLU({ alpha: LRELU_SLOPE, name: `${name}_act` }));
    else if (a !== "linear") {
      model.add(tf.layers.activation({ activation: a as "relu" | "sigmoid" | "tanh", name: `${name}_act` }));
    }
  };
  const bn = (name: string) =>
    model.add(tf.layers.batchNormalization({ momentum: BN_MOMENTUM, epsilon: BN_EPSILON, name: `${name}_bn` }));
  let flattens = 0, reshapes = 0;
  for (const l of specs) {
    if (l.op === "reshape") {
      model.add(tf.layers.reshape({ targetShape: l.shape, name: `reshape${reshapes++}`, ...inputShape() }));
      continue;
    }
    if (l.op === "flatten") {
      model.add(tf.layers.flatten({ name: `flatten${flattens++}`, ...inputShape() }));
      continue;
    }
    if (l.op === "dense") model.add(tf.layers.dense({ units: l.units, name: l.name, ...inputShape() }));
    else {
      const conv = l.op === "conv" ? tf.layers.conv2d : tf.layers.conv2dTranspose;
      model.add(
        conv({ filters: l.filters, kernelSize: l.kernel, strides: 2, padding: "same", name: l.name, ...inputShape() }),
      );
    }
    if (l.bn === "pre") bn(l.name);
    act(l.name, l.act);
    if (l.bn === "post") bn(l.name);
  }
  const topology = model.toJSON(undefined, false) as object;
  model.dispose(); // its randomly initialised weights are never used
  return topology;
}

/** The weight names a topology built by `layersTopology(specs)` loads, in the toolkit's naming. */
export function weightNames(specs: LayerSpec[]): string[] {
  const names: string[] = [];
  for (const l of specs) {
    if (l.op === "reshape" || l.op === "flatten") continue;
    names.push(`${l.name}/kernel`, `${l.name}/bias`);
    if (l.bn) { for (const w of ["gamma", "beta", "moving_mean", "moving_variance"]) names.push(`${l.name}_bn/${w}`); }
  }
  return names;
}

/**
 * The weights of `specs` as the browser model carries them: taken from `params` by name, with each spectral-normalised
 * kernel (spec `sn`) replaced by W / sigma(W) from its stored u. Caller disposes the returned tensors.
 */
export function inferenceWeights(specs: LayerSpec[], params: tf.NamedTensorMap, what: string): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  const get = (name: string) => {
    const t = params[name];
    if (!t) throw new Error(`${what}: missing parameter ${name}`);
    return t;
  };
  try {
    for (const name of weightNames(specs)) out[name] = get(name).clone();
    for (const l of specs) {
      if ((l.op === "dense" || l.op === "conv") && l.sn) {
        const k = `${l.name}/kernel`;
        const folded = spectralNormalize(out[k], get(`${l.name}/sn_u`));
        out[k].dispose();
        out[k] = folded;
      }
    }
  } catch (e) {
    tf.dispose(out);
    throw e;
  }
  return out;
}

/** A LayersModel for `specs` with `params`' inference weights, ready to be served as model.json + weights.bin. */
export async function browserModel(
  specs: LayerSpec[],
  input: number[],
  params: tf.NamedTensorMap,
  what: string,
): Promise<BrowserModel> {
  const weights = inferenceWeights(specs, params, what);
  try {
    const { data, specs: manifest } = await tf.io.encodeWeights(weights);
    return {
      modelJson: {
        format: "layers-model",
        generatedBy: "infogan-cr toolkit (lib/explore/browser_model.ts)",
        convertedBy: null,
        modelTopology: layersTopology(specs, input),
        weightsManifest: [{ paths: ["weights.bin"], weights: manifest }],
      },
      weights: new Uint8Array(data),
    };
  } finally {
    tf.dispose(weights);
  }
}

/** Loads a `BrowserModel` back into tfjs from memory, the way the page loads it over HTTP (for tests and checks). */
export async function loadBrowserModel(m: BrowserModel): Promise<tf.LayersModel> {
  const manifest = m.modelJson.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[];
  return await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: m.modelJson.modelTopology as tf.io.ModelJSON["modelTopology"],
      weightSpecs: manifest[0].weights,
      weightData: m.weights.slice().buffer,
    }),
  );
}
