import fp from 'fastify-plugin';
import { LocalStorage } from '../platform/storage/local-storage.js';
import type { Storage } from '../platform/storage/storage.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Uploaded bytes: the local provider under `config.storageDir`. */
    storage: Storage;
  }
}

/** Spools older than this are leftovers of a crash, not uploads in progress. */
const STALE_TEMP_MS = 60 * 60 * 1000;

export default fp(
  async (app) => {
    const storage = await LocalStorage.open(app.config.storageDir);
    const removed = await storage.sweepTemp(STALE_TEMP_MS);
    if (removed > 0) app.log.info({ removed }, 'removed stale upload spools');
    app.decorate('storage', storage);
  },
  { name: 'storage', dependencies: ['config'] },
);
