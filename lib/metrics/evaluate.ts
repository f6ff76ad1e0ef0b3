/**
 * Evaluates the seven disentanglement metrics for one encoder on one ground-truth dataset under a named protocol, and
 * returns one typed, JSON-ready record: protocol and its parameters, sample sizes, seed, backend, scores, details and
 * timings.
 *
 * Encodings are reused wherever the protocol allows: under `infogan-cr` the 500 groups feed FactorVAE and BetaVAE, and
 * one observational sample feeds MIG, SAP, DCI, modularity, explicitness and FactorVAE's global scale; under
 * `disentanglement-lib` the observational train/test rows are shared by MIG, SAP, DCI, modularity and explicitness.
 * Each kind of sample draws from its own fork of the seed, so a metric's value does not depend on which other metrics
 * were asked for.
 *
 * The work is split in two, as in the metric modules: `drawSamples` renders and encodes everything the requested metrics
 * need (the only part that touches the dataset and the encoder), and `computeScores` turns those plain matrices into
 * scores with one pure function per metric.
 */
import type { GroundTruthData } from "../data/ground_truth.ts";
import { type DataSourceInfo, dataSourceOf } from "../data/source.ts";
import type { Encoder } from "../models/capabilities.ts";
import { Rng } from "../rng.ts";
import { betaVaeFeatures, betaVaeFromFeatures } from "./beta_vae.ts";
import { dci, dciGradientBoosting } from "./dci.ts";
import { explicitness } from "./explicitness.ts";
import { codeScale, factorVaeDlFromVotes, factorVaeFromVotes, type FactorVaeVotes } from "./factor_vae.ts";
import { type CodesAndFactors, sliceRows } from "./matrices.ts";
import { discretizedMiMatrix, migFromMi, type MiMatrix } from "./mig.ts";
import { modularityFromMi } from "./modularity.ts";
import {
  ALL_METRICS,
  type MetricName,
  type Profile,
  protocolFor,
  type ProtocolName,
  type ProtocolParams,
} from "./protocols.ts";
import {
  encodeFactorRows,
  encodeGroups,
  type EncodeStats,
  evaluatedFactors,
  newEncodeStats,
  sampleGroupFactors,
  sampleObservational,
} from "./sampling.ts";
import { sap } from "./sap.ts";

export interface EvaluateOptions {
  protocol?: ProtocolName;
  profile?: Profile;
  /** Full parameter override (its `name` must match `protocol`); default protocolFor(protocol, profile). */
  params?: ProtocolParams;
  metrics?: MetricName[];
  seed?: number;
  /** Name of the tfjs backend, recorded in the result. */
  backend?: string;
  /** Per evaluated factor: categorical for SAP. Default: dSprites' shape only (as [IGCR]); otherwise kind "discrete". */
  categorical?: boolean[];
  onProgress?: (message: string) => void;
}

export interface MetricScores {
  factorVae?: number;
  betaVae?: number;
  mig?: number;
  sap?: number;
  /** DCI disentanglement with the protocol's importances (infogan-cr: random forest, IB-GAN depths). */
  dci?: number;
  dciCompleteness?: number;
  /** infogan-cr: mean RMSE of the regressors' z-scored factor predictions (lower is better). */
  dciInformativenessRmse?: number;
  /** disentanglement-lib: mean accuracy of the gradient-boosted classifiers on the held-out rows. */
  dciInformativeness?: number;
  /** DCI disentanglement / completeness from Lasso importances, reported beside the forest's. */
  dciLasso?: number;
  dciLassoCompleteness?: number;
  modularity?: number;
  explicitness?: number;
}

export interface MetricsResult {
  schema: "igcr-metrics/1";
  dataset: string;
  /** Where the images came from: the toolkit's own renderer, or a file (path and sha256). */
  dataSource: DataSourceInfo;
  factors: string[];
  codeDim: number;
  protocol: ProtocolName;
  profile: Profile | "custom";
  params: ProtocolParams;
  metrics: MetricName[];
  seed: number;
  backend: string;
  /**
   * The training iteration of the scored checkpoint, when the encoder came from a run folder (set by the caller that
   * loaded it: `deno task evaluate`, the experiments). A saved score is reused only for the same iteration.
   */
  checkpointIteration?: number;
  sampleSizes: {
    factorVaeGroups?: number;
    factorVaeEvalGroups?: number;
    groupSize?: number;
    scaleSamples?: number;
    betaVaePoints?: number;
    betaVaeEvalPoints?: number;
    observational?: number;
    observationalTest?: number;
    imagesEncoded: number;
  };
  scores: MetricScores;
  details: Record<string, unknown>;
  timings: {
    totalSeconds: number;
    renderSeconds: number;
    encodeSeconds: number;
    metricSeconds: Record<string, number>;
  };
  createdAt: string;
}

