/**
 * The command-line layer every `deno task` shares: a command declares its flags once (type, zod schema, default, a
 * one-line doc) and gets from that one declaration the parser, `--help` / `-h`, and errors that are one line naming the
 * flag, what was given and what is accepted, then a pointer to `--help`.
 *
 * ```ts
 * const command = defineCommand({
 *   name: "grid",
 *   summary: "writes a PNG grid (and factor traversals) of a dataset",
 *   flags: {
 *     dataset: { type: "string", schema: z.enum(["dsprites", "teapots"]), required: true, doc: "the dataset to draw" },
 *     n: { type: "number", schema: z.number().int().positive(), default: 64, doc: "how many images" },
 *   },
 *   examples: ["deno task grid --dataset dsprites --out grid.png"],
 * });
 * if (import.meta.main) await command.run(async (flags) => { const { draw } = await import("../lib/heavy.ts"); ... });
 * ```
 *
 * `run` parses `Deno.args` before the command body runs, so a command that imports its heavy modules (tfjs, sharp)
 * inside the body answers `--help` and usage errors without loading them.
 *
 * Exit codes: 0 done (and `--help`), 2 a usage error (`UsageError`: the command line must change), 1 any other failure.
 * A plain `Error` is a message written for the user and is printed as one line; engine errors that mean a bug
 * (TypeError, RangeError, ReferenceError, SyntaxError) and anything thrown that is not an `Error` keep their stack
 * trace, as does every error when `IGCR_DEBUG=1`.
 */
import { z } from "zod";

/** A mistake on the command line: printed as one line with a pointer to `--help`, exit code 2, no stack trace. */
export class UsageError extends Error {
  override name = "UsageError";
}

export type FlagType = "string" | "number" | "boolean" | "list";

/** The value a flag's schema receives: the raw text, a number parsed from it, a switch, or the list's items. */
interface RawValue {
  string: string;
  number: number;
  boolean: boolean;
  list: string[];
}

interface FlagDefOf<T extends FlagType> {
  type: T;
  /** One line for `--help`: what the flag does. */
  doc: string;
  /**
   * Validates (and may transform) the value: a `z.enum` lists the accepted values in `--help` and in errors. Unset: any
   * string, any number, a switch, any list of strings.
   */
  schema?: z.ZodType<unknown, RawValue[T]>;
  /** The value when the flag is absent; shown in `--help`. Switches default to false. */
  default?: T extends "list" ? readonly string[] : RawValue[T];
  /** A default decided at run time, in words for `--help` ("the run's own profile"); the value is then undefined. */
  defaultDoc?: string;
  required?: boolean;
  /** The value's name in usage and help (`DIR`, `runs/NAME`); default: the enum's values, else `N`, `VALUE`, `A,B`. */
  placeholder?: string;
  /** Shown in the usage line (required flags always are); the others are summed up as `[options]`. */
  inUsage?: boolean;
  /** Lists only: false keeps each occurrence whole (`--grid gamma=1,10 --grid beta=1,4`); default: split on commas. */
  split?: T extends "list" ? boolean : never;
}

/** One flag's declaration; `type` decides what its schema receives. */
export type FlagDef = { [T in FlagType]: FlagDefOf<T> }[FlagType];

/** A command's flags, by name without the leading `--`. */
export type FlagDefs = Record<string, FlagDef>;

type Parsed<D> = D extends { schema: infer S extends z.ZodType } ? z.output<S>
  : D extends { type: infer T extends FlagType } ? RawValue[T]
  : never;

/** The parsed value of one flag: undefined only when it is optional, has no default and is not a switch. */
export type FlagValue<D> = D extends { required: true } | { default: unknown } | { type: "boolean" } ? Parsed<D>
  : Parsed<D> | undefined;

export type Flags<F extends FlagDefs> = { -readonly [K in keyof F]: FlagValue<F[K]> };

export interface CommandSpec<F extends FlagDefs> {
  /** The task name: `deno task <name>`. */
  name: string;
  /** One line: what the command does (README's task table says the same). */
  summary: string;
  flags: F;
  /** Whole command lines, at least one; `--help` prints them. */
  examples: string[];
  /** Cross-flag rules, run after every flag parsed; throw a `UsageError`. `given`: the flags on the command line. */
  check?: (flags: Flags<F>, given: ReadonlySet<string>) => void;
  /**
   * Arguments this command does not know are kept in order in `rest` instead of being errors (a wrapper around
   * another tool); `placeholder` names them in the usage line, `doc` says where they go.
   */
  passthrough?: { placeholder: string; doc: string };
}

