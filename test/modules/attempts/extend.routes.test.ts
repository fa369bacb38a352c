import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/users.js';
import { bodyOf, call, countRows, errorOf } from '../../helpers/http.js';
import { AttemptJson, ExtendedAttemptJson } from '../../../server/modules/attempts/attempts.schemas.js';
import { QuizJson } from '../../../server/modules/quizzes/quizzes.schemas.js';
import { deadlineJobId } from '../../../server/platform/queues/contract.js';
import { courseWithLessons, publishedQuiz } from '../../realtime/fixtures.js';

// `POST /attempts/:id/extend` and the overdue settings of quizzes over HTTP, with the real Jobs
// port (BullMQ on the test's Redis prefix; no workers run, so jobs stay where they are put).

const GRACE_MS = 400;
const { app } = await buildTestApp(t, 'extend-routes', { QUIZ_GRACE_MS: String(GRACE_MS), SWEEP_INTERVAL_MS: '3600000' });
const owner = await createUser(app, 'instructor');
const otherInstructor = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const db = () => app.orm.em.fork().getConnection();
const withKey = (user: TestUser, key: string) => ({ headers: { ...user.headers, 'idempotency-key': key } });

async function runningAttempt(settings: Record<string, unknown> = { timeLimitMinutes: 10 }) {
  const student = await createUser(app, 'student');
  const { course } = await courseWithLessons(app, owner, [student]);
  const { quiz } = await publishedQuiz(app, owner, course.id, settings);
  const attempt = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  return { student, course, quiz, attempt };
}

async function deadlineOf(attemptId: string): Promise<string> {
  const [row] = await db().execute<Array<{ deadline: string }>>('SELECT deadline FROM quiz_attempts WHERE id = ?', [attemptId]);
  return new Date(row!.deadline).toISOString();
}

/** When the attempt's deadline job is due (epoch ms), as BullMQ holds it. */
async function jobDueAt(attemptId: string): Promise<number | null> {
  const job = await app.queues.get('quiz-deadlines').getJob(deadlineJobId(attemptId));
  if (!job || (await job.getState()) !== 'delayed') return null;
  return job.timestamp + (job.delay ?? 0);
}

t.test('quizzes take and return overdueHandling and gracePeriodSeconds; graceperiod needs a positive grace', async (t) => {
  const { course } = await courseWithLessons(app, owner, []);
  const lesson = (await call(app, 'POST', `/api/courses/${course.id}/lessons`, owner, { title: 'Q', lessonType: 'quiz' })).body as { id: string };
  errorOf(await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, { title: 'Q', overdueHandling: 'graceperiod' }), 400, 'VALIDATION_ERROR');
  errorOf(await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, { title: 'Q', overdueHandling: 'never' }), 400, 'VALIDATION_ERROR');
  errorOf(await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, { title: 'Q', gracePeriodSeconds: 86_401 }), 400, 'VALIDATION_ERROR');
  t.same(await countRows(app, ['quizzes']), { quizzes: 0 }, 'nothing created');
  const quiz = bodyOf(await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, { title: 'Q' }), 201, QuizJson);
  t.match(quiz, { overdueHandling: 'autosubmit', gracePeriodSeconds: 0 });
  const graced = bodyOf(await call(app, 'PATCH', `/api/quizzes/${quiz.id}`, owner, { overdueHandling: 'graceperiod', gracePeriodSeconds: 120 }), 200, QuizJson);
  t.match(graced, { overdueHandling: 'graceperiod', gracePeriodSeconds: 120 });
  errorOf(await call(app, 'PATCH', `/api/quizzes/${quiz.id}`, owner, { gracePeriodSeconds: 0 }), 400, 'VALIDATION_ERROR');
  t.match(
    bodyOf(await call(app, 'GET', `/api/quizzes/${quiz.id}`, owner), 200, QuizJson),
    { overdueHandling: 'graceperiod', gracePeriodSeconds: 120 },
    'unchanged',
  );
});

