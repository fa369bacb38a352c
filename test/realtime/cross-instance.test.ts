import t from 'tap';
import { buildApp } from '../../server/app.js';
import { rooms } from '../../server/realtime/events.js';
import { createTestEnv } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { createUser, type TestUser } from '../helpers/users.js';
import { wsClient, type WsClient } from '../multi/cluster-helpers.js';
import { courseWithLessons, ok, publishedQuiz } from './fixtures.js';
import { client, connect, listen, nextDisconnect, nextEvent, record, request, socketPool, type ClientSocket } from './socket-helpers.js';

// Two API instances (A and B) in this process, both listening, on one database and one Redis
// prefix. No workers: nothing grades at the deadline, so `quiz:expired` can only come from the
// instance that ticks the attempt.
const env = await createTestEnv(t, 'realtime-cross', { QUIZ_GRACE_MS: '200', SWEEP_INTERVAL_MS: '3600000' });
const a = await buildApp(env.config);
const b = await buildApp(env.config);
env.defer(() => a.close());
env.defer(() => b.close());
const urlA = await listen(a);
const urlB = await listen(b);
const sockets = socketPool();
const opened: WsClient[] = [];
env.defer(() => {
  sockets.closeAll();
  for (const ws of opened) ws.ws.terminate();
});

const owner = await createUser(a, 'instructor');
const admin = await createUser(a, 'admin');
const socketOn = async (url: string, user: { token: string }) => connect(sockets.add(client(url, user.token)));
const wsOn = async (url: string, user: { token: string }) => {
  const ws = await wsClient(`${url}/ws?token=${encodeURIComponent(user.token)}`);
  opened.push(ws);
  return ws;
};
/** A broadcast to the course room from instance A. */
const courseBroadcast = (courseId: string, marker: number) =>
  a.realtime.emit(rooms.course(courseId), 'progress:updated', {
    enrollmentId: 'marker',
    courseId,
    studentId: 'marker',
    progressPercentage: marker,
    completedLessonsCount: 0,
    totalLessonsCount: 0,
    status: 'active',
  });
const markers = (seen: Array<{ event: string; payload: any }>) => seen.filter((e) => e.event === 'progress:updated' && e.payload.enrollmentId === 'marker').map((e) => e.payload.progressPercentage);
const wsMarkers = (ws: WsClient) => ws.events.filter((e) => e.type === 'progress:updated' && e.data.enrollmentId === 'marker').map((e) => e.data.progressPercentage);
const joinAll = async (courseId: string, ...clients: Array<ClientSocket | WsClient>) => {
  for (const c of clients) {
    const ack = 'emit' in c ? await request(c, 'course:join', { courseId }) : await c.send('subscribe', { courseId });
    if (!ack.ok) throw new Error(`join failed: ${JSON.stringify(ack)}`);
  }
};

t.test('a student whose socket is on B gets ticks from B and a timely quiz:expired when the attempt starts on A', async (t) => {
  const student = await createUser(a, 'student');
  const { course } = await courseWithLessons(a, owner, [student]);
  const { quiz } = await publishedQuiz(a, owner, course.id, { timeLimitSeconds: 2 });
  const pupil = await socketOn(urlB, student);
  const seen = record(pupil);
  const firstTick = nextEvent(pupil, 'quiz:tick', undefined, 3000);
  const expired = nextEvent(pupil, 'quiz:expired', undefined, 4000);
  const attempt = await ok(await call(a, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201);
  t.match(await firstTick, { attemptId: attempt.id, remainingMs: Number }, 'B ticks the attempt A started');
  t.match(await expired, { attemptId: attempt.id });
  const late = Date.now() - Date.parse(attempt.deadline);
  t.ok(late >= -50 && late < 500, `quiz:expired at the deadline (${late} ms after it)`);
  const ticks = seen.filter((e) => e.event === 'quiz:tick');
  t.ok(ticks.length >= 2, `${ticks.length} ticks`);
  t.equal(seen.filter((e) => e.event === 'quiz:expired').length, 1, 'once');
});
