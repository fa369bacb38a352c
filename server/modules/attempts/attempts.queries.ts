import type { EnrollmentStatus, IQuiz, IQuizAttempt, IQuizQuestion, ILesson } from '../../../entities/index.js';
import type { ChoiceOption, QuestionResult } from '../../domain/grading.js';
import type { QuestionOrder } from '../../domain/shuffle.js';
import type { SqlRunner } from '../../platform/db/sql.js';
import type { OverdueHandling } from '../../domain/quiz-timing.js';
import type { RowOf } from '../../platform/db/rows.js';

// The attempts component's SQL (docs/data-access.md): every path here is hot or contended
// (starting, autosaving and grading attempts), so it is SQL, not the ORM.

/** What `quiz_attempts.results` holds: the grade and each question as graded. */
export interface StoredResults {
  score: number;
  maxScore: number;
  percentage: number;
  isPassed: boolean;
  questions: QuestionResult[];
  /** The quiz's `key_version` the questions had when this grade was computed (absent: graded before key versions, i.e. 1). */
  keyVersion?: number;
  /** The regrade that wrote this grade, if one did (a regrade skips the attempts it has written). */
  regradeId?: string;
}

/** An attempt with what its rules need from its enrollment, course, quiz and lesson. */
export type AttemptRow = Omit<RowOf<IQuizAttempt, 'score' | 'maxScore' | 'percentage'>, 'results' | 'question_order' | 'created_at'> & {
  question_order: QuestionOrder | null;
  results: StoredResults | null;
  // joined
  student_id: string;
  course_id: string;
  enrollment_status: EnrollmentStatus;
  instructor_id: string;
  lesson_id: string;
  lesson_title: RowOf<ILesson>['title'] | null;
  lesson_parent_id: string | null;
  quiz_type: RowOf<IQuiz>['quiz_type'];
  passing_score: RowOf<IQuiz>['passing_score'];
  show_correct_answers: RowOf<IQuiz>['show_correct_answers'];
  max_attempts: number | null;
  /** A launched attempt whose launch has not closed yet (its answer key stays hidden). */
  launch_open: boolean;
  key_version: RowOf<IQuiz>['key_version'];
};

/** A question as grading and the attempt JSON read it. */
export type QuestionRow = Pick<RowOf<IQuizQuestion>, 'id' | 'question_text' | 'question_type' | 'points' | 'correct_answer' | 'explanation'> & {
  options: ChoiceOption[] | null;
};

const ATTEMPT_COLUMNS = `a.*, e.student_id, e.course_id, e.status AS enrollment_status, c.instructor_id,
         q.lesson_id, q.quiz_type, q.passing_score, q.show_correct_answers, q.max_attempts, q.key_version,
         l.title AS lesson_title, l.parent_lesson_id AS lesson_parent_id,
         (a.launch_id IS NOT NULL AND EXISTS (SELECT 1 FROM quiz_launches ql WHERE ql.id = a.launch_id AND ql.closed_at IS NULL)) AS launch_open`;
const ATTEMPT_FROM = `
    FROM quiz_attempts a
    JOIN enrollments e ON e.id = a.enrollment_id
    JOIN courses c ON c.id = e.course_id
    JOIN quizzes q ON q.id = a.quiz_id
    LEFT JOIN lessons l ON l.id = q.lesson_id`;
const ATTEMPT_SELECT = `SELECT ${ATTEMPT_COLUMNS} ${ATTEMPT_FROM}`;
const QUESTION_COLUMNS = 'id, question_text, question_type, points, options, correct_answer, explanation';

/**
 * Attempts that count against `maxAttempts`: all but launched attempts abandoned without a saved
 * answer (SPEC §6; the rule's JS twin is `launchedWithoutAnswers` in server/domain/quiz-timing.ts).
 */
const COUNTED_ATTEMPT = `NOT (launch_id IS NOT NULL AND status = 'abandoned' AND coalesce(answers, '{}'::jsonb) = '{}'::jsonb)`;

/** The attempt with its joined columns; `lock` takes its row lock (inside a transaction). */
export async function attemptRow(db: SqlRunner, attemptId: string, lock = false): Promise<AttemptRow | null> {
  const [row] = await db.execute<AttemptRow[]>(`${ATTEMPT_SELECT} WHERE a.id = ?${lock ? ' FOR UPDATE OF a' : ''}`, [attemptId]);
  return row ?? null;
}

