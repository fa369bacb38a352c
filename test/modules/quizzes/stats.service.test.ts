import type { Test } from 'tap';
import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/users.js';
import { asAuth, publishedQuiz, serviceDeps } from '../../helpers/quizzes.js';
import { startAttempt, submitAttempt } from '../../../server/modules/attempts/attempts.service.js';
import { createQuestion, getQuizStats, type StatsQuery } from '../../../server/modules/quizzes/quizzes.service.js';
import { matrixStatistics, type ScoreMatrix } from '../../../server/domain/item-statistics.js';
import type { StoredResults } from '../../../server/modules/attempts/attempts.queries.js';
import {
  MAX_ITEM_SUMS_PARTS,
  SPLIT_MIN_ATTEMPTS,
  itemSumsParts,
  quizItemSums,
  quizPercentageSums,
  uuidRanges,
} from '../../../server/modules/quizzes/quizzes.queries.js';

// GET /quizzes/:id/stats through the service: the figures PostgreSQL aggregates over the stored
// results equal the pure matrix path over the same attempts read back into Node.

const { app } = await buildTestApp(t, 'quizzes-stats');
const owner = await createUser(app, 'instructor');
const otherInstructor = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const students: TestUser[] = [];
for (let i = 0; i < 6; i++) students.push(await createUser(app, 'student'));
const latecomer = await createUser(app, 'student');

const sql = <R>(text: string, params: unknown[] = []) => app.orm.em.fork().getConnection().execute<R[]>(text, params);

/** The quiz of test/helpers/quizzes.ts (true/false worth 1, multiple choice worth 3) and a short answer worth 2. */
const { quiz, tf, mc } = await publishedQuiz(app, owner, [...students, latecomer], { maxAttempts: null });
const sa = await createQuestion(app.forkDeps(), asAuth(owner), quiz.id, {
  questionText: 'Name a key',
  questionType: 'short_answer',
  points: 2,
  correctAnswer: { accepted: ['constructor'] },
});

async function attempt(student: TestUser, answers: Record<string, unknown>) {
  const { attempt } = await startAttempt(serviceDeps(app).deps, asAuth(student), quiz.id);
  await submitAttempt(serviceDeps(app).deps, asAuth(student), attempt.id, answers);
  return attempt.id;
}

// Two attempts per student with varied answers: first attempts weaker than last ones.
const shortAnswers = [' Constructor ', 'constructor', '__proto__', 'toString', 'CONSTRUCTOR', 'to  string'];
const firstIds: string[] = [];
for (const [index, student] of students.entries()) {
  firstIds.push(
    await attempt(student, {
      [tf.id]: index % 2 === 0,
      [mc.id]: index % 3 === 0 ? ['a'] : ['b'],
      ...(index % 4 === 3 ? {} : { [sa.id]: shortAnswers[index] }),
    }),
  );
  await attempt(student, { [tf.id]: index % 3 !== 1, [mc.id]: index === 5 ? ['b'] : ['a'], [sa.id]: shortAnswers[(index + 2) % 6] });
}
// Not counted: a running attempt and an abandoned one.
await startAttempt(serviceDeps(app).deps, asAuth(latecomer), quiz.id);
// The abandoned one carries a graded attempt's results and percentage: only its status keeps it out.
const [abandoned] = await sql<{ id: string }>(
  `UPDATE quiz_attempts a SET status = 'abandoned', results = g.results, percentage = g.percentage, is_passed = g.is_passed
     FROM quiz_attempts g
    WHERE a.id = (SELECT id FROM quiz_attempts WHERE quiz_id = ? AND status = 'in_progress') AND g.id = ?
    RETURNING a.id`,
  [quiz.id, firstIds[0]],
);
await startAttempt(serviceDeps(app).deps, asAuth(latecomer), quiz.id);

interface AttemptRow {
  enrollment_id: string;
  attempt_number: number;
  percentage: string;
  results: StoredResults;
  launch_id: string | null;
}

