import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { BodySession, createUser, TEST_PASSWORD, type TestUser } from '../../helpers/users.js';
import { buildApp } from '../../../server/app.js';
import { createTestEnv } from '../../helpers/app.js';
import { bodyOf, call, errorOf, replyOf } from '../../helpers/http.js';
import { UserPage, UserResponse } from '../../../server/modules/users/users.schemas.js';
import { Session } from '../../../server/modules/auth/auth.schemas.js';

const { app } = await buildTestApp(t, 'users');
const db = (sql: string, params: unknown[] = []) => app.orm.em.fork().getConnection().execute(sql, params);

async function login(email: string, password = TEST_PASSWORD): Promise<BodySession> {
  return bodyOf(await call(app, 'POST', '/api/auth/login', null, { email, password }), 200, BodySession);
}
const refresh = (refreshToken: string) => call(app, 'POST', '/api/auth/refresh', null, { refreshToken });
const patchUser = (by: TestUser, id: string, payload: object) => call(app, 'PATCH', `/api/users/${id}`, by, payload);

t.test('GET and PATCH /me', async (t) => {
  const user = await createUser(app, 'student', { fullName: 'Old Name' });
  const got = bodyOf(await call(app, 'GET', '/api/me', user), 200, UserResponse);
  t.match(got, { id: user.id, email: user.email, fullName: 'Old Name', role: 'student', isActive: true, metadata: {}, lastLoginAt: null });
  t.notOk('passwordHash' in got);

  const patched = bodyOf(
    await call(app, 'PATCH', '/api/me', user, { fullName: 'New Name', metadata: { locale: 'fr', tz: 'Europe/Paris' } }),
    200,
    UserResponse,
  );
  t.match(patched, { fullName: 'New Name', metadata: { locale: 'fr', tz: 'Europe/Paris' } });
  t.ok(Date.parse(patched.updatedAt) >= Date.parse(got.updatedAt));

  const replaced = bodyOf(await call(app, 'PATCH', '/api/me', user, { metadata: { theme: 'dark' } }), 200, UserResponse);
  t.same(replaced.metadata, { theme: 'dark' }, 'metadata is replaced as a whole');
  t.equal(replaced.fullName, 'New Name');

  for (const payload of [{ role: 'admin' }, { email: 'x@example.com' }, { fullName: '' }, { metadata: 'text' }, { metadata: [1] }, { isActive: false }]) {
    const res = await call(app, 'PATCH', '/api/me', user, payload);
    t.equal(res.status, 400, JSON.stringify(payload));
    t.equal(errorOf(res, 400).code, 'VALIDATION_ERROR');
  }
  // Free-form JSON is bounded: 32 levels and 64 Ki characters; deeper or larger is a 400, never a 500.
  const nested = (depth: number) => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
  for (const [label, metadata, message] of [
    ['8,000 levels', nested(8000), /64 levels/],
    ['33 levels', nested(33), /metadata must not nest more than 32 levels/],
    ['70,000 characters', JSON.stringify({ note: 'x'.repeat(70_000) }), /metadata must not be larger than 65536 characters/],
  ] as const) {
    const res = await app.inject({
      method: 'PATCH',
      url: '/api/me',
      headers: { ...user.headers, 'content-type': 'application/json' },
      payload: `{"metadata":${metadata}}`,
    });
    t.equal(res.statusCode, 400, `metadata of ${label}`);
    t.match(errorOf(replyOf(res), 400), { code: 'VALIDATION_ERROR', message }, label);
  }
  const [row] = await db('SELECT role, full_name, email, metadata FROM users WHERE id = ?', [user.id]);
  t.same(row, { role: 'student', full_name: 'New Name', email: user.email, metadata: { theme: 'dark' } }, 'refused patches wrote nothing');
  const deepest = await app.inject({
    method: 'PATCH',
    url: '/api/me',
    headers: { ...user.headers, 'content-type': 'application/json' },
    payload: `{"metadata":${nested(32)}}`,
  });
  t.equal(deepest.statusCode, 200, '32 levels are fine');
  t.equal((await app.inject({ method: 'GET', url: '/api/me' })).statusCode, 401);
});

