/**
 * The test command (`deno task test`): runs every `tests/**\/*.test.ts` with `deno test` and ends with the plain line
 * `N passed, N failed` that CI reads. Extra arguments are passed to `deno test` (e.g. a filter: `deno task test --filter dsprites`).
 */
const args = ["test", "-A", "--no-check=remote", ...Deno.args];
if (!Deno.args.some((a) => a.endsWith(".ts") || a.startsWith("tests/"))) args.push("tests/");

const child = new Deno.Command(Deno.execPath(), {
  args,
  stdout: "piped",
  stderr: "inherit",
  env: { NO_COLOR: "1" },
}).spawn();

let tail = "";
const decoder = new TextDecoder();
for await (const chunk of child.stdout) {
  const text = decoder.decode(chunk, { stream: true });
  await Deno.stdout.write(chunk);
  tail = (tail + text).slice(-4000);
}
const status = await child.status;

// Deno's summary: "ok | 12 passed (3 steps) | 0 failed (4s)" or "FAILED | 10 passed | 2 failed (5s)".
const m = [...tail.matchAll(/\|\s*(\d+) passed[^|]*\|\s*(\d+) failed/g)].at(-1);
const passed = m ? Number(m[1]) : 0;
let failed = m ? Number(m[2]) : 0;
if (!status.success && failed === 0) failed = 1; // a crash or a type error before any test ran
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(status.code);
