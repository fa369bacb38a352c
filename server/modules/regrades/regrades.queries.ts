import type { EnrollmentStatus, IAttemptRegrade, ILesson, IQuiz, IQuizAttempt, IQuizQuestion, IQuizRegrade } from '../../../entities/index.js';
import type { ChoiceOption } from '../../domain/grading.js';
import type { QuestionOrder } from '../../domain/shuffle.js';
import type { SqlRunner } from '../../platform/db/sql.js';
import type { RowOf } from '../../platform/db/rows.js';
import type { StoredResults } from '../attempts/attempts.service.js';

// The regrades component's SQL (docs/data-access.md): set-based and concurrency-sensitive (batches
// of attempts written with their history rows and counters in one transaction), so SQL.

/** `requested_by` is the column's name (`fieldName`), not `<relation>_id`. */
export type RegradeRow = Omit<RowOf<IQuizRegrade>, 'requested_by_id'> & { requested_by: string | null; course_id: string };

const REGRADE_COLUMNS = `r.id, r.quiz_id, r.key_version, r.status, r.requested_by, r.total, r.processed, r.changed, r.last_attempt_id,
       r.started_at, r.finished_at, r.error, r.created_at, l.course_id`;
const REGRADE_FROM = `FROM quiz_regrades r JOIN quizzes q ON q.id = r.quiz_id JOIN lessons l ON l.id = q.lesson_id`;

export async function regradeRow(db: SqlRunner, regradeId: string): Promise<RegradeRow | null> {
  const [row] = await db.execute<RegradeRow[]>(`SELECT ${REGRADE_COLUMNS} ${REGRADE_FROM} WHERE r.id = ?`, [regradeId]);
  return row ?? null;
}

/** What a regrade needs of its quiz: its key version, passing score, type and lesson. */
export type RegradeQuizRow = Pick<RowOf<IQuiz>, 'id' | 'key_version' | 'passing_score' | 'quiz_type'> & {
  lesson_id: string;
  lesson_title: RowOf<ILesson>['title'];
  lesson_parent_id: string | null;
  course_id: string;
};

/** The quiz with its lesson; `lock` takes the quiz row's lock (in a transaction): key corrections wait. */
export async function regradeQuiz(db: SqlRunner, quizId: string, lock = false): Promise<RegradeQuizRow | null> {
  const [row] = await db.execute<RegradeQuizRow[]>(
    `SELECT q.id, q.key_version, q.passing_score, q.quiz_type, l.id AS lesson_id, l.title AS lesson_title, l.parent_lesson_id AS lesson_parent_id, l.course_id
       FROM quizzes q JOIN lessons l ON l.id = q.lesson_id WHERE q.id = ?${lock ? ' FOR UPDATE OF q' : ''}`,
    [quizId],
  );
  return row ?? null;
}

/** Whether the quiz has an open launch in a live session (`closed_at` null). */
export async function hasOpenLaunch(db: SqlRunner, quizId: string): Promise<boolean> {
  const rows = await db.execute<Array<{ id: string }>>('SELECT id FROM quiz_launches WHERE quiz_id = ? AND closed_at IS NULL LIMIT 1', [quizId]);
  return rows.length > 0;
}

/** The quiz's queued or running regrade, if any (at most one: partial unique index). */
export async function activeRegrade(db: SqlRunner, quizId: string): Promise<Pick<RegradeRow, 'id' | 'key_version' | 'status'> | null> {
  const [row] = await db.execute<Array<Pick<RegradeRow, 'id' | 'key_version' | 'status'>>>(
    `SELECT id, key_version, status FROM quiz_regrades WHERE quiz_id = ? AND status IN ('queued', 'running')`,
    [quizId],
  );
  return row ?? null;
}

/**
 * The regrade of this key version: inserted as `queued` (`created`), or the existing one (the
 * unique `(quiz_id, key_version)` decides between racing requests). A `failed` one is queued again.
 */