/** SAP's categorical flags for the evaluated factors (paper-facts §5: on dSprites only shape is categorical). */
export function defaultCategorical(data: GroundTruthData): boolean[] {
  return evaluatedFactors(data).map((k) => {
    const f = data.factors[k];
    return data.name === "dsprites" ? f.name === "shape" : f.kind === "discrete";
  });
}

/** Everything fixed before sampling: the resolved protocol, what to compute, and the evaluation's shared state. */
interface Evaluation {
  data: GroundTruthData;
  encoder: Encoder;
  P: ProtocolParams;
  protocol: ProtocolName;
  metrics: MetricName[];
  want: (m: MetricName) => boolean;
  root: Rng;
  stats: EncodeStats;
  log: (message: string) => void;
  /** Evaluated factors, code dims. */
  K: number;
  D: number;
  categorical?: boolean[];
}

/** The rendered and encoded samples of one evaluation; absent parts were not needed by the requested metrics. */
interface Samples {
  /** Observational rows (training part) and held-out rows. */
  obs?: CodesAndFactors;
  obsTest?: CodesAndFactors;
  /** Interventional groups (FactorVAE votes; BetaVAE's groups under infogan-cr). */
  groupVotes?: GroupVotes;
  /** FactorVAE's held-out votes (disentanglement-lib). */
  evalVotes?: GroupVotes;
  /** Global per-dimension scale for FactorVAE. */
  scale?: Float32Array;
  /** BetaVAE training and held-out points (disentanglement-lib's fresh pairs). */
  betaTrain?: BetaPoints;
  betaEval?: BetaPoints;
  sampleSizes: MetricsResult["sampleSizes"];
}

type GroupVotes = Omit<FactorVaeVotes, "scale">;
interface BetaPoints {
  features: Float64Array;
  labels: Int32Array;
}

function setUp(data: GroundTruthData, encoder: Encoder, opts: EvaluateOptions): Evaluation {
  const protocol = opts.protocol ?? opts.params?.name ?? "infogan-cr";
  const P = opts.params ?? protocolFor(protocol, opts.profile ?? "paper");
  if (P.name !== protocol) throw new Error(`evaluate: params are for protocol "${P.name}", not "${protocol}"`);
  const metrics = opts.metrics ?? [...ALL_METRICS];
  const K = evaluatedFactors(data).length;
  if (K === 0) throw new Error(`evaluate: dataset "${data.name}" has no ground-truth factors to score against`);
  return {
    data,
    encoder,
    P,
    protocol,
    metrics,
    want: (m) => metrics.includes(m),
    root: new Rng(opts.seed ?? 0),
    stats: newEncodeStats(),
    log: opts.onProgress ?? (() => {}),
    K,
    D: encoder.codeSize,
    categorical: opts.categorical,
  };
}

// ---- sampling: the dataset and the encoder are used only here ----

/** Observational rows: needed by the observational metrics, and by FactorVAE's scale under infogan-cr. */
async function drawObservational(ev: Evaluation, out: Samples): Promise<void> {
  const { P, data } = ev;
  const needObs = ev.metrics.some((m) => m !== "factor-vae" && m !== "beta-vae") ||
    (ev.want("factor-vae") && P.factorVae.scaleSamples === 0);
  if (!needObs) return;
  const frac = P.observational.fractionOfData;
  const train = frac !== null && data.size ? Math.round(data.size * frac) : P.observational.train;
  const total = train + P.observational.test;
  ev.log(`encoding ${total} observational images`);
  const rng = ev.root.fork("observational");
  const all = await sampleObservational(data, ev.encoder, rng, total, P.batchSize, ev.stats, P.mig.bins);
  out.obs = P.observational.test > 0 ? sliceRows(all, 0, train) : all;
  out.obsTest = P.observational.test > 0 ? sliceRows(all, train, P.observational.test) : undefined;
  out.sampleSizes.observational = train;
  if (out.obsTest) out.sampleSizes.observationalTest = P.observational.test;
}

