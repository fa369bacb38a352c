/**
 * The one module that reads the environment. Everything else receives a `Config`.
 *
 * The variables, their types, defaults and bounds are one TypeBox schema (`EnvSchema`,
 * env-schema.ts). Every variable has a default that works on one machine with local PostgreSQL
 * and Redis, except `JWT_SECRET` under `NODE_ENV=production` (elsewhere its default is a random
 * secret generated once under `STORAGE_DIR`, the one file this module touches). A wrong value
 * throws a `ConfigError` that names the variable, so a bad deployment fails at start-up with a
 * message a person can act on.
 */
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { Ajv, type ValidateFunction } from 'ajv';
import { EnvSchema, type Env } from './env-schema.js';
import { generatedSecretPath, readOrCreateSecret, SecretFileError } from './secrets.js';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export type NodeEnv = 'development' | 'test' | 'production';

export interface Config {
  nodeEnv: NodeEnv;
  host: string;
  port: number;
  /** Base URL clients reach this server at; used in certificate verification links and signed URLs. */
  publicUrl: string;
  databaseUrl: string;
  /** Connections per process in the PostgreSQL pool. */
  dbPoolMax: number;
  /**
   * Longest a query may take (`DB_STATEMENT_TIMEOUT_MS`): PostgreSQL cancels it (`statement_timeout`)
   * and the client gives up waiting as well, so a frozen server fails requests (503) instead of
   * hanging them. Migrations are exempt. @defaultValue 15000
   */
  dbStatementTimeoutMs: number;
  /** Longest wait for a pooled connection, connecting included (`DB_ACQUIRE_TIMEOUT_MS`). @defaultValue 5000 */
  dbAcquireTimeoutMs: number;
  /**
   * The Redis server (`REDIS_URL`). With `redisSentinel` only its database number, user,
   * password and scheme (`rediss:` for TLS) are used: the Sentinels say where the primary is.
   */
  redisUrl: string;
  /**
   * Sentinels that say which Redis is the primary (`REDIS_SENTINELS`, `REDIS_SENTINEL_NAME`,
   * `REDIS_SENTINEL_PASSWORD`); null: `redisUrl`'s host and port, one server.
   */
  redisSentinel: RedisSentinelConfig | null;
  /** Namespace of every Redis key this server writes (rate limits, presence, BullMQ, Socket.IO streams). */
  redisPrefix: string;
  /** BullMQ `prefix`, derived from `redisPrefix`. */
  queuePrefix: string;
  /**
   * Longest a Redis command on the request path may take (`REDIS_COMMAND_TIMEOUT_MS`): rate limits,
   * presence, markers. A hung Redis then costs a request this much, not minutes. BullMQ's and the
   * Socket.IO adapter's connections (blocking reads) have none. @defaultValue 250
   */
  redisCommandTimeoutMs: number;
  /**
   * Signs access tokens and derives the file-URL key. `JWT_SECRET`, or else (never in
   * production) a random secret generated once into `jwtSecretFile` under `STORAGE_DIR`.
   */
  jwtSecret: string;
  /** The file `jwtSecret` was read from when `JWT_SECRET` is unset; null when it comes from the environment. */
  jwtSecretFile: string | null;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /**
   * How long after its rotation a refresh token presented again answers 409 `TOKEN_ROTATED`
   * (a retry after a lost reply, a second tab) instead of counting as reuse; 0 turns it off.
   */
  refreshReuseGraceSeconds: number;
  storageDir: string;
  adminEmail: string | null;
  adminPassword: string | null;
  /** Run the BullMQ workers inside the API process (`npm start`); `false` for API-only instances. */
  workers: boolean;
  corsOrigins: string[];
  logLevel: string;
  bodyLimitBytes: number;
  uploadMaxBytes: number;
  /** Network grace after a quiz deadline during which answers are still accepted. */
  quizGraceMs: number;
  /** How long a socket whose access token expired stays connected, waiting for `auth:refresh`. */
  socketTokenGraceMs: number;
  /** Period of the maintenance sweep (overdue attempts, missing certificates). */
  sweepIntervalMs: number;
  /** A live session without activity (start, "follow me", launches) this long is ended by the sweep. @defaultValue 12 h */
  liveSessionIdleMs: number;
  /**
   * Which proxies' `X-Forwarded-*` headers to believe (Fastify's `trustProxy`): `false`, a number
   * of hops (the last N addresses of `X-Forwarded-For`), or the proxies' addresses and CIDRs.
   */
  trustProxy: false | number | string[];
  /** Time given to running jobs and open requests on SIGTERM before connections are cut. */
  shutdownTimeoutMs: number;
  /**
   * On SIGTERM, how long the instance keeps serving with `/ready` answering 503 before it closes:
   * at least the load balancer's health-check interval, so it stops sending traffic first.
   */
  shutdownDrainMs: number;
  // --- realtime ---
  /**
   * Client events one user may send per second on one instance, over all its sockets and `/ws`
   * connections there (token bucket refill); beyond it acks say RATE_LIMITED.
   */
  socketEventsPerSecond: number;
  /** Burst size of that token bucket. */
  socketEventsBurst: number;
  /**
   * Socket.IO handshakes and `/ws` connections per client IP per `socketHandshakeRateLimitWindowMs`,
   * counted in Redis (shared by every instance). Generous: a whole school may share one address.
   */
  socketHandshakeRateLimitMax: number;
  socketHandshakeRateLimitWindowMs: number;
  /** Socket.IO sockets and `/ws` connections one user may hold on one instance. */
  socketsPerUserMax: number;
  /** Largest Socket.IO message a client may send (`maxHttpBufferSize`); larger ones close the connection. */
  socketMaxMessageBytes: number;
  /** How long a student's handshake read stands for its joins (join-grants.ts); 0 turns it off. */
  socketJoinGrantMs: number;
  // --- realtime across processes ---
  /**
   * `maxLen` of the Socket.IO Redis stream (approximate trimming). It must hold every broadcast
   * of the connection state recovery window (2 min): at the expected peak of ~500 events/s across
   * the cluster that is 60 000 entries, so 100 000 leaves headroom (roughly 50–100 MB of Redis).
   */
  socketStreamMaxLen: number;
  /** How often each API instance renews its presence heartbeat and looks for dead instances. */
  presenceHeartbeatMs: number;
  /** Lifetime of an instance's heartbeat: a dead instance's users go offline within about this long. */
  presenceTtlMs: number;
  /** How long a `/ws` connection without `?token=` has to send its `auth` frame. */
  wsAuthTimeoutMs: number;
  // --- auth ---
  /** Requests per IP per `rateLimitWindowMs` on every route except /health, /ready and /metrics; shared across instances through Redis. */
  rateLimitMax: number;
  rateLimitWindowMs: number;
  /** Login attempts per (email, IP) (and password checks per user) per `loginRateLimitWindowMs`. */
  loginRateLimitMax: number;
  loginRateLimitWindowMs: number;
  /**
   * Failed logins per email, from every address together, per `loginEmailFailureWindowMs`; past
   * it only addresses that signed in to the account before (within 30 days) may try.
   */
  loginEmailFailureMax: number;
  loginEmailFailureWindowMs: number;
  /** Register and login requests per IP per `authRateLimitWindowMs` (besides the general per-IP limit). */
  authRateLimitMax: number;
  authRateLimitWindowMs: number;
  /**
   * argon2 hashes and verifications one process runs at once. Each takes a libuv thread, tens
   * of ms of a core and 19 MiB; the default leaves a core to the event loop and a thread of
   * libuv's pool to file I/O: min(cores − 1, UV_THREADPOOL_SIZE − 1), at least 1.
   */
  argon2MaxConcurrency: number;
  /** Password operations that may wait for a slot; beyond, 503 `UNAVAILABLE` at once. */
  argon2MaxQueue: number;
  /** How long one may wait for a slot before it is refused with 503 `UNAVAILABLE`. */
  argon2QueueTimeoutMs: number;
  // --- workers ---
  /** Recalculations one process runs at once (`PROGRESS_CONCURRENCY`). @defaultValue 10 */
  progressConcurrency: number;
  /** Certificate jobs (row, PDF, event) one process runs at once (`CERTIFICATE_CONCURRENCY`). @defaultValue 2 */
  certificateConcurrency: number;
  /**
   * Certificate jobs started per second by all workers of the deployment together
   * (`CERTIFICATE_RATE_PER_SECOND`, BullMQ's queue-wide rate limiter); 0 for no limit.
   */
  certificateRatePerSecond: number;
  /**
   * OS nice value of the worker thread of `npm start` and the threads it starts (the PDF render
   * thread) (`WORKER_THREAD_NICE`): with the cores busy, the kernel runs the API's event loop
   * first, so a burst of jobs delays the jobs rather than broadcasts and requests. 0 keeps them
   * equal. `npm run worker` processes are prioritised by the OS as usual (`nice`). @defaultValue 10
   */
  workerThreadNice: number;
  /** Attempts a regrade writes per transaction, with its progress counters (`REGRADE_BATCH_SIZE`). @defaultValue 200 */
  regradeBatchSize: number;
  /**
   * BullMQ lock of a running job (`JOB_LOCK_MS`), renewed while its worker lives; a job whose
   * worker died is handed to another worker within about twice this. @defaultValue 30000
   */
  jobLockMs: number;
  /**
   * Port of the `/metrics` endpoint of a worker process (`npm run worker`; `WORKER_METRICS_PORT`),
   * on `HOST`; 0 picks a free port, unset serves none. API instances serve `/metrics` on `PORT`.
   */
  workerMetricsPort: number | null;
  /**
   * Port of a listener of its own (on `HOST`) for an API instance's `/metrics` (`METRICS_PORT`;
   * 0 picks a free one); `/metrics` then leaves `PORT`. Null: `/metrics` is on `PORT`.
   */
  metricsPort: number | null;
  /** Bearer token every `/metrics` endpoint (API and worker) requires (`METRICS_TOKEN`); null: none. */
  metricsToken: string | null;
  /** Serve the OpenAPI document and its browser at `/docs` (`DOCS_ENABLED`). @defaultValue true */
  docsEnabled: boolean;
  // --- files ---
  /**
   * MIME types `POST /api/files` accepts, as detected from the bytes (`UPLOAD_ALLOWED_TYPES`,
   * comma-separated). HTML, SVG, XML and script types can never be allowed.
   */
  uploadAllowedTypes: readonly string[];
  /** Lifetime of the signed content URLs of `GET /api/files/:id/url`. @defaultValue 300 */
  fileUrlTtlSeconds: number;
  /**
   * Lifetime of the signed `pdfUrl` of `certificate:issued` and `GET /api/certificates`
   * (`CERTIFICATE_URL_TTL_SECONDS`): long, since the link in a toast may be clicked hours later.
   * @defaultValue 604800 (7 days)
   */
  certificateUrlTtlSeconds: number;
}

