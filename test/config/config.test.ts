import t from '../helpers/tap.js';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig as loadConfigFrom, ConfigError, type Config } from '../../server/config/config.js';

// Without JWT_SECRET the configuration generates a secret under STORAGE_DIR: every load here gets
// a folder of its own by default, so that the suite never writes into the working copy.
const scratch = mkdtempSync(join(tmpdir(), 'classroom-config-'));
t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
let folders = 0;
const freshStorage = () => join(scratch, `storage-${++folders}`);
const loadConfig = (env: Record<string, string>): Config => loadConfigFrom({ STORAGE_DIR: freshStorage(), ...env });

t.test('defaults work on one machine', async (t) => {
  const config = loadConfig({});
  t.equal(config.port, 3000);
  t.equal(config.host, '0.0.0.0');
  t.equal(config.databaseUrl, 'postgresql://postgres@127.0.0.1:5432/classroom');
  t.equal(config.redisUrl, 'redis://127.0.0.1:6379');
  t.equal(config.workers, true);
  t.equal(config.publicUrl, 'http://localhost:3000');
  t.equal(config.queuePrefix, 'classroom-bull');
  t.ok(config.jwtSecret.length >= 32);
  t.same(config.corsOrigins, []);
  t.ok(Object.isFrozen(config));
});

t.test('values are parsed', async (t) => {
  const config = loadConfig({
    PORT: '8080',
    WORKERS: 'off',
    CORS_ORIGINS: 'https://a.example.com, http://localhost:5173',
    PUBLIC_URL: 'https://classroom.example.com/',
    ADMIN_EMAIL: 'Admin@Example.com',
    ADMIN_PASSWORD: 'correct horse',
    JWT_SECRET: 'x'.repeat(40),
    NODE_ENV: 'production',
  });
  t.equal(config.port, 8080);
  t.equal(config.workers, false);
  t.same(config.corsOrigins, ['https://a.example.com', 'http://localhost:5173']);
  t.equal(config.publicUrl, 'https://classroom.example.com');
  t.equal(config.adminEmail, 'admin@example.com');
  t.equal(config.jwtSecret, 'x'.repeat(40));
});

const bad: Array<[string, Record<string, string>, RegExp]> = [
  ['PORT', { PORT: 'eighty' }, /PORT must be an integer/],
  ['PORT', { PORT: '70000' }, /PORT must be between 0 and 65535/],
  ['NODE_ENV', { NODE_ENV: 'staging' }, /NODE_ENV must be one of/],
  ['JWT_SECRET', { NODE_ENV: 'production' }, /JWT_SECRET is required when NODE_ENV=production/],
  ['JWT_SECRET', { JWT_SECRET: 'short' }, /JWT_SECRET must be at least 32 characters/],
  ['DATABASE_URL', { DATABASE_URL: 'not a url' }, /DATABASE_URL must be a URL/],
  ['DATABASE_URL', { DATABASE_URL: 'mysql://localhost/db' }, /DATABASE_URL must use postgres/],
  ['REDIS_URL', { REDIS_URL: 'http://localhost' }, /REDIS_URL must use redis/],
  ['WORKERS', { WORKERS: 'maybe' }, /WORKERS must be one of/],
  ['ADMIN_PASSWORD', { ADMIN_EMAIL: 'a@b.c' }, /ADMIN_PASSWORD must be set together/],
  ['ADMIN_EMAIL', { ADMIN_PASSWORD: 'longenough' }, /ADMIN_EMAIL must be set together/],
  ['ADMIN_EMAIL', { ADMIN_EMAIL: 'nope', ADMIN_PASSWORD: 'longenough' }, /ADMIN_EMAIL must be an email/],
  ['ADMIN_PASSWORD', { ADMIN_EMAIL: 'a@b.c', ADMIN_PASSWORD: 'short' }, /ADMIN_PASSWORD must be 8 to 128/],
  ['REDIS_PREFIX', { REDIS_PREFIX: 'a:b' }, /REDIS_PREFIX may only contain/],
  ['CORS_ORIGINS', { CORS_ORIGINS: 'example.com' }, /CORS_ORIGINS must be a comma-separated list/],
  ['QUIZ_GRACE_MS', { QUIZ_GRACE_MS: '-1' }, /QUIZ_GRACE_MS must be between/],
  ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
  ['UPLOAD_ALLOWED_TYPES', { UPLOAD_ALLOWED_TYPES: ' , ' }, /UPLOAD_ALLOWED_TYPES must name at least one MIME type/],
  ['UPLOAD_ALLOWED_TYPES', { UPLOAD_ALLOWED_TYPES: 'image/png,png' }, /UPLOAD_ALLOWED_TYPES must be a comma-separated list of MIME types/],
  ['UPLOAD_ALLOWED_TYPES', { UPLOAD_ALLOWED_TYPES: 'image/png,image/svg+xml' }, /UPLOAD_ALLOWED_TYPES must not allow content a browser could run/],
  ['UPLOAD_ALLOWED_TYPES', { UPLOAD_ALLOWED_TYPES: 'text/html' }, /must not allow content a browser could run/],
  ['FILE_URL_TTL_SECONDS', { FILE_URL_TTL_SECONDS: '5' }, /FILE_URL_TTL_SECONDS must be between 10 and/],
  ['CERTIFICATE_URL_TTL_SECONDS', { CERTIFICATE_URL_TTL_SECONDS: '10' }, /CERTIFICATE_URL_TTL_SECONDS must be between 60 and/],
  ['CERTIFICATE_URL_TTL_SECONDS', { CERTIFICATE_URL_TTL_SECONDS: '1y' }, /CERTIFICATE_URL_TTL_SECONDS must be an integer/],
];