t.test('POST /me/password', async (t) => {
  const user = await createUser(app, 'student');
  const current = await login(user.email);
  const other = await login(user.email);

  const wrong = errorOf(await call(app, 'POST', '/api/me/password', user, { currentPassword: 'not-it-at-all', newPassword: 'brand-new-password' }), 400);
  t.equal(wrong.code, 'VALIDATION_ERROR');
  t.match(wrong.message, /currentPassword/);

  const short = await app.inject({
    method: 'POST',
    url: '/api/me/password',
    headers: user.headers,
    payload: { currentPassword: TEST_PASSWORD, newPassword: 'short' },
  });
  t.equal(short.statusCode, 400);

  const ok = await app.inject({
    method: 'POST',
    url: '/api/me/password',
    headers: user.headers,
    payload: { currentPassword: TEST_PASSWORD, newPassword: 'brand-new-password', refreshToken: current.refreshToken },
  });
  t.equal(ok.statusCode, 204);

  const oldLogin = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: user.email, password: TEST_PASSWORD } });
  t.equal(oldLogin.statusCode, 401, 'the old password is gone');
  t.equal((await refresh(other.refreshToken)).status, 401, 'other sessions are ended');
  const kept = await refresh(current.refreshToken);
  t.equal(kept.status, 200, 'this session survives, even after the stale one knocked');
  const fresh = await login(user.email, 'brand-new-password');

  // Without a refresh token in the body, every session ends.
  const again = await app.inject({
    method: 'POST',
    url: '/api/me/password',
    headers: user.headers,
    payload: { currentPassword: 'brand-new-password', newPassword: 'third-password!' },
  });
  t.equal(again.statusCode, 204);
  t.equal((await refresh(bodyOf(kept, 200, BodySession).refreshToken)).status, 401);
  t.equal((await refresh(fresh.refreshToken)).status, 401);
  const [live] = await db('SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL', [user.id]);
  t.equal(live.n, 0);
});

