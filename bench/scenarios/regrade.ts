/**
 * Scenario 11, regrade.
 *
 * A regrade of `attempts` graded attempts of a 20-question quiz after its key was corrected
 * (question 1's key flips, so about half the results change), run in this process by the
 * product's `runRegrade` (what the `regrades` job calls): batches of `REGRADE_BATCH_SIZE` attempts,
 * each one transaction locking the regrade and its attempts, writing grades, history rows,
 * counters and cursor; events go to a publisher that drops them. Baseline: a bare SQL-and-loop
 * doing the same work without the product's guarantees: one SELECT of every graded attempt, the
 * same pure `gradeAttempt` in a loop, the grades and the history rows of the changed ones written
 * in 1,000-row statements in one transaction. Each run flips the key again (a new key version), so
 * every run regrades from the previous run's results. Goal: attempts/s ratio ≥ 0.5.
 */
import pg from 'pg';
import { pino } from 'pino';
import { MikroORM } from '@mikro-orm/postgresql';
import type { BenchEnv } from '../lib/env.js';
import type { Row } from '../lib/report.js';
import { alternate, ratioRow, type Scenario } from '../lib/scenario.js';
import { seedStudents } from '../lib/seed.js';
import { ormOptions } from '../../server/platform/db/orm-options.js';
import { gradeAttempt, type GradableQuestion } from '../../server/domain/grading.js';
import { runRegrade } from '../../server/modules/regrades/regrades.service.js';
import type { Jobs, Publisher } from '../../server/modules/deps.js';

interface Sizes {
  pairs: number;
  attempts: number;
  questions: number;
}

export const regradeScenario: Scenario<Omit<Sizes, 'pairs'>> = {
  full: { attempts: 10_000, questions: 20 },
  smoke: { attempts: 200, questions: 20 },
  run: runRegradeBench,
};

/** Drops every report (the scenario measures the regrade, not delivery). */
const silent = new Proxy({}, { get: () => async () => undefined }) as unknown as Publisher & Jobs;

/** A deterministic answer sheet: true/false per question, from the student index. */
const answerOf = (student: number, question: number) => ((student * 31 + question * 17) % 7) % 2 === 0;

async function seed(bench: BenchEnv, sizes: Omit<Sizes, 'pairs'>) {
  const { courseId } = await seedStudents(bench.config.databaseUrl, sizes.attempts);
  const client = new pg.Client({ connectionString: bench.config.databaseUrl });
  await client.connect();
  try {
    const {
      rows: [lesson],
    } = await client.query<{ id: string }>(
      `INSERT INTO lessons (course_id, title, slug, lesson_type) VALUES ($1, 'Regrade', 'bench-regrade', 'quiz') RETURNING id`,
      [courseId],
    );
    const {
      rows: [quiz],
    } = await client.query<{ id: string }>(
      `INSERT INTO quizzes (lesson_id, title, quiz_type, passing_score, is_published) VALUES ($1, 'Regrade', 'graded', 60, true) RETURNING id`,
      [lesson!.id],
    );
    const { rows: questionRows } = await client.query<{ id: string }>(
      `INSERT INTO quiz_questions (quiz_id, question_text, question_type, points, order_index, correct_answer)
       SELECT $1, 'Statement ' || n || ' is true', 'true_false', 1, n, 'true'::jsonb FROM generate_series(1, $2::int) n RETURNING id`,
      [quiz!.id, sizes.questions],
    );
    const questions: GradableQuestion[] = questionRows.map((row, i) => ({
      id: row.id,
      questionText: `Statement ${i + 1} is true`,
      questionType: 'true_false',
      points: 1,
      options: null,
      correctAnswer: true,
      explanation: null,
    }));
    const { rows: enrollments } = await client.query<{ id: string }>('SELECT id FROM enrollments WHERE course_id = $1 ORDER BY id', [courseId]);
    const order = questions.map((question) => ({ questionId: question.id }));
    for (let from = 0; from < enrollments.length; from += 1000) {
      const rows = enrollments.slice(from, from + 1000).map((enrollment, k) => {
        const answers = Object.fromEntries(questions.map((question, q) => [question.id, answerOf(from + k, q)]));
        const grade = gradeAttempt(questions, answers, 60);
        return {
          enrollment_id: enrollment.id,
          answers,
          results: { ...grade, keyVersion: 1 },
          score: grade.score,
          max_score: grade.maxScore,
          percentage: grade.percentage,
          is_passed: grade.isPassed,
        };
      });
      await client.query(
        `INSERT INTO quiz_attempts (enrollment_id, quiz_id, attempt_number, status, started_at, submitted_at, graded_at, answers, question_order, results, score, max_score, percentage, is_passed)
         SELECT r.enrollment_id, $1, 1, 'graded', now(), now(), now(), r.answers, $2::jsonb, r.results, r.score, r.max_score, r.percentage, r.is_passed
           FROM jsonb_to_recordset($3::jsonb) AS r(enrollment_id uuid, answers jsonb, results jsonb, score numeric, max_score numeric, percentage numeric, is_passed boolean)`,
        [quiz!.id, JSON.stringify(order), JSON.stringify(rows)],
      );
    }
    await client.query('ANALYZE quiz_attempts');
    return { quizId: quiz!.id, firstQuestionId: questions[0]!.id };
  } finally {
    await client.end();
  }
}

