/**
 * The paper's published numbers (Table 1 and Table 3, dSprites), transcribed from /work/shared/paper-facts.md §6, which
 * read them off the official repository's table images. They are a reference column in reports and notebooks only:
 * no code computes with them.
 */
import type { Cell } from "../report/types.ts";

/** The seven disentanglement metrics in the paper's column order, with the keys lib/metrics reports them under. */
export const METRIC_COLUMNS = [
  { key: "factorVae", label: "FactorVAE" },
  { key: "dci", label: "DCI" },
  { key: "sap", label: "SAP" },
  { key: "explicitness", label: "Explicitness" },
  { key: "modularity", label: "Modularity" },
  { key: "mig", label: "MIG" },
  { key: "betaVae", label: "BetaVAE" },
] as const;

export type MetricKey = (typeof METRIC_COLUMNS)[number]["key"];

export type PaperRow = { model: string; group: "VAE" | "GAN" } & Partial<Record<MetricKey, Cell>>;

const s = (mean: number, std?: number): Cell => (std === undefined ? mean : { mean, std });

/**
 * Table 1 (dSprites): mean ± std over 50 runs for the InfoGAN (modified) and InfoGAN-CR rows. Blank cells are not
 * reported. The number in parentheses after FactorVAE is its TC weight gamma.
 */
export const TABLE1: PaperRow[] = [
  { group: "VAE", model: "VAE", factorVae: s(0.63, 0.06), dci: s(0.30, 0.10), mig: s(0.10) },
  { group: "VAE", model: "beta-TCVAE", factorVae: s(0.62, 0.07), dci: s(0.29, 0.10), mig: s(0.45) },
  { group: "VAE", model: "HFVAE", factorVae: s(0.63, 0.08), dci: s(0.39, 0.16) },
  { group: "VAE", model: "beta-VAE", factorVae: s(0.63, 0.10), dci: s(0.41, 0.11), sap: s(0.55), mig: s(0.21) },
  { group: "VAE", model: "CHyVAE", factorVae: s(0.77) },
  { group: "VAE", model: "DIP-VAE", sap: s(0.53) },
  { group: "VAE", model: "FactorVAE (as reported)", factorVae: s(0.82), mig: s(0.15) },
  {
    group: "VAE",
    model: "FactorVAE (1.0)",
    factorVae: s(0.79, 0.01),
    dci: s(0.67, 0.03),
    sap: s(0.47, 0.03),
    explicitness: s(0.78, 0.01),
    modularity: s(0.79, 0.01),
    mig: s(0.27, 0.03),
    betaVae: s(0.79, 0.02),
  },
  {
    group: "VAE",
    model: "FactorVAE (10.0)",
    factorVae: s(0.83, 0.01),
    dci: s(0.70, 0.02),
    sap: s(0.57, 0.00),
    explicitness: s(0.79, 0.00),
    modularity: s(0.79, 0.00),
    mig: s(0.40, 0.01),
    betaVae: s(0.83, 0.01),
  },
  {
    group: "VAE",
    model: "FactorVAE (20.0)",
    factorVae: s(0.83, 0.01),
    dci: s(0.72, 0.02),
    sap: s(0.57, 0.00),
    explicitness: s(0.79, 0.00),
    modularity: s(0.79, 0.01),
    mig: s(0.40, 0.01),
    betaVae: s(0.85, 0.00),
  },
  {
    group: "VAE",
    model: "FactorVAE (40.0)",
    factorVae: s(0.82, 0.01),
    dci: s(0.74, 0.01),
    sap: s(0.56, 0.00),
    explicitness: s(0.79, 0.00),
    modularity: s(0.77, 0.01),
    mig: s(0.43, 0.01),
    betaVae: s(0.84, 0.01),
  },
  // Printed as "0.59±0.70" in the paper; probably ±0.07 (paper-facts §0.9). Kept as printed, as text.
  { group: "GAN", model: "InfoGAN", factorVae: "0.59±0.70 (sic)", dci: s(0.41, 0.05), mig: s(0.05) },
  { group: "GAN", model: "IB-GAN", factorVae: s(0.80, 0.07), dci: s(0.67, 0.07) },
  {
    group: "GAN",
    model: "InfoGAN (modified)",
    factorVae: s(0.82, 0.01),
    dci: s(0.60, 0.02),
    sap: s(0.41, 0.02),
    explicitness: s(0.82, 0.00),
    modularity: s(0.94, 0.01),
    mig: s(0.22, 0.01),
    betaVae: s(0.87, 0.01),
  },
  {
    group: "GAN",
    model: "InfoGAN-CR",
    factorVae: s(0.88, 0.01),
    dci: s(0.71, 0.01),
    sap: s(0.58, 0.01),
    explicitness: s(0.85, 0.00),
    modularity: s(0.96, 0.00),
    mig: s(0.37, 0.01),
    betaVae: s(0.95, 0.01),
  },
];

export interface SelectionRow {
  pool: "FactorVAE" | "InfoGAN-CR";
  selection: "UDR Lasso" | "UDR Spearman" | "ModelCentrality";
  values: Record<MetricKey, Cell>;
}

const row = (pool: SelectionRow["pool"], selection: SelectionRow["selection"], v: number[][]): SelectionRow => ({
  pool,
  selection,
  values: Object.fromEntries(METRIC_COLUMNS.map((c, i) => [c.key, s(v[i][0], v[i][1])])) as Record<MetricKey, Cell>,
});

/** Table 3 (dSprites): the supervised metrics of the model each unsupervised criterion selects from the same pool. */
export const TABLE3: SelectionRow[] = [
  row("FactorVAE", "UDR Lasso", [[.81, 0], [.70, .01], [.56, 0], [.79, 0], [.78, 0], [.40, 0], [.84, 0]]),
  row("FactorVAE", "UDR Spearman", [[.79, 0], [.73, 0], [.53, .01], [.79, 0], [.77, 0], [.40, .01], [.79, 0]]),
  row("FactorVAE", "ModelCentrality", [[.84, 0], [.73, .01], [.58, 0], [.80, 0], [.82, 0], [.37, 0], [.86, 0]]),
  row("InfoGAN-CR", "UDR Lasso", [[.86, .01], [.68, .01], [.49, .01], [.84, 0], [.96, 0], [.30, .01], [.92, .01]]),
  row("InfoGAN-CR", "UDR Spearman", [[.84, .01], [.67, .01], [.53, .01], [.84, 0], [.96, 0], [.31, .01], [.90, .01]]),
  row("InfoGAN-CR", "ModelCentrality", [[.92, 0], [.77, 0], [.65, 0], [.87, 0], [.99, 0], [.45, 0], [.99, 0]]),
];

/** A Table 1 row by model name; throws naming the model when it is not in the table. */
export function table1Row(model: string): PaperRow {
  const r = TABLE1.find((x) => x.model === model);
  if (!r) throw new Error(`Table 1 has no row "${model}"; rows: ${TABLE1.map((x) => x.model).join(", ")}`);
  return r;
}

/** The paper's Table 3 entry for one pool and criterion. */
export function table3Row(pool: SelectionRow["pool"], selection: SelectionRow["selection"]): SelectionRow {
  const r = TABLE3.find((x) => x.pool === pool && x.selection === selection);
  if (!r) throw new Error(`Table 3 has no row for pool "${pool}" and selection "${selection}"`);
  return r;
}
