import assert from "node:assert/strict";
import { backendFromArgs } from "../lib/backend.ts";

Deno.test("backend: --backend flag and IGCR_BACKEND are parsed; a typo is a clear error", () => {
  assert.equal(backendFromArgs(["--backend", "cpu"]), "cpu");
  assert.equal(backendFromArgs(["--backend=wasm"]), "wasm");
  const prev = Deno.env.get("IGCR_BACKEND");
  try {
    Deno.env.set("IGCR_BACKEND", "webgpu");
    assert.equal(backendFromArgs([]), "webgpu");
    Deno.env.delete("IGCR_BACKEND");
    assert.equal(backendFromArgs([]), "auto");
  } finally {
    if (prev === undefined) Deno.env.delete("IGCR_BACKEND");
    else Deno.env.set("IGCR_BACKEND", prev);
  }
  assert.throws(() => backendFromArgs(["--backend", "wasmm"]), /unknown backend "wasmm".*wasm/);
});

Deno.test("backend: asking for an unavailable backend names what is missing and how to install it", async () => {
  // Run in a subprocess: backend activation is process-global.
  const script = `
    import { initBackend } from "${new URL("../lib/backend.ts", import.meta.url).href}";
    try { await initBackend({ backend: "tensorflow-gpu", quiet: true }); console.log("UNEXPECTED"); }
    catch (e) { console.log(String(e.message)); }`;
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", script], stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  assert.match(text, /tensorflow-gpu" is not available: install it with `deno add npm:@tensorflow\/tfjs-node-gpu`/);
});

Deno.test("backend: auto picks wasm on a machine without tfjs-node or a real GPU, and the process exits", async () => {
  const script = `
    import { initBackend, shutdownBackend } from "${new URL("../lib/backend.ts", import.meta.url).href}";
    const info = await initBackend({ quiet: true });
    console.log(JSON.stringify(info));
    shutdownBackend();`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "piped",
    env: { IGCR_BACKEND: "auto" },
    signal: AbortSignal.timeout(60_000), // a process kept alive by wasm worker threads would hang here
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  assert.equal(info.name, "wasm");
  assert.ok(info.threads >= 1);
});
