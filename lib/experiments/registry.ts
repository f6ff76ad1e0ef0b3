/** Every paper experiment by id, in the order reproduce.ts runs them. */
import type { ExperimentId } from "./context.ts";
import type { Experiment } from "./experiment.ts";
import { DSPRITES } from "./dsprites.ts";
import { TEAPOTS } from "./teapots.ts";
import { CELEBA } from "./celeba.ts";
import { SELECTION } from "./selection.ts";

export const EXPERIMENTS: Record<ExperimentId, Experiment> = {
  dsprites: DSPRITES,
  teapots: TEAPOTS,
  celeba: CELEBA,
  selection: SELECTION,
};