/** The matrix path: the graded attempts read into Node, selected and turned into a score matrix. */
async function matrixFigures(query: StatsQuery) {
  const rows = await sql<AttemptRow>(
    `SELECT enrollment_id, attempt_number, percentage, results, launch_id FROM quiz_attempts WHERE quiz_id = ? AND status = 'graded' ORDER BY attempt_number`,
    [quiz.id],
  );
  let picked = rows.filter((row) => !query.launchId || row.launch_id === query.launchId);
  if (query.attempts === 'first' || query.attempts === 'last') {
    const byStudent = new Map<string, AttemptRow>();
    for (const row of query.attempts === 'first' ? [...picked].reverse() : picked) byStudent.set(row.enrollment_id, row);
    picked = [...byStudent.values()];
  }
  const questionIds = (await sql<{ id: string }>('SELECT id FROM quiz_questions WHERE quiz_id = ? ORDER BY order_index, created_at', [quiz.id])).map(
    (row) => row.id,
  );
  const matrix: ScoreMatrix = {
    questionIds,
    rows: picked.map((row) => ({
      percentage: Number(row.percentage),
      cells: questionIds.map((id) => {
        const result = row.results.questions.find((question) => question.questionId === id);
        return result ? { points: result.points, maxPoints: result.maxPoints } : null;
      }),
    })),
  };
  return { figures: matrixStatistics(matrix), count: picked.length };
}

async function assertSamePaths(t: Test, query: StatsQuery, expectedCount: number) {
  const stats = await getQuizStats(app.forkDeps(), asAuth(owner), quiz.id, query);
  const { figures, count } = await matrixFigures(query);
  t.equal(count, expectedCount, 'the matrix path counts the attempts expected');
  t.equal(stats.gradedAttempts, expectedCount);
  t.same(stats.percentages, figures.percentages, 'percentages');
  t.same(stats.reliability, figures.reliability, 'reliability');
  t.same(
    stats.questions.map(({ questionId, facility, discrimination }) => ({ questionId, facility, discrimination })),
    figures.items,
    'facility and discrimination',
  );
  return stats;
}

t.test('the SQL path gives the figures of the matrix path, for all, first and last attempts', async (t) => {
  const all = await assertSamePaths(t, {}, 12);
  t.equal(all.attempts, 'all');
  t.equal(all.launchId, null);
  t.equal(all.reliability.method, 'alpha', 'questions of 1, 3 and 2 points');
  t.not(all.reliability.value, null);
  t.ok(all.questions.every((question) => question.discrimination !== null && question.facility !== null));
  t.equal(all.percentages.count, 12);
  await assertSamePaths(t, { attempts: 'first' }, 6);
  await assertSamePaths(t, { attempts: 'last' }, 6);
  t.not(abandoned, undefined, 'an abandoned attempt exists (and is not counted)');
});

t.test('answer counts: option ids seeded at 0, true/false, short answers normalised, prototype keys kept as data', async (t) => {
  const stats = await getQuizStats(app.forkDeps(), asAuth(owner), quiz.id, { attempts: 'first' });
  const byId = new Map(stats.questions.map((question) => [question.questionId, question]));
  // First attempts: tf true for students 0, 2, 4; mc 'a' for 0 and 3; short answers of 0, 1, 2, 4, 5 (3 left blank).
  t.same(byId.get(tf.id)!.answerCounts, [
    { answer: 'true', count: 3 },
    { answer: 'false', count: 3 },
  ]);
  t.same(byId.get(mc.id)!.answerCounts, [
    { answer: 'a', count: 2 },
    { answer: 'b', count: 4 },
  ]);
  const short = byId.get(sa.id)!;
  t.same(
    [...short.answerCounts].sort((x, y) => x.answer.localeCompare(y.answer)),
    [
      { answer: '__proto__', count: 1 },
      { answer: 'constructor', count: 3 },
      { answer: 'to string', count: 1 },
    ],
    "' Constructor ', 'constructor', 'CONSTRUCTOR' are one answer; 'to  string' has its space collapsed",
  );
  t.equal(short.unanswered, 1, 'student 3 has a result with no answer');
  t.equal(
    short.answerCounts.reduce((sum, entry) => sum + entry.count, 0),
    5,
  );
  t.equal(short.answers, 6);
  t.equal(short.correct, 3);
  t.equal(short.facility, 0.5);
  t.same(
    Object.entries(short.distribution).sort(([a], [b]) => a.localeCompare(b)),
    [
      ['__proto__', 1],
      ['constructor', 3],
      ['to string', 1],
    ],
    'the distribution has __proto__ as an own key',
  );
  t.equal(Object.getPrototypeOf(short.distribution), Object.prototype, 'and its prototype is untouched');
});

