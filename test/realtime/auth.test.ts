import { UserResponse } from '../../server/modules/users/users.schemas.js';
import { LessonProgressResponse } from '../../server/modules/progress/progress.schemas.js';
import t from '../helpers/tap.js';
import { buildTestApp } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { createUser } from '../helpers/users.js';
import { client, connect, connectError, listen, nextDisconnect, nextEvent, receivedEventPackets, request, signJwt, socketPool } from './socket-helpers.js';
import { rooms } from '../../server/realtime/contract.js';
import { courseWithLessons, ok } from './fixtures.js';

// A short grace so that the expiry test is quick; tokens of the other tests live 15 minutes.
const { app, config } = await buildTestApp(t, 'realtime-auth', { SOCKET_TOKEN_GRACE_MS: '300' });
const url = await listen(app);
const sockets = socketPool();
t.teardown(() => sockets.closeAll());

const student = await createUser(app, 'student');
const other = await createUser(app, 'student');
const admin = await createUser(app, 'admin');
const now = () => Math.floor(Date.now() / 1000);

t.test('the handshake refuses a missing, expired, forged or inactive token with "unauthorized"', async (t) => {
  const inactive = await createUser(app, 'student', { isActive: false });
  const cases: Array<[string, string | undefined]> = [
    ['no token', undefined],
    ['an empty token', ''],
    ['garbage', 'not-a-jwt'],
    ['an expired token', signJwt({ sub: student.id, role: 'student', typ: 'access', iat: now() - 120, exp: now() - 60 }, config.jwtSecret)],
    ['a forged token', signJwt({ sub: student.id, role: 'student', typ: 'access', iat: now(), exp: now() + 600 }, 'x'.repeat(48))],
    [
      'an alg=none token',
      `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: student.id, role: 'student', typ: 'access', exp: now() + 600 })).toString('base64url')}.`,
    ],
    ['a token claiming another role', signJwt({ sub: student.id, role: 'admin', typ: 'access', iat: now(), exp: now() + 600 }, config.jwtSecret)],
    ['a deactivated user', inactive.token],
  ];
  for (const [name, token] of cases) {
    t.equal(await connectError(sockets.add(client(url, token))), 'unauthorized', name);
  }
  const socket = await connect(sockets.add(client(url, student.token)));
  t.ok(socket.connected, 'a valid token connects');
  socket.disconnect();
});

t.test('auth:refresh renews a live socket for the same user only', async (t) => {
  const socket = await connect(sockets.add(client(url, student.token)));
  const renewed = await request(socket, 'auth:refresh', { token: app.signAccessToken({ id: student.id, role: 'student' }) });
  t.equal(renewed.ok, true);
  t.ok(Date.parse(renewed.data.expiresAt) > Date.now() + 60_000, 'ack carries the new expiry');
  t.match(await request(socket, 'auth:refresh', { token: other.token }), { ok: false, error: { code: 'UNAUTHORIZED' } }, "another user's token");
  t.match(await request(socket, 'auth:refresh', { token: 'garbage' }), { ok: false, error: { code: 'UNAUTHORIZED' } }, 'a bad token');
  t.match(await request(socket, 'auth:refresh', {}), { ok: false, error: { code: 'VALIDATION_ERROR' } }, 'no token');
  t.ok(socket.connected, 'failed refreshes leave the socket alone');
  socket.disconnect();
});

t.test('an expired token is cut after the grace period unless refreshed', async (t) => {
  const shortLived = () => signJwt({ sub: student.id, role: 'student', typ: 'access', iat: now(), exp: now() + 2 }, config.jwtSecret);
  const lapsing = await connect(sockets.add(client(url, shortLived())));
  const refreshed = await connect(sockets.add(client(url, shortLived())));
  t.equal((await request(refreshed, 'auth:refresh', { token: student.token })).ok, true);
  const started = Date.now();
  t.equal(await nextDisconnect(lapsing, 6000), 'io server disconnect', 'the lapsed socket is dropped');
  const elapsed = Date.now() - started;
  t.ok(elapsed >= 1000 && elapsed < 5000, `dropped after expiry + grace (${elapsed} ms)`);
  t.ok(refreshed.connected, 'the refreshed socket stays');
  t.equal((await request(refreshed, 'course:leave', { courseId: '00000000-0000-4000-8000-000000000000' })).ok, true, 'and still works');
  refreshed.disconnect();
});