async function drawGroups(ev: Evaluation, label: string, groups: number): Promise<GroupVotes> {
  const fv = ev.P.factorVae;
  const g = sampleGroupFactors(ev.data, ev.root.fork(label), {
    groups,
    groupSize: fv.groupSize,
    factorChoice: fv.factorChoice,
  });
  return await encodeGroups(ev.data, ev.encoder, g, ev.P.batchSize, ev.stats);
}

/** FactorVAE's groups (also BetaVAE's under infogan-cr), its global scale and its held-out votes. */
async function drawInterventional(ev: Evaluation, out: Samples): Promise<void> {
  const { P, want } = ev;
  const fv = P.factorVae;
  if (want("factor-vae") || (want("beta-vae") && P.betaVae.source === "groups")) {
    ev.log(`encoding ${fv.trainGroups} groups of ${fv.groupSize} images`);
    out.groupVotes = await drawGroups(ev, "groups", fv.trainGroups);
    out.sampleSizes.factorVaeGroups = fv.trainGroups;
    out.sampleSizes.groupSize = fv.groupSize;
    if (want("beta-vae") && P.betaVae.source === "groups") out.sampleSizes.betaVaePoints = fv.trainGroups;
  }
  if (!want("factor-vae")) return;
  const ddof = fv.dispersion === "std0" ? 0 : 1;
  if (fv.scaleSamples === 0) {
    out.scale = codeScale(out.obs!.codes, out.obs!.n, ev.D, ddof);
    out.sampleSizes.scaleSamples = out.obs!.n;
  } else {
    ev.log(`encoding ${fv.scaleSamples} images for the global scale`);
    const f = ev.data.sampleFactors(fv.scaleSamples, ev.root.fork("scale"));
    const codes = await encodeFactorRows(ev.data, ev.encoder, f, P.batchSize, ev.stats);
    out.scale = codeScale(codes, fv.scaleSamples, ev.D, ddof);
    out.sampleSizes.scaleSamples = fv.scaleSamples;
  }
  if (fv.evalGroups > 0) {
    ev.log(`encoding ${fv.evalGroups} evaluation groups of ${fv.groupSize} images`);
    out.evalVotes = await drawGroups(ev, "groups-eval", fv.evalGroups);
    out.sampleSizes.factorVaeEvalGroups = fv.evalGroups;
  }
}

/** BetaVAE's own points under disentanglement-lib: fresh groups whose pairs share a value. */
async function drawBetaVaePairs(ev: Evaluation, out: Samples): Promise<void> {
  const bv = ev.P.betaVae;
  if (!ev.want("beta-vae") || bv.source !== "pairs") return;
  const draw = async (label: string, points: number): Promise<BetaPoints> => {
    ev.log(`encoding ${points} BetaVAE points of ${bv.pairsPerPoint} pairs (${label})`);
    const g = sampleGroupFactors(ev.data, ev.root.fork(label), {
      groups: points,
      groupSize: 2 * bv.pairsPerPoint,
      factorChoice: "random",
      share: "pairs",
    });
    const v = await encodeGroups(ev.data, ev.encoder, g, ev.P.batchSize, ev.stats);
    return { features: betaVaeFeatures(v), labels: v.fixedFactor };
  };
  out.betaTrain = await draw("beta-pairs", bv.trainPoints);
  out.sampleSizes.betaVaePoints = bv.trainPoints;
  if (bv.evalPoints > 0) {
    out.betaEval = await draw("beta-pairs-eval", bv.evalPoints);
    out.sampleSizes.betaVaeEvalPoints = bv.evalPoints;
  }
}

/** Renders and encodes every sample the requested metrics need, each kind from its own fork of the seed. */
async function drawSamples(ev: Evaluation): Promise<Samples> {
  const out: Samples = { sampleSizes: { imagesEncoded: 0 } };
  await drawObservational(ev, out);
  await drawInterventional(ev, out);
  await drawBetaVaePairs(ev, out);
  out.sampleSizes.imagesEncoded = ev.stats.images;
  return out;
}

