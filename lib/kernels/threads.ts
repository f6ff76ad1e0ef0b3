/**
 * Threads for the wasm backend under Deno. Placeholder: single thread until the worker shim lands.
 */
let threads = 1;

export async function enableWasmThreads(requested?: number): Promise<void> {
  threads = 1;
  await Promise.resolve(requested);
}

export function wasmThreadCount(): number {
  return threads;
}
