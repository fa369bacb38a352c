import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser } from '../../helpers/users.js';
import { bodyOf, call, countRows, errorOf } from '../../helpers/http.js';
import { QuestionJson, QuizJson } from '../../../server/modules/quizzes/quizzes.schemas.js';
import { RegradeAcceptedJson, RegradeDryRunJson, RegradeJson } from '../../../server/modules/regrades/regrades.schemas.js';
import { submitPattern, wrongKeyQuiz } from './fixture.js';

// HTTP: who may correct and regrade, what a correction may change, and refusals that change nothing.

const { app } = await buildTestApp(t, 'regrades-routes');
const owner = await createUser(app, 'instructor');
const otherInstructor = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const student = await createUser(app, 'student');
const classmate = await createUser(app, 'student');
const fixture = await wrongKeyQuiz(app, owner, [student, classmate]);
const ids = { quizId: fixture.quiz.id, tf: fixture.tf.id, mc: fixture.mc.id, sa: fixture.sa.id };
await submitPattern(app, student, ids, 'newlyPassing');
await submitPattern(app, classmate, ids, 'nowFailing');

const db = () => app.orm.em.fork().getConnection();
/** Everything a refused request must leave as it was. */
const state = async () => ({
  counts: await countRows(app, ['quiz_regrades', 'attempt_regrades']),
  questions: await db().execute(
    'SELECT id, question_text, question_type, points, options, correct_answer, explanation, updated_at FROM quiz_questions WHERE quiz_id = ? ORDER BY id',
    [ids.quizId],
  ),
  quiz: await db().execute('SELECT key_version, updated_at FROM quizzes WHERE id = ?', [ids.quizId]),
  attempts: await db().execute('SELECT id, score, percentage, is_passed, results FROM quiz_attempts WHERE quiz_id = ? ORDER BY id', [ids.quizId]),
});

t.test('a question with attempts: what was answered is frozen (409 QUESTION_FROZEN), a malformed key is 400, nothing changes', async (t) => {
  const before = await state();
  const frozen: Array<[string, string, Record<string, unknown>]> = [
    ['the text', ids.tf, { questionText: 'Is the sun hot?' }],
    ['the type', ids.tf, { questionType: 'short_answer', correctAnswer: { accepted: ['no'] } }],
    ['the order', ids.tf, { orderIndex: 7 }],
    [
      'an option text',
      ids.mc,
      {
        options: [
          { id: 'a', text: 'Mars!', isCorrect: true },
          { id: 'b', text: 'The Moon', isCorrect: false },
        ],
      },
    ],
    [
      'the option ids',
      ids.mc,
      {
        options: [
          { id: 'a', text: 'Mars', isCorrect: true },
          { id: 'b', text: 'The Moon', isCorrect: false },
          { id: 'c', text: 'Venus', isCorrect: false },
        ],
      },
    ],
    [
      'single to multiple choice',
      ids.mc,
      {
        options: [
          { id: 'a', text: 'Mars', isCorrect: true },
          { id: 'b', text: 'The Moon', isCorrect: true },
        ],
      },
    ],
  ];
  for (const [what, questionId, body] of frozen) {
    const error = errorOf(await call(app, 'PATCH', `/api/questions/${questionId}`, owner, body), 409, 'QUESTION_FROZEN');
    t.match(error.message, /only a question's answer key \(correctAnswer, options' isCorrect\), its points and its explanation may change/, what);
  }
  const malformed: Array<[string, string, Record<string, unknown>]> = [
    ['a true/false key that is not a boolean', ids.tf, { correctAnswer: 'false' }],
    ['options on a true/false question', ids.tf, { options: [{ id: 'x', text: 'X', isCorrect: true }] }],
    ['a short-answer key without accepted answers', ids.sa, { correctAnswer: { accepted: [] } }],
    ['a short-answer key with an unknown field', ids.sa, { correctAnswer: { accepted: ['Paris'], regex: true } }],
    ['correctAnswer on a multiple choice', ids.mc, { correctAnswer: ['b'] }],
    [
      'no correct option',
      ids.mc,
      {
        options: [
          { id: 'a', text: 'Mars', isCorrect: false },
          { id: 'b', text: 'The Moon', isCorrect: false },
        ],
      },
    ],
    ['negative points', ids.tf, { points: -1 }],
  ];
  for (const [what, questionId, body] of malformed) {
    t.equal(errorOf(await call(app, 'PATCH', `/api/questions/${questionId}`, owner, body), 400, 'VALIDATION_ERROR').code, 'VALIDATION_ERROR', what);
  }
  t.equal((await call(app, 'PATCH', `/api/questions/${ids.tf}`, student, { correctAnswer: false })).status, 403, 'a student');
  t.equal((await call(app, 'PATCH', `/api/questions/${ids.tf}`, otherInstructor, { correctAnswer: false })).status, 403, 'another instructor');
  t.equal((await call(app, 'PATCH', `/api/questions/${ids.tf}`, null, { correctAnswer: false })).status, 401, 'anonymous');
  t.same(await state(), before, 'nothing changed');
});