// ---- computation: pure functions of the samples ----

interface Scored {
  scores: MetricScores;
  details: Record<string, unknown>;
}

function computeFactorVae(P: ProtocolParams, s: Samples): Scored {
  const scale = s.scale!;
  if (!s.evalVotes) {
    const r = factorVaeFromVotes({ ...s.groupVotes!, scale });
    return {
      scores: { factorVae: r.score },
      details: { factorVae: { voteTable: r.voteTable, scale: Array.from(scale) } },
    };
  }
  const r = factorVaeDlFromVotes(
    { ...s.groupVotes!, scale },
    { ...s.evalVotes, scale },
    P.factorVae.pruneThreshold ?? 0,
  );
  return {
    scores: { factorVae: r.score },
    details: { factorVae: { voteTable: r.voteTable, trainScore: r.trainScore, activeDims: r.activeDims } },
  };
}

function computeBetaVae(P: ProtocolParams, s: Samples, D: number, K: number): Scored {
  const opts = { multiClass: P.logistic };
  if (P.betaVae.source === "groups") {
    const g = s.groupVotes!;
    const r = betaVaeFromFeatures(
      { features: betaVaeFeatures(g), labels: g.fixedFactor, codeDim: D, numFactors: K },
      undefined,
      opts,
    );
    const pairsPerPoint = Math.floor(P.factorVae.groupSize / 2);
    return { scores: { betaVae: r.score }, details: { betaVae: { pairsPerPoint, trainScore: r.trainScore } } };
  }
  const r = betaVaeFromFeatures({ ...s.betaTrain!, codeDim: D, numFactors: K }, s.betaEval, opts);
  return {
    scores: { betaVae: r.score },
    details: { betaVae: { pairsPerPoint: P.betaVae.pairsPerPoint, trainScore: r.trainScore } },
  };
}

function computeMig(mi: MiMatrix): Scored {
  const r = migFromMi(mi);
  return {
    scores: { mig: r.score },
    details: { mig: { perFactor: r.perFactor, mi: r.mi, factorEntropy: r.factorEntropy } },
  };
}

function computeModularity(mi: MiMatrix): Scored {
  const r = modularityFromMi(mi);
  return { scores: { modularity: r.score }, details: { modularity: { perCode: r.perCode } } };
}

function computeSap(P: ProtocolParams, s: Samples, categorical: boolean[]): Scored {
  const r = sap(s.obs!, { categorical, svmC: P.sap.svmC, test: s.obsTest });
  return {
    scores: { sap: r.score },
    details: { sap: { scoreMatrix: r.scoreMatrix, perFactor: r.perFactor, categorical } },
  };
}

/** DCI with the protocol's importances: gradient-boosted classifiers ([DL]) or a regressor on z-scored factors. */
function computeDci(P: ProtocolParams, s: Samples, K: number, rng: Rng): Scored {
  const obs = s.obs!, test = s.obsTest;
  if (P.dci.regressor === "gradient-boosting") {
    if (!test) throw new Error("evaluate: DCI with gradient boosting needs held-out rows (observational.test > 0)");
    const b = P.dci.boosting;
    const r = dciGradientBoosting(obs, test, {
      nEstimators: b.estimators,
      learningRate: b.learningRate,
      maxDepth: b.maxDepth,
    });
    return {
      scores: { dci: r.disentanglement, dciCompleteness: r.completeness, dciInformativeness: r.informativenessTest },
      details: {
        dci: { importance: r.importance, regressor: r.regressor, informativenessTrain: r.informativenessTrain },
      },
    };
  }
  const main = dci(obs, {
    regressor: P.dci.regressor,
    lassoAlpha: P.dci.lassoAlpha,
    forestDepths: P.dci.forestDepths.length === K ? P.dci.forestDepths : Math.max(...P.dci.forestDepths),
    forestTrees: P.dci.forestTrees,
    rng,
    test,
  });
  return {
    scores: {
      dci: main.disentanglement,
      dciCompleteness: main.completeness,
      dciInformativenessRmse: main.informativenessRmse,
    },
    details: { dci: { importance: main.importance, regressor: main.regressor } },
  };
}

