/**
 * Headless reproduction of the paper's experiments. Placeholder until the experiment definitions land: it says so.
 */
import { initBackend, shutdownBackend } from "./lib/backend.ts";

const info = await initBackend();
console.log(`reproduce: backend ${info.description}`);
console.log("reproduce: no experiment is implemented yet; nothing was run, no numbers were produced.");
shutdownBackend();
