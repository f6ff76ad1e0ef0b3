/**
 * `deno task export --format onnx`: a trained run's inference networks as `.onnx` files, for onnxruntime, PyTorch-side
 * tools or any other ONNX consumer, without TensorFlow.js.
 *
 * - GAN runs (InfoGAN-CR, InfoGAN): `generator.onnx` (codes, noise -> images, batch norm in inference mode) and
 *   `encoder.onnx` (images -> Q's code means, spectral-normalised weights as used at inference);
 * - VAE runs (FactorVAE, beta-VAE): `encoder.onnx` (images -> posterior mean, logvar) and `decoder.onnx`
 *   (codes -> images).
 *
 * Beside them: `config.json` (the run's) and `ONNX.md` (inputs, outputs, value ranges, a Python example). Every model
 * is serialised before the first file is written, and each file is written atomically, so a failure leaves no
 * half-written export. Other files in the output folder are left alone (it may be a `--format tfjs` export).
 */
import { join } from "node:path";
import { writeBytesAtomic, writeTextAtomic } from "../io/atomic.ts";
import { loadGanNetworks } from "./load.ts";
import { ganEncoderOnnx, ganGeneratorOnnx } from "./onnx_gan.ts";
import { vaeDecoderOnnx, vaeEncoderOnnx } from "./onnx_vae.ts";
import { loadVaeModel } from "./vae.ts";

export interface OnnxExportOptions {
  /** The command that trained the run, recorded in ONNX.md when known. */
  command?: string;
}

interface Described {
  file: string;
  bytes: Uint8Array;
  io: string;
}

/** Serialises the run's networks (nothing written yet). */
async function buildModels(runDir: string): Promise<{ models: Described[]; kind: string }> {
  const cfgPath = join(runDir, "config.json");
  let raw: { model?: unknown };
  try {
    raw = JSON.parse(await Deno.readTextFile(cfgPath));
  } catch (e) {
    throw new Error(`cannot read ${cfgPath}: ${(e as Error).message}`);
  }
  if (raw.model === "infogan-cr" || raw.model === "infogan") {
    const { arch, g, dq } = await loadGanNetworks(runDir);
    try {
      const [h, w, c] = arch.imageShape;
      const { codes, noise } = arch.latent;
      const images = `\`images\` [batch, ${h}, ${w}, ${c}] float32, NHWC, values in [${arch.valueRange.join(", ")}]`;
      return {
        kind: String(raw.model),
        models: [
          {
            file: "generator.onnx",
            bytes: ganGeneratorOnnx(arch, g),
            io: `\`codes\` [batch, ${codes}]` + (noise ? ` and \`noise\` [batch, ${noise}]` : "") +
              ` (both uniform in [-1, 1]) -> ${images}`,
          },
          { file: "encoder.onnx", bytes: ganEncoderOnnx(arch, dq), io: `${images} -> \`codes\` [batch, ${codes}]` },
        ],
      };
    } finally {
      g.dispose();
      dq.dispose();
    }
  }
  if (raw.model === "factor-vae" || raw.model === "beta-vae") {
    const m = await loadVaeModel(runDir);
    try {
      const [h, w, c] = m.spec.imageShape;
      const d = m.spec.latentDim;
      const images = `\`images\` [batch, ${h}, ${w}, ${c}] float32, NHWC, values in [0, 1]`;
      return {
        kind: String(raw.model),
        models: [
          {
            file: "encoder.onnx",
            bytes: vaeEncoderOnnx(m.spec, m.params.encoder),
            io: `${images} -> \`mean\`, \`logvar\` [batch, ${d}] (the posterior; the toolkit's metrics use ` +
              (m.representation === "mean" ? "the mean)" : "a sample mean + exp(logvar / 2) * eps)"),
          },
          {
            file: "decoder.onnx",
            bytes: vaeDecoderOnnx(m.spec, m.params.decoder),
            io: `\`codes\` [batch, ${d}] (prior N(0, 1)) -> ${images} (the sigmoid of the Bernoulli logits)`,
          },
        ],
      };
    } finally {
      m.dispose();
    }
  }
  throw new Error(
    `${cfgPath} has model ${JSON.stringify(raw.model)}; expected infogan-cr, infogan, factor-vae or beta-vae`,
  );
}

function describe(runDir: string, kind: string, models: Described[], opts: OnnxExportOptions): string {
  const gan = models.some((m) => m.file === "generator.onnx");
  const lines = [
    `# ${kind} as ONNX`,
    "",
    `Exported from \`${runDir}\` by \`deno task export --format onnx\` (ONNX IR 7, opset 13).`,
    "",
    "| file | inputs -> outputs |",
    "| --- | --- |",
    ...models.map((m) => `| \`${m.file}\` | ${m.io} |`),
    "",
    "The batch dimension is symbolic (`batch`): any batch size works. Metadata (`metadata_props`) repeats the shapes,",
    "layout and value range.",
    "",
    "```python",
    "import numpy as np, onnxruntime as ort",
    gan
      ? [
        'g = ort.InferenceSession("generator.onnx")',
        "feeds = {i.name: np.random.uniform(-1, 1, (8, i.shape[1])).astype(np.float32) for i in g.get_inputs()}",
        'images = g.run(["images"], feeds)[0]  # NHWC',
        'codes = ort.InferenceSession("encoder.onnx").run(["codes"], {"images": images})[0]',
      ].join("\n")
      : [
        'd = ort.InferenceSession("decoder.onnx")',
        'images = d.run(["images"], {"codes": np.random.randn(8, d.get_inputs()[0].shape[1]).astype(np.float32)})[0]',
        'mean, logvar = ort.InferenceSession("encoder.onnx").run(["mean", "logvar"], {"images": images})',
      ].join("\n"),
    "```",
    "",
  ];
  if (opts.command) lines.push("Trained by:", "", "```sh", opts.command, "```", "");
  return lines.join("\n");
}

/** Writes the run's networks as `.onnx` files into `outDir`; returns the files written (names inside `outDir`). */
export async function exportOnnxModels(
  runDir: string,
  outDir: string,
  opts: OnnxExportOptions = {},
): Promise<string[]> {
  const { models, kind } = await buildModels(runDir);
  const config = await Deno.readFile(join(runDir, "config.json"));
  const text = describe(runDir, kind, models, opts);
  for (const m of models) await writeBytesAtomic(join(outDir, m.file), m.bytes);
  await writeBytesAtomic(join(outDir, "config.json"), config);
  await writeTextAtomic(join(outDir, "ONNX.md"), text);
  return [...models.map((m) => m.file), "config.json", "ONNX.md"];
}