/** Lasso DCI, reported beside the random forest's (infogan-cr). */
function computeDciLasso(P: ProtocolParams, s: Samples): Scored {
  const lasso = dci(s.obs!, { regressor: "lasso", lassoAlpha: P.dci.lassoAlpha, test: s.obsTest });
  return {
    scores: { dciLasso: lasso.disentanglement, dciLassoCompleteness: lasso.completeness },
    details: { dciLasso: { importance: lasso.importance, regressor: lasso.regressor } },
  };
}

function computeExplicitness(P: ProtocolParams, s: Samples): Scored {
  const r = explicitness(s.obs!, {
    C: P.explicitness.C,
    test: s.obsTest,
    multiClass: P.logistic,
    standardize: P.explicitness.standardize,
  });
  return { scores: { explicitness: r.score }, details: { explicitness: { perFactor: r.perFactor } } };
}

/** Every requested score from the samples, with the seconds each metric's computation took. */
function computeScores(ev: Evaluation, s: Samples): Scored & { metricSeconds: Record<string, number> } {
  const { P, want, K, D } = ev;
  const scores: MetricScores = {};
  const details: Record<string, unknown> = {};
  const metricSeconds: Record<string, number> = {};
  const timed = <T>(name: string, f: () => T): T => {
    const t = performance.now();
    const r = f();
    metricSeconds[name] = (metricSeconds[name] ?? 0) + (performance.now() - t) / 1000;
    return r;
  };
  const add = (name: string, f: () => Scored) => {
    const r = timed(name, f);
    Object.assign(scores, r.scores);
    Object.assign(details, r.details);
  };
  if (want("factor-vae")) add("factor-vae", () => computeFactorVae(P, s));
  if (want("beta-vae")) add("beta-vae", () => computeBetaVae(P, s, D, K));
  if (s.obs && (want("mig") || want("modularity"))) {
    const mi = timed("mi-matrix", () => discretizedMiMatrix(s.obs!, P.mig.bins));
    if (want("mig")) add("mig", () => computeMig(mi));
    if (want("modularity")) add("modularity", () => computeModularity(mi));
  }
  if (s.obs && want("sap")) {
    const categorical = P.sap.continuousFactors
      ? (ev.categorical ?? defaultCategorical(ev.data))
      : new Array<boolean>(K).fill(true);
    add("sap", () => computeSap(P, s, categorical));
  }
  if (s.obs && want("dci")) {
    ev.log(`fitting DCI ${P.dci.regressor === "gradient-boosting" ? "classifiers" : "regressors"}`);
    add("dci", () => computeDci(P, s, K, ev.root.fork("dci-forest")));
    if (P.dci.regressor === "random-forest") add("dci-lasso", () => computeDciLasso(P, s));
  }
  if (s.obs && want("explicitness")) {
    ev.log("fitting explicitness classifiers");
    add("explicitness", () => computeExplicitness(P, s));
  }
  return { scores, details, metricSeconds };
}

export async function evaluateMetrics(
  data: GroundTruthData,
  encoder: Encoder,
  opts: EvaluateOptions = {},
): Promise<MetricsResult> {
  const t0 = performance.now();
  const ev = setUp(data, encoder, opts);
  const samples = await drawSamples(ev);
  const { scores, details, metricSeconds } = computeScores(ev, samples);
  return {
    schema: "igcr-metrics/1",
    dataset: data.name,
    dataSource: dataSourceOf(data),
    factors: evaluatedFactors(data).map((k) => data.factors[k].name),
    codeDim: ev.D,
    protocol: ev.protocol,
    profile: opts.params ? "custom" : opts.profile ?? "paper",
    params: ev.P,
    metrics: ev.metrics,
    seed: opts.seed ?? 0,
    backend: opts.backend ?? "unknown",
    sampleSizes: samples.sampleSizes,
    scores,
    details,
    timings: {
      totalSeconds: (performance.now() - t0) / 1000,
      renderSeconds: ev.stats.renderSeconds,
      encodeSeconds: ev.stats.encodeSeconds,
      metricSeconds,
    },
    createdAt: new Date().toISOString(),
  };
}
