/**
 * The environment this server reads, as one TypeBox schema: every variable with its type,
 * default, bounds and meaning. `loadConfig` (config.ts) turns each variable's text into the
 * type its schema names, validates the whole object once against this schema, then applies the
 * rules that span variables.
 *
 * Annotations besides JSON Schema, read by `loadConfig`:
 * - `problem`: what a value that fails the schema is told ("must …"); `{got}` is replaced by
 *   the value. Integers and enums need none (bounds and choices say it).
 * - `protocols`: a URL variable's allowed schemes.
 * - `lowercase`: the text is lower-cased before it is checked.
 * - comma-separated lists are arrays: items are trimmed, empty ones dropped.
 * A variable without `default` is optional or has a default computed from others (see its
 * description).
 */
import { Type, type Static, type TSchemaOptions } from 'typebox';
import { SECRET_MIN_LENGTH } from './secrets.js';

const HOUR_MS = 3600_000;
const DAY_S = 24 * 3600;

const integer = (minimum: number, maximum: number, options: TSchemaOptions) => Type.Integer({ minimum, maximum, ...options });
const flag = (fallback: boolean, description: string) => Type.Boolean({ default: fallback, description: `${description} (on/off, true/false, 1/0, yes/no)` });
const url = (fallback: string, protocols: string[], description: string) => Type.String({ default: fallback, protocols, description });
const port = (description: string) => Type.Optional(integer(0, 65_535, { description }));