/** Attempts with their joined columns, in no particular order. */
export async function attemptRows(db: SqlRunner, attemptIds: string[]): Promise<AttemptRow[]> {
  if (attemptIds.length === 0) return [];
  // As one JSON parameter: the driver would spread an array into a list of parameters.
  return db.execute<AttemptRow[]>(`${ATTEMPT_SELECT} WHERE a.id IN (SELECT value::uuid FROM jsonb_array_elements_text(?::jsonb))`, [
    JSON.stringify(attemptIds),
  ]);
}

/** The attempt, its questions and the row's version (`xmin`) in one statement (optimistic grading). */
export async function attemptForGrading(
  db: SqlRunner,
  attemptId: string,
): Promise<(AttemptRow & { row_version: string; question_rows: QuestionRow[] }) | null> {
  const [row] = await db.execute<Array<AttemptRow & { row_version: string; question_rows: QuestionRow[] }>>(
    `SELECT ${ATTEMPT_COLUMNS}, a.xmin::text AS row_version,
            (SELECT coalesce(json_agg(qq), '[]'::json) FROM (
               SELECT ${QUESTION_COLUMNS} FROM quiz_questions
                WHERE id IN (SELECT (item ->> 'questionId')::uuid FROM jsonb_array_elements(coalesce(a.question_order, '[]'::jsonb)) item)) qq) AS question_rows
     ${ATTEMPT_FROM} WHERE a.id = ?`,
    [attemptId],
  );
  return row ?? null;
}

/** Questions by id, in no particular order. */
export async function questionRows(db: SqlRunner, questionIds: string[]): Promise<QuestionRow[]> {
  if (questionIds.length === 0) return [];
  return db.execute<QuestionRow[]>(`SELECT ${QUESTION_COLUMNS} FROM quiz_questions WHERE id IN (${questionIds.map(() => '?').join(', ')})`, questionIds);
}

/** Attempts of this enrollment at this quiz that are finished and count (see `COUNTED_ATTEMPT`). */
export async function finishedAttemptCount(db: SqlRunner, enrollmentId: string, quizId: string): Promise<number> {
  const [{ used }] = await db.execute<Array<{ used: number }>>(
    `SELECT count(*)::int AS used FROM quiz_attempts WHERE enrollment_id = ? AND quiz_id = ? AND status <> 'in_progress' AND ${COUNTED_ATTEMPT}`,
    [enrollmentId, quizId],
  );
  return used;
}

/** The running attempt(s) of this enrollment at this quiz (at most one: a partial unique index). */
export async function runningAttempts(db: SqlRunner, enrollmentId: string, quizId: string): Promise<Array<Pick<AttemptRow, 'id' | 'deadline'>>> {
  return db.execute<Array<Pick<AttemptRow, 'id' | 'deadline'>>>(
    `SELECT id, deadline FROM quiz_attempts WHERE enrollment_id = ? AND quiz_id = ? AND status = 'in_progress'`,
    [enrollmentId, quizId],
  );
}

/** Locks the enrollment row: concurrent starts of one student serialise on it (in a transaction). */
export async function lockEnrollment(tx: SqlRunner, enrollmentId: string): Promise<void> {
  await tx.execute('SELECT id FROM enrollments WHERE id = ? FOR UPDATE', [enrollmentId]);
}

/** How many attempts this enrollment has at this quiz that count against `maxAttempts`, and the last attempt number. */
export async function attemptNumbers(tx: SqlRunner, enrollmentId: string, quizId: string): Promise<{ count: number; last: number }> {
  const [numbers] = await tx.execute<Array<{ count: number; last: number }>>(
    `SELECT count(*) FILTER (WHERE ${COUNTED_ATTEMPT})::int AS count, coalesce(max(attempt_number), 0)::int AS last
       FROM quiz_attempts WHERE enrollment_id = ? AND quiz_id = ?`,
    [enrollmentId, quizId],
  );
  return numbers;
}

/** The quiz's questions in its order, with their options (for a new attempt's own order). */
export async function quizQuestionOptions(tx: SqlRunner, quizId: string): Promise<Array<{ id: string; options: ChoiceOption[] | null }>> {
  return tx.execute<Array<{ id: string; options: ChoiceOption[] | null }>>(
    'SELECT id, options FROM quiz_questions WHERE quiz_id = ? ORDER BY order_index, created_at, id',
    [quizId],
  );
}

