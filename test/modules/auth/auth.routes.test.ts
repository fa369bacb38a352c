import t from '../../helpers/tap.js';
import { createHmac } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import argon2 from 'argon2';
import { buildTestApp } from '../../helpers/app.js';
import { bodyOf, call, errorOf, replyOf } from '../../helpers/http.js';
import { OpenApiDocument } from '../../helpers/openapi.js';
import { BodySession, createUser, TEST_PASSWORD } from '../../helpers/users.js';
import { refreshTokenDigest } from '../../../server/modules/auth/auth.queries.js';
import { UserResponse } from '../../../server/modules/users/users.schemas.js';
import { ErrorResponse } from '../../../server/platform/schemas.js';
import { requireRole } from '../../../server/plugins/auth.js';
import type { App } from '../../../server/app.js';

const LOGIN_LIMIT = 5;
const { app } = await buildTestApp(
  t,
  'auth',
  { LOGIN_RATE_LIMIT_MAX: String(LOGIN_LIMIT) },
  {
    extend(app) {
      // An instructor-only route, to watch a demotion bite.
      app.get('/probe/instructor', { preHandler: [app.authenticate, requireRole('instructor', 'admin')] }, async () => ({ ok: true }));
    },
  },
);

const db = (sql: string, params: unknown[] = []) => app.orm.em.fork().getConnection().execute(sql, params);
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
let seq = 0;
const uniqueEmail = (name = 'user') => `${name}-${++seq}-${Date.now()}@example.com`;

async function register(target: App, email = uniqueEmail(), password = 'password-123'): Promise<BodySession> {
  return bodyOf(await call(target, 'POST', '/api/auth/register', null, { email, password, fullName: 'Test Person' }), 201, BodySession);
}

const login = (email: string, password: string) => call(app, 'POST', '/api/auth/login', null, { email, password });
const refresh = (refreshToken: string) => call(app, 'POST', '/api/auth/refresh', null, { refreshToken });
const me = (token: string) => call(app, 'GET', '/api/me', { headers: bearer(token) });

async function counts() {
  const [users] = await db('SELECT count(*)::int AS n FROM users');
  const [tokens] = await db('SELECT count(*)::int AS n FROM refresh_tokens');
  return { users: users.n as number, tokens: tokens.n as number };
}

/** `$argon2id$v=19$m=19456,t=2,p=1$salt$hash` (argon2 writes the parameters in any order). */
function parseArgon2(encoded: string) {
  const [, algorithm, version, params, salt, digest] = encoded.split('$');
  return {
    algorithm,
    version: Number(version?.replace('v=', '')),
    params: Object.fromEntries((params ?? '').split(',').map((pair) => [pair.split('=')[0], Number(pair.split('=')[1])])),
    salt,
    digest,
  };
}

/** An HS256 JWT built by hand, to control every claim and the header. */
function handMadeJwt(header: object, payload: object, secret: string | null): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part(header)}.${part(payload)}`;
  return secret === null ? `${unsigned}.` : `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

