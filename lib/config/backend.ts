/**
 * The backend names a command accepts (`--backend NAME`, or IGCR_BACKEND), apart from lib/backend.ts which loads
 * TensorFlow.js: a command validates `--backend` and answers `--help` without loading it.
 */
import { z } from "zod";
import type { FlagDef } from "../cli/command.ts";

export const BackendChoice = z.enum(["auto", "tensorflow-gpu", "tensorflow", "webgpu", "native", "wasm", "cpu"]);
export type BackendChoice = z.infer<typeof BackendChoice>;

/** The `--backend` flag every command that runs a model declares (lib/cli/command.ts). */
export const backendFlag = {
  type: "string",
  schema: BackendChoice,
  placeholder: "NAME",
  defaultDoc: "IGCR_BACKEND, else the best available",
  doc: "the TensorFlow.js backend (native = wasm with onnxruntime's native kernels)",
} as const satisfies FlagDef;
