import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/config.js';
import { isUnavailableError } from './errors.js';

/** What a Redis connection is made from: `REDIS_URL`, and the Sentinels when there are some. */
export type RedisConfig = Pick<Config, 'redisUrl' | 'redisSentinel'>;

// What a server that is no longer the primary answers: writes are refused, blocking reads
// (BullMQ's, the streams adapter's) are unblocked.
const DEMOTED = /^(READONLY|UNBLOCKED) /;

/**
 * With Sentinels: after a failover the old primary, back as a replica, refuses writes and
 * unblocks blocking reads. Reconnecting asks the Sentinels again and lands on the new primary
 * (checked to be one); the command was refused, not run, so it is resent there (`2`): BullMQ and
 * the adapter queue it meanwhile, and the command connection (no offline queue) fails it at once,
 * which the request path treats as Redis unavailable.
 */
export function reconnectOnDemotion(error: Error): 2 | false {
  return DEMOTED.test(error.message) ? 2 : false;
}

/**
 * Without Sentinels: reconnect (a name whose address moves to the new primary, as managed Redis
 * services do, then resolves anew) but fail the command (`1`), so that a `REDIS_URL` pointing at
 * a replica makes errors instead of resending the same command to it forever.
 */
export function reconnectOnReadonly(error: Error): 1 | false {
  return DEMOTED.test(error.message) ? 1 : false;
}

/**
 * The ioredis options every connection of this server starts from, built from the configuration
 * once here so that no client dials an address of its own: `REDIS_URL`'s host and port, or with
 * `REDIS_SENTINELS`/`REDIS_SENTINEL_NAME` the primary the Sentinels name (asked again at every
 * reconnect, and checked with `INFO` to be a primary, so a client never settles on a replica).
 * `REDIS_URL` always gives the user, password and database number, and TLS with `rediss:`.
 * Callers add what their role needs (timeouts, offline queue, retries) on top.
 */
