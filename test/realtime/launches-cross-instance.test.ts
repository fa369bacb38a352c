import t from '../helpers/tap.js';
import { buildApp } from '../../server/app.js';
import { startInProcessWorkers } from '../../workers/in-process.js';
import { LaunchCreatedJson } from '../../server/modules/live-sessions/launches.schemas.js';
import { createTestEnv } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { createUser } from '../helpers/users.js';
import { liveSession } from '../modules/live-sessions/launch-fixtures.js';
import { courseWithLessons, ok, publishedQuiz } from './fixtures.js';
import { client, connect, listen, nextEvent, record, request, socketPool } from './socket-helpers.js';

// Two API instances on one database and one Redis prefix; A runs the workers (the launch's job).
const env = await createTestEnv(t, 'launches-cross', { QUIZ_GRACE_MS: '200', SWEEP_INTERVAL_MS: '3600000' });
const a = await buildApp(env.config);
const b = await buildApp(env.config);
env.defer(() => a.close());
env.defer(() => b.close());
const workers = await startInProcessWorkers(a);
env.defer(() => workers.close());
await listen(a);
const urlB = await listen(b);
const sockets = socketPool();
env.defer(() => sockets.closeAll());

t.test('a launch made on instance A reaches a student connected to instance B once, and ticks there', async (t) => {
  const owner = await createUser(a, 'instructor');
  const student = await createUser(a, 'student');
  const { course } = await courseWithLessons(a, owner, [student]);
  const { quiz } = await publishedQuiz(a, owner, course.id);
  const sessionId = await liveSession(a, course.id, owner);
  const teacher = await connect(sockets.add(client(urlB, owner.token)));
  const pupil = await connect(sockets.add(client(urlB, student.token)));
  t.equal((await request(teacher, 'course:join', { courseId: course.id })).ok, true);
  t.equal((await request(pupil, 'course:join', { courseId: course.id })).ok, true);
  const seen = record(pupil);
  const teacherSeen = record(teacher);

  const started = nextEvent(pupil, 'quiz:started');
  const tick = nextEvent(pupil, 'quiz:tick', undefined, 3000);
  const counts = nextEvent(teacher, 'session:launch-counts', (p) => p.counts.started === 1);
  const created = await ok(
    await call(a, 'POST', `/api/live-sessions/${sessionId}/launches`, owner, { quizId: quiz.id, durationSeconds: 30 }),
    201,
    LaunchCreatedJson,
  );
  t.same(
    created.started.map((row) => row.studentId),
    [student.id],
    'A saw the student online on B (presence is shared)',
  );
  t.match(await started, { launchId: created.launch.id, attemptId: created.started[0]!.attemptId, attempt: { id: created.started[0]!.attemptId } });
  t.match(await tick, { launchId: created.launch.id }, 'B ticks the launch to its student (one tick per launch and deadline)');
  await counts;
  // A round trip to B: anything A sent before it has been delivered.
  await request(pupil, 'course:join', { courseId: course.id });
  t.equal(seen.filter((e) => e.event === 'quiz:started').length, 1, 'quiz:started once');
  t.equal(seen.filter((e) => e.event === 'session:quiz-launched').length, 1, 'session:quiz-launched once');
  t.equal(teacherSeen.filter((e) => e.event === 'session:quiz-launched').length, 1, 'the instructor on B hears the launch once');

  const closed = nextEvent(pupil, 'session:quiz-closed');
  const summary = nextEvent(teacher, 'session:launch-summary');
  await call(a, 'POST', `/api/launches/${created.launch.id}/close`, owner);
  t.match(await closed, { launchId: created.launch.id });
  t.match(await summary, { summary: { started: 1, abandoned: 1 } }, 'finished by the job on A, heard on B');
});
