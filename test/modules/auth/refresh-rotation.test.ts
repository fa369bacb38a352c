import t from '../../helpers/tap.js';
import type { InjectOptions } from 'fastify';
import { buildApp } from '../../../server/app.js';
import { buildTestApp } from '../../helpers/app.js';
import { bodyOf, call, errorOf, replyOf, type Reply } from '../../helpers/http.js';
import { createUser, TEST_PASSWORD, type TestUser } from '../../helpers/users.js';
import { refreshTokenDigest } from '../../../server/modules/auth/auth.queries.js';
import { Session } from '../../../server/modules/auth/auth.schemas.js';

const { app, config } = await buildTestApp(t, 'refresh-rotation', { TRUST_PROXY: 'on' });
const db = (sql: string, params: unknown[] = []) => app.orm.em.fork().getConnection().execute(sql, params);

const COOKIE = 'refresh_token';

/** A POST with inject's own options (cookies, headers) where a test needs them. */
const post = async (url: string, payload: unknown, extra: Partial<InjectOptions> = {}) =>
  replyOf(await app.inject({ method: 'POST', url, payload: payload as InjectOptions['payload'], ...extra }));
const login = (user: TestUser, extra: Record<string, unknown> = {}, options: Partial<InjectOptions> = {}) =>
  post('/api/auth/login', { email: user.email, password: TEST_PASSWORD, ...extra }, options);
const refresh = (refreshToken: string) => post('/api/auth/refresh', { refreshToken });

async function session(user: TestUser): Promise<Session> {
  return bodyOf(await login(user), 200, Session);
}

async function liveTokens(userId: string): Promise<number> {
  const [row] = await db('SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL AND expires_at > now()', [userId]);
  return row.n;
}

/** Moves the rotation of `token` `seconds` into the past, as if that much time had gone by. */
async function ageRotation(token: string, seconds: number) {
  await db(
    `UPDATE refresh_tokens SET rotated_at = rotated_at - make_interval(secs => ?), revoked_at = revoked_at - make_interval(secs => ?) WHERE token_jti = ?`,
    [seconds, seconds, refreshTokenDigest(token)],
  );
}

/** The refresh cookie set by a response, with its attributes (lower-cased names). */
function setCookie(res: Reply): { value: string; attributes: Record<string, string | true> } | null {
  const headers = res.headers['set-cookie'];
  const all = headers === undefined ? [] : Array.isArray(headers) ? headers : [headers];
  const line = all.find((header) => header.startsWith(`${COOKIE}=`));
  if (!line) return null;
  const [pair, ...rest] = line.split(';').map((part) => part.trim());
  const attributes: Record<string, string | true> = {};
  for (const attribute of rest) {
    const [name, ...value] = attribute.split('=');
    attributes[name!.toLowerCase()] = value.length ? value.join('=') : true;
  }
  return { value: decodeURIComponent(pair!.slice(COOKIE.length + 1)), attributes };
}

t.test('a token presented again within the grace of its rotation answers 409 TOKEN_ROTATED and revokes nothing', async (t) => {
  const user = await createUser(app, 'student');
  const other = await session(user);
  const first = await session(user);
  const next = bodyOf(await refresh(first.refreshToken!), 200, Session);
  const liveBefore = await liveTokens(user.id);

  const retried = await refresh(first.refreshToken!);
  t.equal(retried.status, 409, 'a retry after a lost reply, or a second tab');
  t.same(Object.keys(errorOf(retried, 409, 'TOKEN_ROTATED')).sort(), ['code', 'error', 'message', 'statusCode']);
  t.equal(await liveTokens(user.id), liveBefore, 'nothing was revoked');
  t.equal((await refresh(first.refreshToken!)).status, 409, 'every time within the grace');

  t.equal((await refresh(next.refreshToken!)).status, 200, 'the token that replaced it still works');
  t.equal((await refresh(other.refreshToken!)).status, 200, 'and so does every other session');
});

t.test('after the grace, presenting a rotated token is reuse: 401 TOKEN_REUSED and every session ends', async (t) => {
  const user = await createUser(app, 'student');
  const other = await session(user);
  const first = await session(user);
  const next = bodyOf(await refresh(first.refreshToken!), 200, Session);
  await ageRotation(first.refreshToken!, config.refreshReuseGraceSeconds + 1);

  t.equal(errorOf(await refresh(first.refreshToken!), 401).code, 'TOKEN_REUSED');
  t.equal(await liveTokens(user.id), 0, 'every live token was revoked');
  t.equal(errorOf(await refresh(next.refreshToken!), 401).code, 'TOKEN_REUSED', 'the replacement too');
  t.equal((await refresh(other.refreshToken!)).status, 401, 'and the other session');
});

