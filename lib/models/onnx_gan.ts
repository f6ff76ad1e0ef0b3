/**
 * InfoGAN-CR's two inference networks as ONNX models (infogan_cr.ts tables through onnx_layers.ts):
 *
 * - the generator: inputs `codes` [batch, k] and `noise` [batch, m] (omitted when m is 0), output `images`
 *   [batch, h, w, c] (NHWC, the dataset's value range), batch norm with its moving statistics: `generate()`;
 * - the encoder: input `images` [batch, h, w, c], output `codes` [batch, k], Q's predicted code means through the
 *   shared D/Q trunk with spectral-normalised weights: `encode()`.
 */
import type { ParamSet } from "./layers.ts";
import type { GanArchitecture } from "./infogan_cr.ts";
import { encodeModel, type ModelInfo, OnnxGraph } from "../onnx/model.ts";
import { imagesIn, imagesOut, layersToOnnx } from "./onnx_layers.ts";

const PRODUCER = "infogan-cr-ts";

function info(arch: GanArchitecture, what: string, doc: string): ModelInfo {
  return {
    producer: PRODUCER,
    doc,
    metadata: {
      network: what,
      dataset: arch.dataset,
      layout: "NHWC",
      image_shape: arch.imageShape.join("x"),
      value_range: arch.valueRange.join(","),
      codes: String(arch.latent.codes),
      noise: String(arch.latent.noise),
      latent_prior: arch.latent.prior === "uniform" ? "uniform[-1,1]" : "normal(0,1)",
    },
  };
}

/** G in inference mode as an ONNX graph. */
export function ganGeneratorGraph(arch: GanArchitecture, g: ParamSet): OnnxGraph {
  const graph = new OnnxGraph(`${arch.dataset}_generator`);
  const { codes, noise } = arch.latent;
  const c = graph.input("codes", ["batch", codes]);
  let latent = c;
  if (noise > 0) {
    const z = graph.input("noise", ["batch", noise]);
    latent = graph.node("Concat", [c, z], "latent", { axis: { int: 1 } });
  }
  const out = layersToOnnx(graph, g, arch.g, { name: latent, shape: [codes + noise] });
  imagesOut(graph, out, "images");
  return graph;
}

/** Q's code means (through the D/Q trunk) as an ONNX graph. */
export function ganEncoderGraph(arch: GanArchitecture, dq: ParamSet): OnnxGraph {
  const graph = new OnnxGraph(`${arch.dataset}_encoder`);
  const x = imagesIn(graph, "images", arch.imageShape);
  const feat = layersToOnnx(graph, dq, arch.trunk, x);
  const q = layersToOnnx(graph, dq, arch.qHead, feat);
  graph.output(graph.node("Identity", [q.name], "codes"), ["batch", arch.latent.codes]);
  return graph;
}

/** The `.onnx` bytes of G. */
export function ganGeneratorOnnx(arch: GanArchitecture, g: ParamSet): Uint8Array {
  const doc = `InfoGAN-CR generator (${arch.dataset}): codes` +
    (arch.latent.noise ? " and noise" : "") + " -> images (NHWC), batch norm in inference mode.";
  return encodeModel(ganGeneratorGraph(arch, g), info(arch, "generator", doc));
}

/** The `.onnx` bytes of the encoder (Q's code means). */
export function ganEncoderOnnx(arch: GanArchitecture, dq: ParamSet): Uint8Array {
  const doc = `InfoGAN-CR encoder (${arch.dataset}): images (NHWC) -> Q's predicted code means.`;
  return encodeModel(ganEncoderGraph(arch, dq), info(arch, "encoder", doc));
}
