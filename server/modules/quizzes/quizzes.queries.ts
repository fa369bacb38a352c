import type { EnrollmentStatus, IQuiz, IQuizAttempt, IQuizQuestion } from '../../../entities/index.js';
import type { ChoiceOption } from '../../domain/grading.js';
import { maxOfOptional, minOfOptional } from '../../domain/numbers.js';
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
            q.is_published, q.metadata, q.created_at, q.updated_at, q.overdue_handling, q.grace_period_seconds, q.key_version,
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

/**
 * Per question and per "how many of the current questions the attempt has a result for" (`k`):
 * the sums of `ItemSums` (server/domain/item-statistics.ts) and the correct and unanswered
 * counts. Grouping by `k` lets the caller tell complete rows (k = the number of questions
 * somebody has) from the others without a second pass.
 */
export interface QuestionSumsRow {
  question_id: string;
  k: number;
  n: number;
  sum_x: number;
  sum_x2: number;
  sum_xt: number;
  sum_t: number;
  sum_t2: number;
  sum_fraction: number;
  n_fraction: number;
  min_max_points: number | null;
  max_max_points: number | null;
  right_wrong: boolean;
  correct: number;
  unanswered: number;
}

/** How many results of a question carry one answer, as stored (option ids array, boolean, raw text): normalised by the caller. */
export interface AnswerCountRow {
  question_id: string;
  answer: unknown;
  count: number;
}

export interface PercentageSumsRow {
  n: number;
  sum_percentage: number;
  sum_percentage2: number;
  median_percentage: number | null;
  passed: number;
  /** PostgreSQL's `max_parallel_workers_per_gather` for this session: how far `quizItemSums` may split. */
  parallel_workers: number;
}

export interface ItemSums {
  questions: QuestionSumsRow[];
  answers: AnswerCountRow[];
}

/** A range of enrollment ids, by their first 32 bits (null: open end). */
interface EnrollmentRange {
  from: string | null;
  to: string | null;
}

/**
 * The graded attempts statistics count (SPEC §8), with `columns`: `first`/`last` by attempt
 * number among each student's (enrollment's) graded attempts, after the launch filter; only the
 * enrollments of `range` when one is given.
 */
function countedAttempts(selection: StatsSelection, columns: string, range?: EnrollmentRange): { sql: string; params: unknown[] } {
  let where = `a.quiz_id = ? AND a.status = 'graded'`;
  const params: unknown[] = [selection.quizId];
  if (selection.launchId !== null) {
    where += ' AND a.launch_id = ?';
    params.push(selection.launchId);
  }
  if (range?.from) {
    where += ' AND a.enrollment_id >= ?';
    params.push(range.from);
  }
  if (range?.to) {
    where += ' AND a.enrollment_id < ?';
    params.push(range.to);
  }
  if (selection.attempts === 'all') return { sql: `SELECT ${columns} FROM quiz_attempts a WHERE ${where}`, params };
  const order = selection.attempts === 'first' ? 'ASC' : 'DESC';
  return {
    sql: `SELECT DISTINCT ON (a.enrollment_id) ${columns} FROM quiz_attempts a WHERE ${where} ORDER BY a.enrollment_id, a.attempt_number ${order}`,
    params,
  };
}

/**
 * The percentages' sums and median over the counted attempts (columns only, no results), and the
 * session's `max_parallel_workers_per_gather` for `quizItemSums`.
 */
export async function quizPercentageSums(db: SqlRunner, selection: StatsSelection): Promise<PercentageSumsRow> {
  const percentages = countedAttempts(selection, 'a.percentage, a.is_passed');
  const [row] = await db.execute<PercentageSumsRow[]>(
    `SELECT count(*)::int AS n, coalesce(sum(percentage), 0)::float8 AS sum_percentage,
            coalesce(sum(percentage * percentage), 0)::float8 AS sum_percentage2,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY percentage) AS median_percentage,
            count(*) FILTER (WHERE is_passed)::int AS passed,
            current_setting('max_parallel_workers_per_gather')::int AS parallel_workers
       FROM (${percentages.sql}) p`,
    percentages.params,
  );
  return row;
}

/** Below this many attempts the item sums are one statement: it takes tens of milliseconds. */
export const SPLIT_MIN_ATTEMPTS = 1000;

/**
 * At most this many parts, each holding a pooled connection while it runs: a database configured
 * for wide parallel queries must not let one statistics request take the pool (10 by default).
 */
export const MAX_ITEM_SUMS_PARTS = 4;

/**
 * Into how many statements `quizItemSums` splits `attempts` attempts: as many as one parallel
 * query of PostgreSQL may use (the leader and `max_parallel_workers_per_gather` workers), up to
 * `MAX_ITEM_SUMS_PARTS`, when there are enough attempts for it to pay.
 */
export function itemSumsParts(attempts: number, parallelWorkers: number): number {
  return attempts < SPLIT_MIN_ATTEMPTS ? 1 : Math.min(MAX_ITEM_SUMS_PARTS, 1 + Math.max(0, parallelWorkers));
}

/** `parts` ranges covering every uuid, cut evenly by the first 32 bits (random ids fall evenly). */
export function uuidRanges(parts: number): EnrollmentRange[] {
  const bound = (i: number) =>
    `${Math.floor((i * 2 ** 32) / parts)
      .toString(16)
      .padStart(8, '0')}-0000-0000-0000-000000000000`;
  return Array.from({ length: parts }, (_, i) => ({ from: i === 0 ? null : bound(i), to: i === parts - 1 ? null : bound(i + 1) }));
}