export const DEFAULT_UPLOAD_ALLOWED_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'application/pdf',
  'video/mp4',
  'video/webm',
  'video/quicktime',
  'audio/mpeg',
  'audio/ogg',
  'audio/wav',
  'audio/webm',
  'audio/mp4',
  'text/plain',
  'application/zip',
];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const EnvSchema = Type.Object({
  NODE_ENV: Type.Enum(['development', 'test', 'production'], { default: 'development', description: 'Run mode.' }),
  HOST: Type.String({ default: '0.0.0.0', description: 'Address the API (and a worker’s /metrics) listens on.' }),
  PORT: integer(0, 65_535, { default: 3000, description: 'Port of the API.' }),
  PUBLIC_URL: Type.Optional(
    Type.String({ protocols: ['http:', 'https:'], description: 'URL clients reach the server at (links, signed URLs). Default http://localhost:$PORT.' }),
  ),
  DATABASE_URL: url('postgresql://postgres@127.0.0.1:5432/classroom', ['postgres:', 'postgresql:'], 'PostgreSQL database; created if missing.'),
  DB_POOL_MAX: integer(1, 1000, { default: 10, description: 'PostgreSQL connections per process.' }),
  DB_STATEMENT_TIMEOUT_MS: integer(100, HOUR_MS, { default: 15_000, description: 'Longest query; then 503 (migrations exempt).' }),
  DB_ACQUIRE_TIMEOUT_MS: integer(100, 600_000, { default: 5000, description: 'Longest wait for a pooled connection; then 503.' }),
  REDIS_URL: url('redis://127.0.0.1:6379', ['redis:', 'rediss:'], 'Redis server.'),
  REDIS_PREFIX: Type.String({
    default: 'classroom',
    pattern: '^[A-Za-z0-9_-]+$',
    problem: 'may only contain letters, digits, "-" and "_"',
    description: 'Namespace of every Redis key; BullMQ uses <prefix>-bull.',
  }),
  REDIS_COMMAND_TIMEOUT_MS: integer(10, 60_000, { default: 250, description: 'Longest Redis command on the request path.' }),
  REDIS_SENTINELS: Type.Array(
    Type.String({
      pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$',
      problem: 'must be a comma-separated list of Sentinel addresses like 10.0.0.5:26379, got "{got}"',
    }),
    {
      default: [],
      description:
        'Comma-separated host:port of Redis Sentinels; with REDIS_SENTINEL_NAME, they say where the primary is (REDIS_URL then gives only db and password).',
    },
  ),
  REDIS_SENTINEL_NAME: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9_.-]+$',
      problem: 'may only contain letters, digits, ".", "-" and "_", got "{got}"',
      description: 'Name of the primary the Sentinels monitor (`sentinel monitor <name> …`).',
    }),
  ),
  REDIS_SENTINEL_PASSWORD: Type.Optional(Type.String({ description: 'Password of the Sentinels themselves (their requirepass), if they have one.' })),
  JWT_SECRET: Type.Optional(
    Type.String({
      minLength: SECRET_MIN_LENGTH,
      problem: `must be at least ${SECRET_MIN_LENGTH} characters`,
      description: 'Signs access tokens and derives the signed-URL key. Required in production; elsewhere generated once under STORAGE_DIR.',
    }),
  ),
  ACCESS_TOKEN_TTL_SECONDS: integer(5, DAY_S, { default: 15 * 60, description: 'Access token lifetime.' }),
  REFRESH_TOKEN_TTL_SECONDS: integer(60, 365 * DAY_S, { default: 30 * DAY_S, description: 'Absolute refresh token lifetime.' }),
  REFRESH_REUSE_GRACE_SECONDS: integer(0, 300, {
    default: 30,
    description: 'How long a rotated refresh token answers 409 TOKEN_ROTATED instead of counting as reuse.',
  }),
  STORAGE_DIR: Type.String({ default: './storage', description: 'Uploaded files and certificate PDFs; shared by every instance and worker.' }),
  ADMIN_EMAIL: Type.Optional(
    Type.String({
      lowercase: true,
      pattern: '^[^@\\s]+@[^@\\s]+$',
      problem: 'must be an email address, got "{got}"',
      description: 'First admin (with ADMIN_PASSWORD).',
    }),
  ),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 8, maxLength: 128, problem: 'must be 8 to 128 characters', description: 'First admin’s password.' })),
  WORKERS: flag(true, 'Run the BullMQ workers inside the API process'),
  CORS_ORIGINS: Type.Array(
    Type.String({ pattern: '^https?://[^/]+$', problem: 'must be a comma-separated list of origins like https://app.example.com, got "{got}"' }),
    { default: [], description: 'Comma-separated browser origins allowed to call the API.' },
  ),
  LOG_LEVEL: Type.Optional(Type.Enum([...LOG_LEVELS], { description: 'pino level. Default info (silent under NODE_ENV=test).' })),
  BODY_LIMIT_BYTES: integer(1024, 100 * 1024 * 1024, { default: 1024 * 1024, description: 'Largest JSON body.' }),
  // uploaded_files.file_size is an integer column: at most 2^31 - 1 bytes.
  UPLOAD_MAX_BYTES: integer(1, 2 ** 31 - 1, { default: 25 * 1024 * 1024, description: 'Largest upload.' }),
  QUIZ_GRACE_MS: integer(0, 60_000, { default: 2000, description: 'Network grace after a quiz deadline.' }),
  SOCKET_TOKEN_GRACE_MS: integer(0, HOUR_MS, { default: 60_000, description: 'How long a socket with an expired token waits for auth:refresh.' }),
  SWEEP_INTERVAL_MS: integer(100, HOUR_MS, { default: 30_000, description: 'Period of the maintenance sweep.' }),
  LIVE_SESSION_IDLE_MS: integer(1000, 30 * 24 * HOUR_MS, { default: 12 * HOUR_MS, description: 'The sweep ends a live session idle this long.' }),
  TRUST_PROXY: Type.Optional(
    Type.String({
      description: 'Whose X-Forwarded-* to believe: off (default); on (one hop); a hop count up to 20; or proxy addresses and CIDRs, comma-separated.',
    }),
  ),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000, { default: 10_000, description: 'Time given to running work on SIGTERM.' }),
  SHUTDOWN_DRAIN_MS: integer(0, 600_000, { default: 5000, description: 'How long /ready answers 503 before the instance closes.' }),
  SOCKET_EVENTS_PER_SECOND: integer(1, 10_000, { default: 20, description: 'Client events per user per second on one instance.' }),
  SOCKET_EVENTS_BURST: integer(1, 100_000, { default: 40, description: 'Burst of those client events.' }),
  SOCKET_HANDSHAKE_RATE_LIMIT_MAX: integer(1, 1_000_000, { default: 1000, description: 'Socket handshakes per IP per window.' }),
  SOCKET_HANDSHAKE_RATE_LIMIT_WINDOW_MS: integer(1000, 24 * HOUR_MS, { default: 60_000, description: 'Window of that limit.' }),
  SOCKETS_PER_USER_MAX: integer(1, 10_000, { default: 20, description: 'Sockets one user may hold on one instance.' }),
  SOCKET_JOIN_GRANT_MS: integer(0, 600_000, {
    default: 10_000,
    description: "How long after a student's handshake its joins to the courses read there need no database read (0: every join reads).",
  }),
  SOCKET_MAX_MESSAGE_BYTES: integer(1024, 16 * 1024 * 1024, { default: 64 * 1024, description: 'Largest Socket.IO message a client may send.' }),
  SOCKET_STREAM_MAX_LEN: integer(1000, 10_000_000, { default: 100_000, description: 'Length of the Socket.IO Redis stream.' }),
  PRESENCE_HEARTBEAT_MS: integer(50, 60_000, { default: 5000, description: 'Presence heartbeat period of an instance.' }),
  PRESENCE_TTL_MS: integer(100, 600_000, { default: 15_000, description: 'Lifetime of a heartbeat; more than twice PRESENCE_HEARTBEAT_MS.' }),
  WS_AUTH_TIMEOUT_MS: integer(100, 60_000, { default: 5000, description: 'How long a /ws connection has to send its auth frame.' }),
  RATE_LIMIT_MAX: integer(1, 1_000_000, { default: 600, description: 'Requests per IP per window.' }),
  RATE_LIMIT_WINDOW_MS: integer(1000, 24 * HOUR_MS, { default: 60_000, description: 'Window of that limit.' }),
  LOGIN_RATE_LIMIT_MAX: integer(1, 10_000, { default: 10, description: 'Login attempts per (email, IP) per window.' }),
  LOGIN_RATE_LIMIT_WINDOW_MS: integer(1000, 24 * HOUR_MS, { default: 15 * 60_000, description: 'Window of that limit.' }),
  LOGIN_EMAIL_FAILURE_MAX: integer(1, 1_000_000, { default: 100, description: 'Failed logins per email from all addresses per window.' }),
  LOGIN_EMAIL_FAILURE_WINDOW_MS: integer(1000, 24 * HOUR_MS, { default: 15 * 60_000, description: 'Window of that limit.' }),
  AUTH_RATE_LIMIT_MAX: integer(1, 1_000_000, { default: 1000, description: 'Register and login requests per IP per window.' }),
  AUTH_RATE_LIMIT_WINDOW_MS: integer(1000, 24 * HOUR_MS, { default: 60_000, description: 'Window of that limit.' }),
  UV_THREADPOOL_SIZE: integer(1, 1024, { default: 4, description: 'libuv’s thread pool (read by Node itself); bounds ARGON2_MAX_CONCURRENCY’s default.' }),
  ARGON2_MAX_CONCURRENCY: Type.Optional(
    integer(1, 64, { description: 'argon2 operations at once per process. Default min(cores − 1, UV_THREADPOOL_SIZE − 1), at least 1.' }),
  ),
  ARGON2_MAX_QUEUE: integer(0, 100_000, { default: 200, description: 'Password operations that may wait for a slot.' }),
  ARGON2_QUEUE_TIMEOUT_MS: integer(10, 60_000, { default: 5000, description: 'Longest wait for a slot; then 503.' }),
  PROGRESS_CONCURRENCY: integer(1, 1000, { default: 10, description: 'Progress recalculations one process runs at once.' }),
  CERTIFICATE_CONCURRENCY: integer(1, 100, { default: 2, description: 'Certificate jobs one process runs at once.' }),
  CERTIFICATE_RATE_PER_SECOND: integer(0, 100_000, {
    default: 0,
    description: 'Certificate jobs started per second across the deployment (BullMQ rate limiter); 0 for no limit.',
  }),
  WORKER_THREAD_NICE: integer(0, 19, {
    default: 10,
    description:
      'OS nice value of the worker thread of npm start (and its render thread): the API’s event loop runs first when cores are busy; 0 for equal priority.',
  }),
  REGRADE_BATCH_SIZE: integer(1, 5000, { default: 200, description: 'Attempts a regrade writes per transaction (and per progress step).' }),
  JOB_LOCK_MS: integer(1000, 600_000, { default: 30_000, description: 'BullMQ lock of a running job.' }),
  WORKER_METRICS_PORT: port('Port of a worker process’s /metrics; 0 picks a free one; unset serves none.'),
  METRICS_PORT: port('Port of an API instance’s own /metrics listener; 0 picks a free one; unset: /metrics on PORT.'),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, problem: 'must be at least 16 characters', description: 'Bearer token every /metrics requires.' })),
  DOCS_ENABLED: flag(true, 'Serve the OpenAPI document at /docs'),
  UPLOAD_ALLOWED_TYPES: Type.Array(
    Type.String({
      lowercase: true,
      pattern: '^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$',
      problem: 'must be a comma-separated list of MIME types like image/png, got "{got}"',
    }),
    {
      default: DEFAULT_UPLOAD_ALLOWED_TYPES,
      minItems: 1,
      problem: 'must name at least one MIME type',
      description: 'MIME types uploads may have (detected from the bytes), comma-separated; never HTML, SVG, XML or scripts.',
    },
  ),
  FILE_URL_TTL_SECONDS: integer(10, 7 * DAY_S, { default: 300, description: 'Lifetime of signed file URLs.' }),
  CERTIFICATE_URL_TTL_SECONDS: integer(60, 90 * DAY_S, { default: 7 * DAY_S, description: 'Lifetime of signed certificate PDF links.' }),
});

/** The environment after parsing, defaults and validation. */
export type Env = Static<typeof EnvSchema>;
