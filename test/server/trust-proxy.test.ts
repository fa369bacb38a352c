import t from '../helpers/tap.js';
import { Type } from 'typebox';
import { buildApp, type App } from '../../server/app.js';
import { createTestEnv } from '../helpers/app.js';
import { bodyOf, replyOf } from '../helpers/http.js';

// Behind one load balancer that appends the address it saw to X-Forwarded-For, a client can
// still send a header of its own: "spoofed, real". Only the last hop may be believed.
const env = await createTestEnv(t, 'trust-proxy', { RATE_LIMIT_MAX: '3' });
const probe = (app: App) => {
  // Outside the per-IP limit, which the last test exercises on its own route.
  app.get('/probe/ip', { config: { rateLimit: false } }, async (request) => ({ ip: request.ip, protocol: request.protocol }));
};

async function appWith(trustProxy: string): Promise<App> {
  const { loadConfig } = await import('../../server/config/config.js');
  const app = await buildApp(loadConfig({ ...env.env, TRUST_PROXY: trustProxy }), { extend: probe });
  env.defer(() => app.close());
  return app;
}

/** What the probe answers. */
const Seen = Type.Object({ ip: Type.String(), protocol: Type.String() });
const seen = async (app: App, forwardedFor: string, remoteAddress = '10.0.0.1') =>
  bodyOf(
    replyOf(await app.inject({ method: 'GET', url: '/probe/ip', headers: { 'x-forwarded-for': forwardedFor, 'x-forwarded-proto': 'https' }, remoteAddress })),
    200,
    Seen,
  );

t.test('TRUST_PROXY=on trusts one hop: the address the load balancer appended', async (t) => {
  const app = await appWith('on');
  t.same(await seen(app, '203.0.113.66, 198.51.100.7'), { ip: '198.51.100.7', protocol: 'https' }, 'not the spoofed first entry');
  t.equal((await seen(app, '198.51.100.7')).ip, '198.51.100.7');
});

t.test('a hop count trusts that many proxies', async (t) => {
  const one = await appWith('1');
  t.equal((await seen(one, 'spoofed-does-not-matter, 203.0.113.66, 198.51.100.7')).ip, '198.51.100.7');
  const two = await appWith('2');
  t.equal((await seen(two, '203.0.113.66, 198.51.100.7, 10.0.0.2')).ip, '198.51.100.7', 'a CDN in front of the load balancer');
});

t.test('a list of proxy addresses and CIDRs trusts those hops only', async (t) => {
  const app = await appWith('10.0.0.0/8, 192.0.2.1');
  t.equal((await seen(app, '203.0.113.66, 198.51.100.7, 10.1.2.3')).ip, '198.51.100.7', 'walks back over trusted hops to the first untrusted one');
  t.equal((await seen(app, '198.51.100.7', '192.0.2.1')).ip, '198.51.100.7');
  t.equal((await seen(app, '198.51.100.7', '192.0.2.2')).ip, '192.0.2.2', 'a peer not in the list is the client itself');
});

t.test('off ignores X-Forwarded-For', async (t) => {
  const app = await appWith('off');
  t.same(await seen(app, '198.51.100.7'), { ip: '10.0.0.1', protocol: 'http' });
});

t.test('the per-IP rate limit counts the address the trusted hop reported', async (t) => {
  const app = await appWith('1');
  const from = (forwardedFor: string) =>
    app.inject({ method: 'GET', url: '/api/courses', headers: { 'x-forwarded-for': forwardedFor }, remoteAddress: '10.0.0.1' });
  const statuses: number[] = [];
  // The client changes its own first entry every time: it does not escape its limit.
  for (let i = 0; i < 4; i++) statuses.push((await from(`203.0.113.${i}, 198.51.100.99`)).statusCode);
  t.same(statuses, [200, 200, 200, 429]);
  t.equal((await from('198.51.100.100')).statusCode, 200, 'another client behind the same proxy has its own budget');
});