for (const [variable, env, message] of bad) {
  t.test(`a wrong ${variable} is named`, async (t) => {
    const error = t.throws(() => loadConfig(env)) as ConfigError;
    t.type(error, ConfigError);
    t.equal(error.variable, variable);
    t.match(error.message, message);
  });
}

t.test('files: upload allow-list and signed URL lifetime', async (t) => {
  const defaults = loadConfig({});
  t.same(defaults.uploadAllowedTypes, [
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
  ]);
  t.ok(Object.isFrozen(defaults.uploadAllowedTypes));
  t.equal(defaults.fileUrlTtlSeconds, 300);
  t.equal(defaults.uploadMaxBytes, 25 * 1024 * 1024);

  const custom = loadConfig({ UPLOAD_ALLOWED_TYPES: ' Image/PNG , application/pdf,', FILE_URL_TTL_SECONDS: '60' });
  t.same(custom.uploadAllowedTypes, ['image/png', 'application/pdf']);
  t.equal(custom.fileUrlTtlSeconds, 60);
});

t.test('auth: refresh rotation grace', async (t) => {
  t.equal(loadConfig({}).refreshReuseGraceSeconds, 30);
  t.equal(loadConfig({ REFRESH_REUSE_GRACE_SECONDS: '0' }).refreshReuseGraceSeconds, 0);
  t.throws(() => loadConfig({ REFRESH_REUSE_GRACE_SECONDS: '301' }), /REFRESH_REUSE_GRACE_SECONDS must be between 0 and 300/);
  t.throws(() => loadConfig({ REFRESH_REUSE_GRACE_SECONDS: 'half' }), /REFRESH_REUSE_GRACE_SECONDS must be an integer/);
});

t.test('certificates: signed PDF link lifetime', async (t) => {
  t.equal(loadConfig({}).certificateUrlTtlSeconds, 7 * 24 * 3600, 'a week by default');
  t.equal(loadConfig({ CERTIFICATE_URL_TTL_SECONDS: '3600' }).certificateUrlTtlSeconds, 3600);
});

