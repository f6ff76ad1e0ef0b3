/**
 * `deno task explore [--run DIR] [--pool DIR] [--port N] [--host HOST] [--export DIR] [options]`
 *
 * The latent explorer (lib/explore/): prepares the given models (or, with neither --run nor --pool, every model
 * shipped in data/pretrained/) and serves a page on 127.0.0.1 (a free port unless --port) whose sliders drive the
 * generator in the browser. With --export DIR it writes the same page and models as static files instead.
 */
import { z } from "zod";
import { defineCommand, requirePath, UsageError } from "../lib/cli/command.ts";
import { backendFlag } from "../lib/config/backend.ts";

export const command = defineCommand({
  name: "explore",
  summary: "sliders that drive a model in the browser, on 127.0.0.1; `--export DIR` writes the page as static files",
  flags: {
    run: {
      type: "list",
      split: false,
      schema: z.array(z.string().min(1)),
      default: [],
      placeholder: "DIR",
      inUsage: true,
      doc: "a run folder to show, with its before-CR snapshot (none: every shipped model)",
    },
    pool: {
      type: "string",
      schema: z.string().min(1),
      placeholder: "DIR",
      inUsage: true,
      doc: "a pool folder to show",
    },
    port: {
      type: "number",
      schema: z.number().int().min(0).max(65535),
      default: 0,
      inUsage: true,
      doc: "the port to listen on; 0 picks a free one",
    },
    host: {
      type: "string",
      schema: z.string().min(1),
      default: "127.0.0.1",
      placeholder: "HOST",
      inUsage: true,
      doc: "the address to listen on; anything but loopback lets other machines open the models",
    },
    export: {
      type: "string",
      schema: z.string().min(1),
      placeholder: "DIR",
      inUsage: true,
      doc: "write the page and the models to DIR as static files instead of serving them",
    },
    samples: {
      type: "number",
      schema: z.number().int().min(0).max(2000),
      default: 200,
      doc: "real dataset images per model for the encoder's view",
    },
    backend: { ...backendFlag, doc: "the TensorFlow.js backend that prepares the models (the page picks its own)" },
  },
  examples: [
    "deno task explore",
    "deno task explore --run data/pretrained/dsprites-infogan-cr-seed1 --port 8000",
    "deno task explore --pool runs/pool-dsprites --export site",
  ],
});

if (import.meta.main) {
  await command.run(async (flags) => {
    for (const r of flags.run) await requirePath("run", r, "folder");
    if (flags.pool) await requirePath("pool", flags.pool, "folder");
    const { initBackend } = await import("../lib/backend.ts");
    const { buildSite } = await import("../lib/explore/site.ts");
    const { AddressInUseError, isLoopback, serveSite } = await import("../lib/explore/server.ts");
    const { ExportTargetError, exportSite } = await import("../lib/explore/static_export.ts");
    // Take the port first, so that a port in use is reported before the models are prepared.
    let server: ReturnType<typeof serveSite> | null = null;
    if (!flags.export) {
      try {
        server = serveSite(null, { host: flags.host, port: flags.port });
      } catch (e) {
        if (e instanceof AddressInUseError) throw new UsageError(e.message);
        throw e;
      }
    }
    await initBackend({ backend: flags.backend, quiet: true });
    const site = await buildSite({
      runs: flags.run,
      pool: flags.pool,
      samples: flags.samples,
      publish: flags.export !== undefined,
      log: (l) => console.error(`explore: ${l}`),
    });
    for (const e of site.errors) console.error(`explore: error: ${e}`);
    if (!server) {
      if (site.errors.length) {
        console.error(`explore: nothing exported to ${flags.export}: fix or leave out the model(s) above`);
        return 1;
      }
      const files = await exportSite(site, flags.export!).catch((e) => {
        throw e instanceof ExportTargetError ? new UsageError(e.message) : e;
      });
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
  });
}
