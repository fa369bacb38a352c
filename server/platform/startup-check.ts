import pg from 'pg';
import { Redis } from 'ioredis';
import type { Config } from '../config/config.js';
import { redisConnectionOptions, type RedisConfig } from './redis.js';

/** sysexits' EX_UNAVAILABLE: a service the program needs is not there. */
export const EX_UNAVAILABLE = 69;

const CHECK_TIMEOUT_MS = 5000;
const HOW_TO_START = 'run `docker compose up -d` in this folder (see README), or install it';

/** Where a URL points, for people: host and port (or the socket folder), never credentials. */
function address(url: string, defaultPort: number): string {
  const parsed = new URL(url);
  const socket = parsed.searchParams.get('host');
  if (socket?.startsWith('/')) return socket;
  return `${parsed.hostname || '127.0.0.1'}:${parsed.port || defaultPort}`;
}

function reason(error: unknown): string {
  const { message, code } = error as { message?: unknown; code?: unknown };
  const text = String(message ?? error)
    .split('\n')[0]
    .replace(/\.+$/, '');
  return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text;
}

async function checkPostgres(databaseUrl: string): Promise<string | null> {
  // The maintenance database: the app's own is created at start-up when missing.
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: CHECK_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return (
      `Cannot reach PostgreSQL at ${address(databaseUrl, 5432)} (DATABASE_URL): ${reason(error)}. ` +
      `Start PostgreSQL: ${HOW_TO_START} (Debian/Ubuntu package \`postgresql\`), or set DATABASE_URL to a running server.`
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Where Redis was looked for, for people: the address of `REDIS_URL`, or the Sentinels and the primary's name. */
function redisTarget(config: RedisConfig): string {
  const sentinel = config.redisSentinel;
  if (!sentinel) return `Redis at ${address(config.redisUrl, 6379)} (REDIS_URL)`;
  const sentinels = sentinel.sentinels.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)).join(', ');
  return `the Redis primary "${sentinel.name}" through the Sentinels at ${sentinels} (REDIS_SENTINELS, REDIS_SENTINEL_NAME)`;
}

async function checkRedis(config: RedisConfig): Promise<string | null> {
  // The same options as every client of the server (Sentinels included), but one try of each address.
  const redis = new Redis({
    ...redisConnectionOptions(config),
    lazyConnect: true,
    connectTimeout: CHECK_TIMEOUT_MS,
    commandTimeout: CHECK_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
  });
  // ioredis rejects `connect()` with "Connection is closed"; the cause (refused, timed out) comes as an event.
  let cause: unknown;
  redis.on('error', (error) => (cause = error));
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (error) {
    const variables = config.redisSentinel ? 'REDIS_SENTINELS and REDIS_SENTINEL_NAME' : 'REDIS_URL';
    return (
      `Cannot reach ${redisTarget(config)}: ${reason(cause ?? error)}. ` +
      `Start Redis: ${HOW_TO_START} (Debian/Ubuntu package \`redis-server\`), or set ${variables} to a running server.`
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * Checks once, at start-up, that PostgreSQL and Redis answer. Returns one line per one that does
 * not, naming the variable, the address tried and how to get it running: what a new user needs,
 * instead of a driver's stack trace or a minute of reconnect warnings. Later outages are the
 * running server's business (503 `UNAVAILABLE`, reconnects).
 */
export async function checkDependencies(config: Pick<Config, 'databaseUrl'> & RedisConfig): Promise<string[]> {
  const problems = await Promise.all([checkPostgres(config.databaseUrl), checkRedis(config)]);
  return problems.filter((problem): problem is string => problem !== null);
}

/** For the entry points: prints the problems and exits with EX_UNAVAILABLE, or returns when all answer. */
export async function exitUnlessDependenciesAnswer(config: Pick<Config, 'databaseUrl'> & RedisConfig): Promise<void> {
  const problems = await checkDependencies(config);
  if (problems.length === 0) return;
  for (const problem of problems) console.error(problem);
  process.exit(EX_UNAVAILABLE);
}
