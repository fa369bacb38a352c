import t from '../helpers/tap.js';
import { buildApp, type App } from '../../server/app.js';
import { loadConfig } from '../../server/config/config.js';
import { createTestEnv } from '../helpers/app.js';
import { bodyOf, errorOf, replyOf } from '../helpers/http.js';
import { ReadyResponse } from '../../server/plugins/health.js';
import { waitForRedis } from '../../server/platform/redis.js';

// /ready, /metrics and /docs are reachable without a token: what they reveal and what they cost.
const env = await createTestEnv(t, 'ops-endpoints');

async function appWith(overrides: Record<string, string> = {}): Promise<App> {
  const app = await buildApp(loadConfig({ ...env.env, ...overrides }));
  env.defer(() => app.close());
  return app;
}

/** Counts the readiness probes that reach PostgreSQL and Redis (the real calls still run). */
function countProbes(app: App) {
  const counts = { postgres: 0, redis: 0 };
  const connection = app.orm.em.getConnection();
  const execute = connection.execute.bind(connection);
  connection.execute = ((query: unknown, ...rest: unknown[]) => {
    if (query === 'SELECT 1') counts.postgres++;
    return (execute as (...args: unknown[]) => unknown)(query, ...rest);
  }) as typeof connection.execute;
  const ping = app.redis.ping.bind(app.redis);
  app.redis.ping = ((...args: unknown[]) => {
    counts.redis++;
    return (ping as (...args: unknown[]) => unknown)(...args);
  }) as typeof app.redis.ping;
  return counts;
}

t.test('/ready answers a flood from one probe per second', async (t) => {
  const app = await appWith();
  const counts = countProbes(app);
  const answers = await Promise.all(Array.from({ length: 50 }, () => app.inject({ method: 'GET', url: '/ready' })));
  t.ok(answers.every((res) => res.statusCode === 200));
  t.same(counts, { postgres: 1, redis: 1 }, '50 concurrent calls, one query and one PING');
  for (let i = 0; i < 20; i++) await app.inject({ method: 'GET', url: '/ready' });
  t.same(counts, { postgres: 1, redis: 1 }, 'and the answer is reused for about a second');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  t.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200);
  t.same(counts, { postgres: 2, redis: 2 }, 'then probed again');
});

t.test("/ready names what is down without the driver's error text", async (t) => {
  const app = await appWith();
  app.redis.disconnect();
  t.teardown(async () => {
    await app.redis.connect().catch(() => undefined);
    await waitForRedis(app.redis, 5000);
  });
  const res = await app.inject({ method: 'GET', url: '/ready' });
  t.match(bodyOf(replyOf(res), 503, ReadyResponse), {
    status: 'unavailable',
    checks: { postgres: { ok: true }, redis: { ok: false, error: 'Redis did not answer' } },
  });
  t.notMatch(res.body, /closed|stream|offline|ECONN|enableOfflineQueue|127\.0\.0\.1|6379/i, 'no driver message, address or port');
});

t.test('METRICS_TOKEN puts /metrics behind a bearer token', async (t) => {
  const token = 'scrape-token-0123456789abcdef';
  const app = await appWith({ METRICS_TOKEN: token });
  const scrape = (authorization?: string) => app.inject({ method: 'GET', url: '/metrics', headers: authorization ? { authorization } : {} });
  for (const wrong of [undefined, 'Bearer nope', `Bearer ${token}x`, token, `Basic ${token}`]) {
    const res = await scrape(wrong);
    t.equal(res.statusCode, 401, String(wrong));
    t.equal(errorOf(replyOf(res), 401).code, 'UNAUTHORIZED');
  }
  const ok = await scrape(`Bearer ${token}`);
  t.equal(ok.statusCode, 200);
  t.match(ok.body, /process_cpu_seconds_total/);
});

t.test('METRICS_PORT serves /metrics on its own port and no longer on the API port', async (t) => {
  const token = 'scrape-token-0123456789abcdef';
  const app = await appWith({ METRICS_PORT: '0', HOST: '127.0.0.1', METRICS_TOKEN: token });
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404, 'not on the API port');
  const url = app.metricsServer?.url;
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  t.equal((await fetch(url!)).status, 401, 'the token applies there too');
  const scraped = await fetch(url!, { headers: { authorization: `Bearer ${token}` } });
  t.equal(scraped.status, 200);
  await app.inject({ method: 'GET', url: '/health' });
  t.match(await scraped.text(), /http_request_duration_seconds/);
  t.equal((await fetch(url!.replace('/metrics', '/docs'), { headers: { authorization: `Bearer ${token}` } })).status, 404, 'nothing else there');
});

t.test('by default /metrics and /docs are public, as before', async (t) => {
  const app = await appWith();
  t.equal((await app.inject({ method: 'GET', url: '/metrics' })).statusCode, 200);
  t.equal((await app.inject({ method: 'GET', url: '/docs/json' })).statusCode, 200);
  t.equal(app.metricsServer, null);
});

t.test('DOCS_ENABLED=off removes /docs', async (t) => {
  const app = await appWith({ DOCS_ENABLED: 'off' });
  for (const url of ['/docs', '/docs/json', '/docs/static/index.html']) t.equal((await app.inject({ method: 'GET', url })).statusCode, 404, url);
  t.equal((await app.inject({ method: 'GET', url: '/api/courses' })).statusCode, 200, 'the API still validates and answers');
});
