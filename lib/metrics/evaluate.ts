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
 */
import type { GroundTruthData } from "../data/ground_truth.ts";
import type { Encoder } from "../models/capabilities.ts";
import { Rng } from "../rng.ts";
import { betaVaeFeatures, betaVaeFromFeatures } from "./beta_vae.ts";
import { dci } from "./dci.ts";
import { explicitness } from "./explicitness.ts";
import { codeScale, factorVaeDlFromVotes, factorVaeFromVotes } from "./factor_vae.ts";
import { type CodesAndFactors, sliceRows } from "./matrices.ts";
import { discretizedMiMatrix, migFromMi } from "./mig.ts";
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
  /** DCI disentanglement with the protocol's regressor (random forest, IB-GAN depths, by default). */
  dci?: number;
  dciCompleteness?: number;
  dciInformativenessRmse?: number;
  /** DCI disentanglement / completeness from Lasso importances, reported beside the forest's. */
  dciLasso?: number;
  dciLassoCompleteness?: number;
  modularity?: number;
  explicitness?: number;
}

export interface MetricsResult {
  schema: "igcr-metrics/1";
  dataset: string;
  factors: string[];
  codeDim: number;
  protocol: ProtocolName;
  profile: Profile | "custom";
  params: ProtocolParams;
  metrics: MetricName[];
  seed: number;
  backend: string;
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

export async function evaluateMetrics(
  data: GroundTruthData,
  encoder: Encoder,
  opts: EvaluateOptions = {},
): Promise<MetricsResult> {
  const t0 = performance.now();
  const protocol = opts.protocol ?? opts.params?.name ?? "infogan-cr";
  const profile = opts.profile ?? "paper";
  const P = opts.params ?? protocolFor(protocol, profile);
  if (P.name !== protocol) throw new Error(`evaluate: params are for protocol "${P.name}", not "${protocol}"`);
  const metrics = opts.metrics ?? [...ALL_METRICS];
  const seed = opts.seed ?? 0;
  const want = (m: MetricName) => metrics.includes(m);
  const log = opts.onProgress ?? (() => {});
  const root = new Rng(seed);
  const stats = newEncodeStats();
  const evaluated = evaluatedFactors(data);
  const K = evaluated.length;
  if (K === 0) throw new Error(`evaluate: dataset "${data.name}" has no ground-truth factors to score against`);
  const D = encoder.codeSize;
  const bs = P.batchSize;
  const scores: MetricScores = {};
  const details: Record<string, unknown> = {};
  const metricSeconds: Record<string, number> = {};
  const sampleSizes: MetricsResult["sampleSizes"] = { imagesEncoded: 0 };
  const timed = <T>(name: string, f: () => T): T => {
    const s = performance.now();
    const r = f();
    metricSeconds[name] = (metricSeconds[name] ?? 0) + (performance.now() - s) / 1000;
    return r;
  };

  // Observational rows: needed by the observational metrics, and by FactorVAE's scale under infogan-cr.
  const needObs = metrics.some((m) => m !== "factor-vae" && m !== "beta-vae") ||
    (want("factor-vae") && P.factorVae.scaleSamples === 0);
  let obs: CodesAndFactors | undefined, obsTest: CodesAndFactors | undefined;
  if (needObs) {
    const frac = P.observational.fractionOfData;
    const train = frac !== null && data.size ? Math.round(data.size * frac) : P.observational.train;
    const total = train + P.observational.test;
    log(`encoding ${total} observational images`);
    const all = await sampleObservational(data, encoder, root.fork("observational"), total, bs, stats, P.mig.bins);
    obs = P.observational.test > 0 ? sliceRows(all, 0, train) : all;
    obsTest = P.observational.test > 0 ? sliceRows(all, train, P.observational.test) : undefined;
    sampleSizes.observational = train;
    if (obsTest) sampleSizes.observationalTest = P.observational.test;
  }

  // Interventional groups.
  const fv = P.factorVae;
  let groupVotes: Awaited<ReturnType<typeof encodeGroups>> | undefined;
  if (want("factor-vae") || (want("beta-vae") && P.betaVae.source === "groups")) {
    log(`encoding ${fv.trainGroups} groups of ${fv.groupSize} images`);
    const g = sampleGroupFactors(data, root.fork("groups"), {
      groups: fv.trainGroups,
      groupSize: fv.groupSize,
      factorChoice: fv.factorChoice,
    });
    groupVotes = await encodeGroups(data, encoder, g, bs, stats);
    sampleSizes.factorVaeGroups = fv.trainGroups;
    sampleSizes.groupSize = fv.groupSize;
  }

  if (want("factor-vae")) {
    let scale: Float32Array;
    if (fv.scaleSamples === 0) {
      scale = codeScale(obs!.codes, obs!.n, D, fv.dispersion === "std0" ? 0 : 1);
      sampleSizes.scaleSamples = obs!.n;
    } else {
      log(`encoding ${fv.scaleSamples} images for the global scale`);
      const f = data.sampleFactors(fv.scaleSamples, root.fork("scale"));
      const codes = await encodeFactorRows(data, encoder, f, bs, stats);
      scale = codeScale(codes, fv.scaleSamples, D, fv.dispersion === "std0" ? 0 : 1);
      sampleSizes.scaleSamples = fv.scaleSamples;
    }
    if (fv.evalGroups === 0) {
      const r = timed("factor-vae", () => factorVaeFromVotes({ ...groupVotes!, scale }));
      scores.factorVae = r.score;
      details.factorVae = { voteTable: r.voteTable, scale: Array.from(scale) };
    } else {
      log(`encoding ${fv.evalGroups} evaluation groups of ${fv.groupSize} images`);
      const ge = sampleGroupFactors(data, root.fork("groups-eval"), {
        groups: fv.evalGroups,
        groupSize: fv.groupSize,
        factorChoice: fv.factorChoice,
      });
      const evalVotes = await encodeGroups(data, encoder, ge, bs, stats);
      const r = timed(
        "factor-vae",
        () => factorVaeDlFromVotes({ ...groupVotes!, scale }, { ...evalVotes, scale }, fv.pruneThreshold ?? 0),
      );
      scores.factorVae = r.score;
      details.factorVae = { voteTable: r.voteTable, trainScore: r.trainScore, activeDims: r.activeDims };
      sampleSizes.factorVaeEvalGroups = fv.evalGroups;
    }
  }

  if (want("beta-vae")) {
    const bv = P.betaVae;
    if (bv.source === "groups") {
      const features = betaVaeFeatures(groupVotes!);
      const r = timed(
        "beta-vae",
        () =>
          betaVaeFromFeatures(
            { features, labels: groupVotes!.fixedFactor, codeDim: D, numFactors: K },
            undefined,
            { multiClass: P.logistic },
          ),
      );
      scores.betaVae = r.score;
      details.betaVae = { pairsPerPoint: Math.floor(fv.groupSize / 2), trainScore: r.trainScore };
      sampleSizes.betaVaePoints = groupVotes!.groups;
    } else {
      const draw = async (label: string, points: number) => {
        log(`encoding ${points} BetaVAE points of ${bv.pairsPerPoint} pairs (${label})`);
        const g = sampleGroupFactors(data, root.fork(label), {
          groups: points,
          groupSize: 2 * bv.pairsPerPoint,
          factorChoice: "random",
          share: "pairs",
        });
        const v = await encodeGroups(data, encoder, g, bs, stats);
        return { features: betaVaeFeatures(v), labels: v.fixedFactor };
      };
      const tr = await draw("beta-pairs", bv.trainPoints);
      const ev = bv.evalPoints > 0 ? await draw("beta-pairs-eval", bv.evalPoints) : undefined;
      const r = timed(
        "beta-vae",
        () => betaVaeFromFeatures({ ...tr, codeDim: D, numFactors: K }, ev, { multiClass: P.logistic }),
      );
      scores.betaVae = r.score;
      details.betaVae = { pairsPerPoint: bv.pairsPerPoint, trainScore: r.trainScore };
      sampleSizes.betaVaePoints = bv.trainPoints;
      if (ev) sampleSizes.betaVaeEvalPoints = bv.evalPoints;
    }
  }

  if (obs && (want("mig") || want("modularity"))) {
    const mi = timed("mi-matrix", () => discretizedMiMatrix(obs!, P.mig.bins));
    if (want("mig")) {
      const r = timed("mig", () => migFromMi(mi));
      scores.mig = r.score;
      details.mig = { perFactor: r.perFactor, mi: r.mi, factorEntropy: r.factorEntropy };
    }
    if (want("modularity")) {
      const r = timed("modularity", () => modularityFromMi(mi));
      scores.modularity = r.score;
      details.modularity = { perCode: r.perCode };
    }
  }
  if (obs && want("sap")) {
    const categorical = P.sap.continuousFactors
      ? (opts.categorical ?? defaultCategorical(data))
      : new Array<boolean>(K).fill(true);
    const r = timed("sap", () => sap(obs!, { categorical, svmC: P.sap.svmC, test: obsTest }));
    scores.sap = r.score;
    details.sap = { scoreMatrix: r.scoreMatrix, perFactor: r.perFactor, categorical };
  }
  if (obs && want("dci")) {
    log("fitting DCI regressors");
    const main = timed("dci", () =>
      dci(obs!, {
        regressor: P.dci.regressor,
        lassoAlpha: P.dci.lassoAlpha,
        forestDepths: P.dci.forestDepths.length === K ? P.dci.forestDepths : Math.max(...P.dci.forestDepths),
        forestTrees: P.dci.forestTrees,
        rng: root.fork("dci-forest"),
        test: obsTest,
      }));
    scores.dci = main.disentanglement;
    scores.dciCompleteness = main.completeness;
    scores.dciInformativenessRmse = main.informativenessRmse;
    details.dci = { importance: main.importance, regressor: main.regressor };
    if (P.dci.regressor !== "lasso") {
      const lasso = timed(
        "dci-lasso",
        () => dci(obs!, { regressor: "lasso", lassoAlpha: P.dci.lassoAlpha, test: obsTest }),
      );
      scores.dciLasso = lasso.disentanglement;
      scores.dciLassoCompleteness = lasso.completeness;
      details.dciLasso = { importance: lasso.importance, regressor: lasso.regressor };
    }
  }
  if (obs && want("explicitness")) {
    log("fitting explicitness classifiers");
    const r = timed(
      "explicitness",
      () => explicitness(obs!, { C: P.explicitness.C, test: obsTest, multiClass: P.logistic }),
    );
    scores.explicitness = r.score;
    details.explicitness = { perFactor: r.perFactor };
  }

  sampleSizes.imagesEncoded = stats.images;
  return {
    schema: "igcr-metrics/1",
    dataset: data.name,
    factors: evaluated.map((k) => data.factors[k].name),
    codeDim: D,
    protocol,
    profile: opts.params ? "custom" : profile,
    params: P,
    metrics,
    seed,
    backend: opts.backend ?? "unknown",
    sampleSizes,
    scores,
    details,
    timings: {
      totalSeconds: (performance.now() - t0) / 1000,
      renderSeconds: stats.renderSeconds,
      encodeSeconds: stats.encodeSeconds,
      metricSeconds,
    },
    createdAt: new Date().toISOString(),
  };
}