t.test('tokens revoked by logout or in bulk keep answering TOKEN_REUSED at once', async (t) => {
  const user = await createUser(app, 'student');
  const loggedOut = await session(user);
  const out = await post('/api/auth/logout', { refreshToken: loggedOut.refreshToken }, { headers: { authorization: `Bearer ${loggedOut.accessToken}` } });
  t.equal(out.status, 204);
  const kept = await session(user);
  const replay = await refresh(loggedOut.refreshToken!);
  t.equal(replay.status, 401, 'a logged-out token is no rotation: no grace');
  t.equal(errorOf(replay, 401).code, 'TOKEN_REUSED');
  t.equal(await liveTokens(user.id), 0, 'its replay still ends every session');
  t.equal((await refresh(kept.refreshToken!)).status, 401);

  const survivor = await session(user);
  const stale = await session(user);
  const change = await post(
    '/api/me/password',
    { currentPassword: TEST_PASSWORD, newPassword: 'a-new-password-1', refreshToken: survivor.refreshToken },
    { headers: { authorization: `Bearer ${survivor.accessToken}` } },
  );
  t.equal(change.status, 204);
  const ended = await refresh(stale.refreshToken!);
  t.equal(ended.status, 401, 'a token ended by a password change');
  t.equal(errorOf(ended, 401).code, 'TOKEN_REUSED');
  t.equal((await refresh(survivor.refreshToken!)).status, 200, 'ends nothing more');
});

t.test('of concurrent refreshes of one token one succeeds; the others get TOKEN_ROTATED and revoke nothing', async (t) => {
  const user = await createUser(app, 'student');
  const first = await session(user);
  const results = await Promise.all(Array.from({ length: 6 }, () => refresh(first.refreshToken!)));
  const statuses = results.map((res) => res.status).sort();
  t.same(statuses, [200, 409, 409, 409, 409, 409]);
  for (const res of results.filter((res) => res.status === 409)) t.equal(errorOf(res, 409).code, 'TOKEN_ROTATED');
  const winner = bodyOf(
    results.find((res) => res.status === 200)!,
    200,
    Session,
  );
  t.equal((await refresh(winner.refreshToken!)).status, 200);
});

t.test('REFRESH_REUSE_GRACE_SECONDS=0 turns the grace off', async (t) => {
  const strict = await buildApp({ ...config, refreshReuseGraceSeconds: 0 });
  t.teardown(() => strict.close());
  const user = await createUser(strict, 'student');
  const first = bodyOf(await call(strict, 'POST', '/api/auth/login', null, { email: user.email, password: TEST_PASSWORD }), 200, Session);
  t.equal((await call(strict, 'POST', '/api/auth/refresh', null, { refreshToken: first.refreshToken })).status, 200);
  t.equal(errorOf(await call(strict, 'POST', '/api/auth/refresh', null, { refreshToken: first.refreshToken }), 401).code, 'TOKEN_REUSED');
});

t.test('cookie mode: login sets an httpOnly SameSite=Strict cookie on /api/auth and leaves the token out of the body', async (t) => {
  const user = await createUser(app, 'student');
  const res = await login(user, { useCookie: true });
  const body = bodyOf(res, 200, Session);
  t.notOk('refreshToken' in body, 'no refresh token in the body');
  t.ok(body.accessToken);
  const cookie = setCookie(res);
  t.ok(cookie, 'the cookie is set');
  t.equal(cookie!.attributes.httponly, true, 'HttpOnly');
  t.equal(cookie!.attributes.samesite, 'Strict', 'SameSite=Strict');
  t.equal(cookie!.attributes.path, '/api/auth', 'scoped to refresh and logout');
  t.notOk(cookie!.attributes.secure, 'not Secure over plain HTTP (a school LAN)');
  t.notOk(cookie!.attributes.domain, 'host-only');
  const [row] = await db('SELECT expires_at FROM refresh_tokens WHERE token_jti = ?', [refreshTokenDigest(cookie!.value)]);
  t.ok(row, 'the cookie holds a live refresh token');
  t.equal(
    Math.floor(Date.parse(String(cookie!.attributes.expires)) / 1000),
    Math.floor(new Date(row.expires_at).getTime() / 1000),
    'it expires with the token',
  );

  const json = await login(user);
  t.ok(bodyOf(json, 200, Session).refreshToken, 'without useCookie the token stays in the body');
  t.equal(setCookie(json), null, 'and no cookie is set');
});

