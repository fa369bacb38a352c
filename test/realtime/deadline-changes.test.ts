import t from '../helpers/tap.js';
import { AttemptJson } from '../../server/modules/attempts/attempts.schemas.js';
import { ExtendedAttemptJson } from '../../server/modules/attempts/attempts.schemas.js';
import { OverrideJson } from '../../server/modules/overrides/overrides.schemas.js';
import { buildTestApp } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { createUser } from '../helpers/users.js';
import { courseWithLessons, ok, publishedQuiz } from './fixtures.js';
import { client, connect, listen, nextEvent, record, request, socketPool } from './socket-helpers.js';

// Moving deadlines and the overdue policies as sockets see them, with in-process workers running
// the deadline jobs (the sweep stays out of the way).
const GRACE_MS = 300;
const { app } = await buildTestApp(t, 'realtime-deadlines', { WORKERS: 'on', QUIZ_GRACE_MS: String(GRACE_MS), SWEEP_INTERVAL_MS: '3600000' });
const url = await listen(app);
const sockets = socketPool();
t.teardown(() => sockets.closeAll());
const owner = await createUser(app, 'instructor');
const socketOf = async (user: { token: string }) => connect(sockets.add(client(url, user.token)));

t.test('extend: the student and the instructors hear quiz:deadline-changed, ticks follow, the old deadline job does nothing', async (t) => {
  const student = await createUser(app, 'student');
  const { course } = await courseWithLessons(app, owner, [student]);
  const { quiz } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 2 });
  const teacher = await socketOf(owner);
  await request(teacher, 'course:join', { courseId: course.id });
  const pupil = await socketOf(student);
  const pupilSaw = record(pupil);
  const teacherSaw = record(teacher);

  const firstTick = nextEvent(pupil, 'quiz:tick');
  const attempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  await firstTick;
  const forPupil = nextEvent(pupil, 'quiz:deadline-changed');
  const forTeacher = nextEvent(teacher, 'quiz:deadline-changed');
  const extended = await ok(await call(app, 'POST', `/api/attempts/${attempt.id}/extend`, owner, { seconds: 3 }), 200, ExtendedAttemptJson);
  const extendedAt = Date.now();
  const change = {
    attemptId: attempt.id,
    quizId: quiz.id,
    studentId: student.id,
    courseId: course.id,
    deadline: extended.deadline,
    submitUntil: extended.deadline,
    serverNow: String,
  };
  t.match(await forPupil, change, 'the student hears the new deadline');
  t.match(await forTeacher, change, 'and so do the instructors');

  const tickAfter = await nextEvent(pupil, 'quiz:tick', () => Date.now() > extendedAt);
  t.ok(tickAfter.remainingMs > 2000, `the next tick counts down to the new deadline (${tickAfter.remainingMs} ms left)`);
  const expired = await nextEvent(pupil, 'quiz:expired', undefined, 8000);
  t.ok(Date.now() >= Date.parse(extended.deadline) - 50, 'quiz:expired at the new deadline, not the old one');
  t.match(expired, { attemptId: attempt.id, submitUntil: extended.deadline });
  await nextEvent(pupil, 'quiz:graded', undefined, 8000);
  t.ok(Date.now() >= Date.parse(extended.deadline) + GRACE_MS, 'graded after the new deadline + grace: the job for the old one did nothing');
  const oldDue = Date.parse(attempt.deadline!) + GRACE_MS;
  t.notOk(
    pupilSaw.some((seen) => seen.event === 'quiz:graded' && seen.at < oldDue + 2500),
    'nothing graded around the old due time',
  );
  t.equal(pupilSaw.filter((seen) => seen.event === 'quiz:expired').length, 1);
  t.notOk(
    teacherSaw.some((seen) => seen.event === 'quiz:tick'),
    'instructors get no ticks',
  );
});

t.test('autoabandon: the deadline job abandons the attempt; quiz:expired then quiz:abandoned to the student, quiz:abandoned to the instructors', async (t) => {
  const student = await createUser(app, 'student');
  const { course } = await courseWithLessons(app, owner, [student]);
  const { quiz } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 1, overdueHandling: 'autoabandon' });
  const teacher = await socketOf(owner);
  await request(teacher, 'course:join', { courseId: course.id });
  const pupil = await socketOf(student);
  const pupilSaw = record(pupil);
  const forTeacher = nextEvent(teacher, 'quiz:abandoned', undefined, 6000);
  const forPupil = nextEvent(pupil, 'quiz:abandoned', undefined, 6000);
  const attempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  const abandoned = { attemptId: attempt.id, quizId: quiz.id, studentId: student.id, courseId: course.id, serverNow: String };
  t.match(await forPupil, abandoned);
  t.match(await forTeacher, abandoned);
  t.same(
    pupilSaw.filter((seen) => seen.event.startsWith('quiz:') && seen.event !== 'quiz:tick').map((seen) => seen.event),
    ['quiz:started', 'quiz:expired', 'quiz:abandoned'],
  );
  const stored = await ok(await call(app, 'GET', `/api/attempts/${attempt.id}`, student), 200, AttemptJson);
  t.equal(stored.status, 'abandoned');
  const answered = await request(pupil, 'quiz:answer', { attemptId: attempt.id, questionId: stored.questions[0]!.id, answer: true });
  t.match(answered, { ok: false, error: { code: 'QUIZ_TIME_EXPIRED' } });
});

t.test('an override applied to the running attempt sends quiz:deadline-changed', async (t) => {
  const student = await createUser(app, 'student');
  const { course } = await courseWithLessons(app, owner, [student]);
  const { quiz } = await publishedQuiz(app, owner, course.id, { timeLimitMinutes: 5 });
  const pupil = await socketOf(student);
  const attempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  const heard = nextEvent(pupil, 'quiz:deadline-changed');
  const put = await ok(
    await call(app, 'PUT', `/api/quizzes/${quiz.id}/overrides/${student.id}`, owner, { extraAttempts: 0, extraTimeSeconds: 90, applyToRunning: true }),
    200,
    OverrideJson,
  );
  t.match(await heard, { attemptId: attempt.id, deadline: put.runningAttempt!.deadline });
  t.equal(Date.parse(put.runningAttempt!.deadline) - Date.parse(attempt.deadline!), 90_000);
});