export async function insertOrFindRegrade(
  tx: SqlRunner,
  quizId: string,
  keyVersion: number,
  requestedBy: string,
): Promise<{ id: string; status: string; created: boolean }> {
  const [inserted] = await tx.execute<Array<{ id: string; status: string }>>(
    `INSERT INTO quiz_regrades (quiz_id, key_version, requested_by) VALUES (?, ?, ?)
     ON CONFLICT (quiz_id, key_version) DO NOTHING RETURNING id, status`,
    [quizId, keyVersion, requestedBy],
  );
  if (inserted) return { ...inserted, created: true };
  const [existing] = await tx.execute<Array<{ id: string; status: string }>>(
    `UPDATE quiz_regrades SET status = CASE WHEN status = 'failed' THEN 'queued' ELSE status END,
                              error = CASE WHEN status = 'failed' THEN NULL ELSE error END
      WHERE quiz_id = ? AND key_version = ? RETURNING id, status`,
    [quizId, keyVersion],
  );
  return { ...existing, created: false };
}

/** Marks the regrade running and counts what is left after its cursor; returns the row as it is now. */
export async function startRegradeRow(db: SqlRunner, regradeId: string): Promise<RegradeRow | null> {
  const [row] = await db.execute<RegradeRow[]>(
    `UPDATE quiz_regrades r SET status = 'running', started_at = coalesce(r.started_at, now()), error = NULL,
            total = r.processed + (SELECT count(*)::int FROM quiz_attempts a
                                     WHERE a.quiz_id = r.quiz_id AND a.status = 'graded'
                                       AND (r.last_attempt_id IS NULL OR a.id > r.last_attempt_id))
       FROM quizzes q JOIN lessons l ON l.id = q.lesson_id
      WHERE r.id = ? AND q.id = r.quiz_id AND r.status IN ('queued', 'running')
      RETURNING ${REGRADE_COLUMNS}`,
    [regradeId],
  );
  return row ?? null;
}

/** Locks the regrade row (two runners of one regrade take turns) and reads where it is. */
export async function lockRegradeCursor(tx: SqlRunner, regradeId: string): Promise<Pick<RegradeRow, 'status' | 'last_attempt_id'> | null> {
  const [row] = await tx.execute<Array<Pick<RegradeRow, 'status' | 'last_attempt_id'>>>(
    'SELECT status, last_attempt_id FROM quiz_regrades WHERE id = ? FOR UPDATE',
    [regradeId],
  );
  return row ?? null;
}

/** A graded attempt as a regrade reads it. */
export type RegradeAttemptRow = Pick<RowOf<IQuizAttempt, 'score' | 'maxScore' | 'percentage'>, 'id' | 'score' | 'max_score' | 'percentage' | 'is_passed'> & {
  answers: Record<string, unknown> | null;
  question_order: QuestionOrder | null;
  results: StoredResults | null;
  enrollment_id: string;
  student_id: string;
  enrollment_status: EnrollmentStatus;
};

/**
 * The next graded attempts of the quiz after `afterId` (id order), locked for this transaction.
 * Running and abandoned attempts are not graded, so never read.
 */
export async function nextRegradeBatch(tx: SqlRunner, quizId: string, afterId: string | null, limit: number): Promise<RegradeAttemptRow[]> {
  return tx.execute<RegradeAttemptRow[]>(
    `SELECT a.id, a.score, a.max_score, a.percentage, a.is_passed, a.answers, a.question_order, NULL AS results,
            a.enrollment_id, e.student_id, e.status AS enrollment_status
       FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
      WHERE a.quiz_id = ? AND a.status = 'graded'${afterId ? ' AND a.id > ?' : ''}
      ORDER BY a.id LIMIT ? FOR UPDATE OF a`,
    afterId ? [quizId, afterId, limit] : [quizId, limit],
  );
}