t.test('auth: rate limits', async (t) => {
  const defaults = loadConfig({});
  t.equal(defaults.rateLimitMax, 600);
  t.equal(defaults.rateLimitWindowMs, 60_000);
  t.equal(defaults.loginRateLimitMax, 10);
  t.equal(defaults.loginRateLimitWindowMs, 15 * 60_000);
  t.equal(defaults.loginEmailFailureMax, 100);
  t.equal(defaults.loginEmailFailureWindowMs, 15 * 60_000);
  const ceiling = loadConfig({ LOGIN_EMAIL_FAILURE_MAX: '7', LOGIN_EMAIL_FAILURE_WINDOW_MS: '60000' });
  t.same([ceiling.loginEmailFailureMax, ceiling.loginEmailFailureWindowMs], [7, 60_000]);

  const custom = loadConfig({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '1000', LOGIN_RATE_LIMIT_MAX: '2', LOGIN_RATE_LIMIT_WINDOW_MS: '5000' });
  t.same([custom.rateLimitMax, custom.rateLimitWindowMs, custom.loginRateLimitMax, custom.loginRateLimitWindowMs], [3, 1000, 2, 5000]);

  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['RATE_LIMIT_MAX', { RATE_LIMIT_MAX: '0' }, /RATE_LIMIT_MAX must be between 1/],
    ['RATE_LIMIT_MAX', { RATE_LIMIT_MAX: 'lots' }, /RATE_LIMIT_MAX must be an integer/],
    ['RATE_LIMIT_WINDOW_MS', { RATE_LIMIT_WINDOW_MS: '10' }, /RATE_LIMIT_WINDOW_MS must be between 1000/],
    ['LOGIN_RATE_LIMIT_MAX', { LOGIN_RATE_LIMIT_MAX: '-1' }, /LOGIN_RATE_LIMIT_MAX must be between 1/],
    ['LOGIN_RATE_LIMIT_WINDOW_MS', { LOGIN_RATE_LIMIT_WINDOW_MS: '1.5' }, /LOGIN_RATE_LIMIT_WINDOW_MS must be an integer/],
    ['LOGIN_EMAIL_FAILURE_MAX', { LOGIN_EMAIL_FAILURE_MAX: '0' }, /LOGIN_EMAIL_FAILURE_MAX must be between 1/],
    ['LOGIN_EMAIL_FAILURE_WINDOW_MS', { LOGIN_EMAIL_FAILURE_WINDOW_MS: 'soon' }, /LOGIN_EMAIL_FAILURE_WINDOW_MS must be an integer/],
  ];
  for (const [variable, env, message] of bad) {
    const error = t.throws(() => loadConfig(env)) as ConfigError;
    t.equal(error.variable, variable);
    t.match(error.message, message);
  }
});

t.test('workers: concurrency per queue and job lock', async (t) => {
  const defaults = loadConfig({});
  t.same([defaults.progressConcurrency, defaults.certificateConcurrency, defaults.jobLockMs], [10, 2, 30_000]);

  const custom = loadConfig({ PROGRESS_CONCURRENCY: '4', CERTIFICATE_CONCURRENCY: '1', JOB_LOCK_MS: '2000' });
  t.same([custom.progressConcurrency, custom.certificateConcurrency, custom.jobLockMs], [4, 1, 2000]);

  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['PROGRESS_CONCURRENCY', { PROGRESS_CONCURRENCY: '0' }, /PROGRESS_CONCURRENCY must be between 1/],
    ['CERTIFICATE_CONCURRENCY', { CERTIFICATE_CONCURRENCY: 'two' }, /CERTIFICATE_CONCURRENCY must be an integer/],
    ['CERTIFICATE_CONCURRENCY', { CERTIFICATE_CONCURRENCY: '101' }, /CERTIFICATE_CONCURRENCY must be between 1 and 100/],
    ['JOB_LOCK_MS', { JOB_LOCK_MS: '500' }, /JOB_LOCK_MS must be between 1000/],
  ];
  for (const [variable, env, message] of bad) {
    const error = t.throws(() => loadConfig(env)) as ConfigError;
    t.equal(error.variable, variable);
    t.match(error.message, message);
  }
});

