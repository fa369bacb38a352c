import t from '../helpers/tap.js';
import { buildTestApp } from '../helpers/app.js';
import { call, errorOf } from '../helpers/http.js';
import { createUser } from '../helpers/users.js';
import { signJwt } from '../realtime/socket-helpers.js';
import { QUEUES_COOKIE } from '../../server/plugins/admin-queues.js';
import { ensureWebBuilt } from './build.js';

await ensureWebBuilt();
const { app, config } = await buildTestApp(t, 'web-server', { TRUST_PROXY: '127.0.0.1' });
const admin = await createUser(app, 'admin');
const student = await createUser(app, 'student');

function cookieFrom(setCookie: string | string[] | number | undefined): { value: string; attributes: string } {
  const header = ([] as Array<string | number>)
    .concat(setCookie ?? [])
    .map(String)
    .find((line) => line.startsWith(`${QUEUES_COOKIE}=`));
  if (!header) throw new Error('no queues cookie set');
  const [pair, ...attributes] = header.split(';');
  return { value: pair!.slice(QUEUES_COOKIE.length + 1), attributes: attributes.join(';').toLowerCase() };
}

t.test('GET / sends browsers to the app, which is served from the build', async (t) => {
  const root = await app.inject({ method: 'GET', url: '/' });
  t.equal(root.statusCode, 302);
  t.equal(root.headers.location, '/app/');
  const page = await app.inject({ method: 'GET', url: '/app/' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /text\/html/);
  t.equal(page.headers['cache-control'], 'no-cache');
  const script = /src="\/app\/(app-[A-Z0-9]+\.js)"/.exec(page.body)?.[1];
  t.ok(script, 'index.html names the hashed bundle');
  const bundle = await app.inject({ method: 'GET', url: `/app/${script}` });
  t.equal(bundle.statusCode, 200);
  t.match(bundle.headers['cache-control'], /immutable/);
  const compressed = await app.inject({ method: 'GET', url: `/app/${script}`, headers: { 'accept-encoding': 'gzip' } });
  t.equal(compressed.headers['content-encoding'], 'gzip', 'the precompressed copy goes to browsers that accept it');
  t.ok(compressed.rawPayload.length < 150 * 1024, `the JS is ${compressed.rawPayload.length} bytes gzipped (budget 150 KiB)`);
  t.notOk(/https?:\/\/(?!localhost)[a-z0-9.-]+\.[a-z]{2,}\//i.test(page.body), 'the page loads nothing from another host');
});

t.test('the CSP allows this server only, and upgrades requests only behind HTTPS', async (t) => {
  const plain = await app.inject({ method: 'GET', url: '/app/' });
  const policy = String(plain.headers['content-security-policy']);
  t.match(policy, /default-src 'self'/);
  t.match(policy, /script-src 'self'(;|$)/);
  t.notMatch(policy, /upgrade-insecure-requests/, 'a plain-HTTP LAN page must not be upgraded (it would be blank)');
  t.notMatch(policy, /https:/, 'no other host, not even any https: one');
  const secure = await app.inject({ method: 'GET', url: '/app/', headers: { 'x-forwarded-proto': 'https' } });
  t.match(String(secure.headers['content-security-policy']), /upgrade-insecure-requests/);
});

t.test('only an admin gets the queue dashboard cookie', async (t) => {
  errorOf(await call(app, 'POST', '/api/admin/queues-session', null, {}), 401, 'UNAUTHORIZED');
  errorOf(await call(app, 'POST', '/api/admin/queues-session', student, {}), 403, 'FORBIDDEN');
  errorOf(await call(app, 'POST', '/api/admin/queues-session', admin, { extra: 1 }), 400, 'VALIDATION_ERROR');
  const granted = await call<{ url: string }>(app, 'POST', '/api/admin/queues-session', admin, {});
  t.equal(granted.status, 200);
  t.equal(granted.body.url, '/admin/queues/');
  const cookie = cookieFrom(granted.headers['set-cookie']);
  t.match(cookie.attributes, /httponly/);
  t.match(cookie.attributes, /samesite=strict/);
  t.match(cookie.attributes, /path=\/admin\/queues/);
  t.notMatch(cookie.attributes, /secure/, 'not Secure over plain HTTP: it would never come back');

  const board = await app.inject({ method: 'GET', url: '/admin/queues/', cookies: { [QUEUES_COOKIE]: cookie.value } });
  t.equal(board.statusCode, 200);
  t.match(board.body, /Classroom queues/);
  const queues = await app.inject({ method: 'GET', url: '/admin/queues/api/queues', cookies: { [QUEUES_COOKIE]: cookie.value } });
  t.equal(queues.statusCode, 200);
  t.match(queues.body, /quiz-deadlines/);

  const secure = await call(app, 'POST', '/api/admin/queues-session', { headers: { ...admin.headers, 'x-forwarded-proto': 'https' } }, {});
  t.match(cookieFrom(secure.headers['set-cookie']).attributes, /secure/);
});

t.test('the queue dashboard refuses visitors, students, forged and cross-site requests', async (t) => {
  const anonymous = await app.inject({ method: 'GET', url: '/admin/queues/' });
  t.equal(anonymous.statusCode, 401);
  t.match(anonymous.body, /admin/);
  t.equal((await app.inject({ method: 'GET', url: '/admin/queues/api/queues' })).statusCode, 401);

  // Signed with another secret; an access token in the cookie; a queues token of a student (as if the secret leaked).
  const forged = signJwt({ sub: admin.id, role: 'admin', typ: 'queues', exp: Math.floor(Date.now() / 1000) + 600 }, 'not-the-secret-not-the-secret-123');
  t.equal((await app.inject({ method: 'GET', url: '/admin/queues/', cookies: { [QUEUES_COOKIE]: forged } })).statusCode, 401);
  t.equal((await app.inject({ method: 'GET', url: '/admin/queues/', cookies: { [QUEUES_COOKIE]: admin.token } })).statusCode, 401);
  const studentTicket = signJwt({ sub: student.id, role: 'student', typ: 'queues', exp: Math.floor(Date.now() / 1000) + 600 }, config.jwtSecret);
  t.equal((await app.inject({ method: 'GET', url: '/admin/queues/', cookies: { [QUEUES_COOKIE]: studentTicket } })).statusCode, 403);

  const granted = await call(app, 'POST', '/api/admin/queues-session', admin, {});
  const { value } = cookieFrom(granted.headers['set-cookie']);
  const crossSite = await app.inject({
    method: 'PUT',
    url: '/admin/queues/api/queues/progress/pause',
    cookies: { [QUEUES_COOKIE]: value },
    headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
  });
  t.equal(crossSite.statusCode, 403);
  t.match(crossSite.body, /Cross-site/);

  // Demoted after the cookie was issued: refused at once.
  await call(app, 'PATCH', `/api/users/${admin.id}`, await createUser(app, 'admin'), { role: 'instructor' });
  t.equal((await app.inject({ method: 'GET', url: '/admin/queues/', cookies: { [QUEUES_COOKIE]: value } })).statusCode, 403);
});
