import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser } from '../../helpers/users.js';
import { bodyOf, call, errorOf } from '../../helpers/http.js';
import { AttemptJson } from '../../../server/modules/attempts/attempts.schemas.js';
import { QuizJson } from '../../../server/modules/quizzes/quizzes.schemas.js';
import { OverrideJson, OverrideListJson } from '../../../server/modules/overrides/overrides.schemas.js';
import { courseWithLessons, publishedQuiz } from '../../realtime/fixtures.js';

// Per-student overrides (SPEC §7) over HTTP: extra attempts, extra time, applyToRunning, keyRevealed.

const { app } = await buildTestApp(t, 'overrides-routes', { QUIZ_GRACE_MS: '300', SWEEP_INTERVAL_MS: '3600000' });
const owner = await createUser(app, 'instructor');
const otherInstructor = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');

async function setup(settings: Record<string, unknown> = { timeLimitMinutes: 10, maxAttempts: 1 }) {
  const student = await createUser(app, 'student', { fullName: 'Ada Override' });
  const { course } = await courseWithLessons(app, owner, [student]);
  const { quiz, tf, mc } = await publishedQuiz(app, owner, course.id, settings);
  return { student, course, quiz, tf, mc };
}

const start = async (quizId: string, student: { headers: Record<string, string> }) => call(app, 'POST', `/api/quizzes/${quizId}/attempts`, student);

t.test('extra attempts allow one more start; extra time lengthens the next attempt', async (t) => {
  const { student, quiz } = await setup();
  const first = bodyOf(await start(quiz.id, student), 201, AttemptJson);
  t.equal(Date.parse(first.deadline!) - Date.parse(first.startedAt), 600_000);
  bodyOf(await call(app, 'POST', `/api/attempts/${first.id}/submit`, student, {}), 200, AttemptJson);
  errorOf(await start(quiz.id, student), 409, 'MAX_ATTEMPTS_REACHED');

  const put = bodyOf(
    await call(app, 'PUT', `/api/quizzes/${quiz.id}/overrides/${student.id}`, owner, { extraAttempts: 1, extraTimeSeconds: 120 }),
    200,
    OverrideJson,
  );
  t.match(put, { quizId: quiz.id, studentId: student.id, extraAttempts: 1, extraTimeSeconds: 120, keyRevealed: false });
  t.notOk('runningAttempt' in put);
  const second = bodyOf(await start(quiz.id, student), 201, AttemptJson);
  t.equal(second.attemptNumber, 2);
  t.equal(Date.parse(second.deadline!) - Date.parse(second.startedAt), 720_000, 'ten minutes plus two');
  bodyOf(await call(app, 'POST', `/api/attempts/${second.id}/submit`, student, {}), 200, AttemptJson);
  errorOf(await start(quiz.id, student), 409, 'MAX_ATTEMPTS_REACHED');

  const list = bodyOf(await call(app, 'GET', `/api/quizzes/${quiz.id}/overrides`, admin), 200, OverrideListJson);
  t.match(list.items, [{ studentId: student.id, studentName: 'Ada Override', extraAttempts: 1, extraTimeSeconds: 120 }]);

  t.equal((await call(app, 'DELETE', `/api/quizzes/${quiz.id}/overrides/${student.id}`, owner)).status, 204);
  t.same(bodyOf(await call(app, 'GET', `/api/quizzes/${quiz.id}/overrides`, owner), 200, OverrideListJson).items, []);
  errorOf(await call(app, 'DELETE', `/api/quizzes/${quiz.id}/overrides/${student.id}`, owner), 404, 'NOT_FOUND');
});

t.test('applyToRunning moves the running attempt by the change in extra time', async (t) => {
  const { student, quiz } = await setup({ timeLimitMinutes: 10 });
  const running = bodyOf(await start(quiz.id, student), 201, AttemptJson);
  const put = bodyOf(
    await call(app, 'PUT', `/api/quizzes/${quiz.id}/overrides/${student.id}`, owner, { extraAttempts: 0, extraTimeSeconds: 300, applyToRunning: true }),
    200,
    OverrideJson,
  );
  t.equal(put.runningAttempt?.attemptId, running.id);
  t.equal(Date.parse(put.runningAttempt!.deadline) - Date.parse(running.deadline!), 300_000);
  const again = bodyOf(
    await call(app, 'PUT', `/api/quizzes/${quiz.id}/overrides/${student.id}`, owner, { extraAttempts: 0, extraTimeSeconds: 360, applyToRunning: true }),
    200,
    OverrideJson,
  );
  t.equal(Date.parse(again.runningAttempt!.deadline) - Date.parse(running.deadline!), 360_000, 'by the difference, not the whole extra time again');
  const unchanged = bodyOf(
    await call(app, 'PUT', `/api/quizzes/${quiz.id}/overrides/${student.id}`, owner, { extraAttempts: 2, extraTimeSeconds: 360, applyToRunning: true }),
    200,
    OverrideJson,
  );
  t.equal(unchanged.runningAttempt, null, 'no change in extra time: nothing moved');
  const now = bodyOf(await call(app, 'GET', `/api/attempts/${running.id}`, student), 200, AttemptJson);
  t.equal(Date.parse(now.deadline!) - Date.parse(running.deadline!), 360_000);
});