t.test('realtime across processes: stream length, presence heartbeats, /ws auth timeout', async (t) => {
  const defaults = loadConfig({});
  t.same([defaults.socketStreamMaxLen, defaults.presenceHeartbeatMs, defaults.presenceTtlMs, defaults.wsAuthTimeoutMs], [100_000, 5000, 15_000, 5000]);
  const custom = loadConfig({ SOCKET_STREAM_MAX_LEN: '5000', PRESENCE_HEARTBEAT_MS: '200', PRESENCE_TTL_MS: '600', WS_AUTH_TIMEOUT_MS: '300' });
  t.same([custom.socketStreamMaxLen, custom.presenceHeartbeatMs, custom.presenceTtlMs, custom.wsAuthTimeoutMs], [5000, 200, 600, 300]);

  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['SOCKET_STREAM_MAX_LEN', { SOCKET_STREAM_MAX_LEN: '10' }, /SOCKET_STREAM_MAX_LEN must be between 1000/],
    ['PRESENCE_HEARTBEAT_MS', { PRESENCE_HEARTBEAT_MS: 'soon' }, /PRESENCE_HEARTBEAT_MS must be an integer/],
    ['PRESENCE_TTL_MS', { PRESENCE_HEARTBEAT_MS: '1000', PRESENCE_TTL_MS: '1500' }, /PRESENCE_TTL_MS must exceed twice PRESENCE_HEARTBEAT_MS/],
    ['WS_AUTH_TIMEOUT_MS', { WS_AUTH_TIMEOUT_MS: '0' }, /WS_AUTH_TIMEOUT_MS must be between 100/],
  ];
  for (const [variable, env, message] of bad) {
    const error = t.throws(() => loadConfig(env)) as ConfigError;
    t.equal(error.variable, variable);
    t.match(error.message, message);
  }
});

t.test('timeouts that bound waiting on PostgreSQL and Redis', async (t) => {
  const defaults = loadConfig({});
  t.same([defaults.dbStatementTimeoutMs, defaults.dbAcquireTimeoutMs, defaults.redisCommandTimeoutMs], [15_000, 5000, 250]);
  const custom = loadConfig({ DB_STATEMENT_TIMEOUT_MS: '2000', DB_ACQUIRE_TIMEOUT_MS: '1000', REDIS_COMMAND_TIMEOUT_MS: '100' });
  t.same([custom.dbStatementTimeoutMs, custom.dbAcquireTimeoutMs, custom.redisCommandTimeoutMs], [2000, 1000, 100]);
  for (const [variable, value] of [
    ['DB_STATEMENT_TIMEOUT_MS', '0'],
    ['DB_ACQUIRE_TIMEOUT_MS', 'soon'],
    ['REDIS_COMMAND_TIMEOUT_MS', '5'],
  ]) {
    const error = t.throws(() => loadConfig({ [variable!]: value! })) as ConfigError;
    t.equal(error.variable, variable);
  }
});