export interface Command<F extends FlagDefs> {
  readonly name: string;
  readonly summary: string;
  readonly flags: F;
  /** Set when unknown arguments pass through to a wrapped tool instead of being errors. */
  readonly passthrough?: { placeholder: string; doc: string };
  /** The usage line without the `usage: ` prefix, e.g. `deno task grid --dataset dsprites|teapots --out FILE [options]`. */
  readonly usage: string;
  /** The whole `--help` text. */
  help(): string;
  /** True when argv asks for help (`--help` or `-h` anywhere). */
  wantsHelp(argv: string[]): boolean;
  /** Parses argv; throws a `UsageError` naming the first bad flag. */
  parse(argv: string[]): Flags<F>;
  /** Like parse, also returning the passed-through arguments and the names of the flags given. */
  parseAll(argv: string[]): { flags: Flags<F>; rest: string[]; given: Set<string> };
  /**
   * Parses `argv` (default `Deno.args`), prints help or a usage error, runs `main`, and exits with its code (0 when
   * it returns nothing). Errors thrown by `main` are reported as the module header says.
   */
  run(
    main: (flags: Flags<F>, rest: string[]) => Promise<number | void> | number | void,
    argv?: string[],
  ): Promise<never>;
}

/** Declares a command; see the module header. Throws (a bug, not a usage error) when a default fails its schema. */
export function defineCommand<const F extends FlagDefs>(spec: CommandSpec<F>): Command<F> {
  if (spec.examples.length === 0) throw new Error(`command ${spec.name}: give at least one example`);
  for (const [name, def] of Object.entries(spec.flags)) {
    if (!/^[a-z][a-z0-9-]*$/.test(name) || name === "help") throw new Error(`command ${spec.name}: bad flag "${name}"`);
    if (def.default !== undefined && def.schema && !def.schema.safeParse(def.default).success) {
      throw new Error(`command ${spec.name}: the default of --${name} fails its schema`);
    }
  }
  const usage = usageLine(spec);
  const command: Command<F> = {
    name: spec.name,
    summary: spec.summary,
    flags: spec.flags,
    passthrough: spec.passthrough,
    usage,
    help: () => helpText(spec, usage),
    wantsHelp: (argv) => argv.some((a) => a === "--help" || a === "-h"),
    parse: (argv) => parseArgv(spec, argv).flags,
    parseAll: (argv) => parseArgv(spec, argv),
    async run(main, argv = Deno.args) {
      if (command.wantsHelp(argv)) {
        console.log(command.help());
        Deno.exit(0);
      }
      let code: number;
      try {
        const { flags, rest } = parseArgv(spec, argv);
        code = (await main(flags, rest)) ?? 0;
      } catch (e) {
        code = reportError(spec.name, e);
      }
      Deno.exit(code);
    },
  };
  return command;
}

/**
 * Prints a thrown value the way `run` does and returns the exit code: a `UsageError` as one line and a pointer to
 * `--help` (2); a plain Error as one line (1); a bug (TypeError and kin, a non-Error) with its stack trace (1).
 */
export function reportError(name: string, e: unknown): number {
  const debug = Deno.env.get("IGCR_DEBUG") === "1";
  if (e instanceof UsageError) {
    console.error(`${name}: ${e.message}`);
    console.error(`run \`deno task ${name} --help\` for the flags and an example`);
    if (debug) console.error(e.stack);
    return 2;
  }
  const bug = !(e instanceof Error) || e instanceof TypeError || e instanceof RangeError ||
    e instanceof ReferenceError || e instanceof SyntaxError;
  if (bug || debug) {
    console.error(`${name}: internal error:`, e);
  } else {
    console.error(`${name}: ${(e as Error).message}`);
  }
  return 1;
}

// ---------------------------------------------------------------------------------------------------------------------
// Parsing

