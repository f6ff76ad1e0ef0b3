/**
 * What the explorer's pool panel shows of a pool folder (lib/selection/pool.ts): its members, in pool.json's order,
 * and, when `deno task select` has written selection.json, each method's scores and pick and ModelCentrality's
 * similarity matrix A. Reads only; a pool that has not been selected yet still lists its members.
 */
import { join } from "node:path";
import { type ListedMember, listPoolMembers } from "../selection/pool.ts";
import { METHOD_LABEL, SELECTION_METHODS, type SelectionMethod } from "../selection/report.ts";
import { readJsonIfExists } from "../io/atomic.ts";

export interface PoolView {
  source: string;
  members: {
    name: string;
    /** The explorer's id of the member's model (filled in by the site). */
    modelId: string;
    seed?: number;
    params?: Record<string, number | string>;
    supervisedFactorVae: number | null;
    /** Score of each selection method (method key → score). */
    scores: Partial<Record<SelectionMethod, number>>;
  }[];
  methods: { key: SelectionMethod; label: string; pick: number }[];
  /** ModelCentrality's A = (S + Sᵀ)/2, member order; null without selection.json. */
  similarity: number[][] | null;
  /** One line under the heatmap: which selection run it shows, or how to make one. */
  note: string;
}

interface SelectionJson {
  schema?: string;
  profile?: string;
  seed?: number;
  createdAt?: string;
  members?: { name: string; supervisedFactorVae?: number | null }[];
  methods?: Partial<Record<SelectionMethod, { scores?: number[]; pick?: number; A?: number[][] }>>;
}

/** The pool's members (as `listPoolMembers` finds them) and what selection.json says about them. */
export async function readPoolView(poolDir: string): Promise<{ view: PoolView; members: ListedMember[] }> {
  const members = await listPoolMembers(poolDir);
  if (members.length === 0) {
    throw new Error(`pool: ${poolDir} has no trained member (no sub-folder with a config.json)`);
  }
  const path = join(poolDir, "selection.json");
  const sel = await readJsonIfExists<SelectionJson>(path);
  const view: PoolView = {
    source: poolDir,
    members: members.map((m) => ({
      name: m.name,
      modelId: "",
      seed: m.seed,
      params: m.params,
      supervisedFactorVae: null,
      scores: {},
    })),
    methods: [],
    similarity: null,
    note: `no selection yet: \`deno task select --pool ${poolDir}\` writes the scores and the similarity heatmap`,
  };
  if (!sel) return { view, members };
  if (sel.schema !== "igcr-selection/1" || !Array.isArray(sel.members)) {
    throw new Error(`pool: ${path} is not a selection.json of \`deno task select\` (schema igcr-selection/1)`);
  }
  // selection.json's member order is the order select saw; map by name so a changed pool still lines up.
  const index = new Map(sel.members.map((m, i) => [m.name, i]));
  const at = (name: string) => index.get(name);
  const missing = members.filter((m) => at(m.name) === undefined).map((m) => m.name);
  for (const [i, m] of members.entries()) {
    const j = at(m.name);
    if (j !== undefined) view.members[i].supervisedFactorVae = sel.members[j].supervisedFactorVae ?? null;
  }
  for (const key of SELECTION_METHODS) {
    const r = sel.methods?.[key];
    if (!r || !Array.isArray(r.scores)) continue;
    for (const [i, m] of members.entries()) {
      const j = at(m.name);
      if (j !== undefined && typeof r.scores[j] === "number") view.members[i].scores[key] = r.scores[j];
    }
    const pickName = typeof r.pick === "number" ? sel.members[r.pick]?.name : undefined;
    view.methods.push({ key, label: METHOD_LABEL[key], pick: members.findIndex((m) => m.name === pickName) });
    if (key === "model-centrality" && Array.isArray(r.A)) {
      view.similarity = members.map((a) => members.map((b) => r.A![at(a.name) ?? -1]?.[at(b.name) ?? -1] ?? NaN));
    }
  }
  view.note = `selection.json: profile ${sel.profile ?? "?"}, seed ${sel.seed ?? "?"}, ${sel.createdAt ?? ""}` +
    (missing.length ? `; not in it (trained later?): ${missing.join(", ")}` : "");
  return { view, members };
}
