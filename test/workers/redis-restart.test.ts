import { AttemptJson } from '../../server/modules/attempts/attempts.schemas.js';
import t from '../helpers/tap.js';
import { buildTestApp } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { freePort, startRedisServer } from '../helpers/processes.js';
import { createUser } from '../helpers/users.js';
import { waitFor } from '../helpers/wait.js';
import { courseWithLessons, ok, publishedQuiz } from '../realtime/fixtures.js';
import { client, connect, listen, nextEvent, request, socketPool } from '../realtime/socket-helpers.js';
import { waitForRedis } from '../../server/platform/redis.js';

// A Redis of this test's own, restarted empty mid-quiz: every delayed job, the queues, presence
// and the Socket.IO stream are gone, as after a Redis restart without persistence.
const port = await freePort();
let redis = await startRedisServer(port);
t.teardown(() => redis.kill());

const GRACE_MS = 300;
const SWEEP_INTERVAL_MS = 1000;
const { app } = await buildTestApp(t, 'redis-restart', {
  REDIS_URL: redis.url,
  WORKERS: 'on',
  QUIZ_GRACE_MS: String(GRACE_MS),
  SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS),
  // Far beyond the test: presence must come back without waiting for a heartbeat.
  PRESENCE_HEARTBEAT_MS: '60000',
  PRESENCE_TTL_MS: '150000',
});
const url = await listen(app);
const sockets = socketPool();
t.teardown(() => sockets.closeAll());

t.test('after Redis restarts empty, a running attempt is graded at its deadline and presence comes back, without restarting the app', async (t) => {
  const owner = await createUser(app, 'instructor');
  const student = await createUser(app, 'student');
  const { course } = await courseWithLessons(app, owner, [student]);
  const { quiz } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 3 });

  const instructorSocket = sockets.add(client(url, owner.token, { reconnection: true }));
  const studentSocket = sockets.add(client(url, student.token, { reconnection: true }));
  await connect(instructorSocket);
  await connect(studentSocket);
  t.match(await request(instructorSocket, 'course:join', { courseId: course.id }), { ok: true });
  const joined = nextEvent(instructorSocket, 'presence:updated', (p) => p.joined.includes(student.id));
  t.match(await request(studentSocket, 'course:join', { courseId: course.id }), { ok: true });
  await joined;

  const attempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  const due = Date.parse(attempt.deadline!) + GRACE_MS;

  await redis.kill();
  redis = await startRedisServer(port);
  const back = nextEvent(instructorSocket, 'presence:updated', (p) => p.joined.includes(student.id), 10_000);
  t.ok(await waitForRedis(app.redis, 10_000), 'the app reconnected to the empty Redis');
  const reconnectedAt = Date.now();

  await back;
  t.ok(Date.now() - reconnectedAt < 3000, `presence:updated joined again ${Date.now() - reconnectedAt} ms after the reconnect`);
  t.ok((await app.presence.online(course.id)).includes(student.id), 'the student is online in Redis again');

  const graded = await waitFor(
    'the attempt to be graded',
    async () => {
      const current = await ok(await call(app, 'GET', `/api/attempts/${attempt.id}`, student), 200, AttemptJson);
      return current.status === 'graded' ? current : undefined;
    },
    due - Date.now() + 3 * SWEEP_INTERVAL_MS + 5000,
    100,
  );
  const lateMs = Date.now() - due;
  t.match(graded, { status: 'graded', result: { autoSubmitted: true } });
  t.ok(lateMs < 2 * SWEEP_INTERVAL_MS + 1500, `graded ${lateMs} ms after deadline + grace`);
});
