/**
 * The convolution kernels of the native engine: forward, input gradient (= every transposed convolution) and filter
 * gradient of NHWC convolutions, each as a cached plan of onnxruntime sessions (models in graphs.ts): space-to-depth
 * GEMMs per chunk of images, or onnxruntime's Conv / ConvTranspose where those are faster or the only choice
 * (dilations; the input gradient of few channels). What they do not cover goes to the wasm kernels.
 */
import * as tf from "@tensorflow/tfjs";
import { type ConvAttrs, normalisePad, pair, type WasmBackend } from "../wasm.ts";
import {
  backpropInputSupported,
  chunkImages,
  conv2dBackpropInputModel,
  conv2dModel,
  type ConvGeometry,
  filterChunkModel,
  filterResultModel,
  filterShape,
  forwardChunkModel,
  forwardFilterModel,
  inputChunkModel,
  inputFilterModel,
  s2dShape,
  withBatch,
  xShape,
  yShape,
} from "./graphs.ts";
import type { OrtSession } from "./ort.ts";
import { cachedPlan, fallback, openSession, type Plan, runOnHeap, settings, wholePlan } from "./plans.ts";

type ConvKernel = "Conv2D" | "Conv2DBackpropInput" | "Conv2DBackpropFilter";

interface Args<I> {
  inputs: I;
  backend: WasmBackend;
  attrs: ConvAttrs & { inputShape?: number[]; filterShape?: number[] };
}