/**
 * Per question, the sums of the item analysis and the answer counts (SPEC §8), aggregated by
 * PostgreSQL over the stored results of the counted attempts. Per attempt, `jsonb_to_recordset`
 * takes the four keys a cell needs (points, maxPoints, correct, answer; never the snapshots) of
 * the results of `questionIds` (the quiz's current questions), a window over those few rows gives
 * the attempt's total and count, and one pass with two grouping sets aggregates the sums per
 * (question, k) and the answers per (question, answer as stored). float8 sums: points are small
 * numbers, exact in binary or as close as the JSON they come from.
 *
 * Split into `parts` statements over ranges of enrollments, run side by side on as many pooled
 * connections, and their sums added up (`mergeItemSums`): PostgreSQL does not run this statement in
 * parallel itself (the window in the lateral subquery and the grouping sets keep it to one
 * process), and the heap it would measure for a parallel scan is small, the results being in
 * TOAST. Each student's attempts fall in one part, so `first`/`last` hold and every attempt counts
 * whole or not at all; the parts are separate snapshots, like the percentages' statement beside
 * them (docs/data-access.md). The question ids are one array parameter, which PostgreSQL checks
 * against a hash; `= ANY(ARRAY(SELECT …))` was a linear search per cell (a fifth of the statement).
 */
export async function quizItemSums(db: SqlRunner, selection: StatsSelection, questionIds: string[], parts = 1): Promise<ItemSums> {
  const results = await Promise.all(
    uuidRanges(parts).map((range) => {
      const attempts = countedAttempts(selection, 'a.results', range);
      return db.execute<Array<QuestionSumsRow & { answer: unknown; by_answer: boolean }>>(
        `SELECT c.question_id, c.k::int AS k, c.answer, GROUPING(c.answer) = 0 AS by_answer, count(*)::int AS n,
                sum(c.x) AS sum_x, sum(c.x * c.x) AS sum_x2, sum(c.x * c.t) AS sum_xt, sum(c.t) AS sum_t, sum(c.t * c.t) AS sum_t2,
                coalesce(sum(c.x / c.m) FILTER (WHERE c.m > 0), 0) AS sum_fraction, count(*) FILTER (WHERE c.m > 0)::int AS n_fraction,
                min(c.m) AS min_max_points, max(c.m) AS max_max_points, bool_and(c.x = 0 OR c.x = c.m) AS right_wrong,
                count(*) FILTER (WHERE c.correct)::int AS correct,
                count(*) FILTER (WHERE c.answer IS NULL OR jsonb_typeof(c.answer) = 'null')::int AS unanswered
           FROM (${attempts.sql}) p
          CROSS JOIN LATERAL (
                SELECT r."questionId" AS question_id, r.points AS x, r."maxPoints" AS m, r.correct, r.answer,
                       sum(r.points) OVER () AS t, count(*) OVER () AS k
                  FROM jsonb_to_recordset(coalesce(p.results->'questions', '[]'::jsonb))
                       AS r("questionId" text, points float8, "maxPoints" float8, correct boolean, answer jsonb)
                 WHERE r."questionId" = ANY(?::text[])
                ) c
          GROUP BY GROUPING SETS ((c.question_id, c.k), (c.question_id, c.answer))`,
        [...attempts.params, questionIds],
      );
    }),
  );
  return mergeItemSums(results.flat());
}

/**
 * The rows of one or more parts of `quizItemSums` as one part's: a (question, k) group or a
 * (question, answer) count once, its sums added up.
 */
export function mergeItemSums(rows: Array<QuestionSumsRow & { answer: unknown; by_answer: boolean }>): ItemSums {
  const questions = new Map<string, QuestionSumsRow>();
  const answers = new Map<string, AnswerCountRow>();
  for (const { answer, by_answer: byAnswer, ...row } of rows) {
    if (byAnswer) {
      // jsonb keeps one text per value (its object keys sorted), so equal answers stringify alike.
      const key = `${row.question_id} ${JSON.stringify(answer)}`;
      const counted = answers.get(key);
      if (counted) counted.count += row.n;
      else answers.set(key, { question_id: row.question_id, answer, count: row.n });
      continue;
    }
    const key = `${row.question_id} ${row.k}`;
    const group = questions.get(key);
    if (!group) {
      questions.set(key, row);
      continue;
    }
    group.n += row.n;
    group.sum_x += row.sum_x;
    group.sum_x2 += row.sum_x2;
    group.sum_xt += row.sum_xt;
    group.sum_t += row.sum_t;
    group.sum_t2 += row.sum_t2;
    group.sum_fraction += row.sum_fraction;
    group.n_fraction += row.n_fraction;
    group.min_max_points = minOfOptional(group.min_max_points, row.min_max_points);
    group.max_max_points = maxOfOptional(group.max_max_points, row.max_max_points);
    group.right_wrong &&= row.right_wrong;
    group.correct += row.correct;
    group.unanswered += row.unanswered;
  }
  return { questions: [...questions.values()], answers: [...answers.values()] };
}

/**
 * Gives the quiz's running attempts a new row version (`xmin`) in a key correction's transaction:
 * a grade computed under the old key, written conditionally on the version it read, then fails and
 * is computed again; a grader holding an attempt's row lock makes the correction wait for it.
 */
export async function touchRunningAttempts(db: SqlRunner, quizId: string): Promise<void> {
  await db.execute(`UPDATE quiz_attempts SET answers = answers WHERE quiz_id = ? AND status = 'in_progress'`, [quizId]);
}

/** The quiz's queued or running regrade (at most one: `quiz_regrades_one_active_per_quiz_idx`). */
export async function activeRegradeOf(db: SqlRunner, quizId: string): Promise<{ id: string; status: string } | null> {
  const [row] = await db.execute<Array<{ id: string; status: string }>>(
    `SELECT id, status FROM quiz_regrades WHERE quiz_id = ? AND status IN ('queued', 'running')`,
    [quizId],
  );
  return row ?? null;
}