t.test('launchId restricts to that launch; a launch of another quiz or none at all is NOT_FOUND', async (t) => {
  const [course] = await sql<{ course_id: string }>('SELECT l.course_id FROM quizzes q JOIN lessons l ON l.id = q.lesson_id WHERE q.id = ?', [quiz.id]);
  const [session] = await sql<{ id: string }>(
    `INSERT INTO live_sessions (course_id, started_by, status, ended_at) VALUES (?, ?, 'ended', now()) RETURNING id`,
    [course!.course_id, owner.id],
  );
  const [launch] = await sql<{ id: string }>(
    `INSERT INTO quiz_launches (session_id, quiz_id, launched_by, closes_at, closed_at) VALUES (?, ?, ?, now() + interval '1 minute', now()) RETURNING id`,
    [session!.id, quiz.id, owner.id],
  );
  await sql('UPDATE quiz_attempts SET launch_id = ? WHERE id IN (?, ?, ?)', [launch!.id, firstIds[0], firstIds[1], firstIds[2]]);
  const stats = await assertSamePaths(t, { launchId: launch!.id }, 3);
  t.equal(stats.launchId, launch!.id);
  await assertSamePaths(t, { launchId: launch!.id, attempts: 'last' }, 3);

  const other = await publishedQuiz(app, owner, []);
  const [otherLaunch] = await sql<{ id: string }>(
    `INSERT INTO quiz_launches (session_id, quiz_id, launched_by, closes_at, closed_at) VALUES (?, ?, ?, now() + interval '1 minute', now()) RETURNING id`,
    [session!.id, other.quiz.id, owner.id],
  );
  await t.rejects(getQuizStats(app.forkDeps(), asAuth(owner), quiz.id, { launchId: otherLaunch!.id }), { code: 'NOT_FOUND' });
  await t.rejects(getQuizStats(app.forkDeps(), asAuth(owner), quiz.id, { launchId: '00000000-0000-4000-8000-000000000000' }), { code: 'NOT_FOUND' });
  // The other quiz has no attempts: every figure is undefined, none is made up.
  const empty = await getQuizStats(app.forkDeps(), asAuth(owner), other.quiz.id, { launchId: otherLaunch!.id });
  t.match(empty, {
    gradedAttempts: 0,
    averagePercentage: 0,
    passRate: 0,
    percentages: { count: 0, mean: null, median: null, standardDeviation: null },
    reliability: { method: null, value: null, items: 0, attempts: 0 },
  });
  t.ok(empty.questions.every((question) => question.facility === null && question.discrimination === null && question.answers === 0));
});

t.test('a question added after the attempts has no figures and stays out of the reliability', async (t) => {
  const before = await getQuizStats(app.forkDeps(), asAuth(owner), quiz.id);
  // Questions are frozen once attempts exist; the row goes in as a migration-era leftover would.
  const [added] = await sql<{ id: string }>(
    `INSERT INTO quiz_questions (quiz_id, question_text, question_type, points, order_index, correct_answer) VALUES (?, 'Later', 'true_false', 1, 99, 'true') RETURNING id`,
    [quiz.id],
  );
  const after = await getQuizStats(app.forkDeps(), asAuth(owner), quiz.id);
  t.same(after.reliability, before.reliability);
  const last = after.questions.at(-1)!;
  t.match(last, { questionId: added!.id, answers: 0, facility: null, discrimination: null });
  t.same(last.answerCounts, [
    { answer: 'true', count: 0 },
    { answer: 'false', count: 0 },
  ]);
  t.same(after.questions.slice(0, 3), before.questions, 'the other questions keep their figures');

  // Some attempts get a result for it (as if graded after it was added): per-question figures over
  // those, the reliability over the complete rows; the SQL path still equals the matrix path.
  const some = firstIds.slice(0, 4);
  await sql(
    `UPDATE quiz_attempts SET results = jsonb_set(results, '{questions}', (results->'questions') || jsonb_build_array(jsonb_build_object(
       'questionId', ?::text, 'points', CASE WHEN id = ANY(?::uuid[]) THEN 1 ELSE 0 END, 'maxPoints', 1, 'correct', id = ANY(?::uuid[]), 'answer', id = ANY(?::uuid[]))))
      WHERE id = ANY(?::uuid[])`,
    [added!.id, `{${some.slice(0, 2).join(',')}}`, `{${some.slice(0, 2).join(',')}}`, `{${some.slice(0, 2).join(',')}}`, `{${some.join(',')}}`],
  );
  const partial = await assertSamePaths(t, {}, 12);
  t.match(partial.reliability, { items: 4, attempts: 4 });
  t.match(partial.questions.at(-1), { answers: 4, correct: 2, facility: 0.5 });
  t.same(partial.questions.at(-1)!.answerCounts, [
    { answer: 'true', count: 2 },
    { answer: 'false', count: 2 },
  ]);
  await sql(`UPDATE quiz_attempts SET results = jsonb_set(results, '{questions}', (results->'questions') - 3) WHERE id = ANY(?::uuid[])`, [
    `{${some.join(',')}}`,
  ]);
  await sql('DELETE FROM quiz_questions WHERE id = ?', [added!.id]);
});

