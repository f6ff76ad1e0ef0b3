/**
 * The report writer: every table prints its provenance, paper values are labelled as reference, the HTML is
 * self-contained (figures inlined), results.json holds the same numbers as the tables, and writes are atomic.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readJsonIfExists, writeJsonAtomic, writeTextAtomic } from "../lib/io/atomic.ts";
import { formatCell, formatProvenance, stat } from "../lib/report/format.ts";
import { inlineMarkdownToHtml } from "../lib/report/html.ts";
import { anchor, tableToMarkdown } from "../lib/report/markdown.ts";
import type { Report, ReportTable } from "../lib/report/types.ts";
import { saveChart, saveImage, writeReport } from "../lib/report/write.ts";
import { lineChart } from "../lib/viz/charts.ts";

const PROV = { profile: "smoke", backend: "wasm (SIMD, 1 thread)", seeds: [1, 2], wallTimeS: 75 };

const TABLE: ReportTable = {
  id: "t1",
  title: "Table 1",
  columns: [
    { key: "metric", label: "Metric" },
    { key: "ours", label: "InfoGAN-CR", source: "ours" },
    { key: "paper", label: "InfoGAN-CR", source: "paper" },
  ],
  rows: [
    { metric: "FactorVAE", ours: { mean: 0.61234, std: 0.0456, n: 2 }, paper: { mean: 0.88, std: 0.01 } },
    { metric: "MIG", ours: null, paper: "0.59±0.70 (sic)" },
  ],
  provenance: PROV,
};

Deno.test("formatCell: numbers, mean±std, blanks, text; stat is mean and population std", () => {
  assert.equal(formatCell(0.8234), "0.82");
  assert.equal(formatCell(0.8234, 3), "0.823");
  assert.equal(formatCell({ mean: 0.82, std: 0.014 }), "0.82±0.01");
  assert.equal(formatCell({ mean: 0.82, std: 0, n: 1 }), "0.82", "one value has no spread to print");
  assert.equal(formatCell(null), "");
  assert.equal(formatCell(NaN), "n/a");
  assert.equal(formatCell("0.59±0.70 (sic)"), "0.59±0.70 (sic)");
  assert.deepEqual(stat([1, 3]), { mean: 2, std: 1, n: 2 });
  assert.deepEqual(stat([5]), { mean: 5, n: 1 });
  assert.throws(() => stat([]), /no values/);
});

Deno.test("every table carries its profile, backend, seeds and wall time; paper columns say so", () => {
  assert.equal(formatProvenance(PROV), "profile smoke · backend wasm (SIMD, 1 thread) · seeds 1, 2 · wall time 1m15s");
  const md = tableToMarkdown(TABLE);
  const lines = md.split("\n");
  assert.ok(lines.includes("| Metric | InfoGAN-CR (ours) | InfoGAN-CR (paper, reference) |"), md);
  assert.ok(lines.includes("|---|---:|---:|"));
  assert.ok(lines.includes("| FactorVAE | 0.61±0.05 | 0.88±0.01 |"));
  assert.ok(lines.includes("| MIG |  | 0.59±0.70 (sic) |"), "a blank stays blank, never a made-up number");
  assert.ok(md.includes("*profile smoke · backend wasm (SIMD, 1 thread) · seeds 1, 2 · wall time 1m15s*"));
});

Deno.test("inline Markdown becomes escaped HTML", () => {
  assert.equal(
    inlineMarkdownToHtml("a `x<y` **b** *c* [d](http://e)"),
    '<p>a <code>x&lt;y</code> <strong>b</strong> <em>c</em> <a href="http://e">d</a></p>',
  );
  assert.equal(inlineMarkdownToHtml("- one\n- two"), "<ul><li>one</li><li>two</li></ul>");
  assert.equal(anchor("dSprites: InfoGAN vs InfoGAN-CR (Table 1)"), "dsprites-infogan-vs-infogan-cr-table-1");
});

Deno.test("writeReport: report.md, self-contained report.html and results.json agree", async () => {
  const dir = await Deno.makeTempDir({ prefix: "igcr-report-" });
  try {
    const chart = await saveChart(dir, "figures/losses", lineChart([{ iter: 0, d: 1 }, { iter: 1, d: 0.5 }]), {
      id: "losses",
      title: "Losses",
      caption: "loss over iterations",
    });
    // A 1×1 PNG: the smallest valid file, enough to check it is inlined as a data URI.
    const png = Uint8Array.from(
      atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="),
      (c) => c.charCodeAt(0),
    );
    const img = await saveImage(dir, "figures/grid.png", png, { id: "grid", title: "Grid", caption: "a grid" });
    assert.deepEqual(chart.files, { svg: "figures/losses.svg", png: "figures/losses.png" });
    const report: Report = {
      title: "Test report",
      createdAt: "2026-01-01T00:00:00Z",
      command: "deno task reproduce --profile smoke",
      profile: "smoke",
      backend: PROV.backend,
      machine: "test",
      totalWallTimeS: 80,
      sections: [{
        id: "dsprites",
        title: "dSprites",
        status: "ok",
        claim: "CR helps.",
        paragraphs: ["Some **text**."],
        tables: [TABLE],
        figures: [chart, img],
        numbers: { factorVae: 0.61234 },
        wallTimeS: 80,
      }, {
        id: "teapots",
        title: "Teapots",
        status: "not-implemented",
        paragraphs: ["This experiment could not run: not implemented yet: x."],
        tables: [],
        figures: [],
        numbers: {},
        wallTimeS: 0,
      }],
    };
    const paths = await writeReport(dir, report);
    const md = await Deno.readTextFile(paths.markdown);
    assert.ok(md.includes("| [dSprites](#dsprites) | done | 1m20s |"));
    assert.ok(md.includes("| [Teapots](#teapots) | not implemented yet | 0.0s |"));
    assert.ok(md.includes("![Losses](figures/losses.png)"));
    assert.ok(md.includes("> **The paper's claim.** CR helps."));

    const html = await Deno.readTextFile(paths.html);
    assert.ok(html.includes("<svg"), "SVG figure inlined");
    assert.ok(html.includes("data:image/png;base64,iVBORw0KGgo"), "PNG figure inlined as a data URI");
    assert.ok(!html.includes('src="figures/'), "no figure is linked from outside the file");
    assert.ok(html.includes('<td class="ours">0.61±0.05</td>'));
    assert.ok(html.includes("profile smoke · backend wasm (SIMD, 1 thread) · seeds 1, 2 · wall time 1m15s"));

    const json = JSON.parse(await Deno.readTextFile(paths.json));
    assert.equal(json.experiments.dsprites.numbers.factorVae, 0.61234);
    assert.equal(json.experiments.dsprites.tables[0].rows[0].ours.mean, 0.61234);
    assert.equal(json.experiments.teapots.status, "not-implemented");
    assert.deepEqual(json.experiments.teapots.numbers, {});
    const leftovers = [...Deno.readDirSync(dir)].filter((e) => e.name.includes(".tmp-"));
    assert.deepEqual(leftovers, [], "atomic writes leave no temp files");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing figure file is reported in the HTML instead of breaking the report", async () => {
  const dir = await Deno.makeTempDir({ prefix: "igcr-report-" });
  try {
    const paths = await writeReport(dir, {
      title: "r",
      createdAt: "now",
      command: "c",
      profile: "smoke",
      backend: "b",
      machine: "m",
      totalWallTimeS: 1,
      sections: [{
        id: "celeba",
        title: "CelebA",
        status: "partial",
        paragraphs: [],
        tables: [],
        figures: [{ id: "gone", title: "Gone", caption: "", files: { png: "figures/gone.png" } }],
        numbers: {},
        wallTimeS: 1,
      }],
    });
    assert.match(await Deno.readTextFile(paths.html), /figure gone is missing/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atomic JSON: round trip, null when missing, a corrupt file is an error naming it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "igcr-atomic-" });
  try {
    const p = join(dir, "a", "b.json");
    await writeJsonAtomic(p, { x: [1, 2] });
    assert.deepEqual(await readJsonIfExists(p), { x: [1, 2] });
    assert.equal(await readJsonIfExists(join(dir, "none.json")), null);
    await writeTextAtomic(p, "{not json");
    await assert.rejects(
      () => readJsonIfExists(p),
      new RegExp(`${p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} is not valid JSON`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
