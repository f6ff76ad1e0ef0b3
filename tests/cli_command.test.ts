/**
 * The command-line layer (lib/cli/command.ts), in process: parsing, defaults, errors that name the flag, typo hints,
 * `--help`, and how `run` reports errors (a usage error is one line and exit 2, a bug keeps its stack trace).
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { defineCommand, reportError, suggest, UsageError } from "../lib/cli/command.ts";

const demo = defineCommand({
  name: "demo",
  summary: "a command for the tests",
  flags: {
    dataset: { type: "string", schema: z.enum(["dsprites", "teapots"]), required: true, doc: "the dataset" },
    out: { type: "string", schema: z.string().min(1), placeholder: "DIR", inUsage: true, doc: "where to write" },
    n: { type: "number", schema: z.number().int().positive().max(100), default: 8, doc: "how many" },
    size: { type: "number", schema: z.literal([32, 64]), doc: "image side" },
    gif: { type: "boolean", doc: "animate" },
    only: { type: "list", schema: z.array(z.enum(["a", "b", "c"])), doc: "parts" },
    grid: { type: "list", split: false, default: [], doc: "grid items" },
    json: {
      type: "string",
      schema: z.string().transform((s) => JSON.parse(s) as unknown).pipe(z.object({ k: z.number() }).strict()),
      doc: "options as JSON",
    },
  },
  examples: ["deno task demo --dataset dsprites --n 4"],
  check(f, given) {
    if (f.gif && f.dataset === "teapots") throw new UsageError("--gif applies to --dataset dsprites only");
    if (given.has("size") && f.n > 50) throw new UsageError("--size goes with --n 50 or less");
  },
});

const fails = (argv: string[], re: RegExp) =>
  assert.throws(() => demo.parse(argv), (e) => e instanceof UsageError && re.test(e.message), `${argv.join(" ")}`);

Deno.test("command: parses every flag type, applies defaults, --flag=value, last one wins, lists accumulate", () => {
  assert.deepEqual(demo.parse(["--dataset", "dsprites"]), {
    dataset: "dsprites",
    out: undefined,
    n: 8,
    size: undefined,
    gif: false,
    only: undefined,
    grid: [],
    json: undefined,
  });
  const f = demo.parse([
    "--dataset=teapots",
    "--n",
    "3",
    "--n=5",
    "--size",
    "64",
    "--only",
    "a,b",
    "--only=c",
    "--grid",
    "gamma=1,10",
    "--grid",
    "beta=2",
    "--json",
    '{"k":1}',
    "--out",
    "-x",
  ]);
  assert.equal(f.dataset, "teapots");
  assert.equal(f.n, 5);
  assert.equal(f.size, 64);
  assert.deepEqual(f.only, ["a", "b", "c"]);
  assert.deepEqual(f.grid, ["gamma=1,10", "beta=2"], "split: false keeps each occurrence whole");
  assert.deepEqual(f.json, { k: 1 }, "the schema's transform runs");
  assert.equal(f.out, "-x", "a value may start with a single dash");
  assert.equal(demo.parse(["--dataset", "dsprites", "--gif"]).gif, true);
  // The default list is copied, not shared between parses.
  demo.parse(["--dataset", "dsprites"]).grid.push("x");
  assert.deepEqual(demo.parse(["--dataset", "dsprites"]).grid, []);
});

Deno.test("command: every usage error is one line naming the flag, what was given and what is accepted", () => {
  fails(["--dataset", "dsprites", "--datset", "x"], /^unknown flag --datset \(did you mean --dataset\?\)$/);
  fails(["--dataset", "dsprites", "--zzz"], /^unknown flag --zzz$/);
  fails(["--dataset", "dsprites", "--constructor", "x"], /^unknown flag --constructor$/);
  fails(["-n", "3"], /^unknown flag -n \(did you mean --n\?\)$/);
  fails(
    ["--dataset", "dsprite"],
    /^--dataset "dsprite": expected one of dsprites, teapots \(did you mean dsprites\?\)$/,
  );
  fails(["--dataset", "dsprites", "--n", "x"], /^--n "x": expected a number$/);
  fails(["--dataset", "dsprites", "--n", ""], /^--n "": expected a number$/);
  fails(["--dataset", "dsprites", "--n", "2.5"], /^--n 2\.5: expected a whole number$/);
  fails(["--dataset", "dsprites", "--n", "0"], /^--n 0: expected a number > 0$/);
  fails(["--dataset", "dsprites", "--n", "101"], /^--n 101: expected a number <= 100$/);
  fails(["--dataset", "dsprites", "--size", "48"], /^--size 48: expected one of 32, 64$/);
  fails(["--dataset", "dsprites", "--only", "a,x"], /^--only "x": expected one of a, b, c$/);
  fails(["--dataset", "dsprites", "--json", '{"k":"1"}'], /^--json '\{"k":"1"\}': key k: expected number$/);
  fails(["--dataset", "dsprites", "--json", '{"k":1,"j":1}'], /^--json '\{"k":1,"j":1\}': unrecognized key: "j"$/);
  fails(["--n", "3"], /^--dataset dsprites\|teapots is required \(the dataset\)$/);
  fails(["--dataset"], /^--dataset needs a value \(dsprites\|teapots\)$/);
  fails(["--dataset", "--gif"], /^--dataset needs a value/);
  fails(["--dataset", "dsprites", "--gif=yes"], /^--gif is a switch and takes no value/);
  fails(["--dataset", "dsprites", "stray"], /^unexpected argument "stray"/);
  // What was typed is checked before what is missing: the bad value is named even though --dataset is absent.
  fails(["--n", "x"], /^--n "x"/);
  // Cross-flag rules run after every flag parsed, and see which flags were given.
  fails(["--dataset", "teapots", "--gif"], /^--gif applies to --dataset dsprites only$/);
  fails(["--dataset", "dsprites", "--n", "60", "--size", "32"], /^--size goes with --n 50 or less$/);
  assert.equal(demo.parse(["--dataset", "dsprites", "--n", "60"]).n, 60);
});

Deno.test("command: --help has the summary, the usage line, every flag with its doc and default, and the example", () => {
  assert.equal(demo.usage, "deno task demo --dataset dsprites|teapots [--out DIR] [options]");
  const help = demo.help();
  assert.ok(help.startsWith("deno task demo: a command for the tests\n"), help);
  assert.ok(help.includes(`\nusage: ${demo.usage}\n`), help);
  for (const name of Object.keys(demo.flags)) assert.match(help, new RegExp(`^  --${name}\\b`, "m"), name);
  assert.match(help, /--n N +how many \(default: 8\)/);
  assert.match(help, /--dataset dsprites\|teapots +the dataset \(required\)/);
  assert.match(help, /--size 32\|64 +image side\n/);
  assert.match(help, /--grid GRID +grid items \(repeatable\)/, "an empty default is not shown");
  assert.match(help, /-h, --help/);
  assert.ok(help.endsWith("example:\n  deno task demo --dataset dsprites --n 4"), help);
  assert.ok(demo.wantsHelp(["--dataset", "x", "-h"]) && demo.wantsHelp(["--help"]) && !demo.wantsHelp(["--hel"]));
});

Deno.test("command: a default that fails its schema, or a bad flag name, is caught when the command is declared", () => {
  const spec = { name: "x", summary: "s", examples: ["deno task x"] };
  assert.throws(
    () => defineCommand({ ...spec, flags: { n: { type: "number", schema: z.number().max(3), default: 5, doc: "n" } } }),
    /default of --n fails its schema/,
  );
  assert.throws(() => defineCommand({ ...spec, flags: { Help: { type: "boolean", doc: "h" } } }), /bad flag "Help"/);
  assert.throws(() => defineCommand({ ...spec, examples: [], flags: {} }), /at least one example/);
});

Deno.test("command: passthrough keeps unknown arguments in order for the wrapped tool", () => {
  const wrapper = defineCommand({
    name: "wrap",
    summary: "s",
    flags: { filter: { type: "string", doc: "f" } },
    passthrough: { placeholder: "ARGS", doc: "to the tool" },
    examples: ["deno task wrap"],
  });
  const r = wrapper.parseAll(["--fail-fast", "--filter", "dsprites", "tests/a.test.ts", "--coverage=x"]);
  assert.equal(r.flags.filter, "dsprites");
  assert.deepEqual(r.rest, ["--fail-fast", "tests/a.test.ts", "--coverage=x"]);
  assert.equal(wrapper.usage, "deno task wrap [options] [ARGS]");
});

Deno.test("suggest: the closest name within a small edit distance, nothing for a far one", () => {
  const names = ["dataset", "iterations", "seed", "seeds", "no-grids"];
  assert.equal(suggest("datset", names, "--"), " (did you mean --dataset?)");
  assert.equal(suggest("itertions", names, "--"), " (did you mean --iterations?)");
  assert.equal(suggest("daatset", names, "--"), " (did you mean --dataset?)", "a transposition is one edit");
  assert.equal(suggest("nogrids", names, "--"), " (did you mean --no-grids?)");
  assert.equal(suggest("colour", names, "--"), "");
  assert.equal(suggest("x", names, "--"), "");
});

function captureStderr(fn: () => number): { code: number; text: string } {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    lines.push(args.map((a) => (a instanceof Error ? `${a.stack}` : String(a))).join(" "));
  };
  try {
    return { code: fn(), text: lines.join("\n") };
  } finally {
    console.error = original;
  }
}

Deno.test("reportError: usage error 2 without stack, a user-facing Error 1 on one line, a bug 1 with its stack", () => {
  const usage = captureStderr(() => reportError("demo", new UsageError("--n 0: expected a number > 0")));
  assert.equal(usage.code, 2);
  assert.deepEqual(usage.text.split("\n"), [
    "demo: --n 0: expected a number > 0",
    "run `deno task demo --help` for the flags and an example",
  ]);
  const plain = captureStderr(() => reportError("demo", new Error("runs/x already holds a checkpoint")));
  assert.equal(plain.code, 1);
  assert.equal(plain.text, "demo: runs/x already holds a checkpoint");
  const bug = captureStderr(() => reportError("demo", new TypeError("cannot read properties of undefined")));
  assert.equal(bug.code, 1);
  assert.match(bug.text, /^demo: internal error: TypeError: cannot read properties of undefined\n\s+at /);
  const thrown = captureStderr(() => reportError("demo", "a string"));
  assert.equal(thrown.code, 1);
  assert.match(thrown.text, /internal error: a string/);
});