export async function insertAttempt(
  tx: SqlRunner,
  attempt: {
    enrollmentId: string;
    quizId: string;
    attemptNumber: number;
    startedAt: Date;
    deadline: Date | null;
    submitUntil: Date | null;
    overdueHandling: OverdueHandling;
    gracePeriodSeconds: number;
    questionOrder: QuestionOrder;
  },
): Promise<string> {
  const [inserted] = await tx.execute<Array<{ id: string }>>(
    `INSERT INTO quiz_attempts (enrollment_id, quiz_id, attempt_number, status, started_at, deadline, submit_until, overdue_handling, grace_period_seconds, question_order, answers)
     VALUES (?, ?, ?, 'in_progress', ?, ?, ?, ?, ?, ?, '{}') RETURNING id`,
    [
      attempt.enrollmentId,
      attempt.quizId,
      attempt.attemptNumber,
      attempt.startedAt,
      attempt.deadline,
      attempt.submitUntil,
      attempt.overdueHandling,
      attempt.gracePeriodSeconds,
      JSON.stringify(attempt.questionOrder),
    ],
  );
  return inserted.id;
}

/**
 * Saves one answer in one statement: the status and time checks hold at the moment of the write,
 * and concurrent saves of different questions merge instead of overwriting each other. False
 * when the attempt is no longer running or past deadline + grace.
 */
export async function saveAnswerRow(db: SqlRunner, attemptId: string, questionId: string, answer: unknown, graceMs: number): Promise<boolean> {
  const updated = await db.execute<Array<{ id: string }>>(
    `UPDATE quiz_attempts SET answers = coalesce(answers, '{}'::jsonb) || jsonb_build_object(?::text, ?::jsonb)
      WHERE id = ? AND status = 'in_progress' AND (deadline IS NULL OR now() <= deadline + (? || ' milliseconds')::interval)
      RETURNING id`,
    [questionId, JSON.stringify(answer), attemptId, String(graceMs)],
  );
  return updated.length > 0;
}

/** The grade as written (what `writeGrade` returns of the row). */
export type GradeColumns = Pick<
  AttemptRow,
  'status' | 'score' | 'max_score' | 'percentage' | 'is_passed' | 'submitted_at' | 'graded_at' | 'time_taken_seconds' | 'auto_submitted'
>;

/**
 * Writes a grade; with `version`, only if the row is still that version (`xmin`): undefined
 * when someone changed it in between. A key correction rewrites the quiz's running attempts in its
 * transaction (`touchRunningAttempts`), so a grade computed under the old key fails here and is
 * computed again; the locked path holds the row, so the correction waits for it instead.
 */
export async function writeGrade(
  db: SqlRunner,
  attemptId: string,
  grade: {
    answers: Record<string, unknown>;
    results: StoredResults;
    submittedAt: Date;
    gradedAt: Date;
    timeTakenSeconds: number;
    autoSubmitted: boolean;
  },
  version?: string,
): Promise<GradeColumns | undefined> {
  const [updated] = await db.execute<GradeColumns[]>(
    `UPDATE quiz_attempts SET status = 'graded', answers = ?, results = ?, score = ?, max_score = ?, percentage = ?, is_passed = ?,
            submitted_at = ?, graded_at = ?, time_taken_seconds = ?, auto_submitted = ?
      WHERE id = ?${version === undefined ? '' : ' AND xmin::text = ?'}
      RETURNING status, score, max_score, percentage, is_passed, submitted_at, graded_at, time_taken_seconds, auto_submitted`,
    [
      JSON.stringify(grade.answers),
      JSON.stringify(grade.results),
      grade.results.score,
      grade.results.maxScore,
      grade.results.percentage,
      grade.results.isPassed,
      grade.submittedAt,
      grade.gradedAt,
      grade.timeTakenSeconds,
      grade.autoSubmitted,
      attemptId,
      ...(version === undefined ? [] : [version]),
    ],
  );
  return updated;
}

