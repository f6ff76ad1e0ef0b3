/** The paper's experiments by id, in report order; apart from context.ts so `reproduce --help` loads no charts. */
import { z } from "zod";

export const EXPERIMENT_IDS = ["dsprites", "teapots", "celeba", "selection"] as const;
export const ExperimentId = z.enum(EXPERIMENT_IDS);
export type ExperimentId = z.infer<typeof ExperimentId>;