/** Where the Sentinels of a Sentinel-managed Redis are, and the name they know its primary by. */
export interface RedisSentinelConfig {
  sentinels: ReadonlyArray<{ host: string; port: number }>;
  /** The master name of `sentinel monitor <name> …`. */
  name: string;
  /** The Sentinels' own password (their `requirepass`), when they have one; the primary's is in `redisUrl`. */
  password: string | null;
}

/** The process environment, or any map of variable names to text (tests). */
type EnvText = Record<string, string | undefined>;

/** What `loadConfig` reads from a variable's schema (JSON Schema and env-schema.ts's annotations). */
interface VariableSchema {
  type?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  items?: VariableSchema;
  problem?: string;
  protocols?: string[];
  lowercase?: boolean;
}

const VARIABLES = EnvSchema.properties as unknown as Record<keyof Env, VariableSchema>;
const TRUE_WORDS = ['1', 'true', 'on', 'yes'];
const FALSE_WORDS = ['0', 'false', 'off', 'no'];

/** A variable's text, trimmed; blank counts as unset. */
function read(env: EnvText, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** A value's text into the type its schema names; a string is a problem ("must …") instead. */
type Decoded = { value: unknown } | { problem: string };

function decode(schema: VariableSchema, raw: string): Decoded {
  switch (schema.type) {
    case 'integer':
      return /^-?\d+$/.test(raw) ? { value: Number(raw) } : { problem: `must be an integer, got "${raw}"` };
    case 'boolean': {
      const lower = raw.toLowerCase();
      if (TRUE_WORDS.includes(lower)) return { value: true };
      if (FALSE_WORDS.includes(lower)) return { value: false };
      return { problem: `must be one of on/off, true/false, 1/0, got "${raw}"` };
    }
    case 'array':
      return {
        value: raw
          .split(',')
          .map((item) => (schema.items?.lowercase ? item.trim().toLowerCase() : item.trim()))
          .filter(Boolean),
      };
    default: {
      const value = schema.lowercase ? raw.toLowerCase() : raw;
      if (schema.protocols) {
        let parsed: URL;
        try {
          parsed = new URL(value);
        } catch {
          return { problem: `must be a URL, got "${value}"` };
        }
        if (!schema.protocols.includes(parsed.protocol)) return { problem: `must use ${schema.protocols.join(' or ')}, got "${parsed.protocol}"` };
      }
      return { value };
    }
  }
}

/** The message of a value that fails its schema, from the schema's bounds, choices or `problem`. */
function problemOf(schema: VariableSchema, value: unknown): string {
  if (schema.type === 'integer') return `must be between ${schema.minimum} and ${schema.maximum}, got ${String(value)}`;
  if (schema.enum) return `must be one of ${schema.enum.join(', ')}, got "${String(value)}"`;
  return (schema.problem ?? 'is invalid').replace('{got}', String(value));
}

/**
 * Fills the schema's defaults into `values` and reports its errors: Ajv (which Fastify loads
 * anyway) rather than TypeBox's `Value`, whose modules cost every process about a third of a
 * second to load. The annotations of env-schema.ts are not JSON Schema keywords: not strict.
 */
let validateEnv: ValidateFunction | undefined;
function validated(values: Record<string, unknown>) {
  validateEnv ??= new Ajv({ strict: false, useDefaults: true, allErrors: true }).compile(EnvSchema);
  validateEnv(values);
  return validateEnv.errors ?? [];
}

/**
 * Parses every set variable, fills the schema's defaults and validates the result against
 * `EnvSchema` once; the first wrong variable in the schema's order is reported.
 */
function parseEnv(env: EnvText): Env {
  const values: Record<string, unknown> = {};
  const problems = new Map<string, string>();
  for (const [name, schema] of Object.entries(VARIABLES)) {
    const raw = read(env, name);
    if (raw === undefined) continue;
    const decoded = decode(schema, raw);
    if ('problem' in decoded) problems.set(name, decoded.problem);
    else values[name] = decoded.value;
  }
  for (const error of validated(values)) {
    // `/NAME` for a variable, `/NAME/i` for an item of a list.
    const [, name, item] = error.instancePath.split('/');
    if (!name || problems.has(name)) continue;
    const schema = VARIABLES[name as keyof Env];
    problems.set(name, item === undefined ? problemOf(schema, values[name]) : problemOf(schema.items!, (values[name] as unknown[])[Number(item)]));
  }
  const first = Object.keys(VARIABLES).find((name) => problems.has(name));
  if (first !== undefined) throw new ConfigError(first, problems.get(first)!);
  return values as Env;
}

/** proxy-addr's names for address ranges, accepted in a `TRUST_PROXY` list. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * `TRUST_PROXY`: `off`; a hop count; or a comma-separated list of proxy addresses and CIDRs.
 * `on` means one hop, the common single load balancer: trusting every hop (Fastify's `true`)
 * would let a client pick its own address by sending an `X-Forwarded-For` that the load balancer
 * appends to.
 */
function trustProxy(raw: string | undefined): false | number | string[] {
  if (raw === undefined) return false;
  const lower = raw.toLowerCase();
  if (FALSE_WORDS.includes(lower)) return false;
  if (TRUE_WORDS.includes(lower)) return 1;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 20) throw new ConfigError('TRUST_PROXY', `must be at most 20 hops, got ${hops}`);
    return hops;
  }
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of entries) {
    if (PROXY_RANGE_NAMES.includes(entry)) continue;
    const [address, prefix, extra] = entry.split('/');
    const version = isIP(address ?? '');
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (version === 6 ? 128 : 32));
    if (version === 0 || !prefixOk || extra !== undefined) {
      throw new ConfigError(
        'TRUST_PROXY',
        `must be off, on (one hop), a hop count, or a comma-separated list of proxy addresses or CIDRs like 10.0.0.0/8, got "${entry}"`,
      );
    }
  }
  return entries;
}

