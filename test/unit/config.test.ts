import t from 'tap';
import { loadConfig, ConfigError } from '../../server/config.js';

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
];

for (const [variable, env, message] of bad) {
  t.test(`a wrong ${variable} is named`, async (t) => {
    const error = t.throws(() => loadConfig(env)) as ConfigError;
    t.type(error, ConfigError);
    t.equal(error.variable, variable);
    t.match(error.message, message);
  });
}