/** Flips question 1's key and bumps the key version (a correction); returns a new regrade row of it. */
async function correct(client: pg.Client, quizId: string, questionId: string): Promise<string> {
  await client.query(`UPDATE quiz_questions SET correct_answer = to_jsonb(NOT (correct_answer::text)::boolean) WHERE id = $1`, [questionId]);
  const {
    rows: [regrade],
  } = await client.query<{ id: string }>(
    `INSERT INTO quiz_regrades (quiz_id, key_version) SELECT id, key_version + 1 FROM quizzes WHERE id = $1 RETURNING id`,
    [quizId],
  );
  await client.query('UPDATE quizzes SET key_version = key_version + 1 WHERE id = $1', [quizId]);
  return regrade!.id;
}

/** The bare baseline: one read, the grading loop, 1,000-row writes, one transaction. */
async function bareRegrade(client: pg.Client, quizId: string, regradeId: string): Promise<void> {
  const { rows: questionRows } = await client.query<{ id: string; question_text: string; points: number; correct_answer: unknown }>(
    'SELECT id, question_text, points, correct_answer FROM quiz_questions WHERE quiz_id = $1',
    [quizId],
  );
  const byId = new Map<string, GradableQuestion>(
    questionRows.map((row) => [
      row.id,
      {
        id: row.id,
        questionText: row.question_text,
        questionType: 'true_false',
        points: row.points,
        options: null,
        correctAnswer: row.correct_answer,
        explanation: null,
      },
    ]),
  );
  await client.query('BEGIN');
  await client.query(`UPDATE quiz_regrades SET status = 'running' WHERE id = $1`, [regradeId]);
  const { rows } = await client.query<{
    id: string;
    answers: Record<string, unknown>;
    question_order: Array<{ questionId: string }>;
    score: string;
    max_score: string;
    percentage: string;
    is_passed: boolean;
  }>(`SELECT id, answers, question_order, score, max_score, percentage, is_passed FROM quiz_attempts WHERE quiz_id = $1 AND status = 'graded'`, [quizId]);
  const writes = [];
  const history = [];
  for (const row of rows) {
    const grade = gradeAttempt(
      row.question_order.map((item) => byId.get(item.questionId)!),
      row.answers,
      60,
    );
    writes.push({ id: row.id, results: grade, score: grade.score, max_score: grade.maxScore, percentage: grade.percentage, is_passed: grade.isPassed });
    if (grade.score !== Number(row.score) || grade.isPassed !== row.is_passed) {
      history.push({
        attempt_id: row.id,
        old_score: row.score,
        new_score: grade.score,
        max: grade.maxScore,
        old_percentage: row.percentage,
        new_percentage: grade.percentage,
        old_passed: row.is_passed,
        new_passed: grade.isPassed,
      });
    }
  }
  for (let i = 0; i < writes.length; i += 1000) {
    await client.query(
      `UPDATE quiz_attempts a SET results = u.results, score = u.score, max_score = u.max_score, percentage = u.percentage, is_passed = u.is_passed
         FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, results jsonb, score numeric, max_score numeric, percentage numeric, is_passed boolean) WHERE a.id = u.id`,
      [JSON.stringify(writes.slice(i, i + 1000))],
    );
  }
  for (let i = 0; i < history.length; i += 1000) {
    await client.query(
      `INSERT INTO attempt_regrades (regrade_id, attempt_id, old_score, new_score, old_max_score, new_max_score, old_percentage, new_percentage, old_passed, new_passed)
       SELECT $1, h.attempt_id, h.old_score, h.new_score, h.max, h.max, h.old_percentage, h.new_percentage, h.old_passed, h.new_passed
         FROM jsonb_to_recordset($2::jsonb) AS h(attempt_id uuid, old_score numeric, new_score numeric, max numeric, old_percentage numeric, new_percentage numeric, old_passed boolean, new_passed boolean)`,
      [regradeId, JSON.stringify(history.slice(i, i + 1000))],
    );
  }
  await client.query(`UPDATE quiz_regrades SET status = 'done', processed = $2, total = $2, changed = $3, finished_at = now() WHERE id = $1`, [
    regradeId,
    rows.length,
    history.length,
  ]);
  await client.query('COMMIT');
}