t.test('register creates a student, signs it in and stores only an argon2id hash', async (t) => {
  const before = await counts();
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/register',
    headers: { 'user-agent': 'U'.repeat(400) },
    payload: { email: '  Grace.Hopper@Example.COM ', password: 'cobol-forever', fullName: 'Grace Hopper' },
  });
  const body = bodyOf(replyOf(res), 201, BodySession);
  t.same(Object.keys(body).sort(), ['accessToken', 'refreshToken', 'user']);
  t.same(Object.keys(body.user).sort(), ['createdAt', 'email', 'fullName', 'id', 'isActive', 'lastLoginAt', 'metadata', 'role', 'updatedAt']);
  t.match(body.user, { email: 'grace.hopper@example.com', fullName: 'Grace Hopper', role: 'student', isActive: true, metadata: {} });
  t.notMatch(res.body, /passwordHash|password_hash|argon2/);

  const after = await counts();
  t.same(after, { users: before.users + 1, tokens: before.tokens + 1 });

  const [row] = await db('SELECT password_hash FROM users WHERE id = ?', [body.user.id]);
  const hash = parseArgon2(row.password_hash);
  t.equal(hash.algorithm, 'argon2id');
  t.equal(hash.version, 19);
  t.same(hash.params, { m: 19456, t: 2, p: 1 }, 'OWASP minimum: m=19456 KiB, t=2, p=1');
  t.ok(await argon2.verify(row.password_hash, 'cobol-forever'));

  // Only a digest of the refresh token is stored, with its audit fields.
  const [token] = await db('SELECT token_jti, user_agent, ip_address, expires_at, revoked_at FROM refresh_tokens WHERE user_id = ?', [body.user.id]);
  t.equal(token.token_jti, refreshTokenDigest(body.refreshToken));
  t.not(token.token_jti, body.refreshToken);
  t.equal(token.user_agent, 'U'.repeat(255));
  t.equal(token.ip_address, '127.0.0.1');
  t.equal(token.revoked_at, null);
  const ttlMs = new Date(token.expires_at).getTime() - Date.now();
  t.ok(
    ttlMs > app.config.refreshTokenTtlSeconds * 1000 - 60_000 && ttlMs <= app.config.refreshTokenTtlSeconds * 1000,
    'expires after REFRESH_TOKEN_TTL_SECONDS',
  );

  t.equal(bodyOf(await me(body.accessToken), 200, UserResponse).id, body.user.id);
});

t.test('a taken email is 409 CONFLICT, whatever its case, even when two registrations race', async (t) => {
  const email = uniqueEmail('taken');
  await register(app, email);
  errorOf(await call(app, 'POST', '/api/auth/register', null, { email: email.toUpperCase(), password: 'password-123', fullName: 'X' }), 409, 'CONFLICT');

  const raced = uniqueEmail('race');
  const results = await Promise.all(
    [1, 2, 3].map(() => app.inject({ method: 'POST', url: '/api/auth/register', payload: { email: raced, password: 'password-123', fullName: 'R' } })),
  );
  t.same(results.map((r) => r.statusCode).sort(), [201, 409, 409]);
  const [row] = await db('SELECT count(*)::int AS n FROM users WHERE email = ?', [raced]);
  t.equal(row.n, 1);
});

const invalid: Array<[string, InjectOptions]> = [
  ['register: malformed email', { method: 'POST', url: '/api/auth/register', payload: { email: 'not-an-email', password: 'password-123', fullName: 'X' } }],
  [
    'register: email over 255',
    { method: 'POST', url: '/api/auth/register', payload: { email: `${'a'.repeat(250)}@example.com`, password: 'password-123', fullName: 'X' } },
  ],
  ['register: password of 7', { method: 'POST', url: '/api/auth/register', payload: { email: 'short@example.com', password: '1234567', fullName: 'X' } }],
  [
    'register: password of 129',
    { method: 'POST', url: '/api/auth/register', payload: { email: 'long@example.com', password: 'p'.repeat(129), fullName: 'X' } },
  ],
  ['register: empty fullName', { method: 'POST', url: '/api/auth/register', payload: { email: 'empty@example.com', password: 'password-123', fullName: '' } }],
  [
    'register: fullName over 255',
    { method: 'POST', url: '/api/auth/register', payload: { email: 'name@example.com', password: 'password-123', fullName: 'n'.repeat(256) } },
  ],
  [
    'register: role smuggled in',
    { method: 'POST', url: '/api/auth/register', payload: { email: 'role@example.com', password: 'password-123', fullName: 'X', role: 'admin' } },
  ],
  ['register: missing password', { method: 'POST', url: '/api/auth/register', payload: { email: 'missing@example.com', fullName: 'X' } }],
  ['register: number as password', { method: 'POST', url: '/api/auth/register', payload: { email: 'num@example.com', password: 12345678, fullName: 'X' } }],
  ['register: bad JSON', { method: 'POST', url: '/api/auth/register', headers: { 'content-type': 'application/json' }, payload: '{"email":' }],
  ['login: missing password', { method: 'POST', url: '/api/auth/login', payload: { email: 'a@example.com' } }],
  ['login: unknown field', { method: 'POST', url: '/api/auth/login', payload: { email: 'a@example.com', password: 'x', otp: '1' } }],
  ['refresh: empty token', { method: 'POST', url: '/api/auth/refresh', payload: { refreshToken: '' } }],
  ['refresh: no body', { method: 'POST', url: '/api/auth/refresh' }],
];

