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

/** Runs initBackend in a fresh process (backends are process-global) with deno `flags`; returns info and stderr. */
async function initIn(flags: string[], env: Record<string, string>) {
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    script,
    `import { initBackend, shutdownBackend } from "${new URL("../lib/backend.ts", import.meta.url).href}";
    import { nativeKernelsEnabled } from "${new URL("../lib/kernels/native/mod.ts", import.meta.url).href}";
    const info = await initBackend();
    console.log(JSON.stringify({ ...info, nativeKernels: nativeKernelsEnabled() }));
    shutdownBackend();`,
  );
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--config", new URL("../deno.json", import.meta.url).pathname, ...flags, script],
      stdout: "piped",
      stderr: "piped",
      env,
      signal: AbortSignal.timeout(60_000), // a process kept alive by wasm worker threads would hang here
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    return { info: JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!), stderr };
  } finally {
    await Deno.remove(script);
  }
}

Deno.test("backend: auto picks the native engine where onnxruntime loads, says so, and the process exits", async () => {
  const { loadOrt } = await import("../lib/kernels/native/mod.ts");
  const { info, stderr } = await initIn(["-A"], { IGCR_BACKEND: "auto", IGCR_THREADS: "1" });
  if (loadOrt().ok) {
    assert.equal(info.name, "native");
    assert.equal(info.nativeKernels, true);
    assert.equal(info.threads, 1, "IGCR_THREADS sets onnxruntime's threads");
    assert.match(stderr, /backend: native \(onnxruntime [\d.]+ convolutions, 1 thread; wasm SIMD for the rest\)/);
  } else {
    assert.equal(info.name, "wasm");
    assert.match(stderr, /native engine unavailable: /);
  }
});

Deno.test("backend: --backend wasm is the pure wasm engine; without FFI permission auto falls back to it", async () => {
  const pure = await initIn(["-A"], { IGCR_BACKEND: "wasm" });
  assert.equal(pure.info.name, "wasm");
  assert.equal(pure.info.nativeKernels, false);
  assert.ok(pure.info.threads >= 1);
  const noFfi = await initIn(["--allow-read", "--allow-env", "--allow-sys"], { IGCR_BACKEND: "auto" });
  assert.equal(noFfi.info.name, "wasm");
  assert.match(noFfi.stderr, /backend: wasm .*\(native engine unavailable: .*--allow-ffi/);
});

Deno.test("backend: switching from native to another backend turns the native kernels and inference off", async () => {
  const { loadOrt } = await import("../lib/kernels/native/mod.ts");
  if (!loadOrt().ok) {
    console.warn("skipped: onnxruntime's native library does not load on this platform");
    return;
  }
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  const url = (p: string) => new URL(p, import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { initBackend, shutdownBackend } from "${url("../lib/backend.ts")}";
    import { nativeKernelsEnabled } from "${url("../lib/kernels/native/mod.ts")}";
    import { isNativeEngineEnabled } from "${url("../lib/onnx/runtime.ts")}";
    const state = () => [nativeKernelsEnabled(), isNativeEngineEnabled()];
    await initBackend({ backend: "native", quiet: true });
    const before = state();
    await initBackend({ backend: "wasm", quiet: true });
    console.log(JSON.stringify({ before, after: state() }));
    shutdownBackend();`,
  );
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--config", new URL("../deno.json", import.meta.url).pathname, "-A", script],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    assert.deepEqual(r, { before: [true, true], after: [false, false] });
  } finally {
    await Deno.remove(script);
  }
});