t.test('Redis Sentinel: the Sentinels and the primary’s name together, or neither', async (t) => {
  t.equal(loadConfig({}).redisSentinel, null, 'none by default: REDIS_URL’s host and port');
  const config = loadConfig({
    REDIS_URL: 'redis://:secret@ignored-host:1234/2',
    REDIS_SENTINELS: ' 10.0.0.5:26379, sentinel-b.internal:26380 ,[::1]:26381',
    REDIS_SENTINEL_NAME: 'classroom-main',
    REDIS_SENTINEL_PASSWORD: 'sentinel secret',
  });
  t.same(config.redisSentinel, {
    sentinels: [
      { host: '10.0.0.5', port: 26379 },
      { host: 'sentinel-b.internal', port: 26380 },
      { host: '::1', port: 26381 },
    ],
    name: 'classroom-main',
    password: 'sentinel secret',
  });
  t.ok(Object.isFrozen(config.redisSentinel));
  t.equal(config.redisUrl, 'redis://:secret@ignored-host:1234/2', 'REDIS_URL is kept for its database and password');
  t.equal(loadConfig({ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_NAME: 'm' }).redisSentinel?.password, null, 'the Sentinels’ password is optional');
  t.equal(loadConfig({ REDIS_SENTINELS: ' ', REDIS_SENTINEL_NAME: '' }).redisSentinel, null, 'blank counts as unset');

  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['REDIS_SENTINEL_NAME', { REDIS_SENTINELS: '10.0.0.5:26379' }, /REDIS_SENTINEL_NAME must be set together with its pair/],
    ['REDIS_SENTINELS', { REDIS_SENTINEL_NAME: 'm' }, /REDIS_SENTINELS must be set together with its pair/],
    [
      'REDIS_SENTINELS',
      { REDIS_SENTINELS: '10.0.0.5', REDIS_SENTINEL_NAME: 'm' },
      /REDIS_SENTINELS must be a comma-separated list of Sentinel addresses like 10.0.0.5:26379, got "10.0.0.5"/,
    ],
    ['REDIS_SENTINELS', { REDIS_SENTINELS: 'a:26379,b:port', REDIS_SENTINEL_NAME: 'm' }, /got "b:port"/],
    ['REDIS_SENTINELS', { REDIS_SENTINELS: '::1:26379', REDIS_SENTINEL_NAME: 'm' }, /got "::1:26379"/],
    ['REDIS_SENTINELS', { REDIS_SENTINELS: 'a:26379,b:70000', REDIS_SENTINEL_NAME: 'm' }, /REDIS_SENTINELS must have ports between 1 and 65535, got "b:70000"/],
    ['REDIS_SENTINEL_NAME', { REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_NAME: 'my master' }, /REDIS_SENTINEL_NAME may only contain letters, digits/],
    ['REDIS_SENTINEL_PASSWORD', { REDIS_SENTINEL_PASSWORD: 'secret' }, /REDIS_SENTINEL_PASSWORD is only used with REDIS_SENTINELS/],
    ['REDIS_URL', { REDIS_URL: 'redis://127.0.0.1:6379/cache' }, /REDIS_URL must have a database number or nothing as its path, got "\/cache"/],
  ];
  for (const [variable, env, message] of bad) {
    const error = t.throws(() => loadConfig(env), variable) as ConfigError;
    t.equal(error.variable, variable);
    t.match(error.message, message);
  }
});

t.test('JWT_SECRET unset: a random secret is generated once under STORAGE_DIR, private, and reused', async (t) => {
  const storage = freshStorage();
  const first = loadConfigFrom({ STORAGE_DIR: storage });
  const file = join(storage, '.secrets', 'jwt-secret');
  t.equal(first.jwtSecretFile, file);
  t.ok(first.jwtSecret.length >= 32, 'at least 32 characters');
  t.not(first.jwtSecret, 'dev-only-secret-change-me-0123456789abcdef', 'not the secret once committed');
  t.equal(readFileSync(file, 'utf8').trim(), first.jwtSecret);
  t.equal(statSync(file).mode & 0o777, 0o600, 'the file is 0600');
  t.equal(statSync(join(storage, '.secrets')).mode & 0o777, 0o700, 'its folder is 0700');

  const second = loadConfigFrom({ STORAGE_DIR: storage, NODE_ENV: 'test' });
  t.equal(second.jwtSecret, first.jwtSecret, 'a second load over the same STORAGE_DIR agrees');
  t.not(loadConfigFrom({ STORAGE_DIR: freshStorage() }).jwtSecret, first.jwtSecret, 'another STORAGE_DIR has its own');

  const explicit = loadConfigFrom({ STORAGE_DIR: freshStorage(), JWT_SECRET: 'y'.repeat(40) });
  t.equal(explicit.jwtSecret, 'y'.repeat(40));
  t.equal(explicit.jwtSecretFile, null);
  t.notOk(existsSync(join(explicit.storageDir, '.secrets')), 'no file is written when JWT_SECRET is set');

  const production = freshStorage();
  t.throws(() => loadConfigFrom({ STORAGE_DIR: production, NODE_ENV: 'production' }), /JWT_SECRET is required when NODE_ENV=production/);
  t.notOk(existsSync(production), 'production never falls back to a generated secret');
});

