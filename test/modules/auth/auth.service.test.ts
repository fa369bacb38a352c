import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { TEST_PASSWORD, createUser } from '../../helpers/users.js';
import { login, logout, refresh, type AuthDeps } from '../../../server/modules/auth/auth.service.js';

// The auth service called directly: the rotation rules without HTTP.
const { app } = await buildTestApp(t, 'auth-service');
const deps = (): AuthDeps => ({ ...app.forkDeps(), passwords: app.passwords, signAccessToken: app.signAccessToken });
const client = { userAgent: 'service test', ip: '127.0.0.1' };
const db = () => app.orm.em.fork().getConnection();

async function liveTokens(userId: string): Promise<number> {
  const [row] = await db().execute<Array<{ n: number }>>('SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = ? AND revoked_at IS NULL', [userId]);
  return row!.n;
}

t.test('a refresh within the grace of its rotation is TOKEN_ROTATED and revokes nothing', async (t) => {
  const user = await createUser(app, 'student');
  const session = await login(deps(), { email: user.email, password: TEST_PASSWORD }, client);
  const rotated = await refresh(deps(), session.refreshToken, client);
  t.not(rotated.refreshToken, session.refreshToken);
  t.equal(rotated.refreshExpiresAt.getTime(), session.refreshExpiresAt.getTime(), 'the chain keeps its expiry');

  await t.rejects(refresh(deps(), session.refreshToken, client), { code: 'TOKEN_ROTATED' });
  t.equal(await liveTokens(user.id), 1, 'the successor is still live');
  const next = await refresh(deps(), rotated.refreshToken, client);
  t.ok(next.accessToken, 'and can be exchanged');
});

t.test('a token presented after its grace is TOKEN_REUSED and ends every session', async (t) => {
  const user = await createUser(app, 'student');
  const first = await login(deps(), { email: user.email, password: TEST_PASSWORD }, client);
  const other = await login(deps(), { email: user.email, password: TEST_PASSWORD }, client);
  await refresh(deps(), first.refreshToken, client);
  // Rotated a minute ago, by the database's clock.
  await db().execute(`UPDATE refresh_tokens SET rotated_at = now() - interval '1 minute' WHERE rotated_at IS NOT NULL AND user_id = ?`, [user.id]);
  await t.rejects(refresh(deps(), first.refreshToken, client), { code: 'TOKEN_REUSED' });
  t.equal(await liveTokens(user.id), 0, 'the reuse ended every session');
  await t.rejects(refresh(deps(), other.refreshToken, client), { code: 'TOKEN_REUSED' });
});

t.test("logout revokes only the caller's own token", async (t) => {
  const user = await createUser(app, 'student');
  const stranger = await createUser(app, 'student');
  const session = await login(deps(), { email: user.email, password: TEST_PASSWORD }, client);
  await t.rejects(logout(app.forkDeps(), stranger.id, session.refreshToken), { code: 'NOT_FOUND' });
  await logout(app.forkDeps(), user.id, session.refreshToken);
  t.equal(await liveTokens(user.id), 0);
});