t.test('roles: owners and admins; other instructors and students are FORBIDDEN', async (t) => {
  t.equal((await getQuizStats(app.forkDeps(), asAuth(admin), quiz.id)).gradedAttempts, 12);
  await t.rejects(getQuizStats(app.forkDeps(), asAuth(otherInstructor), quiz.id), { code: 'FORBIDDEN' });
  await t.rejects(getQuizStats(app.forkDeps(), asAuth(students[0]!), quiz.id), { code: 'FORBIDDEN' });
});

t.test('the item sums split over ranges of enrollments add up to the sums of one statement', async (t) => {
  const split = await publishedQuiz(app, owner, [], { maxAttempts: null });
  // Enrollment ids chosen so that 2, 3 and 4 parts each cut between students (first hex digits 1, 5, 9, d).
  const ids = ['1', '5', '9', 'd'].map((digit) => `${digit.repeat(8)}-0000-4000-8000-000000000000`);
  const learners: TestUser[] = [];
  for (const id of ids) {
    const learner = await createUser(app, 'student');
    await sql('INSERT INTO enrollments (id, student_id, course_id) VALUES (?, ?, ?)', [id, learner.id, split.course.id]);
    learners.push(learner);
  }
  for (const [index, learner] of learners.entries()) {
    for (const round of [0, 1]) {
      const { attempt } = await startAttempt(serviceDeps(app).deps, asAuth(learner), split.quiz.id);
      await submitAttempt(serviceDeps(app).deps, asAuth(learner), attempt.id, {
        [split.tf.id]: (index + round) % 2 === 0,
        ...(index === 2 && round === 0 ? {} : { [split.mc.id]: (index + round) % 3 === 0 ? ['a'] : ['b'] }),
      });
    }
  }
  const questionIds = [split.tf.id, split.mc.id];
  const byKey = (sums: Awaited<ReturnType<typeof quizItemSums>>) => ({
    questions: [...sums.questions].sort((a, b) => `${a.question_id} ${a.k}`.localeCompare(`${b.question_id} ${b.k}`)),
    answers: [...sums.answers].sort((a, b) => `${a.question_id} ${JSON.stringify(a.answer)}`.localeCompare(`${b.question_id} ${JSON.stringify(b.answer)}`)),
  });
  for (const attempts of ['all', 'first', 'last'] as const) {
    const selection = { quizId: split.quiz.id, attempts, launchId: null };
    const whole = byKey(await quizItemSums(app.orm.em.fork(), selection, questionIds, 1));
    t.equal(
      whole.questions.reduce((n, group) => n + group.n, 0),
      attempts === 'all' ? 16 : 8,
      `${attempts}: a result per question and attempt`,
    );
    t.equal(
      whole.questions.reduce((n, group) => n + group.unanswered, 0),
      attempts === 'last' ? 0 : 1,
      `${attempts}: the question left out is unanswered`,
    );
    for (const parts of [2, 3, 4]) t.same(byKey(await quizItemSums(app.orm.em.fork(), selection, questionIds, parts)), whole, `${attempts} in ${parts} parts`);
  }
});

t.test('how many parts: one below SPLIT_MIN_ATTEMPTS, else the leader and PostgreSQL’s parallel workers', async (t) => {
  t.equal(itemSumsParts(SPLIT_MIN_ATTEMPTS - 1, 2), 1);
  t.equal(itemSumsParts(SPLIT_MIN_ATTEMPTS, 2), 3);
  t.equal(itemSumsParts(50_000, 0), 1, 'max_parallel_workers_per_gather = 0: no split');
  t.equal(itemSumsParts(50_000, 16), MAX_ITEM_SUMS_PARTS, 'a wide setting does not take the pool');
  t.same(uuidRanges(1), [{ from: null, to: null }]);
  t.same(uuidRanges(3), [
    { from: null, to: '55555555-0000-0000-0000-000000000000' },
    { from: '55555555-0000-0000-0000-000000000000', to: 'aaaaaaaa-0000-0000-0000-000000000000' },
    { from: 'aaaaaaaa-0000-0000-0000-000000000000', to: null },
  ]);
  const [row] = await sql<{ workers: number }>(`SELECT current_setting('max_parallel_workers_per_gather')::int AS workers`);
  const percentages = await quizPercentageSums(app.orm.em.fork(), { quizId: quiz.id, attempts: 'all', launchId: null });
  t.equal(percentages.parallel_workers, row!.workers, 'the percentages statement reads the setting');
});