t.test('cookie mode over HTTPS (behind the proxy) adds Secure; register takes useCookie too', async (t) => {
  const res = await post(
    '/api/auth/register',
    { email: `cookie-${Date.now()}@example.com`, password: 'password-123', fullName: 'Cookie Person', useCookie: true },
    { headers: { 'x-forwarded-proto': 'https' } },
  );
  t.notOk('refreshToken' in bodyOf(res, 201, Session));
  const cookie = setCookie(res);
  t.equal(cookie?.attributes.secure, true, 'Secure');
  t.equal(cookie?.attributes.samesite, 'Strict');
  t.equal(cookie?.attributes.httponly, true);
});

t.test('cookie mode end to end: refresh from the cookie alone, replay, logout clears it', async (t) => {
  const user = await createUser(app, 'student');
  const started = await login(user, { useCookie: true });
  const first = setCookie(started)!.value;

  const refreshed = await post('/api/auth/refresh', {}, { cookies: { [COOKIE]: first } });
  t.equal(refreshed.status, 200, 'the token comes from the cookie');
  const refreshedBody = bodyOf(refreshed, 200, Session);
  t.notOk('refreshToken' in refreshedBody, 'a cookie refresh answers in cookie mode');
  const second = setCookie(refreshed)!.value;
  t.not(second, first, 'the cookie rotates');
  t.equal((await db('SELECT 1 FROM refresh_tokens WHERE token_jti = ? AND revoked_at IS NULL', [refreshTokenDigest(second)])).length, 1);

  const stale = await post('/api/auth/refresh', {}, { cookies: { [COOKIE]: first } });
  t.equal(stale.status, 409, 'a second tab with the old cookie');
  t.equal(errorOf(stale, 409).code, 'TOKEN_ROTATED');
  t.equal(setCookie(stale), null, 'the cookie is left alone: the browser already holds the new one');

  const missing = await post('/api/auth/refresh', {});
  t.equal(missing.status, 400, 'neither body nor cookie');
  t.equal(errorOf(missing, 400).code, 'VALIDATION_ERROR');

  const accessToken = refreshedBody.accessToken;
  const out = await post('/api/auth/logout', {}, { headers: { authorization: `Bearer ${accessToken}` }, cookies: { [COOKIE]: second } });
  t.equal(out.status, 204);
  const cleared = setCookie(out);
  t.ok(cleared, 'logout answers with the cookie');
  t.equal(cleared!.value, '', 'emptied');
  t.ok(cleared!.attributes['max-age'] === '0' || Date.parse(String(cleared!.attributes.expires)) <= Date.now(), 'and expired');
  t.equal(cleared!.attributes.path, '/api/auth', 'on the same path, so the browser drops it');

  const afterLogout = await post('/api/auth/refresh', {}, { cookies: { [COOKIE]: second } });
  t.equal(afterLogout.status, 401, 'the logged-out token is dead');
  t.equal(errorOf(afterLogout, 401).code, 'TOKEN_REUSED');
  const dropped = setCookie(afterLogout);
  t.equal(dropped?.value, '', 'a dead cookie is cleared');
});

t.test('the body wins over the cookie; a body refresh can switch to cookie mode', async (t) => {
  const user = await createUser(app, 'student');
  const plain = await session(user);
  const res = await post('/api/auth/refresh', { refreshToken: plain.refreshToken, useCookie: true }, { cookies: { [COOKIE]: 'some-other-value' } });
  t.notOk('refreshToken' in bodyOf(res, 200, Session));
  t.ok(setCookie(res)?.value);
  const back = await post('/api/auth/refresh', { useCookie: false }, { cookies: { [COOKIE]: setCookie(res)!.value } });
  t.ok(bodyOf(back, 200, Session).refreshToken, 'useCookie:false answers in the body');
  t.equal(setCookie(back)?.value, '', 'and clears the cookie');
});

t.test('bad input on the cookie routes', async (t) => {
  for (const payload of [{ useCookie: 'yes' }, { refreshToken: 5 }, { refreshToken: '' }, { refreshToken: 'x', extra: 1 }]) {
    const res = await post('/api/auth/refresh', payload);
    t.equal(res.status, 400, JSON.stringify(payload));
    t.equal(errorOf(res, 400).code, 'VALIDATION_ERROR');
  }
  const user = await createUser(app, 'student');
  t.equal((await login(user, { useCookie: 1 })).status, 400);
  const out = await post('/api/auth/logout', {}, { headers: user.headers });
  t.equal(out.status, 400, 'logout without a token in body or cookie');
  t.equal(errorOf(out, 400).code, 'VALIDATION_ERROR');
});
