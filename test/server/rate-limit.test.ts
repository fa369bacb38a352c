import t from '../helpers/tap.js';
import { buildApp, type App } from '../../server/app.js';
import { createTestEnv } from '../helpers/app.js';
import { errorOf, replyOf } from '../helpers/http.js';
import { createUser } from '../helpers/users.js';

// Two instances over one database and one Redis prefix: the per-IP limit is shared.
const env = await createTestEnv(t, 'rate-limit', { RATE_LIMIT_MAX: '4', RATE_LIMIT_WINDOW_MS: '60000' });
const withStrictRoute = {
  extend(app: App) {
    app.get('/probe/strict', { config: { rateLimit: { max: 1, timeWindow: 60_000 } } }, async () => ({ ok: true }));
  },
};
const [one, two] = await Promise.all([buildApp(env.config, withStrictRoute), buildApp(env.config, withStrictRoute)]);
env.defer(() => one!.close());
env.defer(() => two!.close());

t.test('the per-IP limit is shared by every instance and answers 429 RATE_LIMITED', async (t) => {
  const user = await createUser(one!, 'student');
  const fromIp = { remoteAddress: '203.0.113.7' };
  const statuses: number[] = [];
  for (const app of [one!, two!, one!, two!]) {
    statuses.push((await app.inject({ method: 'GET', url: '/api/me', headers: user.headers, ...fromIp })).statusCode);
  }
  t.same(statuses, [200, 200, 200, 200]);
  const limited = await two!.inject({ method: 'GET', url: '/api/me', headers: user.headers, ...fromIp });
  const body = errorOf(replyOf(limited), 429);
  t.same(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode']);
  t.equal(body.code, 'RATE_LIMITED');
  t.ok(Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 60);
  // Anonymous routes count too; health checks never do.
  t.equal((await one!.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'a@example.com', password: 'x' }, ...fromIp })).statusCode, 429);
  const probing = await two!.inject({ method: 'GET', url: '/api/no-such-route', ...fromIp });
  t.equal(probing.statusCode, 429, 'unknown routes count too, so probing for routes is limited');
  t.equal(errorOf(replyOf(probing), 429).code, 'RATE_LIMITED');
  for (const url of ['/health', '/ready', '/metrics']) {
    t.equal((await one!.inject({ method: 'GET', url, ...fromIp })).statusCode, 200, url);
  }
  t.equal(
    (await one!.inject({ method: 'GET', url: '/api/me', headers: user.headers, remoteAddress: '203.0.113.8' })).statusCode,
    200,
    'another IP is not limited',
  );
});

t.test('an unknown route answers 404 NOT_FOUND and counts against the per-IP limit', async (t) => {
  const fromIp = { remoteAddress: '192.0.2.99' };
  const missing = await one!.inject({ method: 'GET', url: '/api/nope?x=1', ...fromIp });
  t.same(errorOf(replyOf(missing), 404), { statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', message: 'Route GET /api/nope not found' });
  t.equal(missing.headers['x-ratelimit-remaining'], '3', 'the 404 took one of the four requests');
});

t.test('a route with its own limit counts apart from the per-IP limit', async (t) => {
  const fromIp = { remoteAddress: '192.0.2.44' };
  t.equal((await one!.inject({ method: 'GET', url: '/probe/strict', ...fromIp })).statusCode, 200);
  const limited = await two!.inject({ method: 'GET', url: '/probe/strict', ...fromIp });
  t.equal(errorOf(replyOf(limited), 429).code, 'RATE_LIMITED');
  t.equal((await one!.inject({ method: 'GET', url: '/health', ...fromIp })).statusCode, 200);
  const user = await createUser(one!, 'student');
  t.equal((await one!.inject({ method: 'GET', url: '/api/me', headers: user.headers, ...fromIp })).statusCode, 200);
});

t.test('with Redis unreachable the limiter fails open', async (t) => {
  const user = await createUser(one!, 'student');
  one!.redis.disconnect();
  t.teardown(() => one!.redis.connect().catch(() => undefined));
  for (let i = 0; i < 6; i++) {
    const res = await one!.inject({ method: 'GET', url: '/api/me', headers: user.headers, remoteAddress: '198.51.100.1' });
    t.equal(res.statusCode, 200, `request ${i + 1}`);
  }
  const login = await one!.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: user.email, password: 'wrong-password' },
    remoteAddress: '198.51.100.1',
  });
  t.equal(login.statusCode, 401, 'the per-email limiter lets the attempt through too');
});
