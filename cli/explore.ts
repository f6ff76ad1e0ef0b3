/**
 * `deno task explore [--run DIR]... [--pool DIR] [--port N] [--host H] [--export DIR]`
 *
 * The latent explorer (lib/explore/): prepares the given models (or, with neither --run nor --pool, every model
 * shipped in data/pretrained/) and serves a page on 127.0.0.1 (a free port unless --port) whose sliders drive the
 * generator in the browser. With --export DIR it writes the same page and models as static files instead.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { backendFromArgs, initBackend } from "../lib/backend.ts";
import { buildSite } from "../lib/explore/site.ts";
import { isLoopback, serveSite } from "../lib/explore/server.ts";
import { exportSite } from "../lib/explore/static_export.ts";

const USAGE = "usage: deno task explore [--run DIR]... [--pool DIR] [--port N] [--host H] [--export DIR]";

const Flags = z.object({
  run: z.array(z.string().min(1)).default([]),
  pool: z.string().min(1).optional(),
  port: z.coerce.number().int().min(0).max(65535).default(0),
  host: z.string().min(1).default("127.0.0.1"),
  export: z.string().min(1).optional(),
  samples: z.coerce.number().int().min(0).max(2000).default(200),
}).strict();
export type ExploreFlags = z.infer<typeof Flags>;

export function parseFlags(argv: string[]): ExploreFlags {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        run: { type: "string", multiple: true },
        pool: { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        export: { type: "string" },
        samples: { type: "string" },
        backend: { type: "string" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new Error(`explore: ${(e as Error).message}\n${USAGE}`);
  }
  const { backend: _b, ...rest } = values;
  const r = Flags.safeParse(rest);
  if (!r.success) {
    throw new Error(
      `explore: ${r.error.issues.map((i) => `--${i.path.join(".") || "?"}: ${i.message}`).join("; ")}\n${USAGE}`,
    );
  }
  return r.data;
}

async function main(): Promise<number> {
  const flags = parseFlags(Deno.args);
  // Take the port first, so that a port in use is reported before the models are prepared.
  const server = flags.export ? null : serveSite(null, { host: flags.host, port: flags.port });
  await initBackend({ backend: backendFromArgs(), quiet: true });
  const site = await buildSite({
    runs: flags.run,
    pool: flags.pool,
    samples: flags.samples,
    log: (l) => console.error(l),
  });
  for (const e of site.errors) console.error(`explore: error: ${e}`);
  if (!server) {
    if (site.errors.length) {
      console.error(`explore: nothing exported to ${flags.export}: fix or leave out the model(s) above`);
      return 1;
    }
    const files = await exportSite(site, flags.export!);
    console.log(
      `explore: wrote ${files.length} files to ${flags.export}; any static web server can host it, e.g. ` +
        `\`python3 -m http.server -d ${flags.export}\``,
    );
    return 0;
  }
  server.setSite(site);
  if (!isLoopback(flags.host)) {
    console.error(`explore: listening on ${flags.host}: anyone who can reach this machine can open these models`);
  }
  const ok = site.json.models.filter((m) => !("error" in m)).length;
  console.log(`explore: ${ok} model(s) at ${server.url}  (Ctrl-C to stop)`);
  await server.finished;
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(
      (e as Error).message.startsWith("explore:") ? (e as Error).message : `explore: ${(e as Error).message}`,
    );
    Deno.exit(1);
  }
}
