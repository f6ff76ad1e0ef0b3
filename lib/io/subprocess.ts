/**
 * Child processes of the toolkit (pool members, runs that `reproduce` trains in parallel): one `deno` subprocess whose
 * stdout and stderr go to a log file, so a long job's progress can be followed with `tail -f` and a failure read later.
 */

/** Runs `deno <args>`, appending its stdout and stderr to `logPath`; resolves to the exit code. */
export async function runDenoLogged(args: string[], logPath: string, env: Record<string, string>): Promise<number> {
  const log = await Deno.open(logPath, { create: true, append: true });
  try {
    await log.write(new TextEncoder().encode(`\n$ deno ${args.join(" ")}\n`));
    const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped", env }).spawn();
    const pump = async (s: ReadableStream<Uint8Array>) => {
      for await (const chunk of s) await log.write(chunk);
    };
    await Promise.all([pump(child.stdout), pump(child.stderr)]);
    return (await child.status).code;
  } finally {
    log.close();
  }
}

/** The last `n` lines of a text file ("" when it cannot be read), to quote a failed child's own error. */
export async function tailLines(path: string, n: number): Promise<string> {
  try {
    const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
    return lines.slice(-n).join("\n");
  } catch {
    return "";
  }
}
