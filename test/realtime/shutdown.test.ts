import { LessonProgressResponse } from '../../server/modules/progress/progress.schemas.js';
import pg from 'pg';
import t from '../helpers/tap.js';
import { buildApp } from '../../server/app.js';
import { rooms } from '../../server/realtime/contract.js';
import { createTestEnv } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { createUser } from '../helpers/users.js';
import { waitFor } from '../helpers/wait.js';
import { wsClient } from '../multi/cluster-helpers.js';
import { courseWithLessons, ok } from './fixtures.js';
import { client, connect, connectError, listen, nextDisconnect, nextEvent, record, request, socketPool } from './socket-helpers.js';

// Two instances on one database and Redis prefix; A is closed the way SIGTERM closes it (after
// its drain) while a client event is running, and its client resumes on B.
const env = await createTestEnv(t, 'realtime-shutdown');
const a = await buildApp(env.config);
const b = await buildApp(env.config);
let aClosed = false;
env.defer(() => (aClosed ? undefined : a.close()));
env.defer(() => b.close());
const urlA = await listen(a);
const urlB = await listen(b);
const sockets = socketPool();
env.defer(() => sockets.closeAll());

const owner = await createUser(a, 'instructor');
const student = await createUser(a, 'student');

t.test('draining: /ready answers 503 while everything else is served', async (t) => {
  t.equal((await call(b, 'GET', '/ready')).status, 200);
  b.draining = true;
  t.teardown(() => {
    b.draining = false;
  });
  const ready = await call(b, 'GET', '/ready');
  t.equal(ready.status, 503);
  t.match(ready.body, { status: 'draining', checks: { postgres: { ok: true }, redis: { ok: true } } }, 'its dependencies are fine: it is leaving');
  t.equal((await call(b, 'GET', '/health')).status, 200, 'alive');
  t.equal((await call(b, 'GET', '/api/me', student)).status, 200, 'and serving');
});

t.test('closing: running events ack, new ones get UNAVAILABLE, sockets see a transport close and recover on another instance', async (t) => {
  const { course, lessons } = await courseWithLessons(a, owner, [student]);
  const teacher = await connect(sockets.add(client(urlB, owner.token)));
  await request(teacher, 'course:join', { courseId: course.id });
  const pupil = await connect(sockets.add(client(urlA, student.token, { reconnection: true, reconnectionDelay: 200 })));
  t.equal((await request(pupil, 'course:join', { courseId: course.id })).ok, true);
  const ws = await wsClient(`${urlA}/ws?token=${encodeURIComponent(student.token)}`);
  t.teardown(() => ws.ws.terminate());
  // A broadcast gives the client an offset to resume from.
  const first = nextEvent(pupil, 'progress:updated');
  await ok(await call(a, 'POST', `/api/lessons/${lessons[0].id}/progress`, student, { completionPercentage: 10 }), 200, LessonProgressResponse);
  await first;

  // A progress write that will be running when A closes: the test holds the enrollment's row lock.
  const [enrollment] = await a.orm.em
    .fork()
    .execute<Array<{ id: string }>>('SELECT id FROM enrollments WHERE student_id = ? AND course_id = ?', [student.id, course.id]);
  const locker = new pg.Client({ connectionString: env.config.databaseUrl });
  await locker.connect();
  t.teardown(() => locker.end());
  await locker.query('BEGIN');
  await locker.query('SELECT 1 FROM enrollments WHERE id = $1 FOR UPDATE', [enrollment!.id]);
  const running = request(pupil, 'lesson:progress', { lessonId: lessons[1].id, timeSpentSecondsDelta: 30 }, 10_000);
  await waitFor('the write to wait for the lock', async () => {
    const { rows } = await locker.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`);
    return rows[0].n > 0;
  });

  const disconnected = nextDisconnect(pupil, 10_000);
  const wsClosed = ws.closed;
  const closing = a.close().then(() => (aClosed = true));
  // Events that arrive once A stopped taking them are answered at once, not run.
  const refused = await waitFor('an event to be refused', async () => {
    const ack = await request(pupil, 'quiz:sync', { attemptId: '00000000-0000-4000-8000-000000000000' });
    return ack.ok === false && ack.error.code === 'UNAVAILABLE' ? ack : false;
  });
  t.match(refused, { ok: false, error: { code: 'UNAVAILABLE', message: String } }, 'a new event gets UNAVAILABLE');
  t.ok(pupil.connected, 'while the running one holds the socket open');
  t.equal(await connectError(sockets.add(client(urlA, owner.token))), 'unavailable', 'a new socket is refused: it goes elsewhere');

  // Move the client's reconnection to B, as a load balancer would once A is out.
  (pupil.io as unknown as { uri: string }).uri = urlB;
  await locker.query('COMMIT');
  t.match(
    await running,
    { ok: true, data: { lessonProgress: { lessonId: lessons[1].id, timeSpentSeconds: 30 } } },
    'the running event acks before the socket goes',
  );
  t.equal(await disconnected, 'transport close', 'a transport close, which clients reconnect from (not "io server disconnect")');
  t.match(await wsClosed, { code: 1012 }, '/ws connections close with 1012 (service restart)');

  // Emitted on B while the client is away: recovery must deliver it once.
  const missed = nextEvent(pupil, 'progress:updated', (p) => p.enrollmentId === 'gap', 10_000);
  const saw = record(pupil);
  b.realtime.emit(rooms.course(course.id), 'progress:updated', {
    enrollmentId: 'gap',
    courseId: course.id,
    studentId: student.id,
    progressPercentage: 0,
    completedLessonsCount: 0,
    totalLessonsCount: 0,
    status: 'active',
  });
  await new Promise<void>((resolve) => pupil.once('connect', () => resolve()));
  t.equal(pupil.recovered, true, 'the session A stored is recovered on B');
  await missed;
  await request(pupil, 'course:leave', { courseId: '00000000-0000-4000-8000-000000000000' });
  t.equal(saw.filter((e) => e.event === 'progress:updated' && e.payload.enrollmentId === 'gap').length, 1, 'the event sent during the gap arrives once');
  await closing;
  t.ok(aClosed, 'A closed');
});