t.test('regrade requests refused: roles and bad input, nothing written', async (t) => {
  const before = await state();
  const url = `/api/quizzes/${ids.quizId}/regrade`;
  errorOf(await call(app, 'POST', url, student, { dryRun: true }), 403, 'FORBIDDEN');
  errorOf(await call(app, 'POST', url, student, { dryRun: false }), 403, 'FORBIDDEN');
  errorOf(await call(app, 'POST', url, otherInstructor, { dryRun: false }), 403, 'FORBIDDEN');
  errorOf(await call(app, 'POST', url, null, { dryRun: false }), 401, 'UNAUTHORIZED');
  for (const body of [{}, { dryRun: 'yes' }, { dryRun: false, keyVersion: 3 }, null])
    errorOf(await call(app, 'POST', url, owner, body as Record<string, unknown>), 400, 'VALIDATION_ERROR');
  errorOf(await call(app, 'POST', '/api/quizzes/not-a-uuid/regrade', owner, { dryRun: true }), 400, 'VALIDATION_ERROR');
  errorOf(await call(app, 'POST', '/api/quizzes/00000000-0000-4000-8000-000000000000/regrade', owner, { dryRun: true }), 404, 'NOT_FOUND');
  errorOf(await call(app, 'GET', '/api/regrades/00000000-0000-4000-8000-000000000000', owner), 404, 'NOT_FOUND');
  errorOf(await call(app, 'GET', '/api/regrades/nope', owner), 400, 'VALIDATION_ERROR');
  t.same(await state(), before, 'nothing written');
});

t.test('an open launch blocks a regrade (409 REGRADE_BLOCKED); the dry run still answers', async (t) => {
  const [session] = await db().execute<Array<{ id: string }>>(`INSERT INTO live_sessions (course_id, started_by) VALUES (?, ?) RETURNING id`, [
    fixture.course.id,
    owner.id,
  ]);
  const [launch] = await db().execute<Array<{ id: string }>>(
    `INSERT INTO quiz_launches (session_id, quiz_id, closes_at) VALUES (?, ?, now() + interval '10 minutes') RETURNING id`,
    [session!.id, ids.quizId],
  );
  const before = await state();
  const refused = errorOf(await call(app, 'POST', `/api/quizzes/${ids.quizId}/regrade`, owner, { dryRun: false }), 409, 'REGRADE_BLOCKED');
  t.match(refused.message, /open launch/);
  bodyOf(await call(app, 'POST', `/api/quizzes/${ids.quizId}/regrade`, owner, { dryRun: true }), 200, RegradeDryRunJson);
  t.same(await state(), before);
  await db().execute(`UPDATE quiz_launches SET closed_at = now() WHERE id = ?`, [launch!.id]);
  await db().execute(`UPDATE live_sessions SET status = 'ended', ended_at = now() WHERE id = ?`, [session!.id]);
});

t.test('a correction, then two regrades asked at once: one regrade, one job; corrections wait for it', async (t) => {
  const fixed = bodyOf(
    await call(app, 'PATCH', `/api/questions/${ids.tf}`, admin, { correctAnswer: false, points: 2, explanation: 'The sun is hot' }),
    200,
    QuestionJson,
  );
  t.match(fixed, { correctAnswer: false, points: 2, explanation: 'The sun is hot', questionText: 'Is the sun cold?' });
  t.equal(bodyOf(await call(app, 'GET', `/api/quizzes/${ids.quizId}`, owner), 200, QuizJson).keyVersion, 2, 'an admin may correct; the key version moved');
  bodyOf(await call(app, 'PATCH', `/api/questions/${ids.tf}`, owner, { explanation: 'Hot indeed' }), 200, QuestionJson);
  t.equal(bodyOf(await call(app, 'GET', `/api/quizzes/${ids.quizId}`, owner), 200, QuizJson).keyVersion, 2, 'an explanation is no key change');

  const dry = bodyOf(await call(app, 'POST', `/api/quizzes/${ids.quizId}/regrade`, owner, { dryRun: true }), 200, RegradeDryRunJson);
  t.match(dry, { keyVersion: 2, passingScore: 60, gradedAttempts: 2, changed: 2 });

  const [first, second] = await Promise.all([
    call(app, 'POST', `/api/quizzes/${ids.quizId}/regrade`, owner, { dryRun: false }),
    call(app, 'POST', `/api/quizzes/${ids.quizId}/regrade`, admin, { dryRun: false }),
  ]);
  const a = bodyOf(first, 202, RegradeAcceptedJson);
  const b = bodyOf(second, 202, RegradeAcceptedJson);
  t.equal(a.regradeId, b.regradeId, 'the same regrade for the same key version');
  t.same([a.created, b.created].sort(), [false, true], 'created once');
  t.same(await countRows(app, ['quiz_regrades']), { quiz_regrades: 1 });
  const jobs = await app.queues.get('regrades').getJobCounts('waiting', 'active', 'delayed');
  t.equal(jobs.waiting + jobs.active + jobs.delayed, 1, 'one job (no worker runs in this app)');

  // While it is queued, the key stays as the regrade will read it.
  const blocked = errorOf(await call(app, 'PATCH', `/api/questions/${ids.mc}`, owner, { points: 5 }), 409, 'REGRADE_BLOCKED');
  t.match(blocked.message, /regrade of this quiz is queued/);
  const regrade = bodyOf(await call(app, 'GET', `/api/regrades/${a.regradeId}`, admin), 200, RegradeJson);
  t.match(regrade, { id: a.regradeId, quizId: ids.quizId, courseId: fixture.course.id, keyVersion: 2, status: 'queued', processed: 0 });
  // The two asks race: whichever created the row is its requester.
  t.equal(regrade.requestedBy, a.created ? owner.id : admin.id, 'the requester is the one whose ask created it');
  t.equal(bodyOf(await call(app, 'GET', `/api/regrades/${a.regradeId}`, owner), 200, RegradeJson).id, a.regradeId);
  errorOf(await call(app, 'GET', `/api/regrades/${a.regradeId}`, student), 403, 'FORBIDDEN');
  errorOf(await call(app, 'GET', `/api/regrades/${a.regradeId}`, otherInstructor), 403, 'FORBIDDEN');
  errorOf(await call(app, 'GET', `/api/regrades/${a.regradeId}`, null), 401, 'UNAUTHORIZED');
});
