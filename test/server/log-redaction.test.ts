import t from '../helpers/tap.js';
import WebSocket from 'ws';
import { createTestEnv } from '../helpers/app.js';
import { bodyOf, replyOfFetch } from '../helpers/http.js';
import { spawnEntry } from '../helpers/processes.js';
import { BodySession } from '../helpers/users.js';

// The real process, logging at debug: no password, access token or refresh token in any line.
// No rotation grace: replaying a rotated token at once is a reuse, which is logged.
const env = await createTestEnv(t, 'log-redaction', { LOG_LEVEL: 'debug', PORT: '0', HOST: '127.0.0.1', REFRESH_REUSE_GRACE_SECONDS: '0' });
const server = spawnEntry('server/main.ts', env.env);
env.defer(async () => {
  if (server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

async function listeningUrl(): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output());
    if (match) return match[1]!;
    if (server.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server did not start:\n${server.output()}`);
}

t.test('requests carrying secrets leave none in the log', async (t) => {
  const base = await listeningUrl();
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  const password = 'Sekr3t-Passw0rd-in-body';
  const registered = await post('/api/auth/register', { email: 'logs@example.com', password, fullName: 'Log Reader' });
  const session = bodyOf(await replyOfFetch(registered), 201, BodySession);
  const loggedIn = bodyOf(await replyOfFetch(await post('/api/auth/login', { email: 'logs@example.com', password })), 200, BodySession);
  t.equal((await post('/api/auth/login', { email: 'logs@example.com', password: `${password}-wrong` })).status, 401);
  const refreshed = await post('/api/auth/refresh', { refreshToken: session.refreshToken });
  const next = bodyOf(await replyOfFetch(refreshed), 200, BodySession);
  t.equal((await post('/api/auth/refresh', { refreshToken: session.refreshToken })).status, 401, 'a reuse (logged as a warning)');
  t.equal((await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${loggedIn.accessToken}` } })).status, 200);
  await fetch(`${base}/api/me?token=${loggedIn.accessToken}`);
  // The plain WebSocket endpoint takes its token in the query: an accepted and a refused one.
  const wsUrl = `${base.replace('http', 'ws')}/ws?token=`;
  const accepted = new WebSocket(`${wsUrl}${encodeURIComponent(loggedIn.accessToken)}`);
  await new Promise((resolve) => accepted.once('open', resolve));
  // Frames wait for the authentication; an answer to one means the token was accepted.
  accepted.send(JSON.stringify({ type: 'no-such-frame', id: 1 }));
  t.match(JSON.parse(String(await new Promise((resolve) => accepted.once('message', resolve)))), { id: 1 }, '/ws accepted the token');
  accepted.close();
  const forged = `${loggedIn.accessToken.slice(0, -4)}AAAA`;
  const refused = new WebSocket(`${wsUrl}${encodeURIComponent(forged)}`);
  t.equal(await new Promise((resolve) => refused.once('close', resolve)), 4401, '/ws refused the forged token');
  t.equal(
    (
      await post(
        '/api/me/password',
        { currentPassword: password, newPassword: 'another-Secret-1', refreshToken: next.refreshToken },
        { authorization: `Bearer ${next.accessToken}` },
      )
    ).status,
    204,
  );
  await post('/api/auth/logout', { refreshToken: next.refreshToken }, { authorization: `Bearer ${next.accessToken}` });

  const output = server.output();
  t.match(output, /"url":"\/api\/auth\/login"/, 'requests are logged');
  t.match(output, /refresh token reused/);
  t.match(output, /token=\[REDACTED\]/);
  t.match(output, /"url":"\/ws\?token=\[REDACTED\]"/, 'the /ws upgrade is logged, redacted');
  for (const secret of [
    forged,
    password,
    'another-Secret-1',
    session.accessToken,
    session.refreshToken,
    loggedIn.accessToken,
    loggedIn.refreshToken,
    next.accessToken,
    next.refreshToken,
  ]) {
    t.notOk(output.includes(secret), `${secret.slice(0, 12)}… is not in the log`);
  }
});