t.test('role matrix on /users', async (t) => {
  const student = await createUser(app, 'student');
  const instructor = await createUser(app, 'instructor');
  const admin = await createUser(app, 'admin');
  const matrix: Array<[string, Record<string, string>, number]> = [
    ['anonymous', {}, 401],
    ['student', student.headers, 403],
    ['instructor', instructor.headers, 403],
    ['admin', admin.headers, 200],
  ];
  for (const [who, headers, status] of matrix) {
    const list = await app.inject({ method: 'GET', url: '/api/users', headers });
    t.equal(list.statusCode, status, `GET /users as ${who}`);
    const patch = await app.inject({ method: 'PATCH', url: `/api/users/${student.id}`, headers, payload: { fullName: `Renamed by ${who}` } });
    t.equal(patch.statusCode, status, `PATCH /users/:id as ${who}`);
    if (status !== 200) t.equal(errorOf(replyOf(list), status).code, status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN');
  }
  const [row] = await db('SELECT full_name FROM users WHERE id = ?', [student.id]);
  t.equal(row.full_name, 'Renamed by admin');
});

t.test('GET /users filters by role and q, and pages', async (t) => {
  const { app } = await buildTestApp(t, 'users-list');
  const admin = await createUser(app, 'admin', { email: 'boss@example.com', fullName: 'The Boss' });
  await createUser(app, 'instructor', { email: 'ada@lovelace.org', fullName: 'Ada Lovelace' });
  await createUser(app, 'student', { email: 'alan@turing.org', fullName: 'Alan Turing' });
  await createUser(app, 'student', { email: 'grace@navy.mil', fullName: 'Grace LOVE Hopper' });
  await createUser(app, 'student', { email: 'percent@example.com', fullName: '100% sure' });
  const reply = (query: string) => call<unknown>(app, 'GET', `/api/users?${query}`, admin);
  const list = async (query: string) => bodyOf(await reply(query), 200, UserPage);

  const allReply = await reply('');
  const all = bodyOf(allReply, 200, UserPage);
  t.match(all, { total: 5, page: 1, limit: 20 });
  t.equal(all.items.length, 5);
  t.notMatch(JSON.stringify(allReply.body), /passwordHash/);

  const students = await list('role=student');
  t.equal(students.total, 3);
  t.ok(students.items.every((u) => u.role === 'student'));

  const love = await list('q=LoVe');
  t.same(love.items.map((u) => u.email).sort(), ['ada@lovelace.org', 'grace@navy.mil'], 'email or name, case-insensitive');
  t.same(
    (await list('q=love&role=student')).items.map((u) => u.email),
    ['grace@navy.mil'],
  );
  t.same(
    (await list('q=turing.ORG')).items.map((u) => u.email),
    ['alan@turing.org'],
  );
  t.same(
    (await list(`q=${encodeURIComponent('%')}`)).items.map((u) => u.email),
    ['percent@example.com'],
    '% is literal',
  );
  t.same((await list('q=_')).total, 0, '_ is literal');

  const page2 = await list('page=2&limit=2');
  t.match(page2, { total: 5, page: 2, limit: 2 });
  t.equal(page2.items.length, 2);
  const page1 = await list('page=1&limit=2');
  t.notSame(
    page1.items.map((u) => u.id),
    page2.items.map((u) => u.id),
  );

  for (const query of ['role=root', 'limit=101', 'limit=0', 'page=0', 'page=x', 'page=1e21', 'page=999999999999999999', 'page=1000001', 'limit=1e21']) {
    const bad = await reply(query);
    t.equal(bad.status, 400, query);
    t.equal(errorOf(bad, 400).code, 'VALIDATION_ERROR');
  }
});

t.test('PATCH /users/:id changes role, status, name and metadata', async (t) => {
  const admin = await createUser(app, 'admin');
  const user = await createUser(app, 'student');
  const events: unknown[] = [];
  const accountChanged = app.publisher.accountChanged;
  app.publisher.accountChanged = function (userId) {
    events.push({ userId });
    accountChanged.call(this, userId);
  };
  t.teardown(() => void (app.publisher.accountChanged = accountChanged));

  const res = await patchUser(admin, user.id, { role: 'instructor', fullName: 'Promoted', metadata: { note: 'welcome' } });
  t.match(bodyOf(res, 200, UserResponse), { id: user.id, role: 'instructor', fullName: 'Promoted', metadata: { note: 'welcome' }, isActive: true });
  t.same(events, [{ userId: user.id }], 'its live connections must authenticate again');

  t.equal((await patchUser(admin, user.id, { fullName: 'Same role' })).status, 200);
  t.equal(events.length, 1, 'no event without a role change');

  const missing = await patchUser(admin, '0b6f8a4e-1c4e-4a57-9d1e-2f1b8f0c9a11', { fullName: 'x' });
  t.equal(errorOf(missing, 404).code, 'NOT_FOUND');
  for (const [id, payload] of [
    ['not-a-uuid', { fullName: 'x' }],
    [user.id, { role: 'superuser' }],
    [user.id, { isActive: 'false' }],
    [user.id, { email: 'new@example.com' }],
    [user.id, { passwordHash: 'x' }],
  ] as const) {
    const bad = await patchUser(admin, id, payload);
    t.equal(bad.status, 400, JSON.stringify(payload));
    t.equal(errorOf(bad, 400).code, 'VALIDATION_ERROR');
  }
});

t.test('deactivation revokes every refresh token of the user', async (t) => {
  const admin = await createUser(app, 'admin');
  const user = await createUser(app, 'student');
  const a = await login(user.email);
  const b = await login(user.email);
  t.equal((await patchUser(admin, user.id, { isActive: false })).status, 200);
  const [live] = await db('SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL', [user.id]);
  t.equal(live.n, 0);
  t.equal((await refresh(a.refreshToken)).status, 401);
  t.equal((await refresh(b.refreshToken)).status, 401);
});

t.test('the last active admin cannot be demoted or deactivated', async (t) => {
  const { app } = await buildTestApp(t, 'users-admins');
  const patch = (by: TestUser, id: string, payload: object) => call(app, 'PATCH', `/api/users/${id}`, by, payload);
  const first = await createUser(app, 'admin');

  for (const payload of [{ role: 'instructor' }, { isActive: false }, { role: 'student', isActive: false }]) {
    const res = await patch(first, first.id, payload);
    t.equal(res.status, 409, JSON.stringify(payload));
    t.equal(errorOf(res, 409).code, 'CONFLICT');
  }
  t.equal((await patch(first, first.id, { role: 'admin', fullName: 'Still here' })).status, 200, 'harmless self-edits pass');

  // An inactive admin does not count.
  const dormant = await createUser(app, 'admin', { isActive: false });
  t.equal((await patch(first, first.id, { role: 'instructor' })).status, 409);
  t.equal((await patch(first, dormant.id, { isActive: true })).status, 200);

  // Two admins demoting each other at the same moment: exactly one succeeds.
  const results = await Promise.all([patch(first, dormant.id, { role: 'student' }), patch(dormant, first.id, { role: 'student' })]);
  const statuses = results.map((r) => r.status).sort();
  // The loser gets 409, or 401 when its own demotion committed before its token was checked.
  t.equal(statuses[0], 200, `statuses ${statuses.join(',')}`);
  t.ok([401, 409].includes(statuses[1]!), `statuses ${statuses.join(',')}`);
  const [admins] = await app.orm.em.fork().getConnection().execute(`SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND is_active`);
  t.equal(admins.n, 1);
});

t.test('the first admin comes from ADMIN_EMAIL/ADMIN_PASSWORD, created once', async (t) => {
  const env = await createTestEnv(t, 'users-bootstrap', { ADMIN_EMAIL: 'Root@Example.com', ADMIN_PASSWORD: 'bootstrap-password' });
  // Two instances starting at once.
  const apps = await Promise.all([buildApp(env.config), buildApp(env.config)]);
  for (const instance of apps) env.defer(() => instance.close());
  const [instance] = apps;
  const rows = await instance!.orm.em.fork().getConnection().execute(`SELECT role, is_active, full_name FROM users WHERE email = 'root@example.com'`);
  t.same(rows, [{ role: 'admin', is_active: true, full_name: 'Administrator' }]);

  const res = await call(instance!, 'POST', '/api/auth/login', null, { email: 'root@example.com', password: 'bootstrap-password' });
  t.equal(bodyOf(res, 200, Session).user.role, 'admin');

  // A restart with another password leaves the account alone.
  const restarted = await buildApp({ ...env.config, adminPassword: 'another-password' });
  env.defer(() => restarted.close());
  const again = await restarted.orm.em.fork().getConnection().execute(`SELECT count(*)::int AS n FROM users`);
  t.equal(again[0].n, 1);
  const stillOld = await restarted.inject({ method: 'POST', url: '/api/auth/login', payload: { email: 'root@example.com', password: 'bootstrap-password' } });
  t.equal(stillOld.statusCode, 200);
});
