import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type App, type BuildAppOptions } from '../../server/app.js';
import { startInProcessWorkers } from '../../workers/in-process.js';
import { loadConfig, type Config } from '../../server/config/config.js';
import { clearRedisPrefix } from '../../server/platform/redis.js';
import { createTestDatabase, testRedisPrefix, type TestDatabase } from './database.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestEnv {
  config: Config;
  db: TestDatabase;
  /** Environment variables that reproduce `config` in a child process. */
  env: Record<string, string>;
  /** Registers cleanup that must run before the database and Redis keys go (LIFO). */
  defer(fn: () => unknown): void;
}

/**
 * A migrated database (a copy of the migrated template), a Redis prefix and a storage folder of
 * this test file's own, removed at teardown. `env` overrides configuration (e.g. `{ WORKERS: 'on' }`).
 */
export async function createTestEnv(t: Teardown, label: string, env: Record<string, string> = {}): Promise<TestEnv> {
  const db = await createTestDatabase(label, { migrated: true });
  const storageDir = await mkdtemp(join(tmpdir(), `classroom-${label}-`));
  const fullEnv: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: testRedisPrefix(label),
    STORAGE_DIR: storageDir,
    WORKERS: 'off',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DB_POOL_MAX: '5',
    SHUTDOWN_TIMEOUT_MS: '5000',
    // SIGTERM closes at once; tests of the drain set their own.
    SHUTDOWN_DRAIN_MS: '0',
    // Every inject comes from 127.0.0.1: tests that exercise the per-IP limit set their own.
    RATE_LIMIT_MAX: '100000',
    ...env,
  };
  const config = loadConfig(fullEnv);
  const deferred: Array<() => unknown> = [];
  t.teardown(async () => {
    for (const fn of deferred.reverse()) await fn();
    await clearRedisPrefix(config, config.redisPrefix);
    await db.drop();
    await rm(storageDir, { recursive: true, force: true });
  });
  return { config, db, env: fullEnv, defer: (fn) => void deferred.push(fn) };
}

export interface TestApp extends TestEnv {
  app: App;
}

/** A built app over a fresh test environment; closed at teardown before the environment goes. */
export async function buildTestApp(t: Teardown, label: string, env: Record<string, string> = {}, options: BuildAppOptions = {}): Promise<TestApp> {
  const testEnv = await createTestEnv(t, label, env);
  const app = await buildApp(testEnv.config, options);
  testEnv.defer(() => app.close());
  // `WORKERS: 'on'` runs the workers on the app's own event loop, with its publisher, so that a
  // test sees jobs and their events in one process (`npm start` runs them in a thread).
  if (testEnv.config.workers) {
    const workers = await startInProcessWorkers(app);
    testEnv.defer(() => workers.close());
  }
  return { ...testEnv, app };
}