async function runRegradeBench(bench: BenchEnv, sizes: Sizes): Promise<Row[]> {
  const { quizId, firstQuestionId } = await seed(bench, sizes);
  const orm = await MikroORM.init(ormOptions(bench.config));
  const client = new pg.Client({ connectionString: bench.config.databaseUrl });
  await client.connect();
  const log = pino({ level: 'silent' });
  try {
    const ours = async () => {
      const regradeId = await correct(client, quizId, firstQuestionId);
      const startedAt = process.hrtime.bigint();
      const outcome = await runRegrade({ em: orm.em.fork(), config: bench.config, publisher: silent, jobs: silent, log }, regradeId);
      const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      if (outcome.status !== 'done' || outcome.regrade.processed !== sizes.attempts) throw new Error(`regrade ended ${JSON.stringify(outcome)}`);
      return { attemptsPerS: sizes.attempts / seconds, changed: outcome.regrade.changed };
    };
    const baseline = async () => {
      const regradeId = await correct(client, quizId, firstQuestionId);
      const startedAt = process.hrtime.bigint();
      await bareRegrade(client, quizId, regradeId);
      return { attemptsPerS: sizes.attempts / (Number(process.hrtime.bigint() - startedAt) / 1e9), changed: NaN };
    };
    // One unmeasured run each (the JIT, the statements' plans).
    await ours();
    await baseline();
    const pairs = await alternate(sizes.pairs, ours, baseline);
    const changed = pairs.map((pair) => pair.ours.changed);
    return [
      ratioRow(pairs, {
        scenario: '11 regrade',
        metric: `attempts/s, runRegrade (batches of ${bench.config.regradeBatchSize}) vs bare SQL-and-loop (${sizes.attempts} attempts × ${sizes.questions} questions)`,
        pick: (x) => x.attemptsPerS,
        better: 'higher',
        unit: '/s',
        goal: 0.5,
        note: `about ${Math.round(changed.reduce((a, b) => a + b, 0) / changed.length)} results change per run; both sides write every attempt's results and a history row per change`,
      }),
    ];
  } finally {
    await client.end();
    await orm.close(true);
  }
}