export function redisConnectionOptions(config: RedisConfig): RedisOptions {
  const url = new URL(config.redisUrl);
  const tls = url.protocol === 'rediss:';
  const options: RedisOptions = { reconnectOnError: config.redisSentinel ? reconnectOnDemotion : reconnectOnReadonly };
  if (url.username) options.username = decodeURIComponent(url.username);
  if (url.password) options.password = decodeURIComponent(url.password);
  if (url.pathname.length > 1) options.db = Number(url.pathname.slice(1));
  const sentinel = config.redisSentinel;
  if (!sentinel) {
    return {
      ...options,
      host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
      port: url.port ? Number(url.port) : 6379,
      ...(tls ? { tls: {} } : {}),
    };
  }
  return {
    ...options,
    sentinels: sentinel.sentinels.map(({ host, port }) => ({ host, port })),
    name: sentinel.name,
    role: 'master',
    ...(sentinel.password !== null ? { sentinelPassword: sentinel.password } : {}),
    // Not ioredis's `failoverDetector` (a subscription to `+switch-master` on every Sentinel, per
    // connection): QUIT leaves its connections open (BullMQ closes its own with QUIT), and they
    // reconnect forever and print unhandled errors outside our logs when a Sentinel goes away. A
    // dead primary closes our connections anyway, and a demoted one answers READONLY/UNBLOCKED,
    // on which `reconnectOnDemotion` reconnects.
    failoverDetector: false,
    // TLS to the primary; the Sentinels themselves are spoken to in plain text.
    ...(tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
  };
}

/**
 * A Redis connection for ordinary commands. It fails fast while Redis is unreachable
 * (no offline queue) instead of piling up commands that would all stall a request. On the request
 * path pass `commandTimeout` (`REDIS_COMMAND_TIMEOUT_MS`) too, so that a Redis that hangs with its
 * connections open fails commands as quickly as one that is down.
 */
export function createRedis(config: RedisConfig, options: RedisOptions = {}): Redis {
  return new Redis({
    ...redisConnectionOptions(config),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // Reconnect forever, backing off to 2 s: the server keeps serving what it can meanwhile.
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    ...options,
  });
}

/**
 * A connection for BullMQ: it must wait for Redis rather than fail a blocking command
 * (`maxRetriesPerRequest: null`, which BullMQ's workers require), through a failover too.
 */
export function createQueueRedis(config: RedisConfig, options: RedisOptions = {}): Redis {
  return new Redis({ ...redisConnectionOptions(config), maxRetriesPerRequest: null, enableOfflineQueue: true, ...options });
}

/**
 * `promise`, or a rejection once `timeoutMs` passed (the work itself goes on). For BullMQ producer
 * calls on the request path: their connection waits for Redis rather than failing (it must not get
 * a command timeout, see `createQueueRedis`), so a request bounds its own wait and falls back.
 */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Command timed out: ${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * How long a request waits for a BullMQ producer call (adding or removing a job) before falling
 * back. Longer than `REDIS_COMMAND_TIMEOUT_MS`: an add is a script of several writes, and giving
 * up on it costs more (a deadline then waits for the sweep), while a healthy Redis answers in a
 * few milliseconds even under the benchmarks' load.
 */
export const QUEUE_CALL_TIMEOUT_MS = 1000;

interface LogSink {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * The state of a process's Redis connections, logged as it changes: one line when Redis is lost,
 * one when every watched connection is back, instead of an error line per failed reconnect of each
 * connection (ioredis emits one per attempt) and per BullMQ object sharing it. Errors that are not
 * about reaching Redis are logged as they come.
 */
export class RedisConnectionLog {
  private readonly clients = new Map<Redis, string>();
  private lostAt: number | null = null;
  private checker: NodeJS.Timeout | null = null;
  /** Per unwatched source (a BullMQ worker's own connections): when it was last reported. */
  private readonly reported = new Map<string, number>();

  constructor(
    private readonly log: LogSink,
    /** Quiet period per unwatched source while the watched connections are fine. */
    private readonly sourceIntervalMs = 60_000,
  ) {}

  /** Listens to `client`'s errors and readiness; `name` says which connection in the log. */
  watch(client: Redis, name: string): Redis {
    this.clients.set(client, name);
    client.on('error', (error) => this.connectionFailed(name, error));
    client.on('ready', () => this.checkRestored());
    client.on('end', () => {
      this.clients.delete(client);
      this.checkRestored();
    });
    return client;
  }

  /** An `error` event of something that uses Redis through connections we do not watch (BullMQ `Worker`s, `Queue`s). */
  reportError(source: string, error: unknown): void {
    if (!isUnavailableError(error)) {
      this.log.error({ err: error, source }, 'redis error');
      return;
    }
    if (this.lostAt !== null) return;
    const now = Date.now();
    if (now - (this.reported.get(source) ?? -Infinity) < this.sourceIntervalMs) return;
    this.reported.set(source, now);
    this.log.warn({ source, error: describe(error) }, 'redis connection error');
  }

  close(): void {
    if (this.checker) clearInterval(this.checker);
    this.checker = null;
  }

  private connectionFailed(name: string, error: unknown): void {
    if (!isUnavailableError(error)) {
      this.log.error({ err: error, connection: name }, 'redis error');
      return;
    }
    if (this.lostAt !== null) return;
    this.lostAt = Date.now();
    this.log.warn({ connection: name, error: describe(error) }, 'redis connection lost; reconnecting');
    // Connections that came back emit `ready`; this catches the last of them in any case.
    this.checker = setInterval(() => this.checkRestored(), 500);
    this.checker.unref();
  }

  private checkRestored(): void {
    if (this.lostAt === null) return;
    for (const client of this.clients.keys()) if (client.status !== 'ready') return;
    this.log.info({ downMs: Date.now() - this.lostAt }, 'redis connection restored');
    this.lostAt = null;
    this.close();
  }
}

/** An error's message and code, without the stack: a lost connection is not a bug. */
function describe(error: unknown): { message: string; code?: string } {
  const { message, code } = error as { message?: unknown; code?: unknown };
  return { message: String(message ?? error), ...(typeof code === 'string' ? { code } : {}) };
}

/** Resolves when `redis` answers PING within `timeoutMs`; rejects otherwise. */
export async function pingRedis(redis: Redis, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `redis` is connected, at most `timeoutMs`; resolves `false` if it is not. */
export function waitForRedis(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}

/** Closes a connection, falling back to a hard disconnect when it cannot QUIT cleanly. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through to a hard disconnect
    }
  }
  redis.disconnect();
}

/**
 * Deletes every key under `prefix` (our keys, BullMQ's and Socket.IO's), e.g. after a test or a
 * benchmark. Gives up (rejects) when Redis cannot be reached for about ten seconds.
 */
export async function clearRedisPrefix(config: RedisConfig, prefix: string): Promise<void> {
  const redis = new Redis({ ...redisConnectionOptions(config), retryStrategy: (attempt) => (attempt > 20 ? null : 500) });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