/** Rules across variables, and what JSON Schema does not say; run after the schema passed. */
function checkRules(env: Env): void {
  if (env.JWT_SECRET === undefined && env.NODE_ENV === 'production') {
    throw new ConfigError('JWT_SECRET', 'is required when NODE_ENV=production');
  }
  if ((env.ADMIN_EMAIL === undefined) !== (env.ADMIN_PASSWORD === undefined)) {
    throw new ConfigError(env.ADMIN_EMAIL === undefined ? 'ADMIN_EMAIL' : 'ADMIN_PASSWORD', 'must be set together with its pair');
  }
  if (env.PRESENCE_TTL_MS <= env.PRESENCE_HEARTBEAT_MS * 2) {
    throw new ConfigError('PRESENCE_TTL_MS', `must exceed twice PRESENCE_HEARTBEAT_MS (${env.PRESENCE_HEARTBEAT_MS}), got ${env.PRESENCE_TTL_MS}`);
  }
  if (env.METRICS_PORT !== undefined && env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT) {
    throw new ConfigError('METRICS_PORT', `must differ from PORT (${env.PORT}): it moves /metrics off the API port`);
  }
  if (!/^\/?(\d+)?$/.test(new URL(env.REDIS_URL).pathname)) {
    throw new ConfigError('REDIS_URL', `must have a database number or nothing as its path, got "${new URL(env.REDIS_URL).pathname}"`);
  }
  if ((env.REDIS_SENTINELS.length === 0) !== (env.REDIS_SENTINEL_NAME === undefined)) {
    throw new ConfigError(env.REDIS_SENTINEL_NAME === undefined ? 'REDIS_SENTINEL_NAME' : 'REDIS_SENTINELS', 'must be set together with its pair');
  }
  if (env.REDIS_SENTINEL_PASSWORD !== undefined && env.REDIS_SENTINELS.length === 0) {
    throw new ConfigError('REDIS_SENTINEL_PASSWORD', 'is only used with REDIS_SENTINELS and REDIS_SENTINEL_NAME');
  }
  for (const address of env.REDIS_SENTINELS) {
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    if (port < 1 || port > 65_535) throw new ConfigError('REDIS_SENTINELS', `must have ports between 1 and 65535, got "${address}"`);
  }
  for (const type of env.UPLOAD_ALLOWED_TYPES) {
    if (/html|svg|xml|javascript|ecmascript/.test(type)) {
      throw new ConfigError('UPLOAD_ALLOWED_TYPES', `must not allow content a browser could run, got "${type}"`);
    }
  }
}

