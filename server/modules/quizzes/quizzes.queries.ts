import type { EnrollmentStatus, IQuiz, IQuizAttempt, IQuizQuestion } from '../../../entities/index.js';
import type { ChoiceOption } from '../../domain/grading.js';
import type { SqlRunner } from '../../platform/db/sql.js';
import type { RowOf } from '../../platform/db/rows.js';

// The quizzes component's SQL (docs/data-access.md): the hot quiz read, and set-based reads of
// attempts (lists, counts, statistics). Quizzes and questions are edited with the ORM.

/** A quiz with its course's owner and publication, the caller's enrollment and its question count. */
export type QuizReadRow = Omit<RowOf<IQuiz>, 'metadata' | 'lesson_id'> & {
  /** Never null here: the quiz is joined to its lesson. */
  lesson_id: string;
  metadata: Record<string, unknown> | null;
  instructor_id: string;
  course_published: boolean;
  enrollment_status: EnrollmentStatus | null;
  question_count: number;
};

export type QuestionReadRow = Omit<RowOf<IQuizQuestion>, 'options'> & { options: ChoiceOption[] | null };

/** One statement for `GET /quizzes/:id` (the hottest quiz read). */
export async function quizReadRow(db: SqlRunner, quizId: string, userId: string): Promise<QuizReadRow | null> {
  const [row] = await db.execute<QuizReadRow[]>(
    `SELECT q.id, q.lesson_id, q.title, q.description, q.quiz_type, q.passing_score, q.time_limit_minutes,
            q.time_limit_seconds, q.max_attempts, q.shuffle_questions, q.shuffle_options, q.show_correct_answers,
            q.is_published, q.metadata, q.created_at, q.updated_at, q.overdue_handling, q.grace_period_seconds,
            c.instructor_id, c.is_published AS course_published, e.status AS enrollment_status,
            (SELECT count(*)::int FROM quiz_questions qq WHERE qq.quiz_id = q.id) AS question_count
       FROM quizzes q
       JOIN lessons l ON l.id = q.lesson_id
       JOIN courses c ON c.id = l.course_id
       LEFT JOIN enrollments e ON e.course_id = c.id AND e.student_id = ?
      WHERE q.id = ?`,
    [userId, quizId],
  );
  return row ?? null;
}

/** The quiz's questions in order, with their answers (for managers). */
export async function questionReadRows(db: SqlRunner, quizId: string): Promise<QuestionReadRow[]> {
  return db.execute<QuestionReadRow[]>(
    `SELECT id, quiz_id, question_text, question_type, points, order_index, options, correct_answer, explanation, created_at, updated_at
       FROM quiz_questions WHERE quiz_id = ? ORDER BY order_index, created_at`,
    [quizId],
  );
}

/** The order index after the quiz's last question (0 for the first). */
export async function nextQuestionIndex(db: SqlRunner, quizId: string): Promise<number> {
  const [next] = await db.execute<Array<{ n: number }>>('SELECT coalesce(max(order_index) + 1, 0)::int AS n FROM quiz_questions WHERE quiz_id = ?', [quizId]);
  return next.n;
}

/** How many attempts (any status) the quiz has. */
export async function attemptCount(db: SqlRunner, quizId: string): Promise<number> {
  const [row] = await db.execute<Array<{ n: number }>>('SELECT count(*)::int AS n FROM quiz_attempts WHERE quiz_id = ?', [quizId]);
  return row.n;
}

export type AttemptSummaryRow = Pick<
  RowOf<IQuizAttempt, 'score' | 'maxScore' | 'percentage'>,
  | 'id'
  | 'quiz_id'
  | 'enrollment_id'
  | 'attempt_number'
  | 'status'
  | 'started_at'
  | 'deadline'
  | 'submitted_at'
  | 'graded_at'
  | 'score'
  | 'max_score'
  | 'percentage'
  | 'is_passed'
  | 'auto_submitted'
> & { student_id: string; student_name: string };

