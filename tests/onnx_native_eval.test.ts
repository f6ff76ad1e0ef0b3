/**
 * The native engine's whole-network inference seen from its users: the seven metrics of a shipped dSprites model
 * (lib/metrics, smoke sizes) and ModelCentrality's cross-evaluation of two shipped models (lib/selection) give the same
 * numbers with the native engine on as on the wasm backend.
 */
import assert from "node:assert/strict";
import { initBackend } from "../lib/backend.ts";
import { DSprites } from "../lib/data/dsprites.ts";
import { evaluateMetrics } from "../lib/metrics/evaluate.ts";
import { loadTrainedModel } from "../lib/models/load.ts";
import { disableNativeEngine, enableNativeEngine, loadOnnxRuntime, onnxRuntimeCounters } from "../lib/onnx/runtime.ts";
import { modelCentrality } from "../lib/selection/model_centrality.ts";
import { Rng } from "../lib/rng.ts";

await initBackend({ backend: "wasm", quiet: true });
const ort = (await loadOnnxRuntime()).runtime;
if (!ort) console.warn(`skipping the native evaluation tests: ${(await loadOnnxRuntime()).reason}`);

const root = new URL("..", import.meta.url).pathname;
const RUNS = ["data/pretrained/dsprites-infogan-cr-seed1", "data/pretrained/dsprites-infogan-cr-seed2"];

/** Runs `f` on wasm, then with the native engine on (checking that onnxruntime ran only then). */
async function bothEngines<T>(f: () => Promise<T>): Promise<{ wasm: T; native: T }> {
  const before = onnxRuntimeCounters().runs;
  const wasm = await f();
  assert.equal(onnxRuntimeCounters().runs, before, "the wasm pass does not touch onnxruntime");
  enableNativeEngine({ threads: 2 });
  try {
    const native = await f();
    assert.ok(onnxRuntimeCounters().runs > before, "the native pass runs onnxruntime sessions");
    return { wasm, native };
  } finally {
    disableNativeEngine();
  }
}

Deno.test({
  name: "native engine: the seven metrics of a shipped dSprites model equal wasm's (smoke sizes)",
  ignore: !ort,
  async fn() {
    const model = await loadTrainedModel(root + RUNS[0]);
    const data = new DSprites();
    try {
      const { wasm, native } = await bothEngines(() =>
        evaluateMetrics(data, model, { protocol: "infogan-cr", profile: "smoke", seed: 3 })
      );
      const keys = Object.keys(wasm.scores) as (keyof typeof wasm.scores)[];
      assert.ok(keys.length >= 7, `scores: ${keys.join(", ")}`);
      const diffs = keys.map((k) => `${k} ${Math.abs(wasm.scores[k]! - native.scores[k]!).toExponential(1)}`);
      console.log(`|wasm - native| per score: ${diffs.join(", ")}`);
      for (const k of keys) {
        const [a, b] = [wasm.scores[k]!, native.scores[k]!];
        assert.ok(Number.isFinite(a) && Math.abs(a - b) <= 1e-4, `${k}: wasm ${a}, native ${b}`);
      }
    } finally {
      model.dispose();
    }
  },
});

Deno.test({
  name: "native engine: ModelCentrality's cross-evaluation of two shipped models equals wasm's",
  ignore: !ort,
  async fn() {
    const models = await Promise.all(RUNS.map((r) => loadTrainedModel(root + r)));
    try {
      const { wasm, native } = await bothEngines(() =>
        modelCentrality(models, new Rng(9), { groupsPerCode: 3, groupSize: 10, priorSamples: 200 })
      );
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 2; j++) {
          assert.ok(
            Math.abs(wasm.S[i][j] - native.S[i][j]) <= 1e-4,
            `S[${i}][${j}]: ${wasm.S[i][j]} vs ${native.S[i][j]}`,
          );
        }
      }
      assert.equal(native.pick, wasm.pick);
    } finally {
      for (const m of models) m.dispose();
    }
  },
});
