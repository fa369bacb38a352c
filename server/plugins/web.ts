import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import fp from 'fastify-plugin';
import fastifyStatic from '@fastify/static';

/** Where `npm run build:web` (scripts/build-web.ts) writes the app; gitignored, rebuilt by `npm start` and `npm test`. */
export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/**
 * The web app at `/app/` (static files; the app routes with the URL hash, so every screen is
 * `/app/` itself) and `GET /` sending browsers there. Asset names carry a content hash and are
 * cached for a year; `index.html` is revalidated so a rebuilt app is picked up at once.
 */
export default fp(
  async (app) => {
    app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/app/'));
    if (!existsSync(`${WEB_DIST}index.html`)) {
      app.log.warn({ dir: WEB_DIST }, 'the web app is not built: run `npm run build:web` (npm start does it)');
      app.get('/app/*', { schema: { hide: true } }, async (_request, reply) =>
        reply.status(503).type('text/plain').send('The web app is not built: run `npm run build:web`, then reload.'),
      );
      return;
    }
    // The page itself: read per request (a few hundred bytes) so a rebuild under `npm run watch:web` shows at once.
    app.get('/app/', { schema: { hide: true } }, async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(await readFile(`${WEB_DIST}index.html`)),
    );
    await app.register(fastifyStatic, {
      root: WEB_DIST,
      prefix: '/app/',
      index: false,
      wildcard: true,
      // app-*.js.br / .gz written by the build, for browsers that accept them.
      preCompressed: true,
      // Bull Board registers its own @fastify/static below; one reply.sendFile decorator only.
      decorateReply: false,
      cacheControl: false,
      setHeaders(reply, path) {
        reply.header('cache-control', path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
      },
    });
  },
  { name: 'web', dependencies: ['security'] },
);
