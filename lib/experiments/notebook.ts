/**
 * What the notebooks need beside the experiment definitions: a context that shows figures inline, the profile from
 * IGCR_PROFILE (CI executes the notebooks with "smoke"), and tables shown as Markdown. Keeps notebook cells to calls.
 */
import { initBackend } from "../backend.ts";
import { tableToMarkdown } from "../report/markdown.ts";
import type { ReportTable } from "../report/types.ts";
import { inJupyter, showImage, showMarkdown } from "../viz/display.ts";
import { ExperimentContext, type ExperimentId, type Profile, profileFromEnv } from "./context.ts";
import { PRETRAINED_DIR, pretrainedAllowed } from "./pretrained.ts";

export interface NotebookSetup {
  ctx: ExperimentContext;
  profile: Profile;
  backend: string;
  outDir: string;
}

/**
 * The profile a notebook runs in without IGCR_PROFILE: `cpu` when models for this experiment are shipped in
 * data/pretrained/ (their names start with the experiment id) and IGCR_TRAIN is not 1, so the notebook shows trained
 * models in seconds; `smoke` otherwise, so that a notebook never starts an hour of training unasked.
 */
export function defaultNotebookProfile(id: ExperimentId, root = PRETRAINED_DIR): Profile {
  if (!pretrainedAllowed()) return "smoke";
  try {
    for (const e of Deno.readDirSync(root)) if (e.isDirectory && e.name.startsWith(`${id}-`)) return "cpu";
  } catch {
    // no data/pretrained/
  }
  return "smoke";
}

/**
 * Initialises the backend and an experiment context for a notebook. Results go to IGCR_OUT, else
 * `../runs/notebooks/<id>-<profile>` (relative to notebooks/); steps finished there earlier are reused, so re-running a
 * notebook is quick. IGCR_FRESH=1 empties that folder first. Shipped models (data/pretrained/) whose config is the one
 * asked for are used instead of training, unless IGCR_TRAIN=1.
 */
export async function notebookSetup(id: ExperimentId, fallbackProfile?: Profile): Promise<NotebookSetup> {
  const info = await initBackend({ quiet: true });
  const profile = profileFromEnv(fallbackProfile ?? defaultNotebookProfile(id));
  const outDir = Deno.env.get("IGCR_OUT") || `../runs/notebooks/${id}-${profile}`;
  if (Deno.env.get("IGCR_FRESH") === "1") {
    await Deno.remove(outDir, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
  }
  const ctx = new ExperimentContext({
    id,
    profile,
    outDir,
    backend: info.description,
    gpu: info.gpu,
    display: inJupyter(),
    pretrained: pretrainedAllowed(),
    log: (l) => console.log(l),
  });
  return { ctx, profile, backend: info.description, outDir };
}

/** Shows a report table as Markdown (in Jupyter) or prints it (elsewhere). */
export async function showTable(t: ReportTable): Promise<void> {
  const md = tableToMarkdown(t);
  if (inJupyter()) await showMarkdown(md);
  else console.log(md);
}

/**
 * Shows the tables of one experiment from a report's results.json (e.g. the committed `cpu` report in docs/results/),
 * headed by how that report was made. Returns false, after saying so, when the file is absent.
 */
export async function showReportTables(resultsPath: string, experiment: ExperimentId): Promise<boolean> {
  let r: {
    createdAt: string;
    command: string;
    profile: string;
    backend: string;
    machine: string;
    experiments: Record<string, { status: string; wallTimeS: number; tables: ReportTable[] }>;
  };
  try {
    r = JSON.parse(await Deno.readTextFile(resultsPath));
  } catch (e) {
    const msg = `No report at ${resultsPath} (${(e as Error).message}).`;
    if (inJupyter()) await showMarkdown(msg);
    else console.log(msg);
    return false;
  }
  const e = r.experiments[experiment];
  const head = [
    `**From ${resultsPath}**: \`${r.command}\`, profile \`${r.profile}\`, backend ${r.backend}, ${r.machine}, ` +
    `made ${r.createdAt}; experiment status ${e?.status ?? "absent"}.`,
  ];
  const md = [...head, "", ...(e?.tables ?? []).map((t) => tableToMarkdown(t))].join("\n\n");
  if (inJupyter()) await showMarkdown(md);
  else console.log(md);
  return e !== undefined;
}

/** Shows a two-column Markdown table of settings (e.g. a training config). */
export async function showSettings(title: string, settings: Record<string, unknown>): Promise<void> {
  const rows = Object.entries(settings).map(([k, v]) => `| ${k} | ${typeof v === "string" ? v : JSON.stringify(v)} |`);
  const md = [`**${title}**`, "", "| setting | value |", "|---|---|", ...rows].join("\n");
  if (inJupyter()) await showMarkdown(md);
  else console.log(md);
}

/** The claim sentences a results.json holds for an experiment (none in reports made before the claims study). */
export function committedVerdicts(numbers: Record<string, unknown> | undefined): string[] {
  if (!numbers) return [];
  const out: string[] = [];
  if (typeof numbers.verdictSentence === "string") out.push(numbers.verdictSentence);
  for (const v of Object.values(numbers)) {
    const s = (v as { verdictSentence?: unknown } | null)?.verdictSentence;
    if (v && typeof v === "object" && typeof s === "string") out.push(s);
  }
  if (typeof numbers.verdict === "string" && typeof numbers.verdictSentence !== "string" && out.length > 0) {
    out.unshift(`**Over both pools: ${numbers.verdict}.**`);
  }
  return out;
}

/**
 * The committed result of an experiment beside a notebook's small run: its claim sentences, its tables and the given
 * figure files (relative to the report folder, shown when present). A report made before these experiments existed is
 * shown as it is, with a line saying its design is older; a missing file is said, not thrown.
 */
export async function showCommittedResults(
  resultsPath: string,
  experiment: ExperimentId,
  figures: string[] = [],
): Promise<boolean> {
  let numbers: Record<string, unknown> | undefined;
  try {
    const r = JSON.parse(await Deno.readTextFile(resultsPath));
    numbers = r.experiments?.[experiment]?.numbers;
  } catch {
    // showReportTables below says that the file is missing.
  }
  const verdicts = committedVerdicts(numbers);
  const lead = verdicts.length > 0
    ? verdicts.join("\n\n")
    : "This committed report was made before the paired design and the sub-pool analysis existed, so it has no " +
      "verdict; its tables follow as they were. `deno task reproduce --profile cpu` makes a new one.";
  if (numbers !== undefined) {
    if (inJupyter()) await showMarkdown(lead);
    else console.log(lead);
  }
  const ok = await showReportTables(resultsPath, experiment);
  const dir = resultsPath.replace(/[^/]*$/, "");
  for (const f of figures) {
    try {
      const bytes = await Deno.readFile(dir + f);
      if (inJupyter()) await showImage(bytes, { caption: f, width: 760 });
      else console.log(`(figure ${dir + f})`);
    } catch {
      // Older reports lack the newer figures.
    }
  }
  return ok;
}
