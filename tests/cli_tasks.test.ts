/**
 * Every `deno task` on the command-line layer (lib/cli/command.ts): the tasks are read from deno.json, so a task added
 * later without a declared command fails here. In process (cheap): `--help` lists the usage line and every flag,
 * README's task table has exactly that usage line and summary, the examples parse, and an unknown flag, a wrong value
 * and a missing required flag are usage errors naming the flag. As subprocesses, once per task and case: `--help`
 * exits 0, and a usage error exits 2 with one line naming the flag, a pointer to `--help`, and no stack trace.
 */
import assert from "node:assert/strict";
import { type Command, type FlagDefs, UsageError } from "../lib/cli/command.ts";

const ROOT = new URL("..", import.meta.url);
/** Tasks that are not a command of ours (they run deno's own tools). */
const NOT_COMMANDS = new Set(["check"]);

interface Task {
  name: string;
  script: string;
  command: Command<FlagDefs>;
}

async function tasks(): Promise<Task[]> {
  const deno = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as { tasks: Record<string, string> };
  const out: Task[] = [];
  for (const [name, line] of Object.entries(deno.tasks)) {
    if (NOT_COMMANDS.has(name)) continue;
    const m = /deno run -A (\S+\.ts)/.exec(line);
    assert.ok(m, `deno.json task ${name} runs a script: ${line}`);
    const mod = await import(new URL(m[1], ROOT).href) as { command?: Command<FlagDefs> };
    assert.ok(mod.command, `${m[1]} exports its command declaration (lib/cli/command.ts)`);
    assert.equal(mod.command.name, name, `${m[1]} declares the task's name`);
    out.push({ name, script: m[1], command: mod.command });
  }
  return out;
}

const TASKS = await tasks();

/** README's task table: usage line (unescaped, without backticks) → what it does. */
async function readmeTable(): Promise<Map<string, string>> {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  const rows = new Map<string, string>();
  for (const line of readme.split("\n")) {
    if (!line.startsWith("| `deno task ")) continue;
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim().replaceAll("\\|", "|"));
    rows.set(cells[0].replace(/^`|`$/g, ""), cells[1]);
  }
  return rows;
}

/** A value the flag's declaration refuses, or undefined when it accepts any text. */
function wrongValue(command: Command<FlagDefs>): [string, string] | undefined {
  for (const [name, def] of Object.entries(command.flags)) {
    if (def.type === "number") return [name, "nope"];
    if (
      (def.type === "string" || def.type === "list") &&
      def.schema?.safeParse(def.type === "list" ? ["nope"] : "nope").success === false
    ) {
      return [name, "nope"];
    }
  }
  return undefined;
}

/** Bad command lines for a task: [argv, the flag the error must name]. */
function badArgs(t: Task): [string[], string][] {
  const cases: [string[], string][] = [];
  // A wrapper passes unknown flags on (tests/run.ts hands them to deno test).
  if (!t.command.passthrough) cases.push([["--no-such-flag"], "--no-such-flag"]);
  const wrong = wrongValue(t.command);
  if (wrong) cases.push([[`--${wrong[0]}`, wrong[1]], `--${wrong[0]}`]);
  const first = Object.keys(t.command.flags)[0];
  cases.push([[`--${first}`], `--${first}`]); // a flag without its value (or a switch that is fine alone)
  return cases;
}

Deno.test("cli tasks: every task of deno.json but check declares its command", () => {
  // tasks() asserts the declaration of each task deno.json lists; these are the ones that must be there.
  const names = TASKS.map((t) => t.name);
  for (
    const name of ["bench", "evaluate", "export", "grid", "notebooks", "pool", "reproduce", "select", "test", "train"]
  ) {
    assert.ok(names.includes(name), `deno task ${name} is on the command-line layer`);
  }
});

Deno.test("cli tasks: README's task table has each task's usage line and summary, as --help prints them", async () => {
  const table = await readmeTable();
  for (const t of TASKS) {
    assert.ok(table.has(t.command.usage), `README's task table lacks the row \`${t.command.usage}\``);
    assert.equal(table.get(t.command.usage), t.command.summary, `README's summary of ${t.name}`);
    const help = t.command.help();
    assert.ok(help.includes(`\nusage: ${t.command.usage}\n`), `${t.name} --help prints its usage line`);
    assert.ok(help.includes(t.command.summary), `${t.name} --help prints its summary`);
  }
  // No stale rows: each `deno task X ...` row of a command is that command's usage line.
  for (const usage of table.keys()) {
    const name = usage.split(" ")[2];
    const t = TASKS.find((t) => t.name === name);
    if (t) assert.equal(usage, t.command.usage, `README's row for ${name}`);
  }
});

