import t from '../helpers/tap.js';
import { Value } from 'typebox/value';
import { buildTestApp } from '../helpers/app.js';
import { bodyOf, call } from '../helpers/http.js';
import { createUser } from '../helpers/users.js';
import { waitFor } from '../helpers/wait.js';
import { serverEvents } from '../../server/realtime/contract.js';
import { RegradeAcceptedJson, RegradeJson } from '../../server/modules/regrades/regrades.schemas.js';
import { QuestionJson } from '../../server/modules/quizzes/quizzes.schemas.js';
import { PATTERNS, submitPattern, wrongKeyQuiz } from '../modules/regrades/fixture.js';
import { client, connect, listen, nextEvent, record, request, socketPool } from './socket-helpers.js';

// A regrade as sockets see it: the job runs in this process's workers and reports through the
// app's publisher.
const { app } = await buildTestApp(t, 'realtime-regrades', { WORKERS: 'on', SWEEP_INTERVAL_MS: '3600000', REGRADE_BATCH_SIZE: '1' });
const url = await listen(app);
const sockets = socketPool();
t.teardown(() => sockets.closeAll());
const socketOf = async (user: { token: string }) => connect(sockets.add(client(url, user.token)));

t.test('the instructors hear progress and the summary; each student whose result changed hears quiz:regraded, no one else', async (t) => {
  const owner = await createUser(app, 'instructor');
  const rising = await createUser(app, 'student');
  const falling = await createUser(app, 'student');
  const steady = await createUser(app, 'student');
  const fixture = await wrongKeyQuiz(app, owner, [rising, falling, steady]);
  const ids = { quizId: fixture.quiz.id, tf: fixture.tf.id, mc: fixture.mc.id, sa: fixture.sa.id };
  const risingAttempt = await submitPattern(app, rising, ids, 'newlyPassing');
  const fallingAttempt = await submitPattern(app, falling, ids, 'nowFailing');
  await submitPattern(app, steady, ids, 'unchanged');

  const teacher = await socketOf(owner);
  await request(teacher, 'course:join', { courseId: fixture.course.id });
  const pupils = await Promise.all([rising, falling, steady].map(socketOf));
  for (const pupil of pupils) await request(pupil, 'course:join', { courseId: fixture.course.id });
  const teacherSaw = record(teacher);
  const pupilsSaw = pupils.map(record);

  bodyOf(await call(app, 'PATCH', `/api/questions/${ids.tf}`, owner, { correctAnswer: false }), 200, QuestionJson);
  const regradedRising = nextEvent(pupils[0]!, 'quiz:regraded');
  const regradedFalling = nextEvent(pupils[1]!, 'quiz:regraded');
  const summary = nextEvent(teacher, 'quiz:regrade-summary', () => true, 15_000);
  const { regradeId } = bodyOf(await call(app, 'POST', `/api/quizzes/${ids.quizId}/regrade`, owner, { dryRun: false }), 202, RegradeAcceptedJson);

  t.match(await regradedRising, {
    attemptId: risingAttempt.id,
    quizId: ids.quizId,
    courseId: fixture.course.id,
    studentId: rising.id,
    ...PATTERNS.newlyPassing.after,
    maxScore: 4,
    previous: PATTERNS.newlyPassing.before,
  });
  t.match(await regradedFalling, { attemptId: fallingAttempt.id, isPassed: false, previous: { isPassed: true, score: 4, percentage: 100 } });
  t.match(await summary, {
    regradeId,
    quizId: ids.quizId,
    courseId: fixture.course.id,
    keyVersion: 2,
    status: 'done',
    total: 3,
    processed: 3,
    changed: 2,
    error: null,
  });
  t.match(bodyOf(await call(app, 'GET', `/api/regrades/${regradeId}`, owner), 200, RegradeJson), { status: 'done', processed: 3, changed: 2 });

  // Let anything late arrive before counting.
  await waitFor('the newly passing student to complete the course', () =>
    pupilsSaw[0]!.some((seen) => seen.event === 'progress:updated' && seen.payload.status === 'completed'),
  );
  const progress = teacherSaw.filter((seen) => seen.event === 'quiz:regrade-progress').map((seen) => seen.payload);
  t.ok(progress.length >= 1, 'progress reached the instructors');
  t.match(progress.at(-1), { regradeId, processed: 3, total: 3, changed: 2 }, 'the last progress is the final count');
  const summaryAt = teacherSaw.findIndex((seen) => seen.event === 'quiz:regrade-summary');
  t.notOk(
    teacherSaw.slice(summaryAt + 1).some((seen) => seen.event.startsWith('quiz:regrade')),
    'nothing of the regrade after its summary',
  );
  for (const seen of teacherSaw.filter((s) => s.event.startsWith('quiz:regrade'))) {
    t.ok(Value.Check(serverEvents[seen.event as 'quiz:regrade-progress' | 'quiz:regrade-summary'], seen.payload), `${seen.event} matches the contract`);
  }
  t.notOk(
    teacherSaw.some((seen) => seen.event === 'quiz:regraded'),
    'quiz:regraded goes to the student only',
  );
  t.same(
    pupilsSaw.map((saw) => saw.filter((seen) => seen.event === 'quiz:regraded').length),
    [1, 1, 0],
    'one quiz:regraded to each student whose result changed, none to the others',
  );
  t.ok(Value.Check(serverEvents['quiz:regraded'], pupilsSaw[0]!.find((seen) => seen.event === 'quiz:regraded')!.payload), 'quiz:regraded matches the contract');
  t.notOk(
    pupilsSaw.some((saw) => saw.some((seen) => seen.event.startsWith('quiz:regrade-'))),
    'students hear no regrade progress',
  );
  await waitFor('the certificate of the newly passing student', () => pupilsSaw[0]!.some((seen) => seen.event === 'certificate:issued'), 20_000);
});
