// Builds the web app (web/src → web/dist) with esbuild: `npm run build:web` (run by `npm start` and
// `npm test`), or `npm run build:web -- --watch` to rebuild on every save while developing.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('../web/', import.meta.url));
const dist = `${root}dist/`;

/** The esbuild options: one ESM bundle and one stylesheet, content-hashed names, no source from outside the repository. */
function options(minify: boolean): esbuild.BuildOptions {
  return {
    entryPoints: { app: `${root}src/main.tsx` },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify,
    sourcemap: minify ? false : 'inline',
    outdir: dist,
    entryNames: '[name]-[hash]',
    metafile: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: `${root}tsconfig.json`,
    logLevel: 'warning',
    plugins: [indexHtml],
  };
}

/** Writes index.html pointing at the hashed file names of the build that just ended. */
const indexHtml: esbuild.Plugin = {
  name: 'index-html',
  setup(build) {
    build.onEnd(async (result) => {
      if (result.errors.length > 0 || !result.metafile) return;
      const outputs = Object.keys(result.metafile.outputs).map((path) => path.slice(path.lastIndexOf('/') + 1));
      const js = outputs.find((name) => name.endsWith('.js'));
      const css = outputs.find((name) => name.endsWith('.css'));
      const template = await readFile(`${root}index.html`, 'utf8');
      const html = template
        .replace('<!-- styles -->', css ? `<link rel="stylesheet" href="/app/${css}">` : '')
        .replace('<!-- script -->', `<script type="module" src="/app/${js}"></script>`);
      await writeFile(`${dist}index.html`, html);
    });
  },
};

export interface WebBuild {
  files: string[];
  jsGzipBytes: number;
}

/** A production build into web/dist (replacing what was there). */
export async function buildWeb(): Promise<WebBuild> {
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  const result = await esbuild.build(options(true));
  let jsGzipBytes = 0;
  const files: string[] = [];
  for (const path of Object.keys(result.metafile!.outputs)) {
    files.push(path.slice(path.lastIndexOf('/') + 1));
    // Precompressed copies: the server sends them to browsers that accept them (@fastify/static preCompressed).
    const content = await readFile(path);
    const gzipped = gzipSync(content, { level: 9 });
    await writeFile(`${path}.gz`, gzipped);
    await writeFile(`${path}.br`, brotliCompressSync(content));
    if (path.endsWith('.js')) jsGzipBytes += gzipped.length;
  }
  return { files, jsGzipBytes };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--watch')) {
    await rm(dist, { recursive: true, force: true });
    const context = await esbuild.context(options(false));
    await context.watch();
    console.log('web: watching web/src, rebuilding into web/dist (reload the page after a save)');
  } else {
    const started = Date.now();
    const { files, jsGzipBytes } = await buildWeb();
    const hash = createHash('sha256').update(files.join()).digest('hex').slice(0, 8);
    console.log(`web: built ${files.length} files into web/dist in ${Date.now() - started} ms (JS ${(jsGzipBytes / 1024).toFixed(1)} KiB gzipped, ${hash})`);
  }
}
