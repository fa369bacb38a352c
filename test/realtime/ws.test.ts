import { AttemptJson } from '../../server/modules/attempts/attempts.schemas.js';
import t from '../helpers/tap.js';
import { buildTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/users.js';
import { wsClient, type WsClient } from '../multi/cluster-helpers.js';
import { courseWithLessons, ok, publishedQuiz } from './fixtures.js';
import { call } from '../helpers/http.js';
import { client, connect, listen, nextEvent, request, socketPool } from './socket-helpers.js';

// `/ws` on one instance: the same handlers, events and authorisation as Socket.IO.
const { app } = await buildTestApp(t, 'realtime-ws', { SOCKET_EVENTS_PER_SECOND: '1', SOCKET_EVENTS_BURST: '6', WS_AUTH_TIMEOUT_MS: '300' });
const url = await listen(app);
const sockets = socketPool();
const opened: WsClient[] = [];
t.teardown(() => {
  sockets.closeAll();
  for (const ws of opened) ws.ws.terminate();
});
const owner = await createUser(app, 'instructor');
const student = await createUser(app, 'student');
const wsAs = async (token?: string) => {
  const ws = await wsClient(token === undefined ? `${url}/ws` : `${url}/ws?token=${encodeURIComponent(token)}`);
  opened.push(ws);
  return ws;
};

t.test('Socket.IO websocket transport still connects next to @fastify/websocket', async (t) => {
  const socket = await connect(sockets.add(client(url, student.token)));
  t.equal(socket.io.engine.transport.name, 'websocket');
  socket.disconnect();
});

t.test('a /ws student: progress reaches a Socket.IO instructor, ticks and quiz events reach /ws', async (t) => {
  const { course, lessons } = await courseWithLessons(app, owner, [student]);
  const { quiz } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 2 });
  const teacher = await connect(sockets.add(client(url, owner.token)));
  await request(teacher, 'course:join', { courseId: course.id });
  const pupil = await wsAs(student.token);

  const joined = nextEvent(teacher, 'presence:updated', (p) => p.joined.includes(student.id));
  t.match(await pupil.send('subscribe', { courseId: course.id }), { ok: true, data: { courseId: course.id } });
  await joined;

  const heard = nextEvent(teacher, 'lesson:progress', (p) => p.studentId === student.id);
  const own = pupil.next('progress:updated');
  t.match(await pupil.send('lesson:progress', { lessonId: lessons[0].id, completionPercentage: 30 }), {
    ok: true,
    data: { lessonProgress: { lessonId: lessons[0].id } },
  });
  t.match(await heard, { courseId: course.id, lessonId: lessons[0].id, completionPercentage: 30 });
  t.match(await own, { studentId: student.id, serverNow: String }, 'the student hears its own progress over /ws');

  const started = pupil.next('quiz:started');
  const tick = pupil.next('quiz:tick');
  const attempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  t.match(await started, { attemptId: attempt.id });
  t.match(await tick, { attemptId: attempt.id, remainingMs: Number }, 'ticks reach /ws');
  const graded = nextEvent(teacher, 'quiz:graded', (p) => p.attemptId === attempt.id);
  t.match(await pupil.send('quiz:submit', { attemptId: attempt.id }), { ok: true, data: { id: attempt.id, status: 'graded' } });
  await graded;

  const left = nextEvent(teacher, 'presence:updated', (p) => p.left.includes(student.id));
  t.match(await pupil.send('unsubscribe', { courseId: course.id }), { ok: true });
  await left;
  pupil.ws.close();
});

t.test('frame types that name Object.prototype members are unknown frame types', async (t) => {
  const ws = await wsAs(student.token);
  for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    const acked = ws.next('ack', (frame) => frame.id === type);
    ws.ws.send(JSON.stringify({ type, id: type, data: {} }));
    t.match(await acked, { ok: false, error: { code: 'VALIDATION_ERROR', message: `Unknown frame type "${type}"` } }, type);
  }
  ws.ws.close();
});

t.test('rate limit, auth timeout and deactivation', async (t) => {
  const ws = await wsAs(owner.token);
  const acks = await Promise.all(Array.from({ length: 8 }, () => ws.send('quiz:sync', { attemptId: '00000000-0000-4000-8000-000000000000' })));
  t.ok(
    acks.some((ack) => ack.error?.code === 'RATE_LIMITED'),
    'beyond the burst: RATE_LIMITED',
  );

  const silent = await wsAs();
  t.match(await silent.closed, { code: 4401, reason: /no auth frame/ }, 'no auth frame in time closes 4401');

  const victim = await createUser(app, 'student');
  const victimWs = await wsAs(victim.token);
  t.match(await victimWs.send('auth:refresh', { token: victim.token }), { ok: true }, 'live');
  app.publisher.accountChanged(victim.id);
  t.match(await victimWs.closed, { code: 4401 }, 'deactivation closes the /ws connection');
  ws.ws.close();
});