t.test('processes starting together over one STORAGE_DIR end up with the same secret', async (t) => {
  const storage = freshStorage();
  const script = `import { loadConfig } from ${JSON.stringify(new URL('../../server/config/config.ts', import.meta.url).pathname)};
process.stdout.write(loadConfig({ STORAGE_DIR: ${JSON.stringify(storage)} }).jwtSecret);`;
  const runs = Array.from(
    { length: 6 },
    () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk) => (out += chunk));
        child.stderr.on('data', (chunk) => (err += chunk));
        child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
      }),
  );
  const secrets = await Promise.all(runs);
  t.equal(new Set(secrets).size, 1, 'one secret');
  t.ok(secrets[0]!.length >= 32);
  t.equal(readFileSync(join(storage, '.secrets', 'jwt-secret'), 'utf8').trim(), secrets[0]);
});

t.test('a generated secret that cannot be created or is damaged is a ConfigError naming JWT_SECRET', async (t) => {
  const notAFolder = join(scratch, 'a-file');
  writeFileSync(notAFolder, 'x');
  const unwritable = t.throws(() => loadConfigFrom({ STORAGE_DIR: join(notAFolder, 'storage') })) as ConfigError;
  t.type(unwritable, ConfigError);
  t.equal(unwritable.variable, 'JWT_SECRET');
  t.match(
    unwritable.message,
    /JWT_SECRET is unset and its generated replacement .*jwt-secret cannot be (read|created).*set JWT_SECRET or make STORAGE_DIR writable/,
  );

  const damaged = freshStorage();
  mkdirSync(join(damaged, '.secrets'), { recursive: true });
  writeFileSync(join(damaged, '.secrets', 'jwt-secret'), 'short\n');
  const short = t.throws(() => loadConfigFrom({ STORAGE_DIR: damaged })) as ConfigError;
  t.equal(short.variable, 'JWT_SECRET');
  t.match(short.message, /must hold a secret of at least 32 characters/);
});

t.test('TRUST_PROXY: off, a hop count (on = one hop) or a list of proxy addresses and CIDRs', async (t) => {
  const parsed = (value?: string) => loadConfig(value === undefined ? {} : { TRUST_PROXY: value }).trustProxy;
  t.equal(parsed(), false);
  for (const off of ['off', 'false', '0', 'no']) t.equal(parsed(off), false, off);
  for (const on of ['on', 'true', 'ON', 'yes', '1']) t.equal(parsed(on), 1, `${on} is one hop, not every hop`);
  t.equal(parsed('3'), 3);
  t.same(parsed('10.0.0.0/8, 192.168.1.10 ,fd00::/8,loopback'), ['10.0.0.0/8', '192.168.1.10', 'fd00::/8', 'loopback']);
  for (const bad of ['21', '10.0.0.0/33', 'proxy.example.com', '10.0.0.1/8/9', '::1/129', '10.0.0.0/x', 'maybe']) {
    const error = t.throws(() => parsed(bad)) as ConfigError;
    t.equal(error.variable, 'TRUST_PROXY', bad);
  }
});