/** `REDIS_SENTINEL*` as addresses (IPv6 without its brackets, as sockets want it), or null when unset. */
function redisSentinel(env: Env): RedisSentinelConfig | null {
  if (env.REDIS_SENTINEL_NAME === undefined) return null;
  const sentinels = env.REDIS_SENTINELS.map((address) => {
    const colon = address.lastIndexOf(':');
    return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
  });
  return Object.freeze({ sentinels: Object.freeze(sentinels), name: env.REDIS_SENTINEL_NAME, password: env.REDIS_SENTINEL_PASSWORD ?? null });
}

/**
 * Nothing committed may ever sign a token: without JWT_SECRET the secret is random, generated
 * once into the folder every instance and worker already shares, so they all agree on it.
 */
function signingSecret(env: Env): { jwtSecret: string; jwtSecretFile: string | null } {
  if (env.JWT_SECRET !== undefined) return { jwtSecret: env.JWT_SECRET, jwtSecretFile: null };
  const jwtSecretFile = generatedSecretPath(env.STORAGE_DIR);
  try {
    return { jwtSecret: readOrCreateSecret(jwtSecretFile), jwtSecretFile };
  } catch (error) {
    if (!(error instanceof SecretFileError)) throw error;
    throw new ConfigError('JWT_SECRET', `is unset and its generated replacement ${error.message}; set JWT_SECRET or make STORAGE_DIR writable`);
  }
}

