import t from '../../helpers/tap.js';
import { buildApp } from '../../../server/app.js';
import { loadConfig } from '../../../server/config/config.js';
import { createTestEnv } from '../../helpers/app.js';
import { countRows, errorOf, replyOf } from '../../helpers/http.js';
import { createUser, TEST_PASSWORD } from '../../helpers/users.js';
import { waitFor } from '../../helpers/wait.js';

// Every unknown-email login and every registration costs an argon2 hash (19 MiB, tens of ms of
// CPU). At most ARGON2_MAX_CONCURRENCY run at once, ARGON2_MAX_QUEUE wait; beyond, and past
// ARGON2_QUEUE_TIMEOUT_MS of waiting, the answer is 503 UNAVAILABLE with Retry-After.
const env = await createTestEnv(t, 'password-work', { ARGON2_MAX_CONCURRENCY: '1', ARGON2_MAX_QUEUE: '1', ARGON2_QUEUE_TIMEOUT_MS: '5000' });
const { app } = { app: await buildApp(env.config) };
env.defer(() => app.close());

// Raw injects: the tests need `remoteAddress`, which `call` does not take.
const login = async (email: string, password = 'wrong-password-1', ip = '203.0.113.5') =>
  replyOf(await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password }, remoteAddress: ip }));

t.test('a burst of unknown-email logins: one hash runs, one waits, the rest get 503 UNAVAILABLE with Retry-After', async (t) => {
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => login(`nobody-${i}@example.com`, 'wrong-password-1', `203.0.113.${10 + i}`)));
  const statuses = answers.map((res) => res.status);
  t.ok(statuses.filter((status) => status === 503).length >= 1, `some refused: ${statuses.join(',')}`);
  t.ok(statuses.filter((status) => status === 401).length >= 2, 'the running and the waiting one were answered');
  t.ok(
    statuses.every((status) => status === 401 || status === 503),
    statuses.join(','),
  );
  for (const refused of answers.filter((res) => res.status === 503)) {
    const body = errorOf(refused, 503);
    t.same(Object.keys(body).sort(), ['code', 'error', 'message', 'statusCode']);
    t.equal(body.code, 'UNAVAILABLE');
    t.ok(Number(refused.headers['retry-after']) >= 1, `retry-after ${refused.headers['retry-after']}`);
  }
});

t.test('with the one slot taken and the queue full, a third hash is refused at once; none is lost', async (t) => {
  let release!: () => void;
  const held = app.passwordWork.run(() => new Promise<void>((resolve) => (release = resolve)));
  const user = await createUser(app, 'student');
  const waiting = login(user.email, TEST_PASSWORD, '203.0.113.30');
  // The request reaches the queue after parsing and the per-IP limit: wait for it, not for a time.
  await waitFor('the login to queue', () => app.passwordWork.queued === 1);
  t.equal(app.passwordWork.queued, 1, 'the login waits for the slot');

  const before = await countRows(app, ['users', 'refresh_tokens']);
  const refusedLogin = await login('someone@example.com', 'wrong-password-1', '203.0.113.31');
  t.equal(errorOf(refusedLogin, 503).code, 'UNAVAILABLE');
  t.ok(Number(refusedLogin.headers['retry-after']) >= 1);
  const refusedRegister = await app.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email: 'busy@example.com', password: 'password-123', fullName: 'Busy' },
    remoteAddress: '203.0.113.32',
  });
  t.equal(refusedRegister.statusCode, 503, 'registration too');
  const refusedChange = await app.inject({
    method: 'POST',
    url: '/api/me/password',
    headers: user.headers,
    payload: { currentPassword: TEST_PASSWORD, newPassword: 'new-password-1' },
  });
  t.equal(refusedChange.statusCode, 503, 'and password changes');
  t.same(await countRows(app, ['users', 'refresh_tokens']), before, 'nothing was written');

  release();
  await held;
  t.equal((await waiting).status, 200, 'the waiting login went through once the slot was free');
  t.equal(app.passwordWork.queued, 0);
  t.equal(app.passwordWork.active, 0);
});

t.test('an address that signed in to the account before goes ahead of a flood of strangers', async (t) => {
  const user = await createUser(app, 'student');
  const home = '203.0.113.50';
  t.equal((await login(user.email, TEST_PASSWORD, home)).status, 200, 'the address becomes known');
  let release!: () => void;
  const held = app.passwordWork.run(() => new Promise<void>((resolve) => (release = resolve)));
  const stranger = login('stranger@example.com', 'wrong-password-1', '203.0.113.51');
  await waitFor("the stranger's login to queue", () => app.passwordWork.queued === 1);
  t.equal(app.passwordWork.queued, 1, 'the queue is full');
  const owner = login(user.email, TEST_PASSWORD, home);
  const displaced = await stranger;
  t.equal(displaced.status, 503, 'the stranger gives up its place');
  t.equal(errorOf(displaced, 503).code, 'UNAVAILABLE');
  release();
  await held;
  t.equal((await owner).status, 200, 'the known address signs in');
});

t.test('a login that waited longer than ARGON2_QUEUE_TIMEOUT_MS is refused', async (t) => {
  const strict = await buildApp(loadConfig({ ...env.env, ARGON2_MAX_CONCURRENCY: '1', ARGON2_MAX_QUEUE: '10', ARGON2_QUEUE_TIMEOUT_MS: '100' }));
  t.teardown(() => strict.close());
  let release!: () => void;
  const held = strict.passwordWork.run(() => new Promise<void>((resolve) => (release = resolve)));
  const started = performance.now();
  const res = await strict.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email: 'late@example.com', password: 'x' },
    remoteAddress: '203.0.113.40',
  });
  t.equal(errorOf(replyOf(res), 503).code, 'UNAVAILABLE');
  t.ok(performance.now() - started >= 95, 'after waiting its time');
  t.equal(strict.passwordWork.queued, 0, 'it left the queue');
  release();
  await held;
});

t.test('register and login have their own per-IP limit (AUTH_RATE_LIMIT_MAX per AUTH_RATE_LIMIT_WINDOW_MS)', async (t) => {
  const limited = await buildApp(loadConfig({ ...env.env, AUTH_RATE_LIMIT_MAX: '3', ARGON2_MAX_QUEUE: '100' }));
  t.teardown(() => limited.close());
  const ip = '198.51.100.77';
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) {
    statuses.push(
      (await limited.inject({ method: 'POST', url: '/api/auth/login', payload: { email: `a${i}@example.com`, password: 'wrong-pw-1' }, remoteAddress: ip }))
        .statusCode,
    );
  }
  const register = await limited.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: { email: 'r@example.com', password: 'password-123', fullName: 'R' },
    remoteAddress: ip,
  });
  t.same([...statuses, register.statusCode], [401, 401, 401, 429], 'register and login share the budget');
  t.equal(errorOf(replyOf(register), 429).code, 'RATE_LIMITED');
  t.ok(Number(register.headers['retry-after']) > 0);
  t.equal((await limited.inject({ method: 'GET', url: '/api/courses', remoteAddress: ip })).statusCode, 200, 'other routes are not affected');
  t.equal(
    (
      await limited.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email: 'b@example.com', password: 'wrong-pw-1' },
        remoteAddress: '198.51.100.78',
      })
    ).statusCode,
    401,
    'another address has its own budget',
  );
});