t.test('operations endpoints: METRICS_PORT, METRICS_TOKEN, DOCS_ENABLED', async (t) => {
  const defaults = loadConfig({});
  t.same([defaults.metricsPort, defaults.metricsToken, defaults.docsEnabled], [null, null, true], 'public /metrics and /docs on PORT by default');
  const custom = loadConfig({ METRICS_PORT: '9464', METRICS_TOKEN: 't'.repeat(16), DOCS_ENABLED: 'off' });
  t.same([custom.metricsPort, custom.metricsToken, custom.docsEnabled], [9464, 't'.repeat(16), false]);
  t.equal(loadConfig({ METRICS_PORT: '0' }).metricsPort, 0, 'any free port');
  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['METRICS_PORT', { METRICS_PORT: '70000' }, /METRICS_PORT must be between 0 and 65535/],
    ['METRICS_PORT', { PORT: '8080', METRICS_PORT: '8080' }, /METRICS_PORT must differ from PORT/],
    ['METRICS_TOKEN', { METRICS_TOKEN: 'short' }, /METRICS_TOKEN must be at least 16 characters/],
    ['DOCS_ENABLED', { DOCS_ENABLED: 'sometimes' }, /DOCS_ENABLED must be one of/],
  ];
  for (const [variable, env, message] of bad) {
    const error = t.throws(() => loadConfig(env)) as ConfigError;
    t.equal(error.variable, variable);
    t.match(error.message, message);
  }
});

t.test('argon2 slots and the per-IP budget of register and login', async (t) => {
  const defaults = loadConfig({});
  t.equal(defaults.authRateLimitMax, 1000, 'a school behind one address fits');
  t.equal(defaults.authRateLimitWindowMs, 60_000);
  const cores = (await import('node:os')).availableParallelism();
  t.equal(defaults.argon2MaxConcurrency, Math.max(1, Math.min(cores - 1, 3)), 'a core for the event loop, a pool thread for file I/O');
  t.equal(loadConfig({ UV_THREADPOOL_SIZE: '64' }).argon2MaxConcurrency, Math.max(1, cores - 1));
  t.equal(loadConfig({ UV_THREADPOOL_SIZE: '1' }).argon2MaxConcurrency, 1);
  t.same([defaults.argon2MaxQueue, defaults.argon2QueueTimeoutMs], [200, 5000]);
  const custom = loadConfig({
    AUTH_RATE_LIMIT_MAX: '5000',
    AUTH_RATE_LIMIT_WINDOW_MS: '10000',
    ARGON2_MAX_CONCURRENCY: '4',
    ARGON2_MAX_QUEUE: '0',
    ARGON2_QUEUE_TIMEOUT_MS: '100',
  });
  t.same(
    [custom.authRateLimitMax, custom.authRateLimitWindowMs, custom.argon2MaxConcurrency, custom.argon2MaxQueue, custom.argon2QueueTimeoutMs],
    [5000, 10_000, 4, 0, 100],
  );
  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['AUTH_RATE_LIMIT_MAX', { AUTH_RATE_LIMIT_MAX: '0' }, /AUTH_RATE_LIMIT_MAX must be between 1/],
    ['ARGON2_MAX_CONCURRENCY', { ARGON2_MAX_CONCURRENCY: '0' }, /ARGON2_MAX_CONCURRENCY must be between 1 and 64/],
    ['ARGON2_MAX_QUEUE', { ARGON2_MAX_QUEUE: '-1' }, /ARGON2_MAX_QUEUE must be between 0/],
    ['ARGON2_QUEUE_TIMEOUT_MS', { ARGON2_QUEUE_TIMEOUT_MS: '5' }, /ARGON2_QUEUE_TIMEOUT_MS must be between 10/],
    ['UV_THREADPOOL_SIZE', { UV_THREADPOOL_SIZE: 'many' }, /UV_THREADPOOL_SIZE must be an integer/],
  ];
  for (const [variable, env, message] of bad) {
    const error = t.throws(() => loadConfig(env)) as ConfigError;
    t.equal(error.variable, variable);
    t.match(error.message, message);
  }
});

