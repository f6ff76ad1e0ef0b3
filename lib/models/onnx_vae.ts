/**
 * The VAE baselines' networks as ONNX models (vae.ts's forward passes through onnx_layers.ts):
 *
 * - the encoder: input `images` [batch, h, w, c] (NHWC, [0, 1]), outputs `mean` and `logvar` [batch, d], the
 *   posterior's parameters (`VaeModel.posterior`; the "sampled" representation adds exp(logvar / 2) * eps outside);
 * - the decoder: input `codes` [batch, d], output `images` [batch, h, w, c], the sigmoid of the Bernoulli logits
 *   (`VaeModel.generate`).
 */
import type { ParamGroup, VaeSpec } from "./vae.ts";
import { encodeModel, type ModelInfo, OnnxGraph } from "../onnx/model.ts";
import {
  activation,
  conv,
  deconv,
  dense,
  flattenNhwc,
  type GraphValue,
  imagesIn,
  imagesOut,
  unflattenNhwc,
} from "./onnx_layers.ts";

function info(spec: VaeSpec, what: string, doc: string): ModelInfo {
  return {
    producer: "infogan-cr-ts",
    doc,
    metadata: {
      network: what,
      layout: "NHWC",
      image_shape: spec.imageShape.join("x"),
      value_range: "0,1",
      codes: String(spec.latentDim),
      latent_prior: "normal(0,1)",
    },
  };
}

/** `encoderForward` as an ONNX graph. */
export function vaeEncoderGraph(spec: VaeSpec, p: ParamGroup): OnnxGraph {
  const g = new OnnxGraph("vae_encoder");
  let h = imagesIn(g, "images", spec.imageShape);
  for (let i = 0; i < 4; i++) {
    h = activation(g, conv(g, h, p[`conv${i}/kernel`], p[`conv${i}/bias`], `conv${i}`), "relu", `conv${i}_relu`);
  }
  const fc = dense(g, flattenNhwc(g, h, "flatten"), p["fc/kernel"], p["fc/bias"], "fc");
  const head = (name: string) => {
    const y: GraphValue = dense(g, fc, p[`${name}/kernel`], p[`${name}/bias`], `${name}_dense`);
    g.output(g.node("Identity", [y.name], name), ["batch", spec.latentDim]);
  };
  head("mean");
  head("logvar");
  return g;
}

/** `sigmoid(decoderForward(...))` as an ONNX graph. */
export function vaeDecoderGraph(spec: VaeSpec, p: ParamGroup): OnnxGraph {
  const g = new OnnxGraph("vae_decoder");
  const [h, w] = spec.imageShape;
  const dc = spec.arch.decoderChannels;
  let x: GraphValue = { name: g.input("codes", ["batch", spec.latentDim]), shape: [spec.latentDim] };
  x = activation(g, dense(g, x, p["fc0/kernel"], p["fc0/bias"], "fc0"), "relu", "fc0_relu");
  x = activation(g, dense(g, x, p["fc1/kernel"], p["fc1/bias"], "fc1"), "relu", "fc1_relu");
  x = unflattenNhwc(g, x, [h / 16, w / 16, dc[0]], "reshape");
  for (let i = 0; i < 4; i++) {
    x = deconv(g, x, p[`deconv${i}/kernel`], p[`deconv${i}/bias`], `deconv${i}`);
    x = activation(g, x, i < 3 ? "relu" : "sigmoid", `deconv${i}_${i < 3 ? "relu" : "sigmoid"}`);
  }
  imagesOut(g, x, "images");
  return g;
}

export function vaeEncoderOnnx(spec: VaeSpec, p: ParamGroup): Uint8Array {
  const doc = "VAE encoder: images (NHWC, [0, 1]) -> posterior mean and log-variance.";
  return encodeModel(vaeEncoderGraph(spec, p), info(spec, "encoder", doc));
}

export function vaeDecoderOnnx(spec: VaeSpec, p: ParamGroup): Uint8Array {
  const doc = "VAE decoder: codes -> images (NHWC), the sigmoid of the Bernoulli logits.";
  return encodeModel(vaeDecoderGraph(spec, p), info(spec, "decoder", doc));
}