t.test('bad payloads are VALIDATION_ERROR acks; missing acks are harmless', async (t) => {
  const socket = await connect(sockets.add(client(url, other.token)));
  const cases: Array<[string, unknown]> = [
    ['course:join', { courseId: 'nope' }],
    ['course:join', {}],
    ['course:join', 'a string'],
    ['course:join', null],
    ['course:join', { courseId: '00000000-0000-4000-8000-000000000000', extra: 1 }],
    ['course:leave', { courseId: 42 }],
    ['lesson:progress', { lessonId: '00000000-0000-4000-8000-000000000000' }],
    ['lesson:progress', { lessonId: '00000000-0000-4000-8000-000000000000', completionPercentage: 101 }],
    ['lesson:progress', { lessonId: '00000000-0000-4000-8000-000000000000', status: 'done' }],
    ['lesson:progress', { lessonId: '00000000-0000-4000-8000-000000000000', timeSpentSecondsDelta: '5' }],
    ['quiz:answer', { attemptId: '00000000-0000-4000-8000-000000000000', questionId: '00000000-0000-4000-8000-000000000000' }],
    ['quiz:submit', { attemptId: '00000000-0000-4000-8000-000000000000', answers: {} }],
    ['quiz:sync', { attemptId: ['x'] }],
    ['auth:refresh', { token: 'x'.repeat(5000) }],
    ['course:join', JSON.parse('{"__proto__": {"courseId": "00000000-0000-4000-8000-000000000000"}}')],
  ];
  for (const [event, data] of cases) {
    const ack = await request(socket, event as 'course:join', data);
    t.match(ack, { ok: false, error: { code: 'VALIDATION_ERROR', message: String } }, `${event} ${JSON.stringify(data).slice(0, 100)}`);
  }
  // No ack callback, no payload, unknown events: nothing breaks.
  (socket.emit as (event: string, data: unknown) => void)('course:join', { courseId: 'nope' });
  (socket.emit as (event: string) => void)('course:join');
  (socket.emit as (event: string, data: unknown) => void)('no:such:event', {});
  t.match(
    await request(socket, 'quiz:sync', { attemptId: '00000000-0000-4000-8000-000000000000' }),
    { ok: false, error: { code: 'NOT_FOUND' } },
    'still serving',
  );
  socket.disconnect();
});

t.test('a burst beyond the event budget is answered RATE_LIMITED', async (t) => {
  const socket = await connect(sockets.add(client(url, other.token)));
  // The default budget: 20 events per second, bursts of 40.
  const acks = await Promise.all(Array.from({ length: 80 }, () => request(socket, 'course:leave', { courseId: '00000000-0000-4000-8000-000000000000' })));
  const limited = acks.filter((ack) => !ack.ok && ack.error.code === 'RATE_LIMITED').length;
  t.ok(acks.filter((ack) => ack.ok).length >= 40, 'the burst is served');
  t.ok(limited >= 30, `the rest is refused (${limited} refused)`);
  t.match(
    acks.find((ack) => !ack.ok),
    { ok: false, error: { code: 'RATE_LIMITED', message: String } },
  );
  t.ok(socket.connected, 'the socket stays connected');
  socket.disconnect();
});

t.test('deactivation drops the sockets at once; they can neither reconnect nor recover', async (t) => {
  const victim = await createUser(app, 'student');
  const { course, lessons } = await courseWithLessons(app, admin, [victim]);
  const live = await connect(sockets.add(client(url, victim.token)));
  // A second socket of the same user dropped just before (transport closed), with a session to recover.
  const dropped = await connect(sockets.add(client(url, victim.token)));
  t.equal((await request(dropped, 'course:join', { courseId: course.id })).ok, true);
  const progressed = nextEvent(dropped, 'progress:updated');
  await ok(await call(app, 'POST', `/api/lessons/${lessons[0].id}/progress`, victim, { completionPercentage: 10 }), 200, LessonProgressResponse);
  await progressed; // the client now holds a recovery offset
  const closed = nextDisconnect(dropped);
  dropped.io.engine.close();
  await closed;

  const cut = nextDisconnect(live, 2000);
  await ok(await call(app, 'PATCH', `/api/users/${victim.id}`, admin, { isActive: false }), 200, UserResponse);
  t.equal(await cut, 'io server disconnect', 'the live socket is dropped at once');

  // Missed while offline: the recovery must not hand it to the deactivated user.
  app.realtime.emit(rooms.course(course.id), 'lesson:progress', {
    courseId: course.id,
    lessonId: lessons[1]!.id,
    studentId: victim.id,
    status: 'in_progress',
    completionPercentage: 5,
  });
  app.realtime.emit(rooms.user(victim.id), 'certificate:issued', { certificateNumber: 'CERT-1', courseId: course.id, pdfUrl: '/x.pdf' });
  t.equal(await connectError(live), 'unauthorized', 'reconnecting is refused');
  let recovered = false;
  dropped.on('connect', () => (recovered = dropped.recovered));
  const reached = receivedEventPackets(dropped);
  t.equal(await connectError(dropped), 'unauthorized', 'recovering the session is refused');
  t.notOk(recovered);
  t.same(reached, [], 'none of the missed events reached the connection');
  t.equal(await connectError(sockets.add(client(url, victim.token))), 'unauthorized', 'a new connection is refused');
});

t.test('a role change drops the sockets too; the old token no longer connects', async (t) => {
  const promoted = await createUser(app, 'student');
  const socket = await connect(sockets.add(client(url, promoted.token)));
  const cut = nextDisconnect(socket, 2000);
  await ok(await call(app, 'PATCH', `/api/users/${promoted.id}`, admin, { role: 'instructor' }), 200, UserResponse);
  t.equal(await cut, 'io server disconnect');
  t.equal(await connectError(socket), 'unauthorized', 'the token claims the old role');
  const fresh = await connect(sockets.add(client(url, app.signAccessToken({ id: promoted.id, role: 'instructor' }))));
  t.ok(fresh.connected, 'a token with the new role connects');
});

t.test('a message over maxHttpBufferSize closes the connection', async (t) => {
  t.equal(config.socketMaxMessageBytes, 64 * 1024);
  const socket = await connect(sockets.add(client(url, other.token)));
  const closed = nextDisconnect(socket);
  socket.emit('auth:refresh', { token: 'x'.repeat(100 * 1024) }, () => t.fail('no ack for an oversized message'));
  t.equal(await closed, 'transport close');
});