/** A page of the quiz's attempts, newest first, and their total; `enrollmentId` narrows to one student's. */
export async function attemptSummaryPage(
  db: SqlRunner,
  quizId: string,
  enrollmentId: string | null,
  page: { limit: number; offset: number },
): Promise<{ rows: AttemptSummaryRow[]; total: number }> {
  const where = enrollmentId === null ? 'a.quiz_id = ?' : 'a.quiz_id = ? AND a.enrollment_id = ?';
  const params = enrollmentId === null ? [quizId] : [quizId, enrollmentId];
  const [rows, [count]] = await Promise.all([
    db.execute<AttemptSummaryRow[]>(
      `SELECT a.*, e.student_id, u.full_name AS student_name
         FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id JOIN users u ON u.id = e.student_id
        WHERE ${where} ORDER BY a.started_at DESC, a.id LIMIT ? OFFSET ?`,
      [...params, page.limit, page.offset],
    ),
    db.execute<Array<{ total: number }>>(`SELECT count(*)::int AS total FROM quiz_attempts a WHERE ${where}`, params),
  ]);
  return { rows, total: count.total };
}

/** Which graded attempts statistics count: all, or each student's first or last by attempt number. */
export type StatsAttempts = 'all' | 'first' | 'last';

export interface StatsSelection {
  quizId: string;
  attempts: StatsAttempts;
  /** Only this launch's attempts; null for every attempt. */
  launchId: string | null;
}

/** The launch's quiz, or null when there is no such launch. */
export async function launchQuizId(db: SqlRunner, launchId: string): Promise<string | null> {
  const [row] = await db.execute<Array<{ quiz_id: string }>>('SELECT quiz_id FROM quiz_launches WHERE id = ?', [launchId]);
  return row?.quiz_id ?? null;
}

/** Per question: the sums of `ItemSums` (server/domain/item-statistics.ts) and the existing counts. */
export interface QuestionSumsRow {
  question_id: string;
  n: number;
  sum_x: number;
  sum_x2: number;
  sum_xt: number;
  sum_t: number;
  sum_t2: number;
  sum_fraction: number;
  n_fraction: number;
  complete_sum_x: number;
  complete_sum_x2: number;
  min_max_points: number | null;
  max_max_points: number | null;
  right_wrong: boolean;
  correct: number;
  unanswered: number;
}

/** Answers counted per question: `text` answers (short answers, raw: normalised by the caller), or option ids and `true`/`false`. */
export interface AnswerCountRow {
  question_id: string;
  kind: 'text' | 'value';
  answer: string;
  count: number;
}

export interface QuizSumsRow {
  /** Attempts counted, and the sums of their percentages. */
  n: number;
  sum_percentage: number;
  sum_percentage2: number;
  median_percentage: number | null;
  passed: number;
  /** Attempts with a result for every question somebody has, and the sums of their totals. */
  complete_n: number;
  complete_sum_t: number;
  complete_sum_t2: number;
  questions: QuestionSumsRow[];
  answers: AnswerCountRow[];
}

/**
 * The graded attempts statistics count (SPEC §8): `first`/`last` by attempt number among each
 * student's (enrollment's) graded attempts, after the launch filter.
 */
function countedAttempts(selection: StatsSelection): { sql: string; params: unknown[] } {
  const launch = selection.launchId === null ? '' : ' AND a.launch_id = ?';
  const params = selection.launchId === null ? [selection.quizId] : [selection.quizId, selection.launchId];
  const where = `a.quiz_id = ? AND a.status = 'graded'${launch}`;
  if (selection.attempts === 'all') return { sql: `SELECT a.id, a.percentage, a.is_passed, a.results FROM quiz_attempts a WHERE ${where}`, params };
  const order = selection.attempts === 'first' ? 'ASC' : 'DESC';
  return {
    sql: `SELECT DISTINCT ON (a.enrollment_id) a.id, a.percentage, a.is_passed, a.results FROM quiz_attempts a
           WHERE ${where} ORDER BY a.enrollment_id, a.attempt_number ${order}`,
    params,
  };
}

/**
 * Everything `GET /quizzes/:id/stats` needs, aggregated in one statement over the stored results
 * (SPEC §8): per question the sums item analysis is computed from, the correct and unanswered
 * counts and the answer counts; per quiz the percentages' sums and median and the complete rows'
 * totals. Only the current questions count; their cells come from `results.questions` (points,
 * maxPoints, correct, answer; the snapshots are never read out). `jsonb_to_recordset` reads those
 * four keys without building each element's jsonb. Numeric sums, so that they are exact.
 */