t.test('the environment is one schema: every variable typed, described, bounded, with its default', async (t) => {
  const { EnvSchema } = await import('../../server/config/env-schema.js');
  const variables = Object.entries(EnvSchema.properties) as Array<[string, { description?: string; type?: string; minimum?: number; maximum?: number }]>;
  t.ok(variables.length >= 60, 'every variable loadConfig reads is in the schema');
  for (const [name, schema] of variables) {
    t.ok(schema.description, `${name} says what it is for`);
    if (schema.type === 'integer') t.ok(schema.minimum !== undefined && schema.maximum !== undefined, `${name} is bounded`);
  }
  const required = new Set<string>(EnvSchema.required);
  for (const [name, schema] of variables) {
    if (required.has(name)) t.not((schema as { default?: unknown }).default, undefined, `${name} is optional or has a default`);
  }
});

t.test('blank values count as unset; several wrong variables: the first in the schema is named', async (t) => {
  const blank = loadConfig({ PORT: '  ', WORKERS: '', CORS_ORIGINS: ' ', METRICS_PORT: '', WORKER_METRICS_PORT: ' ', LOG_LEVEL: '' });
  t.same([blank.port, blank.workers, blank.corsOrigins, blank.metricsPort, blank.workerMetricsPort, blank.logLevel], [3000, true, [], null, null, 'info']);
  t.equal(loadConfig({ NODE_ENV: 'test' }).logLevel, 'silent', 'LOG_LEVEL defaults by NODE_ENV');
  t.equal(loadConfig({ PORT: '8081' }).publicUrl, 'http://localhost:8081', 'PUBLIC_URL defaults by PORT');
  const error = t.throws(() => loadConfig({ JOB_LOCK_MS: '1', PORT: 'x', NODE_ENV: 'staging' })) as ConfigError;
  t.equal(error.variable, 'NODE_ENV');
  t.match(error.message, /NODE_ENV must be one of development, test, production, got "staging"/);
});

t.test('more wrong values, each named with what it must be', async (t) => {
  const bad: Array<[string, Record<string, string>, RegExp]> = [
    ['PORT', { PORT: '3.5' }, /PORT must be an integer, got "3.5"/],
    ['PORT', { PORT: '-1' }, /PORT must be between 0 and 65535, got -1/],
    ['PUBLIC_URL', { PUBLIC_URL: 'ftp://files.example.com' }, /PUBLIC_URL must use http: or https:, got "ftp:"/],
    ['REDIS_URL', { REDIS_URL: 'redis//nohost' }, /REDIS_URL must be a URL, got "redis\/\/nohost"/],
    ['ADMIN_PASSWORD', { ADMIN_EMAIL: 'a@b.c', ADMIN_PASSWORD: 'x'.repeat(129) }, /ADMIN_PASSWORD must be 8 to 128 characters/],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://ok.example.com,https://bad.example.com/path' }, /got "https:\/\/bad.example.com\/path"/],
    ['UPLOAD_ALLOWED_TYPES', { UPLOAD_ALLOWED_TYPES: 'text/plain,Text/XML' }, /must not allow content a browser could run, got "text\/xml"/],
    ['UV_THREADPOOL_SIZE', { UV_THREADPOOL_SIZE: '0' }, /UV_THREADPOOL_SIZE must be between 1 and 1024, got 0/],
    ['WORKER_METRICS_PORT', { WORKER_METRICS_PORT: '65536' }, /WORKER_METRICS_PORT must be between 0 and 65535/],
    ['TRUST_PROXY', { TRUST_PROXY: '21' }, /TRUST_PROXY must be at most 20 hops, got 21/],
    ['SOCKET_STREAM_MAX_LEN', { SOCKET_STREAM_MAX_LEN: '1e5' }, /SOCKET_STREAM_MAX_LEN must be an integer, got "1e5"/],
  ];
  for (const [variable, env, message] of bad) {
    const error = t.throws(() => loadConfig(env), variable) as ConfigError;
    t.equal(error.variable, variable);
    t.match(error.message, message);
  }
  const storage = freshStorage();
  t.throws(() => loadConfigFrom({ STORAGE_DIR: storage, PORT: 'x' }), /PORT/);
  t.notOk(existsSync(storage), 'nothing is written before every variable passed');
});
