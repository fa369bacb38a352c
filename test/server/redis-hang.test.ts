import t from '../helpers/tap.js';
import { buildTestApp } from '../helpers/app.js';
import { bodyOf, call } from '../helpers/http.js';
import { AttemptJson } from '../../server/modules/attempts/attempts.schemas.js';
import { freePort, startRedisServer } from '../helpers/processes.js';
import { createUser, TEST_PASSWORD } from '../helpers/users.js';
import { courseWithLessons, dashboardOf, publishedQuiz } from '../realtime/fixtures.js';
import { client, connect, listen, request, socketPool } from '../realtime/socket-helpers.js';

// A Redis of this test's own, frozen with SIGSTOP: connections stay open and nothing answers,
// as when Redis hangs (a long fork, swapping, a stalled network path).
const port = await freePort();
const redis = await startRedisServer(port);
t.teardown(async () => {
  redis.child.kill('SIGCONT');
  await redis.kill();
});

const { app } = await buildTestApp(t, 'redis-hang', { REDIS_URL: redis.url, RATE_LIMIT_MAX: '1000' });
const url = await listen(app);
const sockets = socketPool();
t.teardown(() => sockets.closeAll());

const owner = await createUser(app, 'instructor');
const student = await createUser(app, 'student');
const { course } = await courseWithLessons(app, owner, [student]);
const { quiz } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 600 });
const socket = sockets.add(client(url, student.token));
await connect(socket);

/** Runs `work` and measures it; gives up after 5 s so that a hang fails the test quickly. */
async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await Promise.race([work(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5000))]);
  return { result, ms: Math.round(performance.now() - started) };
}

t.test('a hung Redis costs requests at most about a second, and everything is normal after it resumes', async (t) => {
  const getCourse = () => call(app, 'GET', `/api/courses/${course.slug}`);
  const login = () => call(app, 'POST', '/api/auth/login', null, { email: student.email, password: TEST_PASSWORD });
  const dashboard = () => call(app, 'GET', `/api/courses/${course.id}/dashboard`, owner);
  // What each costs with Redis answering (a login hashes a password), on this machine, now.
  const usual = { get: (await timed(getCourse)).ms, login: (await timed(login)).ms, dashboard: (await timed(dashboard)).ms };

  redis.child.kill('SIGSTOP');
  t.teardown(() => void redis.child.kill('SIGCONT'));

  const get = await timed(getCourse);
  t.equal(get.result.status, 200, 'GET course, the per-IP limiter failing open');
  t.ok(get.ms < usual.get + 1000, `GET /api/courses/:slug in ${get.ms} ms (${usual.get} ms with Redis)`);

  const loggedIn = await timed(login);
  t.equal(loggedIn.result.status, 200, 'login, the per-email limiter failing open');
  // Three limiter commands time out one after the other (per IP, auth per IP, per email: 3 × 250 ms);
  // marking the address known is not awaited. The rest is slack for a loaded CI machine.
  t.ok(loggedIn.ms < usual.login + 1500, `login in ${loggedIn.ms} ms (${usual.login} ms with Redis)`);

  const start = await timed(() => call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student));
  t.equal(start.result.status, 201, 'a timed attempt starts (its deadline job waits for Redis; the sweep is the fallback)');
  t.ok(start.ms < 2500, `attempt start in ${start.ms} ms`);

  const join = await timed(() => request(socket, 'course:join', { courseId: course.id }));
  t.match(join.result, { ok: true, data: { courseId: course.id } }, 'course:join answers without presence');
  t.ok(join.ms < 1500, `course:join in ${join.ms} ms`);

  const board = await timed(dashboard);
  t.equal(board.result.status, 200, 'the dashboard answers without presence');
  t.ok(board.ms < usual.dashboard + 1000, `dashboard in ${board.ms} ms (${usual.dashboard} ms with Redis)`);

  redis.child.kill('SIGCONT');
  const after = await timed(() => call(app, 'GET', `/api/courses/${course.slug}`));
  t.equal(after.result.status, 200);
  t.ok(Number(after.result.headers['x-ratelimit-remaining']) < 1000, 'the limiter counts again');
  const submit = await timed(() => call(app, 'POST', `/api/attempts/${bodyOf(start.result, 201, AttemptJson).id}/submit`, student, {}));
  t.equal(submit.result.status, 200, 'the attempt is submitted normally');
  const online = await dashboardOf(app, course.id, owner);
  t.ok(Array.isArray(online.online));
});
