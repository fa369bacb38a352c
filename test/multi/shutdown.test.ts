import t from '../helpers/tap.js';
import { buildApp } from '../../server/app.js';
import { rooms } from '../../server/realtime/contract.js';
import { createTestEnv } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/users.js';
import { waitFor } from '../helpers/wait.js';
import { courseWithLessons, dashboardOf } from '../realtime/fixtures.js';
import { client, connect, request, socketPool, type ClientSocket } from '../realtime/socket-helpers.js';
import { HealthChecks, oneRequest, startBalancer, type Outcome } from './balancer.js';
import { kill, startInstance } from './cluster-helpers.js';

// SIGTERM of an API instance (a deploy) with a class connected to it and requests in flight. Two
// instances behind a TCP load balancer that health-checks `/ready` every 200 ms (as a real one
// does, more often); instance 1 drains for 1.5 s.
const DRAIN_MS = 1500;
const STUDENTS = 100;
const testEnv = await createTestEnv(t, 'multi-shutdown', { SHUTDOWN_DRAIN_MS: String(DRAIN_MS), SHUTDOWN_TIMEOUT_MS: '5000' });
const setup = await buildApp(testEnv.config);
testEnv.defer(() => setup.close());
const one = await startInstance({ ...testEnv.env, LOG_LEVEL: 'info' });
const two = await startInstance(testEnv.env);
testEnv.defer(() => Promise.all([kill(one), kill(two)]));
const health = new HealthChecks([one.url, two.url], 200);
await health.start();
testEnv.defer(() => health.stop());
// One balancer for the sockets (held shut while they are away, to emit during the gap), one for HTTP.
const socketLb = await startBalancer(health);
const httpLb = await startBalancer(health);
testEnv.defer(() => Promise.all([socketLb.close(), httpLb.close()]));
const sockets = socketPool();
testEnv.defer(() => sockets.closeAll());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** `promise`, or a failure naming `what` after `ms`. */
const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`timed out waiting for ${what}`)))]);
const marker = (courseId: string, enrollmentId: string) =>
  setup.realtime.emit(rooms.course(courseId), 'progress:updated', {
    enrollmentId,
    courseId,
    studentId: 'marker',
    progressPercentage: 0,
    completedLessonsCount: 0,
    totalLessonsCount: 0,
    status: 'active',
  });

