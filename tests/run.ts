/**
 * The test command (`deno task test`): runs every `tests/**\/*.test.ts` with `deno test` and ends with the plain line
 * `N passed, N failed` that CI reads. Extra arguments are passed to `deno test` (e.g. a filter: `deno task test --filter dsprites`).
 */
import { defineCommand } from "../lib/cli/command.ts";

export const command = defineCommand({
  name: "test",
  summary: "the test suite; its last line is `N passed, N failed`",
  flags: {
    filter: { type: "string", placeholder: "NAME", inUsage: true, doc: "only the tests whose name contains NAME" },
  },
  passthrough: {
    placeholder: "DENO_TEST_ARGS",
    doc: "every other argument goes to `deno test` as it is (a test file, --fail-fast, ...)",
  },
  examples: ["deno task test --filter dsprites", "deno task test tests/cli_help.test.ts --fail-fast"],
});

if (import.meta.main) {
  await command.run(async (flags, rest) => {
    const args = ["test", "-A", "--no-check=remote", ...(flags.filter === undefined ? [] : ["--filter", flags.filter])];
    args.push(...rest);
    if (!rest.some((a) => a.endsWith(".ts") || a.startsWith("tests/"))) args.push("tests/");

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
    return status.code;
  });
}
