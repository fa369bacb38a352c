/**
 * What `new Worker()` needs to run a TypeScript module in a thread. Under tsx (`node --import
 * tsx`, the npm scripts) a worker thread does not inherit the TypeScript loader on Node 20, so a
 * one-line ES module bootstrap registers tsx's loader inside the thread (`tsImport`) and imports
 * the `.ts` entry through it. Compiled (`.js`) builds load the entry directly.
 */
export function threadEntry(entry: URL): { url: URL; execArgv?: string[] } {
  if (!entry.pathname.endsWith('.ts')) return { url: entry };
  const api = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import { tsImport } from ${JSON.stringify(api)};\nawait tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(import.meta.url)});`;
  // No inherited loader flags: the bootstrap brings its own, and a test runner's would only slow it down.
  return { url: new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), execArgv: [] };
}