t.test('SIGTERM: /ready 503 during the drain, requests in flight complete, every socket reconnects to the other instance and recovers', async (t) => {
  const owner = await createUser(setup, 'instructor');
  const students: TestUser[] = [];
  for (let i = 0; i < STUDENTS; i++) students.push(await createUser(setup, 'student'));
  const { course, lessons } = await courseWithLessons(setup, owner, students);

  // The class, all on instance 1 (the balancer's first choice), joined and with an offset to resume from.
  const pupils: ClientSocket[] = [];
  for (let i = 0; i < STUDENTS; i += 20) {
    const batch = await Promise.all(
      students
        .slice(i, i + 20)
        .map((student) => connect(sockets.add(client(socketLb.url, student.token, { reconnection: true, reconnectionDelay: 200 })), 10_000)),
    );
    pupils.push(...batch);
  }
  for (const pupil of pupils) if (!(await request(pupil, 'course:join', { courseId: course.id })).ok) throw new Error('join failed');
  t.same([...socketLb.routed.keys()], [one.url], `${STUDENTS} sockets on instance 1`);
  const seen = pupils.map((pupil) => {
    const events: string[] = [];
    pupil.on('progress:updated', (payload) => events.push(payload.enrollmentId));
    return events;
  });
  marker(course.id, 'before');
  await waitFor('every socket to have an offset', () => seen.every((events) => events.includes('before')), 10_000);

  // HTTP through the balancer, four clients back to back, from before the signal until the end.
  let loadRunning = true;
  const outcomes: Outcome[] = [];
  const load = Array.from({ length: 4 }, async () => {
    while (loadRunning) outcomes.push(await oneRequest(httpLb.url, { method: 'GET', path: `/api/courses/${course.id}/dashboard`, token: owner.token }));
  });
  // Socket writes from ten students, every 100 ms, until they are back.
  let writing = true;
  const acks: Array<{ ok: boolean; code?: string } | { lost: true }> = [];
  const writers = pupils.slice(0, 10).map(async (pupil) => {
    while (writing) {
      acks.push(
        await request(pupil, 'lesson:progress', { lessonId: lessons[1].id, timeSpentSecondsDelta: 1 }, 8000).then(
          (ack) => ({ ok: ack.ok, code: ack.error?.code }),
          () => ({ lost: true as const }),
        ),
      );
      await sleep(100);
    }
  });

  // Slow requests to instance 1, sent before the signal and still sending their body when it
  // closes after the drain: progress writes of five students.
  const slow = students.slice(10, 15).map((student) =>
    oneRequest(one.url, {
      method: 'POST',
      path: `/api/lessons/${lessons[0].id}/progress`,
      token: student.token,
      body: { timeSpentSecondsDelta: 7 },
      dribbleMs: DRAIN_MS + 1500,
    }),
  );
  await sleep(100);

  const reasons: string[] = [];
  const disconnected = Promise.all(
    pupils.map((pupil) => new Promise<void>((resolve) => pupil.once('disconnect', (reason) => (reasons.push(reason), resolve())))),
  );
  socketLb.hold();
  const signalledAt = Date.now();
  one.child.kill('SIGTERM');
  let exitedAt = 0;
  void one.exited.then(() => (exitedAt = Date.now()));

  // During the drain: /ready is 503 at once, the API is served.
  const firstReady = await oneRequest(one.url, { method: 'GET', path: '/ready' });
  t.match(firstReady, { status: 503 }, `/ready answers 503 ${Date.now() - signalledAt} ms after SIGTERM`);
  t.match(JSON.parse((firstReady as { body: string }).body), { status: 'draining' });
  t.match(await oneRequest(one.url, { method: 'GET', path: '/api/me', token: owner.token }), { status: 200 }, 'the API is served during the drain');
  await sleep(Math.max(0, signalledAt + DRAIN_MS - 300 - Date.now()));
  const duringDrain = await oneRequest(one.url, { method: 'GET', path: '/ready' });
  t.match(duringDrain, { status: 503 }, '/ready is still 503 late in the drain');

  await within(disconnected, DRAIN_MS + 10_000, 'the sockets to be closed');
  const gone = Date.now() - signalledAt;
  t.ok(gone >= DRAIN_MS, `the sockets stayed for the drain (${gone} ms)`);
  t.same([...new Set(reasons)], ['transport close'], 'every socket saw a transport close (clients reconnect), never "io server disconnect"');

  // The sessions are in Redis: instance 1 wrote them before it quit its adapter connection.
  const sessions = await waitFor('the recovery sessions', async () => {
    const keys = await setup.redis.keys(`${testEnv.config.redisPrefix}:sio:session:*`);
    return keys.length >= STUDENTS ? keys.length : false;
  });
  t.ok(sessions >= STUDENTS, `${sessions} recovery sessions stored`);
  // Emitted while every client is away.
  marker(course.id, 'gap');
  await sleep(100);
  const reconnected = Promise.all(
    pupils.map((pupil) => (pupil.connected ? Promise.resolve() : new Promise<void>((resolve) => pupil.once('connect', () => resolve())))),
  );
  socketLb.release();
  await within(reconnected, 15_000, 'every socket to reconnect');
  t.equal(pupils.filter((pupil) => pupil.recovered).length, STUDENTS, 'every socket recovered its session');
  t.equal(socketLb.routed.get(two.url), STUDENTS, 'on instance 2');
  await waitFor('the event sent during the gap', () => seen.every((events) => events.includes('gap')), 10_000);
  await Promise.all(pupils.map((pupil) => request(pupil, 'course:leave', { courseId: '00000000-0000-4000-8000-000000000000' })));
  t.equal(seen.filter((events) => events.filter((id) => id === 'gap').length === 1).length, STUDENTS, 'each socket received it exactly once');

  const exited = await within(one.exited, 15_000, 'instance 1 to exit');
  // Its shutdown as it logged it (ms after SIGTERM).
  const phases = one
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{') && !line.includes('request'))
    .map((line) => JSON.parse(line) as { time: number; msg: string })
    .filter((entry) => entry.time >= signalledAt)
    .map((entry) => `${entry.time - signalledAt} ms: ${entry.msg}`);
  t.comment(phases.join('\n'));
  t.same(exited, { code: 0, signal: null }, `instance 1 exited cleanly ${exitedAt - signalledAt} ms after SIGTERM`);
  writing = false;
  await Promise.all(writers);
  loadRunning = false;
  await Promise.all(load);

  const slowOutcomes = await Promise.all(slow);
  t.same(
    slowOutcomes.map((outcome) => ('status' in outcome ? outcome.status : outcome.error)),
    [200, 200, 200, 200, 200],
    'requests in flight from before the signal to after the close completed',
  );
  const [{ time }] = await setup.orm.em.fork().execute<Array<{ time: number }>>(
    `SELECT coalesce(sum(lp.time_spent_seconds), 0)::int AS time FROM lesson_progress lp JOIN enrollments e ON e.id = lp.enrollment_id
        WHERE lp.lesson_id = ? AND e.student_id IN (${students
          .slice(10, 15)
          .map(() => '?')
          .join(', ')})`,
    [lessons[0].id, ...students.slice(10, 15).map((s) => s.id)],
  );
  t.equal(time, 35, 'and their writes are stored');

  const outAt = health.changes.find((change) => change.backend === one.url && !change.healthy)?.at;
  const lastToOne = httpLb.log.filter((entry) => entry.target === one.url).at(-1)?.at;
  t.comment(`the balancer took instance 1 out ${outAt! - signalledAt} ms after SIGTERM; its last request went there at ${lastToOne! - signalledAt} ms`);
  t.ok(
    httpLb.log.every((entry) => entry.target !== null),
    'the balancer always had an instance to send to',
  );
  const failed = outcomes.filter((outcome) => !('status' in outcome) || outcome.status >= 300);
  t.same(failed, [], `every request through the balancer succeeded (${outcomes.length})`);

  const okAcks = acks.filter((ack) => 'ok' in ack && ack.ok).length;
  const refused = acks.filter((ack) => 'code' in ack && ack.code === 'UNAVAILABLE').length;
  const lost = acks.filter((ack) => 'lost' in ack).length;
  t.equal(okAcks + refused + lost, acks.length, 'acks are ok or UNAVAILABLE, nothing else');
  const [{ time: written }] = await setup.orm.em
    .fork()
    .execute<Array<{ time: number }>>('SELECT coalesce(sum(time_spent_seconds), 0)::int AS time FROM lesson_progress WHERE lesson_id = ?', [lessons[1].id]);
  // An event that reaches the instance once it stopped reading is dropped unread: without an ack,
  // it was not applied, so sending it again after the reconnect counts it once.
  t.equal(written, okAcks, `socket writes: ${okAcks} acknowledged and stored, ${refused} refused while closing, ${lost} without an ack and not applied`);
  t.comment(`${outcomes.length} requests through the balancer; socket writes ${okAcks} ok / ${refused} refused / ${lost} lost`);

  const dashboard = await dashboardOf(setup, course.id, owner);
  t.equal(dashboard.online.length, STUDENTS, 'the class is online again (on instance 2)');
});