t.test('keyRevealed says whether the student has already seen the answer key', async (t) => {
  const { student, quiz } = await setup({ maxAttempts: 1 });
  bodyOf(await call(app, 'PATCH', `/api/quizzes/${quiz.id}`, owner, { showCorrectAnswers: true }), 200, QuizJson);
  const before = bodyOf(
    await call(app, 'PUT', `/api/quizzes/${quiz.id}/overrides/${student.id}`, owner, { extraAttempts: 0, extraTimeSeconds: 0 }),
    200,
    OverrideJson,
  );
  t.equal(before.keyRevealed, false, 'no attempt yet');
  const attempt = bodyOf(await start(quiz.id, student), 201, AttemptJson);
  const graded = bodyOf(await call(app, 'POST', `/api/attempts/${attempt.id}/submit`, student, {}), 200, AttemptJson);
  t.ok(
    graded.result?.questions.every((question) => 'correctAnswer' in question),
    'its only attempt showed the key',
  );
  const after = bodyOf(
    await call(app, 'PUT', `/api/quizzes/${quiz.id}/overrides/${student.id}`, owner, { extraAttempts: 1, extraTimeSeconds: 0 }),
    200,
    OverrideJson,
  );
  t.equal(after.keyRevealed, true);

  const other = await setup({ maxAttempts: 2 });
  bodyOf(await call(app, 'PATCH', `/api/quizzes/${other.quiz.id}`, owner, { showCorrectAnswers: true }), 200, QuizJson);
  bodyOf(
    await call(app, 'PUT', `/api/quizzes/${other.quiz.id}/overrides/${other.student.id}`, owner, { extraAttempts: 1, extraTimeSeconds: 0 }),
    200,
    OverrideJson,
  );
  for (let i = 0; i < 2; i++) {
    const next = bodyOf(await start(other.quiz.id, other.student), 201, AttemptJson);
    const result = bodyOf(await call(app, 'POST', `/api/attempts/${next.id}/submit`, other.student, {}), 200, AttemptJson);
    t.notOk(
      result.result?.questions.some((question) => 'correctAnswer' in question),
      `attempt ${i + 1} of 3 (2 + 1 extra) hides the key`,
    );
  }
  t.equal(bodyOf(await call(app, 'GET', `/api/quizzes/${other.quiz.id}/overrides`, owner), 200, OverrideListJson).items[0]?.keyRevealed, false);
});

t.test('overrides: bad input, students not enrolled, and the wrong caller get stable 4xx and change nothing', async (t) => {
  const { student, quiz } = await setup();
  const stranger = await createUser(app, 'student');
  const url = `/api/quizzes/${quiz.id}/overrides/${student.id}`;
  for (const body of [
    {},
    { extraAttempts: -1, extraTimeSeconds: 0 },
    { extraAttempts: 0, extraTimeSeconds: -5 },
    { extraAttempts: 1.5, extraTimeSeconds: 0 },
    { extraAttempts: 101, extraTimeSeconds: 0 },
    { extraAttempts: 0, extraTimeSeconds: 0, note: 'x' },
    { extraAttempts: 0, extraTimeSeconds: 0, applyToRunning: 'yes' },
  ]) {
    errorOf(await call(app, 'PUT', url, owner, body), 400, 'VALIDATION_ERROR');
  }
  errorOf(await call(app, 'PUT', `/api/quizzes/${quiz.id}/overrides/not-a-uuid`, owner, { extraAttempts: 1, extraTimeSeconds: 0 }), 400, 'VALIDATION_ERROR');
  errorOf(await call(app, 'PUT', `/api/quizzes/${quiz.id}/overrides/${stranger.id}`, owner, { extraAttempts: 1, extraTimeSeconds: 0 }), 404, 'NOT_FOUND');
  errorOf(
    await call(app, 'PUT', `/api/quizzes/00000000-0000-4000-8000-000000000000/overrides/${student.id}`, owner, { extraAttempts: 1, extraTimeSeconds: 0 }),
    404,
    'NOT_FOUND',
  );
  for (const [who, status, code] of [
    [student, 403, 'FORBIDDEN'],
    [otherInstructor, 403, 'FORBIDDEN'],
    [null, 401, 'UNAUTHORIZED'],
  ] as const) {
    errorOf(await call(app, 'PUT', url, who, { extraAttempts: 1, extraTimeSeconds: 0 }), status, code);
    errorOf(await call(app, 'GET', `/api/quizzes/${quiz.id}/overrides`, who), status, code);
    errorOf(await call(app, 'DELETE', url, who), status, code);
  }
  const overridesOfQuiz = async () => bodyOf(await call(app, 'GET', `/api/quizzes/${quiz.id}/overrides`, owner), 200, OverrideListJson).items.length;
  t.equal(await overridesOfQuiz(), 0, 'the refused PUTs wrote nothing');
  bodyOf(await call(app, 'PUT', url, owner, { extraAttempts: 1, extraTimeSeconds: 0 }), 200, OverrideJson);
  errorOf(await call(app, 'DELETE', url, otherInstructor), 403, 'FORBIDDEN');
  t.equal(await overridesOfQuiz(), 1, 'a refused DELETE deleted nothing');
});