/** Every graded attempt of the quiz after `afterId`, a page at a time, without locks (the dry run). */
export async function gradedAttemptPage(db: SqlRunner, quizId: string, afterId: string | null, limit: number): Promise<RegradeAttemptRow[]> {
  return db.execute<RegradeAttemptRow[]>(
    `SELECT a.id, a.score, a.max_score, a.percentage, a.is_passed, a.answers, a.question_order, NULL AS results,
            a.enrollment_id, e.student_id, e.status AS enrollment_status
       FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id
      WHERE a.quiz_id = ? AND a.status = 'graded'${afterId ? ' AND a.id > ?' : ''}
      ORDER BY a.id LIMIT ?`,
    afterId ? [quizId, afterId, limit] : [quizId, limit],
  );
}

export type RegradeQuestionRow = Pick<RowOf<IQuizQuestion>, 'id' | 'question_text' | 'question_type' | 'points' | 'correct_answer' | 'explanation'> & {
  options: ChoiceOption[] | null;
};

/** The quiz's questions as they are now. */
export async function quizQuestions(db: SqlRunner, quizId: string): Promise<RegradeQuestionRow[]> {
  return db.execute<RegradeQuestionRow[]>(
    'SELECT id, question_text, question_type, points, options, correct_answer, explanation FROM quiz_questions WHERE quiz_id = ?',
    [quizId],
  );
}

/** A regraded attempt's new grade. */
export interface RegradeWrite {
  id: string;
  results: StoredResults;
}

/** Writes the batch's new grades (results and the grade columns) in one statement. */
export async function writeRegrades(tx: SqlRunner, writes: RegradeWrite[]): Promise<void> {
  if (writes.length === 0) return;
  await tx.execute(
    `UPDATE quiz_attempts a SET results = u.results, score = u.score, max_score = u.max_score, percentage = u.percentage, is_passed = u.is_passed
       FROM jsonb_to_recordset(?::jsonb) AS u(id uuid, results jsonb, score numeric, max_score numeric, percentage numeric, is_passed boolean)
      WHERE a.id = u.id`,
    [
      JSON.stringify(
        writes.map((write) => ({
          id: write.id,
          results: write.results,
          score: write.results.score,
          max_score: write.results.maxScore,
          percentage: write.results.percentage,
          is_passed: write.results.isPassed,
        })),
      ),
    ],
  );
}

/** A history row to write: before and after. */
export interface HistoryWrite {
  attemptId: string;
  old: { score: number; maxScore: number; percentage: number; isPassed: boolean };
  new: { score: number; maxScore: number; percentage: number; isPassed: boolean };
}