function parseArgv<F extends FlagDefs>(
  spec: CommandSpec<F>,
  argv: string[],
): { flags: Flags<F>; rest: string[]; given: Set<string> } {
  const raw = new Map<string, string | boolean | string[]>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    const def = m && Object.hasOwn(spec.flags, m[1]) ? spec.flags[m[1]] : undefined;
    if (!m || !def) {
      if (spec.passthrough) {
        rest.push(arg);
        continue;
      }
      if (m) throw new UsageError(`unknown flag --${m[1]}${suggest(m[1], Object.keys(spec.flags), "--")}`);
      if (arg.startsWith("-") && arg !== "-") {
        throw new UsageError(`unknown flag ${arg}${suggest(arg.replace(/^-+/, ""), Object.keys(spec.flags), "--")}`);
      }
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)} (every value follows its --flag)`);
    }
    const name = m[1];
    if (def.type === "boolean") {
      if (m[2] !== undefined) throw new UsageError(`--${name} is a switch and takes no value (got --${arg.slice(2)})`);
      raw.set(name, true);
      continue;
    }
    let value = m[2];
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next.length > 2)) {
        throw new UsageError(`--${name} needs a value (${placeholderOf(name, def)})`);
      }
      value = next;
      i++;
    }
    if (def.type === "list") {
      const items = def.split === false ? [value] : value.split(",").map((s) => s.trim()).filter((s) => s !== "");
      raw.set(name, [...((raw.get(name) as string[] | undefined) ?? []), ...items]);
    } else {
      raw.set(name, value); // the last occurrence wins
    }
  }

  // What was typed is checked first, in the order typed; then what is missing; then the cross-flag rules.
  const flags: Record<string, unknown> = {};
  for (const [name, given] of raw) {
    const def = spec.flags[name];
    let typed: unknown = given;
    if (def.type === "number") {
      typed = Number(given);
      if ((given as string).trim() === "" || !Number.isFinite(typed)) {
        throw new UsageError(`--${name} ${JSON.stringify(given)}: expected a number`);
      }
    }
    flags[name] = validate(name, def, typed);
  }
  for (const [name, def] of Object.entries(spec.flags)) {
    if (raw.has(name)) continue;
    if (def.required) throw new UsageError(`${flagSyntax(name, def)} is required (${def.doc})`);
    const fallback = Array.isArray(def.default)
      ? [...def.default]
      : def.default ?? (def.type === "boolean" ? false : undefined);
    flags[name] = fallback === undefined ? undefined : validate(name, def, fallback);
  }
  const result = flags as Flags<F>;
  const givenNames = new Set(raw.keys());
  spec.check?.(result, givenNames);
  return { flags: result, rest, given: givenNames };
}

function validate(name: string, def: FlagDef, value: unknown): unknown {
  if (!def.schema) return value;
  const r = def.schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  // A list names the item that failed; a structured value (JSON) names the key.
  const index = def.type === "list" && typeof issue.path[0] === "number" ? issue.path[0] : undefined;
  const item = index === undefined ? value : (value as string[])[index];
  const key = index === undefined && issue.path.length ? `key ${issue.path.map(String).join(".")}: ` : "";
  throw new UsageError(`--${name} ${shown(item)}: ${key}${describeIssue(issue, item)}`);
}

/** What a zod issue says is accepted, in plain words. */
function describeIssue(issue: z.core.$ZodIssue, given: unknown): string {
  switch (issue.code) {
    case "invalid_value": {
      const values = issue.values.map(String);
      return `expected one of ${values.join(", ")}${typeof given === "string" ? suggest(given, values, "") : ""}`;
    }
    case "too_small":
    case "too_big": {
      const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
      const op = issue.code === "too_small" ? (issue.inclusive ? ">=" : ">") : (issue.inclusive ? "<=" : "<");
      if (issue.origin === "number" || issue.origin === "int") return `expected a number ${op} ${bound}`;
      if (issue.origin === "array") return `expected ${op} ${bound} item(s)`;
      if (issue.origin === "string" && issue.code === "too_small" && Number(bound) <= 1) return "expected a value";
      return `expected a length ${op} ${bound}`;
    }
    case "invalid_type":
      if (issue.expected === "int") return "expected a whole number";
      return `expected ${issue.expected}`;
    default:
      return issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
  }
}

/** A given value as the user typed it, quoted (single quotes when it holds double quotes, as JSON does). */
function shown(v: unknown): string {
  if (typeof v === "number") return String(v);
  const text = Array.isArray(v) ? v.join(",") : String(v);
  return text.includes('"') && !text.includes("'") ? `'${text}'` : JSON.stringify(text);
}

/** ` (did you mean --dataset?)` for the closest known name within a small edit distance, else "". */
export function suggest(given: string, known: string[], prefix: string): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(given.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  const limit = Math.min(3, Math.floor((given.length + 1) / 3));
  return best !== undefined && bestD <= limit ? ` (did you mean ${prefix}${best}?)` : "";
}

/** Levenshtein distance, with a transposition counted as one edit. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

// ---------------------------------------------------------------------------------------------------------------------
// Usage and help

/** The values an enum or literal schema accepts (unwrapping lists), or undefined. */
export function choicesOf(def: FlagDef): string[] | undefined {
  let s: unknown = def.schema;
  // Look through transforms, optional/default wrappers and a list to the values accepted.
  for (;;) {
    if (s instanceof z.ZodPipe) s = s.in;
    else if (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap();
    else if (s instanceof z.ZodArray) s = s.element;
    else break;
  }
  if (s instanceof z.ZodEnum) return s.options.map(String);
  if (s instanceof z.ZodLiteral) return [...s.values].map(String);
  return undefined;
}

function placeholderOf(name: string, def: FlagDef): string {
  if (def.placeholder) return def.placeholder;
  const choices = choicesOf(def);
  if (choices) return choices.join(def.type === "list" ? "," : "|");
  if (def.type === "number") return "N";
  if (def.type === "list" && def.split !== false) return "A,B";
  return name.toUpperCase().replace(/-/g, "_");
}

function flagSyntax(name: string, def: FlagDef): string {
  return def.type === "boolean" ? `--${name}` : `--${name} ${placeholderOf(name, def)}`;
}

function usageLine(spec: Omit<CommandSpec<FlagDefs>, "check">): string {
  const parts = [`deno task ${spec.name}`];
  let hidden = false;
  for (const [name, def] of Object.entries(spec.flags)) {
    if (def.required) parts.push(flagSyntax(name, def));
    else if (def.inUsage) parts.push(`[${flagSyntax(name, def)}]`);
    else hidden = true;
  }
  if (hidden) parts.push("[options]");
  if (spec.passthrough) parts.push(`[${spec.passthrough.placeholder}]`);
  return parts.join(" ");
}

function defaultText(def: FlagDef): string | undefined {
  if (def.defaultDoc) return def.defaultDoc;
  if (def.default === undefined || def.type === "boolean") return undefined;
  if (Array.isArray(def.default) && def.default.length === 0) return undefined;
  return Array.isArray(def.default) ? def.default.join(",") : String(def.default);
}

/** `--help` wraps flag docs to this many columns. */
const HELP_WIDTH = 120;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}

function helpText(spec: Omit<CommandSpec<FlagDefs>, "check">, usage: string): string {
  const rows: [string, string][] = Object.entries(spec.flags).map(([name, def]) => {
    const notes: string[] = [];
    const choices = choicesOf(def);
    if (choices && def.placeholder) notes.push(`one of ${choices.join(", ")}`);
    if (def.required) notes.push("required");
    const dflt = defaultText(def);
    if (dflt !== undefined) notes.push(`default: ${dflt}`);
    if (def.type === "list") notes.push(def.split === false ? "repeatable" : "comma-separated, repeatable");
    return [flagSyntax(name, def), notes.length ? `${def.doc} (${notes.join("; ")})` : def.doc];
  });
  rows.push(["-h, --help", "prints this help"]);
  if (spec.passthrough) rows.push([spec.passthrough.placeholder, spec.passthrough.doc]);
  const width = Math.min(36, Math.max(...rows.map(([l]) => l.length)));
  const indent = " ".repeat(width + 4);
  const lines = rows.map(([l, d]) => {
    const doc = wrap(d, HELP_WIDTH - indent.length).join(`\n${indent}`);
    return l.length > width ? `  ${l}\n${indent}${doc}` : `  ${l.padEnd(width)}  ${doc}`;
  });
  return [
    `deno task ${spec.name}: ${spec.summary}`,
    "",
    `usage: ${usage}`,
    "",
    "flags:",
    ...lines,
    "",
    spec.examples.length > 1 ? "examples:" : "example:",
    ...spec.examples.map((e) => `  ${e}`),
  ].join("\n");
}

/**
 * Throws a `UsageError` unless `path` exists and is a file (or a folder): a wrong path on the command line is named
 * with its flag (`--checkpoint runs/x: no such folder`) instead of surfacing later as a failed read.
 */
export async function requirePath(flag: string, path: string, kind: "file" | "folder"): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new UsageError(`--${flag} ${path}: no such ${kind}`);
    throw e;
  }
  if (kind === "folder" && !info.isDirectory) throw new UsageError(`--${flag} ${path}: not a folder`);
  if (kind === "file" && !info.isFile) throw new UsageError(`--${flag} ${path}: not a file`);
}
