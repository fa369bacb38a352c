/**
 * The one module that reads the environment. Everything else receives a `Config`.
 *
 * Every variable has a default that works on one machine with local PostgreSQL and Redis,
 * except `JWT_SECRET` under `NODE_ENV=production` (elsewhere its default is a random secret
 * generated once under `STORAGE_DIR`, the one file this module touches). A wrong value throws a
 * `ConfigError` that names the variable, so a bad deployment fails at start-up with a message a
 * person can act on.
 */
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { generatedSecretPath, readOrCreateSecret, SecretFileError, SECRET_MIN_LENGTH } from './secrets.js';

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
  redisUrl: string;
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
  // --- realtime (issue 7) ---
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
  // --- realtime across processes (issue 8) ---
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
  // --- auth (issue 3) ---
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
  // --- workers (issue 9) ---
  /** Recalculations one process runs at once (`PROGRESS_CONCURRENCY`). @defaultValue 10 */
  progressConcurrency: number;
  /** Certificate jobs (row, PDF, event) one process runs at once (`CERTIFICATE_CONCURRENCY`). @defaultValue 2 */
  certificateConcurrency: number;
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
  // --- files (issue 5) ---
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

type Env = Record<string, string | undefined>;

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function str(env: Env, name: string, fallback: string): string {
  return read(env, name) ?? fallback;
}

function int(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const lower = raw.toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(lower)) return true;
  if (['0', 'false', 'off', 'no'].includes(lower)) return false;
  throw new ConfigError(name, `must be one of on/off, true/false, 1/0, got "${raw}"`);
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const raw = read(env, name) ?? fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL, got "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  }
  return raw;
}

/** See `Config.argon2MaxConcurrency`. */
function defaultArgon2Concurrency(env: Env): number {
  const threadpool = int(env, 'UV_THREADPOOL_SIZE', 4, 1, 1024);
  return Math.max(1, Math.min(availableParallelism() - 1, threadpool - 1));
}

/** proxy-addr's names for address ranges, accepted in a `TRUST_PROXY` list. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * `TRUST_PROXY`: `off`; a hop count; or a comma-separated list of proxy addresses and CIDRs.
 * `on` means one hop, the common single load balancer: trusting every hop (Fastify's `true`)
 * would let a client pick its own address by sending an `X-Forwarded-For` that the load balancer
 * appends to.
 */
function trustProxy(env: Env): false | number | string[] {
  const raw = read(env, 'TRUST_PROXY');
  if (raw === undefined) return false;
  const lower = raw.toLowerCase();
  if (['0', 'false', 'off', 'no'].includes(lower)) return false;
  if (['true', 'on', 'yes'].includes(lower)) return 1;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 20) throw new ConfigError('TRUST_PROXY', `must be at most 20 hops, got ${hops}`);
    return hops;
  }
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
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