for (const [name, request] of invalid) {
  t.test(`${name} → 400 VALIDATION_ERROR, nothing written`, async (t) => {
    const before = await counts();
    errorOf(replyOf(await app.inject(request)), 400, 'VALIDATION_ERROR');
    t.same(await counts(), before);
  });
}

t.test('login answers 200 with a new session and sets lastLoginAt', async (t) => {
  const email = uniqueEmail('login');
  const registered = await register(app, email, 'my-password-1');
  t.equal(registered.user.lastLoginAt, null);
  const body = bodyOf(await login(` ${email.toUpperCase()}`, 'my-password-1'), 200, BodySession);
  t.equal(body.user.id, registered.user.id);
  t.ok(Date.now() - Date.parse(body.user.lastLoginAt!) < 10_000);
  t.not(body.refreshToken, registered.refreshToken);
  t.equal((await me(body.accessToken)).status, 200);
  // Both sessions live side by side.
  t.equal((await refresh(registered.refreshToken)).status, 200);
  t.equal((await refresh(body.refreshToken)).status, 200);
});

t.test('unknown email, wrong password and inactive account get one and the same 401', async (t) => {
  const active = await createUser(app, 'student');
  const inactive = await createUser(app, 'student', { isActive: false });
  const before = await counts();
  const answers = await Promise.all([login(uniqueEmail('nobody'), TEST_PASSWORD), login(active.email, 'wrong-password'), login(inactive.email, TEST_PASSWORD)]);
  for (const res of answers) {
    t.same(bodyOf(res, 401, ErrorResponse), { statusCode: 401, error: 'Unauthorized', code: 'UNAUTHORIZED', message: 'Invalid email or password' });
  }
  t.same(await counts(), before, 'no session was created');
  const [row] = await db('SELECT last_login_at FROM users WHERE id = ?', [inactive.id]);
  t.equal(row.last_login_at, null);
});

t.test('a hash with weaker parameters is upgraded at login', async (t) => {
  const user = await createUser(app, 'student');
  const weak = await argon2.hash(TEST_PASSWORD, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1, parallelism: 1 });
  await db('UPDATE users SET password_hash = ? WHERE id = ?', [weak, user.id]);
  t.equal((await login(user.email, TEST_PASSWORD)).status, 200);
  const [row] = await db('SELECT password_hash FROM users WHERE id = ?', [user.id]);
  t.same(parseArgon2(row.password_hash).params, { m: 19456, t: 2, p: 1 });
  t.equal((await login(user.email, TEST_PASSWORD)).status, 200);
});

t.test('refresh rotates: a new pair, the old token revoked, the expiry of the chain kept', async (t) => {
  const session = await register(app);
  const [first] = await db('SELECT expires_at FROM refresh_tokens WHERE token_jti = ?', [refreshTokenDigest(session.refreshToken)]);
  const next = bodyOf(await refresh(session.refreshToken), 200, BodySession);
  t.not(next.refreshToken, session.refreshToken);
  t.equal(next.user.id, session.user.id);
  t.equal((await me(next.accessToken)).status, 200);
  const [old] = await db('SELECT revoked_at FROM refresh_tokens WHERE token_jti = ?', [refreshTokenDigest(session.refreshToken)]);
  t.ok(old.revoked_at, 'old token revoked');
  const [fresh] = await db('SELECT expires_at, revoked_at FROM refresh_tokens WHERE token_jti = ?', [refreshTokenDigest(next.refreshToken)]);
  t.equal(fresh.revoked_at, null);
  t.equal(new Date(fresh.expires_at).getTime(), new Date(first.expires_at).getTime(), 'absolute expiry from the first login');
});