export async function quizStatsSums(db: SqlRunner, selection: StatsSelection): Promise<QuizSumsRow> {
  const picked = countedAttempts(selection);
  const [row] = await db.execute<QuizSumsRow[]>(
    `WITH picked AS (${picked.sql}),
     questions AS (SELECT id::text AS question_id FROM quiz_questions WHERE quiz_id = ?),
     cells AS (
       SELECT p.id AS attempt_id, r."questionId" AS question_id, r.points AS x, r."maxPoints" AS m, r.correct, r.answer
         FROM picked p
        CROSS JOIN LATERAL jsonb_to_recordset(coalesce(p.results->'questions', '[]'::jsonb))
              AS r("questionId" text, points numeric, "maxPoints" numeric, correct boolean, answer jsonb)
        WHERE r."questionId" IN (SELECT question_id FROM questions)
     ),
     totals AS (SELECT attempt_id, sum(x) AS t, count(*) AS k FROM cells GROUP BY attempt_id),
     present AS (SELECT count(DISTINCT question_id) AS k FROM cells),
     scored AS (
       SELECT c.question_id, c.x, c.m, c.correct, c.answer, tt.t, tt.k = (SELECT k FROM present) AS complete
         FROM cells c JOIN totals tt USING (attempt_id)
     ),
     question_sums AS (
       SELECT question_id, count(*)::int AS n, sum(x) AS sum_x, sum(x * x) AS sum_x2, sum(x * t) AS sum_xt,
              sum(t) AS sum_t, sum(t * t) AS sum_t2,
              coalesce(sum(x / m) FILTER (WHERE m > 0), 0) AS sum_fraction, count(*) FILTER (WHERE m > 0)::int AS n_fraction,
              coalesce(sum(x) FILTER (WHERE complete), 0) AS complete_sum_x,
              coalesce(sum(x * x) FILTER (WHERE complete), 0) AS complete_sum_x2,
              min(m) AS min_max_points, max(m) AS max_max_points, bool_and(x = 0 OR x = m) AS right_wrong,
              count(*) FILTER (WHERE correct)::int AS correct,
              count(*) FILTER (WHERE answer IS NULL OR jsonb_typeof(answer) = 'null')::int AS unanswered
         FROM scored GROUP BY question_id
     ),
     answer_counts AS (
       SELECT question_id, kind, answer, count(*)::int AS count FROM (
         SELECT question_id, 'value' AS kind, jsonb_array_elements_text(answer) AS answer FROM cells WHERE jsonb_typeof(answer) = 'array'
         UNION ALL
         SELECT question_id, 'text', answer #>> '{}' FROM cells WHERE jsonb_typeof(answer) = 'string'
         UNION ALL
         SELECT question_id, 'value', answer::text FROM cells WHERE jsonb_typeof(answer) IN ('boolean', 'number', 'object')
       ) a GROUP BY question_id, kind, answer
     )
     SELECT p.n, p.sum_percentage, p.sum_percentage2, p.median_percentage, p.passed,
            c.complete_n, c.complete_sum_t, c.complete_sum_t2,
            coalesce((SELECT json_agg(q) FROM question_sums q), '[]') AS questions,
            coalesce((SELECT json_agg(a ORDER BY a.question_id, a.count DESC, a.answer) FROM answer_counts a), '[]') AS answers
       FROM (SELECT count(*)::int AS n, coalesce(sum(percentage), 0)::float8 AS sum_percentage,
                    coalesce(sum(percentage * percentage), 0)::float8 AS sum_percentage2,
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY percentage) AS median_percentage,
                    count(*) FILTER (WHERE is_passed)::int AS passed
               FROM picked) p,
            (SELECT count(*)::int AS complete_n, coalesce(sum(t), 0)::float8 AS complete_sum_t, coalesce(sum(t * t), 0)::float8 AS complete_sum_t2
               FROM totals WHERE k = (SELECT k FROM present)) c`,
    [...picked.params, selection.quizId],
  );
  return row;
}