t.test('extend moves the deadline and its job; a retry with the same Idempotency-Key applies once and replays the reply', async (t) => {
  const { attempt } = await runningAttempt({ timeLimitMinutes: 10, overdueHandling: 'graceperiod', gracePeriodSeconds: 30 });
  const before = Date.parse(attempt.deadline!);
  const first = await call(app, 'POST', `/api/attempts/${attempt.id}/extend`, withKey(owner, 'click-1'), { seconds: 300 });
  const extended = bodyOf(first, 200, ExtendedAttemptJson);
  t.equal(Date.parse(extended.deadline) - before, 300_000, 'five minutes later');
  t.equal(Date.parse(extended.submitUntil) - Date.parse(extended.deadline), 30_000, 'the grace period moves with it');
  t.equal(await deadlineOf(attempt.id), extended.deadline);
  const due = await jobDueAt(attempt.id);
  t.ok(due !== null && Math.abs(due - (Date.parse(extended.submitUntil) + GRACE_MS)) < 1000, 'the deadline job moved to the new submit window + grace');

  const retry = await call(app, 'POST', `/api/attempts/${attempt.id}/extend`, withKey(owner, 'click-1'), { seconds: 300 });
  t.same(bodyOf(retry, 200, ExtendedAttemptJson), extended, 'the same reply');
  t.equal(retry.headers['idempotent-replayed'], 'true');
  t.equal(await deadlineOf(attempt.id), extended.deadline, 'applied once');
  const [{ n }] = (await db().execute<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = 'click-1'`)) as [{ n: number }];
  t.equal(n, 1);

  const again = bodyOf(await call(app, 'POST', `/api/attempts/${attempt.id}/extend`, withKey(admin, 'click-1'), { seconds: -60 }), 200, ExtendedAttemptJson);
  t.equal(Date.parse(again.deadline), Date.parse(extended.deadline) - 60_000, "another user's key is another key; an admin may extend");
  const plain = bodyOf(await call(app, 'POST', `/api/attempts/${attempt.id}/extend`, owner, { seconds: 10 }), 200, ExtendedAttemptJson);
  t.equal(Date.parse(plain.deadline), Date.parse(again.deadline) + 10_000, 'without a key each request applies');
});

t.test('extend refuses a deadline not in the future, finished and untimed attempts, and unknown ones', async (t) => {
  const { student, attempt } = await runningAttempt();
  const deadline = await deadlineOf(attempt.id);
  errorOf(await call(app, 'POST', `/api/attempts/${attempt.id}/extend`, withKey(owner, 'past'), { seconds: -3600 }), 409, 'DEADLINE_NOT_IN_FUTURE');
  t.equal(await deadlineOf(attempt.id), deadline, 'unchanged');
  // A refused request stores no reply: the same key may be used once the request is right.
  t.ok(bodyOf(await call(app, 'POST', `/api/attempts/${attempt.id}/extend`, withKey(owner, 'past'), { seconds: -60 }), 200, ExtendedAttemptJson));

  bodyOf(await call(app, 'POST', `/api/attempts/${attempt.id}/submit`, student, {}), 200, AttemptJson);
  errorOf(await call(app, 'POST', `/api/attempts/${attempt.id}/extend`, owner, { seconds: 60 }), 409, 'CONFLICT');

  const untimed = await runningAttempt({});
  t.equal(untimed.attempt.deadline, null);
  errorOf(await call(app, 'POST', `/api/attempts/${untimed.attempt.id}/extend`, owner, { seconds: 60 }), 409, 'CONFLICT');
  errorOf(await call(app, 'POST', `/api/attempts/00000000-0000-4000-8000-000000000000/extend`, owner, { seconds: 60 }), 404, 'NOT_FOUND');
});

t.test('extend: bad input and the wrong caller get stable 4xx and change nothing', async (t) => {
  const { student, attempt } = await runningAttempt();
  const deadline = await deadlineOf(attempt.id);
  const url = `/api/attempts/${attempt.id}/extend`;
  for (const body of [{}, { seconds: 0 }, { seconds: 1.5 }, { seconds: '60' }, { seconds: 8 * 86_400 }, { seconds: 60, studentId: student.id }]) {
    errorOf(await call(app, 'POST', url, owner, body), 400, 'VALIDATION_ERROR');
  }
  errorOf(await call(app, 'POST', url, withKey(owner, 'x'.repeat(201)), { seconds: 60 }), 400, 'VALIDATION_ERROR');
  errorOf(await call(app, 'POST', '/api/attempts/not-a-uuid/extend', owner, { seconds: 60 }), 400, 'VALIDATION_ERROR');
  errorOf(await call(app, 'POST', url, student, { seconds: 60 }), 403, 'FORBIDDEN');
  errorOf(await call(app, 'POST', url, otherInstructor, { seconds: 60 }), 403, 'FORBIDDEN');
  errorOf(await call(app, 'POST', url, null, { seconds: 60 }), 401, 'UNAUTHORIZED');
  t.equal(await deadlineOf(attempt.id), deadline, 'the deadline never moved');
  const [{ n }] = (await db().execute<Array<{ n: number }>>('SELECT count(*)::int AS n FROM idempotency_keys WHERE scope LIKE ?', [`%${student.id}`])) as [
    { n: number },
  ];
  t.equal(n, 0, 'no reply stored for a refused caller');
});
