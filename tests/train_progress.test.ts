import assert from "node:assert/strict";
import { formatDuration, Progress } from "../lib/train/progress.ts";

Deno.test("progress: off a terminal, one line per 5% with iteration, it/s, ETA and losses", () => {
  const lines: string[] = [];
  let now = 0;
  const p = new Progress({ total: 100, write: (t) => lines.push(t), tty: false, now: () => now, label: "run" });
  for (let it = 1; it <= 100; it++) {
    now += 500; // 2 it/s
    p.update(it, { d: 1.23456, cr: NaN });
  }
  assert.equal(lines.length, 20);
  assert.equal(lines[0], "run 5/100 (5.0%) 2.00 it/s ETA 48s | d 1.235 cr -\n");
  assert.match(lines[19], /^run 100\/100 \(100\.0%\) 2\.00 it\/s ETA 0s/);
});

Deno.test("progress: a resumed run counts its rate from where it started; on a terminal it redraws one line", () => {
  const lines: string[] = [];
  let now = 0;
  const p = new Progress({ total: 1000, start: 900, write: (t) => lines.push(t), tty: true, now: () => now });
  now = 10_000;
  p.update(910, { g: 2 });
  assert.equal(lines[0], "\r\x1b[2K910/1000 (91.0%) 1.00 it/s ETA 1m30s | g 2.000");
  now = 10_100;
  p.update(911, { g: 2 }); // within 200 ms: not redrawn
  assert.equal(lines.length, 1);
  assert.equal(formatDuration(3 * 3600 + 65), "3h01m");
});
