/**
 * Charts: the Vega-Lite specs carry exactly the data they were given (nothing invented, nothing silently dropped
 * except non-finite points), bad input is rejected naming the cell, and the headless SVG/PNG rendering draws one mark
 * per datum at the requested size.
 */
import assert from "node:assert/strict";
import sharp from "sharp";
import { barTable, heatmap, lineChart, scatter, specToPng, specToSvg, svgToPng } from "../lib/viz/charts.ts";
import { formatProgress, formatSeconds } from "../lib/viz/display.ts";

type Row = Record<string, unknown>;
const dataOf = (spec: Record<string, unknown>) => (spec.data as { values: Row[] }).values;

/** The children of the first `<g class="mark-KIND ...">` group of an SVG. */
function markCount(svg: string, kind: string): number {
  const m = svg.match(new RegExp(`<g class="mark-${kind} role-mark[^>]*>(.*?)</g>`));
  return m ? (m[1].match(/<path|<text|<line/g)?.length ?? 0) : 0;
}

Deno.test("lineChart: one point per finite value, NaN/null skipped, x from the named field", () => {
  const rows = [
    { iter: 0, d: 1.5, g: 0.5, h: NaN, time: 99 },
    { iter: 10, d: 1.2, g: null, h: 1.6, time: 100 },
    { iter: 20, d: 1.0, g: 0.7, h: 1.4, time: 101 },
  ];
  const spec = lineChart(rows, { title: "losses" });
  const v = dataOf(spec) as { x: number; series: string; value: number }[];
  // "time" is excluded by default; g at iter 10 (null) and h at iter 0 (NaN) give no point.
  assert.deepEqual(new Set(v.map((p) => p.series)), new Set(["d", "g", "h"]));
  assert.equal(v.length, 3 + 2 + 2);
  assert.deepEqual(v.filter((p) => p.series === "d").map((p) => [p.x, p.value]), [[0, 1.5], [10, 1.2], [20, 1.0]]);
  assert.equal(v.find((p) => p.series === "h" && p.x === 0), undefined);
});

Deno.test("lineChart: maxPoints thins long logs but keeps the last row; errors name the problem", () => {
  const rows = Array.from({ length: 1001 }, (_, i) => ({ iter: i, loss: i / 1000 }));
  const v = dataOf(lineChart(rows, { maxPoints: 100 })) as { x: number }[];
  assert.ok(v.length <= 101 && v.length >= 90, `got ${v.length} points`);
  assert.equal(v.at(-1)!.x, 1000);
  assert.throws(() => lineChart([]), /no rows/);
  assert.throws(() => lineChart([{ step: 1, loss: 2 }]), /row 0 field "iter"/);
  assert.throws(() => lineChart([{ iter: 1, loss: NaN }], { y: ["loss"] }), /none of the fields loss/);
});

Deno.test("lineChart: markers add a rule layer at the given x", () => {
  const spec = lineChart([{ iter: 0, a: 1 }, { iter: 5, a: 2 }], { markers: [{ x: 3, label: "CR on" }] });
  const layers = spec.layer as Record<string, unknown>[];
  assert.equal(layers.length, 3);
  assert.deepEqual(dataOf(layers[1]), [{ x: 3, label: "CR on" }]);
});

Deno.test("heatmap: cells in row-major order with labels; non-finite cells left blank; shape errors", () => {
  const spec = heatmap([[0.1, 0.2], [0.3, NaN]], { rowLabels: ["a", "b"], colLabels: ["x", "y"], digits: 1 });
  assert.deepEqual(dataOf(spec), [
    { row: "a", col: "x", value: 0.1, text: "0.1" },
    { row: "a", col: "y", value: 0.2, text: "0.2" },
    { row: "b", col: "x", value: 0.3, text: "0.3" },
  ]);
  assert.throws(() => heatmap([[1, 2], [3]]), /row 1 has 1 cells, row 0 has 2/);
  assert.throws(() => heatmap([[1, 2]], { rowLabels: ["a", "b"] }), /2 row labels for 1 rows/);
  assert.throws(() => heatmap([]), /no rows/);
});

