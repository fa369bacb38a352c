import { existsSync } from 'node:fs';
import { buildWeb } from '../../scripts/build-web.js';
import { WEB_DIST } from '../../server/plugins/web.js';

/**
 * `npm test` builds the app before tap; a file run alone builds it when it is missing (while
 * working on the app, `npm run watch:web` keeps it current).
 */
export async function ensureWebBuilt(): Promise<void> {
  if (!existsSync(`${WEB_DIST}index.html`)) await buildWeb();
}
