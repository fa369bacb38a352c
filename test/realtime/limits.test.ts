import t from '../helpers/tap.js';
import { buildApp } from '../../server/app.js';
import { waitForRedis } from '../../server/platform/redis.js';
import { createTestEnv } from '../helpers/app.js';
import { createUser } from '../helpers/users.js';
import { waitFor } from '../helpers/wait.js';
import { wsClient, type WsClient } from '../multi/cluster-helpers.js';
import { client, connect, connectError, listen, request, socketPool } from './socket-helpers.js';

// Two instances over one database and one Redis prefix, with small limits: 6 connections per
// IP per minute (shared through Redis), 2 connections per user per instance, and an event budget
// of 4 (refilling 1 a second) per user per instance.
const env = await createTestEnv(t, 'realtime-limits', {
  SOCKET_HANDSHAKE_RATE_LIMIT_MAX: '6',
  SOCKET_HANDSHAKE_RATE_LIMIT_WINDOW_MS: '60000',
  SOCKETS_PER_USER_MAX: '2',
  SOCKET_EVENTS_PER_SECOND: '1',
  SOCKET_EVENTS_BURST: '4',
});
const one = await buildApp(env.config);
const two = await buildApp(env.config);
env.defer(() => one.close());
env.defer(() => two.close());
const urlOne = await listen(one);
const urlTwo = await listen(two);
const sockets = socketPool();
const opened: WsClient[] = [];
env.defer(() => {
  sockets.closeAll();
  for (const ws of opened) ws.ws.terminate();
});
const wsAs = async (url: string, token: string) => {
  const ws = await wsClient(`${url}/ws?token=${encodeURIComponent(token)}`);
  opened.push(ws);
  return ws;
};
/** Until instance one holds no socket of the user (it has seen the disconnections). */
const goneFromOne = (userId: string, left = 0) =>
  waitFor('the server to see the disconnection', () => [...one.io.of('/').sockets.values()].filter((socket) => socket.data.userId === userId).length === left);
/** Handshakes counted so far from 127.0.0.1 (every test here connects from it). */
const resetHandshakes = async () => {
  const keys = await one.redis.keys(`${env.config.redisPrefix}:rl:handshake:*`);
  if (keys.length) await one.redis.del(...keys);
};

t.test('handshakes are limited per IP across instances: Socket.IO gets rate_limited, /ws closes 4429', async (t) => {
  await resetHandshakes();
  const users = await Promise.all(Array.from({ length: 4 }, () => createUser(one, 'student')));
  // Six connections from one address, on both instances and both transports.
  await connect(sockets.add(client(urlOne, users[0]!.token)));
  await connect(sockets.add(client(urlTwo, users[0]!.token)));
  await connect(sockets.add(client(urlOne, users[1]!.token)));
  await connect(sockets.add(client(urlTwo, users[1]!.token)));
  const ws = await wsAs(urlOne, users[2]!.token);
  t.match(await ws.send('auth:refresh', { token: users[2]!.token }), { ok: true }, 'the fifth, over /ws, is served');
  await connect(sockets.add(client(urlTwo, users[2]!.token)));

  t.equal(await connectError(sockets.add(client(urlOne, users[3]!.token))), 'rate_limited', 'the seventh handshake is refused');
  t.equal(await connectError(sockets.add(client(urlTwo, users[3]!.token))), 'rate_limited', 'on the other instance too');
  const refused = await wsAs(urlTwo, users[3]!.token);
  t.match(await refused.closed, { code: 4429, reason: /rate_limited/ }, '/ws is closed with 4429');
  const noToken = sockets.add(client(urlOne, undefined));
  t.equal(await connectError(noToken), 'rate_limited', 'counted before the token is looked at');

  await resetHandshakes();
  t.ok((await connect(sockets.add(client(urlOne, users[3]!.token)))).connected, 'a new window lets connections in again');
});

t.test('with Redis unreachable the handshake limit fails open', async (t) => {
  await resetHandshakes();
  const user = await createUser(one, 'student');
  for (let i = 0; i < 6; i++) await connect(sockets.add(client(urlOne, (await createUser(one, 'student')).token)));
  t.equal(await connectError(sockets.add(client(urlOne, user.token))), 'rate_limited', 'limited while Redis answers');
  one.redis.disconnect();
  t.teardown(async () => {
    await one.redis.connect().catch(() => undefined);
    if (!(await waitForRedis(one.redis, 5000))) throw new Error('Redis did not come back');
  });
  const socket = await connect(sockets.add(client(urlOne, user.token)));
  t.ok(socket.connected, 'Redis down: the handshake is let through');
  socket.disconnect();
});

t.test('sockets per user are capped on each instance, Socket.IO and /ws together', async (t) => {
  await resetHandshakes();
  const user = await createUser(one, 'student');
  const first = await connect(sockets.add(client(urlOne, user.token)));
  const ws = await wsAs(urlOne, user.token);
  t.match(await ws.send('auth:refresh', { token: user.token }), { ok: true }, 'a socket and a /ws connection');
  t.equal(await connectError(sockets.add(client(urlOne, user.token))), 'too_many_connections', 'a third Socket.IO socket is refused');
  const third = await wsAs(urlOne, user.token);
  t.match(await third.closed, { code: 4429, reason: /too_many_connections/ }, 'a third /ws connection is closed with 4429');
  const elsewhere = await connect(sockets.add(client(urlTwo, user.token)));
  t.ok(elsewhere.connected, 'the cap is per instance');

  first.disconnect();
  await goneFromOne(user.id);
  const again = await connect(sockets.add(client(urlOne, user.token)));
  t.ok(again.connected, 'once one goes, another may come');
  ws.ws.close();
  again.disconnect();
  elsewhere.disconnect();
});

t.test("a user's sockets and /ws connections on one instance share one event budget", async (t) => {
  await resetHandshakes();
  const user = await createUser(one, 'student');
  const a = await connect(sockets.add(client(urlOne, user.token)));
  const b = await connect(sockets.add(client(urlOne, user.token)));
  const sync = { attemptId: '00000000-0000-4000-8000-000000000000' };
  const acks = await Promise.all([
    ...Array.from({ length: 3 }, () => request(a, 'quiz:sync', sync)),
    ...Array.from({ length: 3 }, () => request(b, 'quiz:sync', sync)),
  ]);
  const limited = acks.filter((ack) => ack.error?.code === 'RATE_LIMITED').length;
  // A burst of 4 (plus at most one token refilled meanwhile) for six events on two sockets.
  t.ok(limited >= 1, `${limited} of 6 events refused: two sockets do not double the budget`);
  a.disconnect();
  b.disconnect();
  await goneFromOne(user.id);

  // The budget is dropped with the user's last connection; /ws connections draw on it too.
  const c = await connect(sockets.add(client(urlOne, user.token)));
  const ws = await wsAs(urlOne, user.token);
  const mixed = await Promise.all([
    ...Array.from({ length: 3 }, () => request(c, 'quiz:sync', sync)),
    ...Array.from({ length: 3 }, () => ws.send('quiz:sync', sync)),
  ]);
  t.ok(mixed.filter((ack) => ack.error?.code === 'RATE_LIMITED').length >= 1, 'a socket and a /ws connection share it too');
  t.ok(mixed.filter((ack) => ack.error?.code === 'NOT_FOUND').length >= 4, 'a fresh budget after the last connection went');
  c.disconnect();
  ws.ws.close();
});