/** Reads and validates the configuration; throws `ConfigError` naming the first wrong variable. */
export function loadConfig(envText: EnvText = process.env): Config {
  const env = parseEnv(envText);
  checkRules(env);
  const trust = trustProxy(env.TRUST_PROXY);
  const { jwtSecret, jwtSecretFile } = signingSecret(env);
  return Object.freeze({
    nodeEnv: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    publicUrl: (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, ''),
    databaseUrl: env.DATABASE_URL,
    dbPoolMax: env.DB_POOL_MAX,
    dbStatementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
    dbAcquireTimeoutMs: env.DB_ACQUIRE_TIMEOUT_MS,
    redisUrl: env.REDIS_URL,
    redisSentinel: redisSentinel(env),
    redisPrefix: env.REDIS_PREFIX,
    queuePrefix: `${env.REDIS_PREFIX}-bull`,
    redisCommandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
    jwtSecret,
    jwtSecretFile,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
    refreshReuseGraceSeconds: env.REFRESH_REUSE_GRACE_SECONDS,
    storageDir: env.STORAGE_DIR,
    adminEmail: env.ADMIN_EMAIL ?? null,
    adminPassword: env.ADMIN_PASSWORD ?? null,
    workers: env.WORKERS,
    corsOrigins: [...env.CORS_ORIGINS],
    logLevel: env.LOG_LEVEL ?? (env.NODE_ENV === 'test' ? 'silent' : 'info'),
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    uploadMaxBytes: env.UPLOAD_MAX_BYTES,
    quizGraceMs: env.QUIZ_GRACE_MS,
    socketTokenGraceMs: env.SOCKET_TOKEN_GRACE_MS,
    sweepIntervalMs: env.SWEEP_INTERVAL_MS,
    liveSessionIdleMs: env.LIVE_SESSION_IDLE_MS,
    trustProxy: trust,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    shutdownDrainMs: env.SHUTDOWN_DRAIN_MS,
    socketEventsPerSecond: env.SOCKET_EVENTS_PER_SECOND,
    socketEventsBurst: env.SOCKET_EVENTS_BURST,
    socketHandshakeRateLimitMax: env.SOCKET_HANDSHAKE_RATE_LIMIT_MAX,
    socketHandshakeRateLimitWindowMs: env.SOCKET_HANDSHAKE_RATE_LIMIT_WINDOW_MS,
    socketsPerUserMax: env.SOCKETS_PER_USER_MAX,
    socketMaxMessageBytes: env.SOCKET_MAX_MESSAGE_BYTES,
    socketJoinGrantMs: env.SOCKET_JOIN_GRANT_MS,
    socketStreamMaxLen: env.SOCKET_STREAM_MAX_LEN,
    presenceHeartbeatMs: env.PRESENCE_HEARTBEAT_MS,
    presenceTtlMs: env.PRESENCE_TTL_MS,
    wsAuthTimeoutMs: env.WS_AUTH_TIMEOUT_MS,
    rateLimitMax: env.RATE_LIMIT_MAX,
    rateLimitWindowMs: env.RATE_LIMIT_WINDOW_MS,
    loginRateLimitMax: env.LOGIN_RATE_LIMIT_MAX,
    loginRateLimitWindowMs: env.LOGIN_RATE_LIMIT_WINDOW_MS,
    loginEmailFailureMax: env.LOGIN_EMAIL_FAILURE_MAX,
    loginEmailFailureWindowMs: env.LOGIN_EMAIL_FAILURE_WINDOW_MS,
    authRateLimitMax: env.AUTH_RATE_LIMIT_MAX,
    authRateLimitWindowMs: env.AUTH_RATE_LIMIT_WINDOW_MS,
    // See `Config.argon2MaxConcurrency`.
    argon2MaxConcurrency: env.ARGON2_MAX_CONCURRENCY ?? Math.max(1, Math.min(availableParallelism() - 1, env.UV_THREADPOOL_SIZE - 1)),
    argon2MaxQueue: env.ARGON2_MAX_QUEUE,
    argon2QueueTimeoutMs: env.ARGON2_QUEUE_TIMEOUT_MS,
    progressConcurrency: env.PROGRESS_CONCURRENCY,
    certificateConcurrency: env.CERTIFICATE_CONCURRENCY,
    certificateRatePerSecond: env.CERTIFICATE_RATE_PER_SECOND,
    workerThreadNice: env.WORKER_THREAD_NICE,
    regradeBatchSize: env.REGRADE_BATCH_SIZE,
    jobLockMs: env.JOB_LOCK_MS,
    workerMetricsPort: env.WORKER_METRICS_PORT ?? null,
    metricsPort: env.METRICS_PORT ?? null,
    metricsToken: env.METRICS_TOKEN ?? null,
    docsEnabled: env.DOCS_ENABLED,
    uploadAllowedTypes: Object.freeze([...env.UPLOAD_ALLOWED_TYPES]),
    fileUrlTtlSeconds: env.FILE_URL_TTL_SECONDS,
    certificateUrlTtlSeconds: env.CERTIFICATE_URL_TTL_SECONDS,
  });
}
