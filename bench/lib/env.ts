import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../server/config/config.js';
import { dropDatabase, migrateUp } from '../../server/platform/db/database.js';
import { clearRedisPrefix } from '../../server/platform/redis.js';

const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface BenchEnv {
  config: Config;
  /** Environment that reproduces `config` in a server child process. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** A `bench_*` database (migrated), a `bench-*` Redis prefix and a storage folder, all removed by `cleanup`. */
export async function createBenchEnv(): Promise<BenchEnv> {
  const id = randomBytes(4).toString('hex');
  const name = `bench_${id}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const storageDir = await mkdtemp(join(tmpdir(), 'classroom-bench-'));
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: url.toString(),
    REDIS_URL: process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `bench-${id}`,
    STORAGE_DIR: storageDir,
    WORKERS: 'off',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
    JWT_SECRET: randomBytes(32).toString('hex'),
    DB_POOL_MAX: '10',
    SHUTDOWN_TIMEOUT_MS: '3000',
    // Every load client comes from 127.0.0.1; the per-IP limit would cap the benchmark, not measure it.
    RATE_LIMIT_MAX: '1000000',
    SOCKET_EVENTS_PER_SECOND: '10000',
    SOCKET_EVENTS_BURST: '10000',
    // Thousands of sockets connect from 127.0.0.1 within seconds.
    SOCKET_HANDSHAKE_RATE_LIMIT_MAX: '1000000',
  };
  // Validated before anything is created, so a bad value leaves nothing behind.
  const config = loadConfig(env);
  await migrateUp(config); // creates the database first
  return {
    config,
    env,
    async cleanup() {
      await dropDatabase(config.databaseUrl);
      await clearRedisPrefix(config, config.redisPrefix);
      await rm(storageDir, { recursive: true, force: true });
    },
  };
}
