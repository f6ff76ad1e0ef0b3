/**
 * Kernels registered on the wasm backend to make it fit for training. Filled in by the kernel work (issue 2, part 4).
 */
let registered = false;

export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
}