t.test('reuse chain: rotate A→B, present A again after the grace → TOKEN_REUSED, and B (and every other session) is dead', async (t) => {
  const email = uniqueEmail('reuse');
  const a = await register(app, email);
  const other = bodyOf(await login(email, 'password-123'), 200, BodySession);
  const b = bodyOf(await refresh(a.refreshToken), 200, BodySession);
  // Within the grace a replay is TOKEN_ROTATED (refresh-rotation.test.ts); move past it.
  await db(`UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 hour' WHERE token_jti = ?`, [refreshTokenDigest(a.refreshToken)]);

  errorOf(await refresh(a.refreshToken), 401, 'TOKEN_REUSED');
  errorOf(await refresh(b.refreshToken), 401, 'TOKEN_REUSED');
  t.equal((await refresh(other.refreshToken)).status, 401, 'a parallel session is ended too');
  const [live] = await db('SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL', [a.user.id]);
  t.equal(live.n, 0);
  // Signing in again works.
  t.equal((await login(email, 'password-123')).status, 200);
});

for (const parallel of [2, 10]) {
  t.test(`${parallel} concurrent refreshes of one token → exactly one 200, the others TOKEN_ROTATED`, async (t) => {
    const session = await register(app);
    const results = await Promise.all(Array.from({ length: parallel }, () => refresh(session.refreshToken)));
    const statuses = results.map((r) => r.status);
    t.equal(statuses.filter((s) => s === 200).length, 1, `statuses ${statuses.join(',')}`);
    t.equal(statuses.filter((s) => s === 409).length, parallel - 1);
    for (const r of results.filter((r) => r.status === 409)) errorOf(r, 409, 'TOKEN_ROTATED');
    const [issued] = await db('SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = ?', [session.user.id]);
    t.equal(issued.n, 2, 'one rotation happened');
    const winner = bodyOf(
      results.find((r) => r.status === 200)!,
      200,
      BodySession,
    );
    t.equal((await refresh(winner.refreshToken)).status, 200, "the winner's token lives");
  });
}

t.test('an expired or unknown refresh token → 401 UNAUTHORIZED', async (t) => {
  const session = await register(app);
  await db(`UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_jti = ?`, [refreshTokenDigest(session.refreshToken)]);
  t.equal(errorOf(await refresh(session.refreshToken), 401).code, 'UNAUTHORIZED', 'expired');
  t.equal(errorOf(await refresh('no-such-token'), 401).code, 'UNAUTHORIZED', 'unknown');
});

t.test("logout revokes the token; reusing it is TOKEN_REUSED; someone else's token is 404", async (t) => {
  const email = uniqueEmail('logout');
  const session = await register(app, email);
  const second = bodyOf(await login(email, 'password-123'), 200, BodySession);
  const stranger = await register(app);

  const anonymous = await app.inject({ method: 'POST', url: '/api/auth/logout', payload: { refreshToken: session.refreshToken } });
  t.equal(anonymous.statusCode, 401);

  const foreign = await app.inject({
    method: 'POST',
    url: '/api/auth/logout',
    headers: bearer(stranger.accessToken),
    payload: { refreshToken: session.refreshToken },
  });
  errorOf(replyOf(foreign), 404, 'NOT_FOUND');

  const out = await app.inject({
    method: 'POST',
    url: '/api/auth/logout',
    headers: bearer(session.accessToken),
    payload: { refreshToken: session.refreshToken },
  });
  t.equal(out.statusCode, 204);
  t.equal(out.body, '');
  const again = await app.inject({
    method: 'POST',
    url: '/api/auth/logout',
    headers: bearer(session.accessToken),
    payload: { refreshToken: session.refreshToken },
  });
  t.equal(again.statusCode, 204, 'idempotent');

  errorOf(await refresh(session.refreshToken), 401, 'TOKEN_REUSED');
  t.equal((await refresh(second.refreshToken)).status, 401, 'a replayed logged-out token ends the other sessions');
  t.equal((await refresh(stranger.refreshToken)).status, 200, 'other users are untouched');
});