Deno.test("cli tasks: --help lists every flag; the examples parse; bad flags are usage errors naming the flag", () => {
  for (const t of TASKS) {
    const help = t.command.help();
    for (const name of Object.keys(t.command.flags)) {
      assert.match(help, new RegExp(`^  --${name}\\b`, "m"), `${t.name} --help lists --${name}`);
    }
    assert.match(help, new RegExp(`^examples?:\\n  deno task ${t.name}`, "m"), `${t.name} --help has an example`);
    const examples = help.slice(help.search(/^examples?:/m)).split("\n").slice(1).map((l) => l.trim());
    for (const example of examples) {
      const argv = example.split(/\s+/).slice(3);
      assert.doesNotThrow(() => t.command.parseAll(argv), `${t.name}: the example \`${example}\` parses`);
    }
    for (const [argv, flag] of badArgs(t)) {
      if (argv.length === 1 && t.command.flags[flag.slice(2)]?.type === "boolean") continue;
      assert.throws(
        () => t.command.parse(argv),
        (e) => e instanceof UsageError && e.message.includes(flag) && !e.message.includes("\n"),
        `${t.name} ${argv.join(" ")}`,
      );
    }
    const required = Object.entries(t.command.flags).filter(([, d]) => d.required).map(([n]) => n);
    if (required.length > 0) {
      assert.throws(
        () => t.command.parse([]),
        (e) => e instanceof UsageError && new RegExp(`^--${required[0]}\\b.* is required`).test(e.message),
        `${t.name} without --${required[0]}`,
      );
    }
  }
});

Deno.test("cli tasks: every flag that README, docs/ and the notebooks show with a task is one it declares", async () => {
  const files = ["README.md"];
  for (const dir of ["docs", "notebooks"]) {
    for (const e of Deno.readDirSync(new URL(dir, ROOT))) {
      if (e.name.endsWith(".md") || e.name.endsWith(".ipynb")) files.push(`${dir}/${e.name}`);
    }
  }
  let seen = 0;
  for (const file of files) {
    const text = await Deno.readTextFile(new URL(file, ROOT));
    // A command as written in prose or a code block: `deno task NAME` and the words after it on that line.
    for (const m of text.matchAll(/deno task ([a-z]+)([^\n`|#"]*)/g)) {
      const t = TASKS.find((t) => t.name === m[1]);
      if (!t) continue;
      for (const f of m[2].matchAll(/(?:^|[\s[])--([a-z][a-z0-9-]*)/g)) {
        seen++;
        assert.ok(
          f[1] in t.command.flags,
          `${file}: \`deno task ${m[1]}${m[2]}\` uses --${f[1]}, which it does not declare`,
        );
      }
    }
  }
  assert.ok(seen > 50, `found ${seen} flags in the docs`);
});

async function runTask(t: Task, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(t.script, ROOT).pathname, ...argv],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  // Deno's own note when tasks start side by side is not the command's output.
  const stderr = dec.decode(out.stderr).replace(/^Blocking waiting for file lock on .*\n/gm, "");
  return { code: out.code, stdout: dec.decode(out.stdout), stderr };
}

/** Runs the jobs `limit` at a time. */
async function pooled<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

Deno.test("cli tasks (subprocess): --help exits 0; a usage error exits 2 with one line and no stack trace", async () => {
  const jobs: (() => Promise<void>)[] = [];
  for (const t of TASKS) {
    jobs.push(async () => {
      const r = await runTask(t, ["--help"]);
      assert.equal(r.code, 0, `${t.name} --help: ${r.stderr}`);
      assert.ok(r.stdout.includes(`usage: ${t.command.usage}\n`), `${t.name} --help prints its usage:\n${r.stdout}`);
      assert.equal(r.stderr, "", `${t.name} --help writes nothing to stderr`);
    });
    // One usage error per task: the in-process test above covers the kinds, `run` reports them all alike.
    for (const [argv, flag] of badArgs(t).slice(0, 1)) {
      jobs.push(async () => {
        const r = await runTask(t, argv);
        const what = `${t.name} ${argv.join(" ")}`;
        assert.equal(r.code, 2, `${what}: exit code\n${r.stderr}`);
        const lines = r.stderr.trimEnd().split("\n");
        assert.equal(lines.length, 2, `${what}: one error line and the --help pointer:\n${r.stderr}`);
        assert.ok(lines[0].startsWith(`${t.name}: `) && lines[0].includes(flag), `${what}: names ${flag}: ${lines[0]}`);
        assert.equal(lines[1], `run \`deno task ${t.name} --help\` for the flags and an example`);
        assert.doesNotMatch(r.stderr, /^\s+at |Uncaught|Stack backtrace/m, `${what}: no stack trace`);
      });
    }
  }
  await pooled(jobs, 4);
});