/** The attempt's status and when the server finishes it (end of its submit window + grace; null when untimed). */
export async function attemptDue(db: SqlRunner, attemptId: string, graceMs: number): Promise<{ status: string; due: string | null } | null> {
  const [row] = await db.execute<Array<{ status: string; due: string | null }>>(
    `SELECT status, coalesce(submit_until, deadline) + (? || ' milliseconds')::interval AS due FROM quiz_attempts WHERE id = ?`,
    [String(graceMs), attemptId],
  );
  return row ?? null;
}

/**
 * Attempts whose submit window (deadline, or `submit_until` under `graceperiod`) plus grace has
 * passed while they are still open, oldest first. The deadline bounds the scan through the partial
 * index: `submit_until` is never before it.
 */
export async function overdueAttempts(db: SqlRunner, graceMs: number, limit: number): Promise<string[]> {
  const rows = await db.execute<Array<{ id: string }>>(
    `SELECT id FROM quiz_attempts WHERE status = 'in_progress' AND deadline IS NOT NULL
        AND deadline + (? || ' milliseconds')::interval < now()
        AND coalesce(submit_until, deadline) + (? || ' milliseconds')::interval < now() ORDER BY deadline LIMIT ?`,
    [String(graceMs), String(graceMs), limit],
  );
  return rows.map((row) => row.id);
}

/** What `writeAbandon` returns of the row. */
export type AbandonColumns = Pick<AttemptRow, 'status' | 'submitted_at' | 'graded_at' | 'auto_submitted'>;

/**
 * Marks a running attempt abandoned (its overdue policy finished it without grading); with
 * `version`, only if the row is still that version: undefined when someone changed it in between.
 */
export async function writeAbandon(db: SqlRunner, attemptId: string, version?: string): Promise<AbandonColumns | undefined> {
  const [updated] = await db.execute<AbandonColumns[]>(
    `UPDATE quiz_attempts SET status = 'abandoned', auto_submitted = true
      WHERE id = ? AND status = 'in_progress'${version === undefined ? '' : ' AND xmin::text = ?'}
      RETURNING status, submitted_at, graded_at, auto_submitted`,
    [attemptId, ...(version === undefined ? [] : [version])],
  );
  return updated;
}

/** A per-student override of a quiz (zeros when there is none). */
export async function overrideOf(db: SqlRunner, quizId: string, studentId: string): Promise<{ extraAttempts: number; extraTimeSeconds: number }> {
  const [row] = await db.execute<Array<{ extra_attempts: number; extra_time_seconds: number }>>(
    'SELECT extra_attempts, extra_time_seconds FROM quiz_overrides WHERE quiz_id = ? AND student_id = ?',
    [quizId, studentId],
  );
  return { extraAttempts: row?.extra_attempts ?? 0, extraTimeSeconds: row?.extra_time_seconds ?? 0 };
}

/** An attempt whose deadline moved, with whom to tell. */
export interface MovedDeadlineRow {
  id: string;
  quiz_id: string;
  student_id: string;
  course_id: string;
  deadline: string;
  submit_until: string;
}

/**
 * Moves the deadlines of running timed attempts by a number of seconds each, in one statement and
 * by the database clock: the submit window moves with the deadline. An attempt is left alone when
 * it is finished, untimed, or its new deadline would not be after `now()`; only the moved ones
 * come back.
 */
export async function shiftDeadlines(db: SqlRunner, changes: Array<{ attemptId: string; seconds: number }>): Promise<MovedDeadlineRow[]> {
  if (changes.length === 0) return [];
  return db.execute<MovedDeadlineRow[]>(
    `UPDATE quiz_attempts a
        SET deadline = a.deadline + make_interval(secs => c.seconds),
            submit_until = a.deadline + make_interval(secs => c.seconds
                             + CASE WHEN a.overdue_handling = 'graceperiod' THEN a.grace_period_seconds ELSE 0 END)
       FROM jsonb_to_recordset(?::jsonb) AS c(attempt_id uuid, seconds int), enrollments e
      WHERE a.id = c.attempt_id AND e.id = a.enrollment_id
        AND a.status = 'in_progress' AND a.deadline IS NOT NULL
        AND a.deadline + make_interval(secs => c.seconds) > now()
      RETURNING a.id, a.quiz_id, e.student_id, e.course_id, a.deadline, a.submit_until`,
    [JSON.stringify(changes.map((change) => ({ attempt_id: change.attemptId, seconds: change.seconds })))],
  );
}