t.test('access tokens: expired, forged, alg none, wrong type, unknown user → 401', async (t) => {
  const user = await createUser(app, 'admin');
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: user.id, role: 'admin', typ: 'access', iat: now - 100 };
  const secret = app.config.jwtSecret;
  const cases: Array<[string, string]> = [
    ['expired', handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp: now - 10 }, secret)],
    ['forged (other secret)', handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp: now + 600 }, 'another-secret-another-secret-another-secret')],
    ['alg none', handMadeJwt({ alg: 'none', typ: 'JWT' }, { ...claims, exp: now + 600 }, null)],
    [
      'alg HS512 with the right secret',
      (() => {
        const part = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
        const unsigned = `${part({ alg: 'HS512', typ: 'JWT' })}.${part({ ...claims, exp: now + 600 })}`;
        return `${unsigned}.${createHmac('sha512', secret).update(unsigned).digest('base64url')}`;
      })(),
    ],
    ['no exp', handMadeJwt({ alg: 'HS256', typ: 'JWT' }, claims, secret)],
    ['not an access token', handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, typ: 'refresh', exp: now + 600 }, secret)],
    ['unknown user', handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, sub: '0b6f8a4e-1c4e-4a57-9d1e-2f1b8f0c9a11', exp: now + 600 }, secret)],
    ['garbage', 'not.a.jwt'],
  ];
  const valid = handMadeJwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp: now + 600 }, secret);
  t.equal((await me(valid)).status, 200, 'the hand-made token is valid when nothing is wrong with it');
  for (const [name, token] of cases) {
    const reply = await me(token);
    t.equal(reply.status, 401, name);
    t.equal(errorOf(reply, 401).code, 'UNAUTHORIZED', name);
  }
  const noScheme = await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: valid } });
  t.equal(noScheme.statusCode, 401);
  t.equal((await app.inject({ method: 'GET', url: '/api/me' })).statusCode, 401);
});

t.test('a deactivated user is locked out at once: access token, login and refresh', async (t) => {
  const admin = await createUser(app, 'admin');
  const email = uniqueEmail('deactivated');
  const session = await register(app, email);
  t.equal((await me(session.accessToken)).status, 200);
  const events: unknown[] = [];
  const accountChanged = app.publisher.accountChanged;
  app.publisher.accountChanged = function (userId) {
    events.push({ userId });
    accountChanged.call(this, userId);
  };
  t.teardown(() => void (app.publisher.accountChanged = accountChanged));

  const patch = await call(app, 'PATCH', `/api/users/${session.user.id}`, admin, { isActive: false });
  t.equal(bodyOf(patch, 200, UserResponse).isActive, false);
  t.same(events, [{ userId: session.user.id }]);

  t.equal((await me(session.accessToken)).status, 401, 'access token refused on the next request');
  t.equal(errorOf(await login(email, 'password-123'), 401).message, 'Invalid email or password');
  t.equal((await refresh(session.refreshToken)).status, 401, 'refresh refused');

  // Reactivated, the user signs in again; the old refresh token stays dead.
  await app.inject({ method: 'PATCH', url: `/api/users/${session.user.id}`, headers: admin.headers, payload: { isActive: true } });
  const back = bodyOf(await login(email, 'password-123'), 200, BodySession);
  t.equal((await refresh(session.refreshToken)).status, 401);
  t.equal((await refresh(back.refreshToken)).status, 200, 'the stale token did not end the new session');
});

