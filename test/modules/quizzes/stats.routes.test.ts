import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser } from '../../helpers/users.js';
import { bodyOf, call, countRows, errorOf } from '../../helpers/http.js';
import { asAuth, publishedQuiz, serviceDeps } from '../../helpers/quizzes.js';
import { startAttempt, submitAttempt } from '../../../server/modules/attempts/attempts.service.js';
import { QuizStatsJson } from '../../../server/modules/quizzes/quizzes.schemas.js';

// GET /quizzes/:id/stats over HTTP: the query string's validation, the roles, the reply's schema.

const { app } = await buildTestApp(t, 'quizzes-stats-routes');
const owner = await createUser(app, 'instructor');
const otherInstructor = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const student = await createUser(app, 'student');
const classmate = await createUser(app, 'student');

const { quiz, tf, mc } = await publishedQuiz(app, owner, [student, classmate], { maxAttempts: null });
for (const [who, answers] of [
  [student, { [tf.id]: true, [mc.id]: ['a'] }],
  [student, { [tf.id]: false, [mc.id]: ['a'] }],
  [classmate, { [tf.id]: true, [mc.id]: ['b'] }],
] as const) {
  const { attempt } = await startAttempt(serviceDeps(app).deps, asAuth(who), quiz.id);
  await submitAttempt(serviceDeps(app).deps, asAuth(who), attempt.id, answers);
}
const url = `/api/quizzes/${quiz.id}/stats`;
const tables = ['quiz_attempts', 'quizzes', 'quiz_questions', 'quiz_launches'];

t.test('owner and admin read the statistics; the reply matches its schema', async (t) => {
  const all = bodyOf(await call(app, 'GET', url, owner), 200, QuizStatsJson);
  t.match(all, { attempts: 'all', launchId: null, gradedAttempts: 3, percentages: { count: 3 }, reliability: { method: 'alpha', items: 2, attempts: 3 } });
  // tf: 1, 0, 1 → facility 0.6667; mc: 3, 3, 0 → 0.6667.
  t.same(
    all.questions.map((question) => question.facility),
    [0.6667, 0.6667],
  );
  const first = bodyOf(await call(app, 'GET', `${url}?attempts=first`, admin), 200, QuizStatsJson);
  t.match(first, { attempts: 'first', gradedAttempts: 2 });
  // Last attempts: the student's 3 of 4 (75 %), the classmate's 1 of 4 (25 %): mean 50, median 50,
  // s = √((25² + 25²) / 1) = 35.3553.
  const last = bodyOf(await call(app, 'GET', `${url}?attempts=last`, owner), 200, QuizStatsJson);
  t.same(last.percentages, { count: 2, mean: 50, median: 50, standardDeviation: 35.3553 });
});

t.test('bad query strings: 400 VALIDATION_ERROR, nothing written', async (t) => {
  const before = await countRows(app, tables);
  for (const query of ['attempts=best', 'attempts=', 'attempts=ALL', 'launchId=42', 'launchId=not-a-uuid', 'attempts=all&attempts=last']) {
    errorOf(await call(app, 'GET', `${url}?${query}`, owner), 400, 'VALIDATION_ERROR');
  }
  t.same(await countRows(app, tables), before);
});

t.test('a launch of another quiz, or none: 404 NOT_FOUND', async (t) => {
  const other = await publishedQuiz(app, owner, []);
  const conn = app.orm.em.fork().getConnection();
  const [course] = await conn.execute<Array<{ course_id: string }>>('SELECT l.course_id FROM quizzes q JOIN lessons l ON l.id = q.lesson_id WHERE q.id = ?', [
    other.quiz.id,
  ]);
  const [session] = await conn.execute<Array<{ id: string }>>(
    `INSERT INTO live_sessions (course_id, started_by, status, ended_at) VALUES (?, ?, 'ended', now()) RETURNING id`,
    [course!.course_id, owner.id],
  );
  const [launch] = await conn.execute<Array<{ id: string }>>(
    `INSERT INTO quiz_launches (session_id, quiz_id, launched_by, closes_at, closed_at) VALUES (?, ?, ?, now() + interval '1 minute', now()) RETURNING id`,
    [session!.id, other.quiz.id, owner.id],
  );
  errorOf(await call(app, 'GET', `${url}?launchId=${launch!.id}`, owner), 404, 'NOT_FOUND');
  errorOf(await call(app, 'GET', `${url}?launchId=7d0f2a0e-8a8e-4a43-9d7c-1f0c8a3e2b11`, owner), 404, 'NOT_FOUND');
  const ofOther = bodyOf(await call(app, 'GET', `/api/quizzes/${other.quiz.id}/stats?launchId=${launch!.id}`, owner), 200, QuizStatsJson);
  t.match(ofOther, { launchId: launch!.id, gradedAttempts: 0, percentages: { mean: null }, reliability: { value: null } });
});

t.test('wrong roles: anonymous 401, a student and another instructor 403', async () => {
  errorOf(await call(app, 'GET', url, null), 401, 'UNAUTHORIZED');
  errorOf(await call(app, 'GET', url, student), 403, 'FORBIDDEN');
  errorOf(await call(app, 'GET', url, otherInstructor), 403, 'FORBIDDEN');
  errorOf(await call(app, 'GET', `${url}?attempts=first`, otherInstructor), 403, 'FORBIDDEN');
  errorOf(await call(app, 'GET', '/api/quizzes/7d0f2a0e-8a8e-4a43-9d7c-1f0c8a3e2b11/stats', owner), 404, 'NOT_FOUND');
});