/**
 * Locks up to `limit` running attempts of a launch whose submit window (deadline, or
 * `submit_until`) plus grace has passed, with their joined columns, in id order (inside a
 * transaction: a launch's close finishes them in batches). Rows another transaction holds (a
 * submit, a save, a concurrent finisher) are skipped: their holder finishes them, or the launch's
 * job finds them on its next run.
 */
export async function lockDueLaunchAttempts(tx: SqlRunner, launchId: string, graceMs: number, limit: number): Promise<AttemptRow[]> {
  return tx.execute<AttemptRow[]>(
    `${ATTEMPT_SELECT}
      WHERE a.launch_id = ? AND a.status = 'in_progress' AND coalesce(a.submit_until, a.deadline) + (? || ' milliseconds')::interval <= now()
      ORDER BY a.id LIMIT ? FOR UPDATE OF a SKIP LOCKED`,
    [launchId, String(graceMs), limit],
  );
}

/** The questions of a quiz (a batch of its attempts is graded against them). */
export async function quizQuestionRows(db: SqlRunner, quizId: string): Promise<QuestionRow[]> {
  return db.execute<QuestionRow[]>(`SELECT ${QUESTION_COLUMNS} FROM quiz_questions WHERE quiz_id = ?`, [quizId]);
}

/** How the server finished one attempt of a batch: abandoned, or graded (with the grade's columns). */
export type BatchFinish =
  | { id: string; status: 'abandoned' }
  | {
      id: string;
      status: 'graded';
      results: StoredResults;
      submittedAt: Date;
      gradedAt: Date;
      timeTakenSeconds: number;
    };

/**
 * Writes a batch of server finishes in ONE statement (an `UPDATE … FROM` over the batch as a
 * record set, passed as one JSON parameter: the driver would spread an array into a list of
 * parameters). Only rows still running are written; the written ones come back. The saved answers
 * stay as they are: a server finish grades them unchanged, under the batch's row locks (sending
 * them back only made the statement's JSON parameter larger).
 */
export async function writeFinishes(tx: SqlRunner, finishes: BatchFinish[]): Promise<Array<GradeColumns & { id: string }>> {
  if (finishes.length === 0) return [];
  const records = finishes.map((finish) =>
    finish.status === 'abandoned'
      ? { id: finish.id, status: 'abandoned' }
      : {
          id: finish.id,
          status: 'graded',
          results: finish.results,
          score: finish.results.score,
          max_score: finish.results.maxScore,
          percentage: finish.results.percentage,
          is_passed: finish.results.isPassed,
          submitted_at: finish.submittedAt.toISOString(),
          graded_at: finish.gradedAt.toISOString(),
          time_taken_seconds: finish.timeTakenSeconds,
        },
  );
  return tx.execute<Array<GradeColumns & { id: string }>>(
    `UPDATE quiz_attempts a
        SET status = f.status, auto_submitted = true,
            results = CASE WHEN f.status = 'graded' THEN f.results ELSE a.results END,
            score = CASE WHEN f.status = 'graded' THEN f.score ELSE a.score END,
            max_score = CASE WHEN f.status = 'graded' THEN f.max_score ELSE a.max_score END,
            percentage = CASE WHEN f.status = 'graded' THEN f.percentage ELSE a.percentage END,
            is_passed = CASE WHEN f.status = 'graded' THEN f.is_passed ELSE a.is_passed END,
            submitted_at = CASE WHEN f.status = 'graded' THEN f.submitted_at ELSE a.submitted_at END,
            graded_at = CASE WHEN f.status = 'graded' THEN f.graded_at ELSE a.graded_at END,
            time_taken_seconds = CASE WHEN f.status = 'graded' THEN f.time_taken_seconds ELSE a.time_taken_seconds END
       FROM jsonb_to_recordset(?::jsonb) AS f(id uuid, status text, results jsonb, score numeric, max_score numeric, percentage numeric,
                                              is_passed boolean, submitted_at timestamptz, graded_at timestamptz, time_taken_seconds int)
      WHERE a.id = f.id AND a.status = 'in_progress'
      RETURNING a.id, a.status, a.score, a.max_score, a.percentage, a.is_passed, a.submitted_at, a.graded_at, a.time_taken_seconds, a.auto_submitted`,
    [JSON.stringify(records)],
  );
}