t.test('a live refresh token of a deactivated user is refused', async (t) => {
  const session = await register(app);
  await db('UPDATE users SET is_active = false WHERE id = ?', [session.user.id]);
  t.equal(errorOf(await refresh(session.refreshToken), 401).code, 'UNAUTHORIZED');
});

t.test('a demoted instructor loses instructor routes at once', async (t) => {
  const admin = await createUser(app, 'admin');
  const instructor = await createUser(app, 'instructor');
  const probe = (token: string) => app.inject({ method: 'GET', url: '/probe/instructor', headers: bearer(token) });
  t.equal((await probe(instructor.token)).statusCode, 200);

  const patch = await call(app, 'PATCH', `/api/users/${instructor.id}`, admin, { role: 'student' });
  t.equal(bodyOf(patch, 200, UserResponse).role, 'student');

  const stale = await probe(instructor.token);
  t.equal(stale.statusCode, 401, 'the token claiming instructor is refused');
  const fresh = bodyOf(await login(instructor.email, TEST_PASSWORD), 200, BodySession);
  t.equal(fresh.user.role, 'student');
  errorOf(replyOf(await probe(fresh.accessToken)), 403, 'FORBIDDEN');
});

t.test('login is limited per email and address (429 RATE_LIMITED with retry-after); other accounts still sign in', async (t) => {
  const target = await createUser(app, 'student');
  const bystander = await createUser(app, 'student');
  for (let i = 0; i < LOGIN_LIMIT; i++) {
    const res = await login(i % 2 ? target.email.toUpperCase() : target.email, 'wrong-password');
    t.equal(res.status, 401, `attempt ${i + 1}`);
  }
  const limited = await login(target.email, TEST_PASSWORD);
  t.same(Object.keys(errorOf(limited, 429, 'RATE_LIMITED')).sort(), ['code', 'error', 'message', 'statusCode']);
  const retryAfter = Number(limited.headers['retry-after']);
  t.ok(retryAfter > 0 && retryAfter <= app.config.loginRateLimitWindowMs / 1000, `retry-after ${retryAfter}`);
  t.equal((await login(` ${target.email.toUpperCase()} `, TEST_PASSWORD)).status, 429, 'the key is the normalized email');

  t.equal((await login(bystander.email, TEST_PASSWORD)).status, 200, 'another account still signs in');
  // The counters live in Redis under our prefix, and hold no plain email.
  const keys = await app.redis.keys(`${app.config.redisPrefix}:rl:login:*`);
  t.ok(keys.length >= 2);
  t.notOk(keys.some((key) => key.includes('@')));
});

t.test('the auth routes are in the OpenAPI document', async (t) => {
  const doc = bodyOf(await call(app, 'GET', '/docs/json'), 200, OpenApiDocument);
  for (const [path, method] of [
    ['/api/auth/register', 'post'],
    ['/api/auth/login', 'post'],
    ['/api/auth/refresh', 'post'],
    ['/api/auth/logout', 'post'],
    ['/api/me', 'get'],
    ['/api/me', 'patch'],
    ['/api/me/password', 'post'],
    ['/api/users', 'get'],
    ['/api/users/{id}', 'patch'],
  ] as const) {
    const operation = doc.paths[path]?.[method];
    t.ok(operation, `${method.toUpperCase()} ${path}`);
    t.ok(operation?.summary && operation.tags?.length, `${path} has a summary and tags`);
  }
  t.same(doc.paths['/api/auth/logout']!.post!.security, [{ bearerAuth: [] }]);
  t.notOk(doc.paths['/api/auth/login']!.post!.security);
  t.notMatch(JSON.stringify(doc.components?.schemas ?? {}) + JSON.stringify(doc.paths['/api/me']), /passwordHash/);
});