function size(shape: number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Sessions for chunks of `nb` images and for the remainder, and the chunk boundaries of a batch of n. */
function chunked(g: ConvGeometry, nb: number, make: (g: ConvGeometry) => OrtSession) {
  const full = make(withBatch(g, nb));
  const rest = g.n % nb ? make(withBatch(g, g.n % nb)) : null;
  const chunks: { s: OrtSession; first: number; count: number }[] = [];
  for (let first = 0; first < g.n; first += nb) {
    const count = Math.min(nb, g.n - first);
    chunks.push({ s: count === nb ? full : rest!, first, count });
  }
  return { chunks, dispose: () => [full, rest].forEach((s) => s?.dispose()) };
}

/** y = conv(x, w): W2 once, then patches x W2 per chunk, written straight into y's rows. */
function forwardPlan(g: ConvGeometry): Plan {
  const { taps } = s2dShape(g);
  const prep = openSession(forwardFilterModel(g), [filterShape(g), [taps, g.co]]);
  const w2 = new Float32Array(taps * g.co);
  const per = { x: g.h * g.w * g.c, y: g.ho * g.wo * g.co };
  const c = chunked(
    g,
    chunkImages(g, "forward"),
    (cg) => openSession(forwardChunkModel(cg), [xShape(cg), [taps, g.co], [cg.n * g.ho * g.wo, g.co]]),
  );
  return {
    run([x, w], y) {
      prep.run([w], [w2]);
      for (const { s, first, count } of c.chunks) {
        s.run([x.subarray(first * per.x, (first + count) * per.x), w2], [
          y.subarray(first * per.y, (first + count) * per.y),
        ]);
      }
    },
    dispose: () => {
      prep.dispose();
      c.dispose();
    },
  };
}

/** dW = sum over chunks of patches(x)^T dy, accumulated in two scratch buffers, then rearranged into dW. */
function filterPlan(g: ConvGeometry): Plan {
  const { taps } = s2dShape(g);
  const zeros = new Float32Array(taps * g.co);
  const acc = [new Float32Array(taps * g.co), new Float32Array(taps * g.co)];
  const result = openSession(filterResultModel(g), [[taps, g.co], filterShape(g)]);
  const per = { x: g.h * g.w * g.c, y: g.ho * g.wo * g.co };
  const c = chunked(
    g,
    chunkImages(g, "filter"),
    (cg) => openSession(filterChunkModel(cg), [xShape(cg), [cg.n * g.ho * g.wo, g.co], [taps, g.co], [taps, g.co]]),
  );
  return {
    run([x, dy], dw) {
      let from = zeros;
      c.chunks.forEach(({ s, first, count }, i) => {
        const to = acc[i % 2];
        s.run([
          x.subarray(first * per.x, (first + count) * per.x),
          dy.subarray(first * per.y, (first + count) * per.y),
          from,
        ], [to]);
        from = to;
      });
      result.run([from], [dw]);
    },
    dispose: () => {
      result.dispose();
      c.dispose();
    },
  };
}

/** dx = the transposed convolution of dy, per chunk, written straight into dx's rows. */
function inputPlan(g: ConvGeometry): Plan {
  const { th, tw } = s2dShape(g);
  const w2Shape = [th * tw * g.co, g.sh * g.sw * g.c];
  const prep = openSession(inputFilterModel(g), [filterShape(g), w2Shape]);
  const w2 = new Float32Array(size(w2Shape));
  const per = { x: g.h * g.w * g.c, y: g.ho * g.wo * g.co };
  const c = chunked(
    g,
    chunkImages(g, "input"),
    (cg) => openSession(inputChunkModel(cg), [yShape(cg), w2Shape, xShape(cg)]),
  );
  return {
    run([dy, w], dx) {
      prep.run([w], [w2]);
      for (const { s, first, count } of c.chunks) {
        s.run([dy.subarray(first * per.y, (first + count) * per.y), w2], [
          dx.subarray(first * per.x, (first + count) * per.x),
        ]);
      }
    },
    dispose: () => {
      prep.dispose();
      c.dispose();
    },
  };
}

/** Few channels make the input gradient's product narrow (s*s*c columns): ConvTranspose is faster there. */
const S2D_INPUT_MIN_CHANNELS = 8;

function makePlan(kernel: ConvKernel, g: ConvGeometry): Plan {
  const s2d = settings.method === "s2d";
  switch (kernel) {
    case "Conv2D":
      if (s2d && g.dh === 1 && g.dw === 1) return forwardPlan(g);
      return wholePlan(conv2dModel(g), [xShape(g), filterShape(g), yShape(g)]);
    case "Conv2DBackpropFilter":
      return filterPlan(g);
    case "Conv2DBackpropInput":
      if (!backpropInputSupported(g) || (s2d && g.c >= S2D_INPUT_MIN_CHANNELS)) return inputPlan(g);
      return wholePlan(conv2dBackpropInputModel(g), [yShape(g), filterShape(g), xShape(g)]);
  }
}

/** The geometry of an NHWC convolution of x [n,h,w,c] with filter [kh,kw,c,co], or null for what we do not cover. */
function geometry(x: number[], filter: number[], attrs: ConvAttrs): ConvGeometry | null {
  if ((attrs.dataFormat ?? "NHWC") !== "NHWC") return null;
  if ([...x, ...filter].some((d) => d === 0)) return null;
  const info = tf.backend_util.computeConv2DInfo(
    x as [number, number, number, number],
    filter as [number, number, number, number],
    pair(attrs.strides, "strides"),
    pair(attrs.dilations, "dilations"),
    normalisePad(attrs) as "same",
    attrs.dimRoundingMode,
  );
  const p = info.padInfo;
  if (info.outHeight <= 0 || info.outWidth <= 0) return null;
  return {
    n: x[0],
    h: x[1],
    w: x[2],
    c: x[3],
    co: filter[3],
    kh: filter[0],
    kw: filter[1],
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    pad: [p.top, p.left, p.bottom, p.right],
    ho: info.outHeight,
    wo: info.outWidth,
  };
}

function plan(kernel: ConvKernel, g: ConvGeometry): Plan | null {
  return cachedPlan(`${kernel}|${Object.values(g).join(",")}`, () => makePlan(kernel, g));
}

export function nativeConv2d(args: Args<{ x: tf.TensorInfo; filter: tf.TensorInfo }>): tf.TensorInfo {
  const { inputs: { x, filter }, backend, attrs } = args;
  const g = x.dtype === "float32" ? geometry(x.shape, filter.shape, attrs) : null;
  const p = g && plan("Conv2D", g);
  if (!g || !p) return fallback("Conv2D", args);
  return runOnHeap("Conv2D", p, backend, [x, filter], yShape(g));
}

export function nativeConv2dBackpropInput(
  args: Args<{ dy: tf.TensorInfo; filter: tf.TensorInfo }>,
): tf.TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const g = attrs.inputShape ? geometry(attrs.inputShape, filter.shape, attrs) : null;
  const ok = g && g.dh === 1 && g.dw === 1 && dy.shape[1] === g.ho && dy.shape[2] === g.wo;
  const p = ok ? plan("Conv2DBackpropInput", g) : null;
  if (!g || !p) return fallback("Conv2DBackpropInput", args);
  return runOnHeap("Conv2DBackpropInput", p, backend, [dy, filter], xShape(g));
}

export function nativeConv2dBackpropFilter(args: Args<{ x: tf.TensorInfo; dy: tf.TensorInfo }>): tf.TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args;
  const g = attrs.filterShape ? geometry(x.shape, attrs.filterShape, attrs) : null;
  const ok = g && g.dh === 1 && g.dw === 1 && dy.shape[1] === g.ho && dy.shape[2] === g.wo;
  const p = ok ? plan("Conv2DBackpropFilter", g) : null;
  if (!g || !p) return fallback("Conv2DBackpropFilter", args);
  return runOnHeap("Conv2DBackpropFilter", p, backend, [x, dy], filterShape(g));
}