/** Reads and validates the configuration; throws `ConfigError` naming the first wrong variable. */
export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = oneOf<NodeEnv>(env, 'NODE_ENV', 'development', ['development', 'test', 'production']);
  const port = int(env, 'PORT', 3000, 0, 65535);

  const jwtSecret = read(env, 'JWT_SECRET');
  if (jwtSecret === undefined && nodeEnv === 'production') {
    throw new ConfigError('JWT_SECRET', 'is required when NODE_ENV=production');
  }
  if (jwtSecret !== undefined && jwtSecret.length < SECRET_MIN_LENGTH) {
    throw new ConfigError('JWT_SECRET', `must be at least ${SECRET_MIN_LENGTH} characters`);
  }
  const storageDir = str(env, 'STORAGE_DIR', './storage');
  // Nothing committed may ever sign a token: without JWT_SECRET the secret is random, generated
  // once into the folder every instance and worker already shares, so they all agree on it.
  const jwtSecretFile = jwtSecret === undefined ? generatedSecretPath(storageDir) : null;
  let signingSecret = jwtSecret;
  if (jwtSecretFile !== null) {
    try {
      signingSecret = readOrCreateSecret(jwtSecretFile);
    } catch (error) {
      if (!(error instanceof SecretFileError)) throw error;
      throw new ConfigError('JWT_SECRET', `is unset and its generated replacement ${error.message}; set JWT_SECRET or make STORAGE_DIR writable`);
    }
  }

  const adminEmail = read(env, 'ADMIN_EMAIL')?.toLowerCase() ?? null;
  const adminPassword = read(env, 'ADMIN_PASSWORD') ?? null;
  if ((adminEmail === null) !== (adminPassword === null)) {
    throw new ConfigError(adminEmail === null ? 'ADMIN_EMAIL' : 'ADMIN_PASSWORD', 'must be set together with its pair');
  }
  if (adminEmail !== null && !/^[^@\s]+@[^@\s]+$/.test(adminEmail)) {
    throw new ConfigError('ADMIN_EMAIL', `must be an email address, got "${adminEmail}"`);
  }
  if (adminPassword !== null && (adminPassword.length < 8 || adminPassword.length > 128)) {
    throw new ConfigError('ADMIN_PASSWORD', 'must be 8 to 128 characters');
  }

  const redisPrefix = str(env, 'REDIS_PREFIX', 'classroom');
  if (!/^[A-Za-z0-9_-]+$/.test(redisPrefix)) {
    throw new ConfigError('REDIS_PREFIX', 'may only contain letters, digits, "-" and "_"');
  }

  const corsOrigins = (read(env, 'CORS_ORIGINS') ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/]+$/.test(origin)) {
      throw new ConfigError('CORS_ORIGINS', `must be a comma-separated list of origins like https://app.example.com, got "${origin}"`);
    }
  }

  const presenceHeartbeatMs = int(env, 'PRESENCE_HEARTBEAT_MS', 5000, 50, 60_000);
  const presenceTtlMs = int(env, 'PRESENCE_TTL_MS', 15_000, 100, 600_000);
  if (presenceTtlMs <= presenceHeartbeatMs * 2) {
    throw new ConfigError('PRESENCE_TTL_MS', `must exceed twice PRESENCE_HEARTBEAT_MS (${presenceHeartbeatMs}), got ${presenceTtlMs}`);
  }

  const metricsPort = read(env, 'METRICS_PORT') === undefined ? null : int(env, 'METRICS_PORT', 0, 0, 65_535);
  if (metricsPort !== null && metricsPort !== 0 && metricsPort === port) {
    throw new ConfigError('METRICS_PORT', `must differ from PORT (${port}): it moves /metrics off the API port`);
  }
  const metricsToken = read(env, 'METRICS_TOKEN') ?? null;
  if (metricsToken !== null && metricsToken.length < 16) throw new ConfigError('METRICS_TOKEN', 'must be at least 16 characters');

  return Object.freeze({
    nodeEnv,
    host: str(env, 'HOST', '0.0.0.0'),
    port,
    publicUrl: url(env, 'PUBLIC_URL', `http://localhost:${port}`, ['http:', 'https:']).replace(/\/+$/, ''),
    databaseUrl: url(env, 'DATABASE_URL', 'postgresql://postgres@127.0.0.1:5432/classroom', ['postgres:', 'postgresql:']),
    dbPoolMax: int(env, 'DB_POOL_MAX', 10, 1, 1000),
    dbStatementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_MS', 15_000, 100, 3600_000),
    dbAcquireTimeoutMs: int(env, 'DB_ACQUIRE_TIMEOUT_MS', 5000, 100, 600_000),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    redisPrefix,
    queuePrefix: `${redisPrefix}-bull`,
    redisCommandTimeoutMs: int(env, 'REDIS_COMMAND_TIMEOUT_MS', 250, 10, 60_000),
    jwtSecret: signingSecret!,
    jwtSecretFile,
    accessTokenTtlSeconds: int(env, 'ACCESS_TOKEN_TTL_SECONDS', 15 * 60, 5, 24 * 3600),
    refreshTokenTtlSeconds: int(env, 'REFRESH_TOKEN_TTL_SECONDS', 30 * 24 * 3600, 60, 365 * 24 * 3600),
    refreshReuseGraceSeconds: int(env, 'REFRESH_REUSE_GRACE_SECONDS', 30, 0, 300),
    storageDir,
    adminEmail,
    adminPassword,
    workers: bool(env, 'WORKERS', true),
    corsOrigins,
    logLevel: oneOf(env, 'LOG_LEVEL', nodeEnv === 'test' ? 'silent' : 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1024, 100 * 1024 * 1024),
    // uploaded_files.file_size is an integer column: at most 2^31 - 1 bytes.
    uploadMaxBytes: int(env, 'UPLOAD_MAX_BYTES', 25 * 1024 * 1024, 1, 2 ** 31 - 1),
    quizGraceMs: int(env, 'QUIZ_GRACE_MS', 2000, 0, 60_000),
    socketTokenGraceMs: int(env, 'SOCKET_TOKEN_GRACE_MS', 60_000, 0, 3600_000),
    sweepIntervalMs: int(env, 'SWEEP_INTERVAL_MS', 30_000, 100, 3600_000),
    trustProxy: trustProxy(env),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    shutdownDrainMs: int(env, 'SHUTDOWN_DRAIN_MS', 5000, 0, 600_000),
    // --- realtime (issue 7) ---
    socketEventsPerSecond: int(env, 'SOCKET_EVENTS_PER_SECOND', 20, 1, 10_000),
    socketEventsBurst: int(env, 'SOCKET_EVENTS_BURST', 40, 1, 100_000),
    socketHandshakeRateLimitMax: int(env, 'SOCKET_HANDSHAKE_RATE_LIMIT_MAX', 1000, 1, 1_000_000),
    socketHandshakeRateLimitWindowMs: int(env, 'SOCKET_HANDSHAKE_RATE_LIMIT_WINDOW_MS', 60_000, 1000, 24 * 3600_000),
    socketsPerUserMax: int(env, 'SOCKETS_PER_USER_MAX', 20, 1, 10_000),
    socketMaxMessageBytes: int(env, 'SOCKET_MAX_MESSAGE_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
    // --- realtime across processes (issue 8) ---
    socketStreamMaxLen: int(env, 'SOCKET_STREAM_MAX_LEN', 100_000, 1000, 10_000_000),
    presenceHeartbeatMs,
    presenceTtlMs,
    wsAuthTimeoutMs: int(env, 'WS_AUTH_TIMEOUT_MS', 5000, 100, 60_000),
    // --- auth (issue 3) ---
    rateLimitMax: int(env, 'RATE_LIMIT_MAX', 600, 1, 1_000_000),
    rateLimitWindowMs: int(env, 'RATE_LIMIT_WINDOW_MS', 60_000, 1000, 24 * 3600_000),
    loginRateLimitMax: int(env, 'LOGIN_RATE_LIMIT_MAX', 10, 1, 10_000),
    loginRateLimitWindowMs: int(env, 'LOGIN_RATE_LIMIT_WINDOW_MS', 15 * 60_000, 1000, 24 * 3600_000),
    loginEmailFailureMax: int(env, 'LOGIN_EMAIL_FAILURE_MAX', 100, 1, 1_000_000),
    loginEmailFailureWindowMs: int(env, 'LOGIN_EMAIL_FAILURE_WINDOW_MS', 15 * 60_000, 1000, 24 * 3600_000),
    authRateLimitMax: int(env, 'AUTH_RATE_LIMIT_MAX', 1000, 1, 1_000_000),
    authRateLimitWindowMs: int(env, 'AUTH_RATE_LIMIT_WINDOW_MS', 60_000, 1000, 24 * 3600_000),
    argon2MaxConcurrency: int(env, 'ARGON2_MAX_CONCURRENCY', defaultArgon2Concurrency(env), 1, 64),
    argon2MaxQueue: int(env, 'ARGON2_MAX_QUEUE', 200, 0, 100_000),
    argon2QueueTimeoutMs: int(env, 'ARGON2_QUEUE_TIMEOUT_MS', 5000, 10, 60_000),
    // --- workers (issue 9) ---
    progressConcurrency: int(env, 'PROGRESS_CONCURRENCY', 10, 1, 1000),
    certificateConcurrency: int(env, 'CERTIFICATE_CONCURRENCY', 2, 1, 100),
    jobLockMs: int(env, 'JOB_LOCK_MS', 30_000, 1000, 600_000),
    workerMetricsPort: env.WORKER_METRICS_PORT === undefined || env.WORKER_METRICS_PORT === '' ? null : int(env, 'WORKER_METRICS_PORT', 0, 0, 65_535),
    metricsPort,
    metricsToken,
    docsEnabled: bool(env, 'DOCS_ENABLED', true),
    // --- files (issue 5) ---
    uploadAllowedTypes: Object.freeze(
      ((raw: string) => {
        const types = raw.split(',').map((type) => type.trim().toLowerCase()).filter(Boolean);
        if (types.length === 0) throw new ConfigError('UPLOAD_ALLOWED_TYPES', 'must name at least one MIME type');
        for (const type of types) {
          if (!/^[a-z0-9][a-z0-9.+-]*\/[a-z0-9][a-z0-9.+-]*$/.test(type)) {
            throw new ConfigError('UPLOAD_ALLOWED_TYPES', `must be a comma-separated list of MIME types like image/png, got "${type}"`);
          }
          if (/html|svg|xml|javascript|ecmascript/.test(type)) {
            throw new ConfigError('UPLOAD_ALLOWED_TYPES', `must not allow content a browser could run, got "${type}"`);
          }
        }
        return types;
      })(
        str(
          env,
          'UPLOAD_ALLOWED_TYPES',
          'image/png,image/jpeg,image/gif,image/webp,application/pdf,video/mp4,video/webm,video/quicktime,' +
            'audio/mpeg,audio/ogg,audio/wav,audio/webm,audio/mp4,text/plain,application/zip',
        ),
      ),
    ),
    fileUrlTtlSeconds: int(env, 'FILE_URL_TTL_SECONDS', 300, 10, 7 * 24 * 3600),
    certificateUrlTtlSeconds: int(env, 'CERTIFICATE_URL_TTL_SECONDS', 7 * 24 * 3600, 60, 90 * 24 * 3600),
  });
}