Deno.test("heatmap renders one rect per finite cell and one value label per cell", async () => {
  const svg = await specToSvg(heatmap([[1, 2, 3, 4], [5, NaN, 7, 8], [9, 10, 11, 12]], { title: "HM" }));
  assert.ok(svg.startsWith("<svg"));
  assert.equal(markCount(svg, "rect"), 11);
  assert.ok(svg.includes(">HM<"), "title drawn");
});

Deno.test("scatter: groups and labels kept; diagonal adds a y=x line spanning the data", () => {
  const spec = scatter([{ x: 0.2, y: 0.5, group: "A", label: "s1" }, { x: 0.9, y: 0.4, group: "B" }], {
    diagonal: true,
  });
  const layers = spec.layer as Record<string, unknown>[];
  assert.deepEqual(dataOf(layers[0]), [{ x: 0.2, y: 0.2 }, { x: 0.9, y: 0.9 }]);
  assert.deepEqual((dataOf(layers[1]) as Row[]).map((p) => [p.group, p.label]), [["A", "s1"], ["B", ""]]);
  assert.throws(() => scatter([{ x: 1, y: Infinity }]), /point 0 y must be a finite number/);
});

Deno.test("barTable: one bar per cell, error bars only where a std is given", async () => {
  const cells = [
    { row: "ours", column: "FactorVAE", value: 0.5, std: 0.1 },
    { row: "paper", column: "FactorVAE", value: 0.88 },
    { row: "ours", column: "MIG", value: 0.2 },
  ];
  const spec = barTable(cells, { title: "T" });
  const v = dataOf(spec) as { lo: number; hi: number; hasStd: boolean }[];
  assert.equal(v.length, 3);
  assert.deepEqual([v[0].lo, v[0].hi, v[0].hasStd], [0.4, 0.6, true]);
  assert.equal(v[1].hasStd, false);
  const svg = await specToSvg(spec);
  assert.equal(markCount(svg, "rect"), 3);
  assert.equal(markCount(svg, "rule"), 1);
  assert.throws(() => barTable([{ row: "a", column: "b", value: NaN }]), /cell 0 \(a, b\)/);
});

Deno.test("specToPng: a PNG at density/72 times the SVG's size; invalid specs are errors naming the chart", async () => {
  const spec = lineChart([{ iter: 0, a: 1 }, { iter: 1, a: 2 }], { title: "size", width: 200, height: 100 });
  const svg = await specToSvg(spec);
  const w = Number(svg.match(/width="(\d+)"/)![1]);
  const png = await specToPng(spec, { density: 144 });
  assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  const meta = await sharp(png).metadata();
  assert.equal(meta.width, w * 2);
  const png72 = await svgToPng(svg, { density: 72 });
  assert.equal((await sharp(png72).metadata()).width, w);
  await assert.rejects(() => specToSvg({ title: "bad", mark: "nonsense-mark" }), /invalid Vega-Lite spec "bad"/);
  await assert.rejects(() => svgToPng(svg, { density: 0 }), /density/);
});

Deno.test("progress and durations format for humans", () => {
  assert.equal(formatSeconds(4.24), "4.2s");
  assert.equal(formatSeconds(59.6), "1m00s");
  assert.equal(formatSeconds(75), "1m15s");
  assert.equal(formatSeconds(3700), "1h01m");
  assert.equal(formatSeconds(NaN), "?");
  // 40 of 100 in 20 s: 30 s to go at the same rate.
  assert.equal(formatProgress("train", 40, 100, 20), "train 40/100 (40%) 20s elapsed ETA 30s");
  assert.equal(formatProgress("train", 100, 100, 20, "done"), "train 100/100 (100%) 20s elapsed done");
});