/** The history rows of the batch; one per regrade and attempt (a replay inserts nothing). Returns the attempts inserted. */
export async function insertHistory(tx: SqlRunner, regradeId: string, requestedBy: string | null, rows: HistoryWrite[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const inserted = await tx.execute<Array<{ attempt_id: string }>>(
    `INSERT INTO attempt_regrades (regrade_id, attempt_id, old_score, new_score, old_max_score, new_max_score, old_percentage, new_percentage, old_passed, new_passed, requested_by)
     SELECT ?, h.attempt_id, h.old_score, h.new_score, h.old_max_score, h.new_max_score, h.old_percentage, h.new_percentage, h.old_passed, h.new_passed, ?
       FROM jsonb_to_recordset(?::jsonb) AS h(attempt_id uuid, old_score numeric, new_score numeric, old_max_score numeric, new_max_score numeric,
                                              old_percentage numeric, new_percentage numeric, old_passed boolean, new_passed boolean)
     ON CONFLICT (regrade_id, attempt_id) DO NOTHING RETURNING attempt_id`,
    [
      regradeId,
      requestedBy,
      JSON.stringify(
        rows.map((row) => ({
          attempt_id: row.attemptId,
          old_score: row.old.score,
          new_score: row.new.score,
          old_max_score: row.old.maxScore,
          new_max_score: row.new.maxScore,
          old_percentage: row.old.percentage,
          new_percentage: row.new.percentage,
          old_passed: row.old.isPassed,
          new_passed: row.new.isPassed,
        })),
      ),
    ],
  );
  return inserted.map((row) => row.attempt_id);
}

/** Moves the counters and the cursor with the batch (same transaction). */
export async function advanceRegrade(
  tx: SqlRunner,
  regradeId: string,
  step: { processed: number; changed: number; lastAttemptId: string },
): Promise<Pick<RegradeRow, 'total' | 'processed' | 'changed'>> {
  const [row] = await tx.execute<Array<Pick<RegradeRow, 'total' | 'processed' | 'changed'>>>(
    `UPDATE quiz_regrades SET processed = processed + ?, changed = changed + ?, total = greatest(total, processed + ?), last_attempt_id = ?
      WHERE id = ? RETURNING total, processed, changed`,
    [step.processed, step.changed, step.processed, step.lastAttemptId, regradeId],
  );
  return row;
}

/** Ends the regrade: `done`, or `failed` with the error. Returns the row as ended (null when it was not running or queued). */
export async function finishRegradeRow(db: SqlRunner, regradeId: string, status: 'done' | 'failed', error: string | null = null): Promise<RegradeRow | null> {
  const [row] = await db.execute<RegradeRow[]>(
    `UPDATE quiz_regrades r SET status = ?, finished_at = now(), error = ?, total = CASE WHEN ? = 'done' THEN r.processed ELSE r.total END
       FROM quizzes q JOIN lessons l ON l.id = q.lesson_id
      WHERE r.id = ? AND q.id = r.quiz_id AND r.status IN ('queued', 'running')
      RETURNING ${REGRADE_COLUMNS}`,
    [status, error, status, regradeId],
  );
  return row ?? null;
}

/** History rows of the regrade that made an attempt pass, with whose lesson to complete (a resumed run re-applies them). */
export async function newlyPassing(
  db: SqlRunner,
  regradeId: string,
): Promise<Array<{ attempt_id: string; enrollment_id: string; enrollment_status: EnrollmentStatus }>> {
  return db.execute<Array<{ attempt_id: string; enrollment_id: string; enrollment_status: EnrollmentStatus }>>(
    `SELECT h.attempt_id, a.enrollment_id, e.status AS enrollment_status
       FROM attempt_regrades h JOIN quiz_attempts a ON a.id = h.attempt_id JOIN enrollments e ON e.id = a.enrollment_id
      WHERE h.regrade_id = ? AND h.new_passed AND NOT h.old_passed`,
    [regradeId],
  );
}

/** Of these enrollments, those that have not completed the lesson yet (the others have nothing to complete). */
export async function lessonNotCompleted(db: SqlRunner, lessonId: string, enrollmentIds: string[]): Promise<Set<string>> {
  if (enrollmentIds.length === 0) return new Set();
  const done = await db.execute<Array<{ enrollment_id: string }>>(
    `SELECT enrollment_id FROM lesson_progress WHERE lesson_id = ? AND status = 'completed' AND enrollment_id IN (${enrollmentIds.map(() => '?').join(', ')})`,
    [lessonId, ...enrollmentIds],
  );
  const completed = new Set(done.map((row) => row.enrollment_id));
  return new Set(enrollmentIds.filter((id) => !completed.has(id)));
}

export type HistoryRow = Pick<
  RowOf<IAttemptRegrade, 'oldScore' | 'newScore' | 'oldMaxScore' | 'newMaxScore' | 'oldPercentage' | 'newPercentage'>,
  | 'attempt_id'
  | 'old_score'
  | 'new_score'
  | 'old_max_score'
  | 'new_max_score'
  | 'old_percentage'
  | 'new_percentage'
  | 'old_passed'
  | 'new_passed'
  | 'created_at'
>;
