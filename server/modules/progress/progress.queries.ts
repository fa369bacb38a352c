import type { EntityManager } from '@mikro-orm/postgresql';
import type { IEnrollment, ILesson, ILessonProgress } from '../../../entities/index.js';
import type { LessonProgressWrite } from '../../domain/progress.js';
import type { RowOf } from '../../platform/db/rows.js';
import type { SqlRunner } from '../../platform/db/sql.js';

// Progress is a hot path (docs/data-access.md): recording a write and recalculating an enrollment
// are a few statements each, with the concurrency guarantees in the statements themselves.

/** An enrollment's progress columns. */
export type EnrollmentProgressRow = Pick<
  RowOf<IEnrollment, 'progressPercentage'>,
  | 'id'
  | 'course_id'
  | 'student_id'
  | 'status'
  | 'progress_percentage'
  | 'completed_lessons_count'
  | 'total_lessons_count'
  | 'total_time_spent_seconds'
  | 'completed_at'
>;

/** A student's progress on one lesson. */
export type LessonProgressRow = Pick<
  RowOf<ILessonProgress, 'completionPercentage'>,
  'lesson_id' | 'status' | 'completion_percentage' | 'time_spent_seconds' | 'started_at' | 'completed_at' | 'updated_at'
>;

const ENROLLMENT_COLUMNS =
  'id, course_id, student_id, status, progress_percentage, completed_lessons_count, total_lessons_count, total_time_spent_seconds, completed_at';
const ENROLLMENT_COLUMNS_OF_E = ENROLLMENT_COLUMNS.split(', ')
  .map((column) => `e.${column}`)
  .join(', ');
const PROGRESS_COLUMNS = 'lesson_id, status, completion_percentage, time_spent_seconds, started_at, completed_at, updated_at';
/** `PROGRESS_COLUMNS` of the CTE `up`, prefixed `lp_` (beside an enrollment's columns of the same names). */
const PROGRESS_COLUMNS_OF_UP_AS_LP = PROGRESS_COLUMNS.split(', ')
  .map((column) => `up.${column} AS lp_${column}`)
  .join(', ');

/** An enrollment with its row version (`xmin`) and the counts its progress derives from. */
export type EnrollmentCountsRow = EnrollmentProgressRow & { version: string; total: number; completed: number; time: number };

/** Inside a transaction: locks the enrollment's row until it ends. */
export async function lockEnrollment(db: SqlRunner, enrollmentId: string): Promise<void> {
  await db.execute('SELECT 1 FROM enrollments WHERE id = ? FOR UPDATE', [enrollmentId]);
}

const ENROLLMENT_COUNTS_SELECT = `SELECT ${ENROLLMENT_COLUMNS_OF_E}, e.xmin::text AS version,
            (SELECT count(*)::int FROM lessons WHERE course_id = e.course_id) AS total,
            (SELECT count(*)::int FROM lesson_progress lp JOIN lessons l ON l.id = lp.lesson_id
              WHERE lp.enrollment_id = e.id AND l.course_id = e.course_id AND lp.status = 'completed') AS completed,
            (SELECT coalesce(sum(time_spent_seconds), 0)::int FROM lesson_progress WHERE enrollment_id = e.id) AS time
       FROM enrollments e`;

/** The enrollment, its version and its counts (lessons of the course, completed ones, time), in one read. */
export async function readEnrollmentCounts(db: SqlRunner, enrollmentId: string): Promise<EnrollmentCountsRow | null> {
  const [row] = await db.execute<EnrollmentCountsRow[]>(`${ENROLLMENT_COUNTS_SELECT} WHERE e.id = ?`, [enrollmentId]);
  return row ?? null;
}

export interface EnrollmentProgressWrite {
  progressPercentage: number;
  completedLessonsCount: number;
  totalLessonsCount: number;
  totalTimeSpentSeconds: number;
  status: IEnrollment['status'];
  completedAt: Date | null;
}

/** Writes an enrollment's progress if its row is still the version read (`xmin`); null when it changed. */
export async function writeEnrollmentProgress(
  db: SqlRunner,
  enrollmentId: string,
  version: string,
  next: EnrollmentProgressWrite,
): Promise<EnrollmentProgressRow | null> {
  const [updated] = await db.execute<EnrollmentProgressRow[]>(
    `UPDATE enrollments
        SET progress_percentage = ?, completed_lessons_count = ?, total_lessons_count = ?,
            total_time_spent_seconds = ?, status = ?, completed_at = ?, updated_at = now()
      WHERE id = ? AND xmin::text = ? RETURNING ${ENROLLMENT_COLUMNS}`,
    [
      next.progressPercentage,
      next.completedLessonsCount,
      next.totalLessonsCount,
      next.totalTimeSpentSeconds,
      next.status,
      next.completedAt,
      enrollmentId,
      version,
    ],
  );
  return updated ?? null;
}

/** Up to `limit` enrollment ids of a course after `after`, in id order (keyset pagination). */
export async function courseEnrollmentIdsAfter(em: EntityManager, courseId: string, after: string, limit: number): Promise<string[]> {
  const rows = await em.execute<Array<{ id: string }>>('SELECT id FROM enrollments WHERE course_id = ? AND id > ? ORDER BY id LIMIT ?', [
    courseId,
    after,
    limit,
  ]);
  return rows.map((row) => row.id);
}

/** How a write merges into a lesson's progress: `completed` is sticky, completion never decreases, time only adds. */
const MERGE_PROGRESS = `ON CONFLICT (enrollment_id, lesson_id) DO UPDATE SET
       status = CASE
         WHEN lesson_progress.status = 'completed' OR excluded.status = 'completed' THEN 'completed'
         WHEN lesson_progress.status = 'in_progress' OR excluded.status = 'in_progress' THEN 'in_progress'
         ELSE 'not_started' END,
       started_at = coalesce(lesson_progress.started_at, excluded.started_at),
       completed_at = coalesce(lesson_progress.completed_at, excluded.completed_at),
       time_spent_seconds = lesson_progress.time_spent_seconds + excluded.time_spent_seconds,
       completion_percentage = greatest(lesson_progress.completion_percentage, excluded.completion_percentage),
       updated_at = now()`;

/**
 * One write's row for `lesson_progress`, before its merge (`MERGE_PROGRESS`); its parameters are
 * `writeParams`. A claim may follow it with a `WHERE`.
 */
const INSERT_WRITE = `INSERT INTO lesson_progress (enrollment_id, lesson_id, status, started_at, completed_at, time_spent_seconds, completion_percentage)
     SELECT ?::uuid, ?::uuid, ?::text,
            CASE WHEN ?::text <> 'not_started' THEN now() END,
            CASE WHEN ?::text = 'completed' THEN now() END,
            ?::int, ?::numeric`;

function writeParams(enrollmentId: string, lessonId: string, write: LessonProgressWrite): unknown[] {
  return [enrollmentId, lessonId, write.status, write.status, write.status, write.timeSpentSecondsDelta, write.completionPercentage];
}

/**
 * Completes one lesson for many enrollments in ONE statement (a launch's close completes the
 * quiz's lesson for every student who passed), merged as `upsertLessonProgress` merges a
 * `completed` write. The rows as written, with their enrollment.
 */
export async function completeLessonForEnrollments(
  db: SqlRunner,
  lessonId: string,
  enrollmentIds: string[],
): Promise<Array<LessonProgressRow & { enrollment_id: string }>> {
  if (enrollmentIds.length === 0) return [];
  return db.execute<Array<LessonProgressRow & { enrollment_id: string }>>(
    `INSERT INTO lesson_progress (enrollment_id, lesson_id, status, started_at, completed_at, time_spent_seconds, completion_percentage)
     SELECT value::uuid, ?::uuid, 'completed', now(), now(), 0, 100 FROM jsonb_array_elements_text(?::jsonb)
     ${MERGE_PROGRESS}
     RETURNING enrollment_id, ${PROGRESS_COLUMNS}`,
    [lessonId, JSON.stringify(enrollmentIds)],
  );
}

/** Inside a transaction: locks many enrollments' rows, in id order (two batches never wait on each other in a cycle). */
export async function lockEnrollments(db: SqlRunner, enrollmentIds: string[]): Promise<void> {
  if (enrollmentIds.length === 0) return;
  await db.execute('SELECT 1 FROM enrollments WHERE id IN (SELECT value::uuid FROM jsonb_array_elements_text(?::jsonb)) ORDER BY id FOR UPDATE', [
    JSON.stringify(enrollmentIds),
  ]);
}

/** `readEnrollmentCounts` of many enrollments in one read (no particular order). */
export async function readEnrollmentsCounts(db: SqlRunner, enrollmentIds: string[]): Promise<EnrollmentCountsRow[]> {
  if (enrollmentIds.length === 0) return [];
  return db.execute<EnrollmentCountsRow[]>(`${ENROLLMENT_COUNTS_SELECT} WHERE e.id IN (SELECT value::uuid FROM jsonb_array_elements_text(?::jsonb))`, [
    JSON.stringify(enrollmentIds),
  ]);
}

/** Writes many enrollments' progress in one statement (their rows are locked: no version check). */
export async function writeEnrollmentsProgress(
  db: SqlRunner,
  writes: Array<{ enrollmentId: string } & EnrollmentProgressWrite>,
): Promise<EnrollmentProgressRow[]> {
  if (writes.length === 0) return [];
  return db.execute<EnrollmentProgressRow[]>(
    `UPDATE enrollments e
        SET progress_percentage = w.progress_percentage, completed_lessons_count = w.completed_lessons_count,
            total_lessons_count = w.total_lessons_count, total_time_spent_seconds = w.total_time_spent_seconds,
            status = w.status, completed_at = w.completed_at, updated_at = now()
       FROM jsonb_to_recordset(?::jsonb) AS w(id uuid, progress_percentage numeric, completed_lessons_count int, total_lessons_count int,
                                              total_time_spent_seconds int, status text, completed_at timestamptz)
      WHERE e.id = w.id RETURNING ${ENROLLMENT_COLUMNS_OF_E}`,
    [
      JSON.stringify(
        writes.map((write) => ({
          id: write.enrollmentId,
          progress_percentage: write.progressPercentage,
          completed_lessons_count: write.completedLessonsCount,
          total_lessons_count: write.totalLessonsCount,
          total_time_spent_seconds: write.totalTimeSpentSeconds,
          status: write.status,
          completed_at: write.completedAt?.toISOString() ?? null,
        })),
      ),
    ],
  );
}

/**
 * Merges one write into the lesson's progress in a single statement: `completed` is sticky,
 * completion never decreases, time only adds. Concurrent writes each add their own time.
 *
 * With a `clientKey`, the same statement first claims the key in `progress_client_keys`
 * (`INSERT … ON CONFLICT DO NOTHING`) and merges the write only if the claim inserted a row: a key
 * already applied, or being applied by a concurrent statement (which the claim waits for), merges
 * nothing, and the row is read as it stands (`replayed`; null when the lesson has no progress).
 * Claim and write commit or roll back together, so a failed write leaves its key free to retry.
 */
export async function upsertLessonProgress(
  em: EntityManager,
  enrollmentId: string,
  lessonId: string,
  write: LessonProgressWrite,
  clientKey?: string,
): Promise<{ row: LessonProgressRow | null; replayed: boolean }> {
  const claim =
    clientKey === undefined
      ? ''
      : `WITH claimed AS (
       INSERT INTO progress_client_keys (enrollment_id, client_key) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING client_key
     )
     `;
  const [row] = await em.execute<LessonProgressRow[]>(
    `${claim}${INSERT_WRITE}${clientKey === undefined ? '' : '\n      WHERE EXISTS (SELECT 1 FROM claimed)'}
     ${MERGE_PROGRESS}
     RETURNING ${PROGRESS_COLUMNS}`,
    [...(clientKey === undefined ? [] : [enrollmentId, clientKey]), ...writeParams(enrollmentId, lessonId, write)],
  );
  if (row) return { row, replayed: false };
  const [current] = await em.execute<LessonProgressRow[]>(`SELECT ${PROGRESS_COLUMNS} FROM lesson_progress WHERE enrollment_id = ? AND lesson_id = ?`, [
    enrollmentId,
    lessonId,
  ]);
  return { row: current ?? null, replayed: true };
}

/**
 * `upsertLessonProgress` without a client key, and `readEnrollmentCounts` of the enrollment as
 * that write leaves it, in ONE statement (one round trip instead of two on the path of every
 * progress write and every quiz that completes its lesson). The statement's snapshot does not see
 * its own write, so the counts take every other lesson from the snapshot and this lesson from the
 * row the write returned. Like any read of the counts, they are only as fresh as the snapshot: the
 * enrollment's version (`xmin`) read here is what the conditional write checks. Null when the
 * enrollment is gone (the insert then fails on its foreign key first).
 */
export async function upsertLessonProgressCounted(
  db: SqlRunner,
  enrollmentId: string,
  lessonId: string,
  write: LessonProgressWrite,
): Promise<{ row: LessonProgressRow; counts: EnrollmentCountsRow } | null> {
  const [result] = await db.execute<Array<EnrollmentCountsRow & ProgressColumnsAs>>(
    `WITH up AS (
       ${INSERT_WRITE}
       ${MERGE_PROGRESS}
       RETURNING ${PROGRESS_COLUMNS}
     )
     SELECT ${ENROLLMENT_COLUMNS_OF_E}, e.xmin::text AS version, ${PROGRESS_COLUMNS_OF_UP_AS_LP},
            (SELECT count(*)::int FROM lessons WHERE course_id = e.course_id) AS total,
            (SELECT count(*)::int FROM lesson_progress lp JOIN lessons l ON l.id = lp.lesson_id
              WHERE lp.enrollment_id = e.id AND l.course_id = e.course_id AND lp.status = 'completed' AND lp.lesson_id <> up.lesson_id)
            + (CASE WHEN up.status = 'completed' AND EXISTS (SELECT 1 FROM lessons l WHERE l.id = up.lesson_id AND l.course_id = e.course_id)
                    THEN 1 ELSE 0 END) AS completed,
            (SELECT coalesce(sum(time_spent_seconds), 0)::int FROM lesson_progress WHERE enrollment_id = e.id AND lesson_id <> up.lesson_id)
            + up.time_spent_seconds AS time
       FROM up JOIN enrollments e ON e.id = ?`,
    [...writeParams(enrollmentId, lessonId, write), enrollmentId],
  );
  if (!result) return null;
  const { lp_lesson_id, lp_status, lp_completion_percentage, lp_time_spent_seconds, lp_started_at, lp_completed_at, lp_updated_at, ...counts } = result;
  return {
    row: {
      lesson_id: lp_lesson_id,
      status: lp_status,
      completion_percentage: lp_completion_percentage,
      time_spent_seconds: lp_time_spent_seconds,
      started_at: lp_started_at,
      completed_at: lp_completed_at,
      updated_at: lp_updated_at,
    },
    counts,
  };
}

/** `LessonProgressRow`'s columns as `upsertLessonProgressCounted` names them beside the enrollment's. */
type ProgressColumnsAs = { [K in keyof LessonProgressRow as `lp_${K & string}`]: LessonProgressRow[K] };

/** A lesson with what recording progress on it needs: its course's state and the caller's enrollment. */
export type LessonContextRow = {
  lesson_id: string;
  lesson_title: string;
  parent_lesson_id: string | null;
  course_id: string;
  is_published: boolean;
  instructor_id: string;
  has_graded_quiz: boolean;
  enrollment_id: string | null;
  enrollment_status: IEnrollment['status'] | null;
};

export async function lessonContext(em: EntityManager, studentId: string, lessonId: string): Promise<LessonContextRow | null> {
  const [context] = await em.execute<LessonContextRow[]>(
    `SELECT l.id AS lesson_id, l.title AS lesson_title, l.parent_lesson_id, l.course_id, c.is_published, c.instructor_id,
            EXISTS (SELECT 1 FROM quizzes q WHERE q.lesson_id = l.id AND q.quiz_type = 'graded' AND q.is_published) AS has_graded_quiz,
            e.id AS enrollment_id, e.status AS enrollment_status
       FROM lessons l
       JOIN courses c ON c.id = l.course_id
       LEFT JOIN enrollments e ON e.course_id = l.course_id AND e.student_id = ?
      WHERE l.id = ?`,
    [studentId, lessonId],
  );
  return context ?? null;
}

export type LessonHeaderRow = Pick<RowOf<ILesson>, 'id' | 'title' | 'parent_lesson_id'>;

export async function lessonHeader(em: EntityManager, lessonId: string): Promise<LessonHeaderRow | null> {
  const [row] = await em.execute<LessonHeaderRow[]>('SELECT id, title, parent_lesson_id FROM lessons WHERE id = ?', [lessonId]);
  return row ?? null;
}

/** An enrollment with its course's owner (who may read its progress). */
export async function enrollmentWithOwner(
  em: EntityManager,
  enrollmentId: string,
): Promise<(Pick<EnrollmentProgressRow, 'id' | 'student_id' | 'course_id'> & { instructor_id: string }) | null> {
  const [row] = await em.execute<Array<Pick<EnrollmentProgressRow, 'id' | 'student_id' | 'course_id'> & { instructor_id: string }>>(
    'SELECT e.id, e.student_id, e.course_id, c.instructor_id FROM enrollments e JOIN courses c ON c.id = e.course_id WHERE e.id = ?',
    [enrollmentId],
  );
  return row ?? null;
}

/** A lesson of the course with the enrollment's progress on it (`has_row` false: none yet, the progress columns are null). */
export type LessonWithProgressRow = LessonHeaderRow & Omit<LessonProgressRow, 'lesson_id'> & { has_row: boolean };

/** A page of the course's lessons (parents first, by order) with the enrollment's progress on each, and the number of lessons. */
export async function lessonsWithProgress(
  em: EntityManager,
  enrollmentId: string,
  courseId: string,
  page: { limit: number; offset: number },
): Promise<{ rows: LessonWithProgressRow[]; total: number }> {
  const [rows, [count]] = await Promise.all([
    em.execute<LessonWithProgressRow[]>(
      `SELECT l.id, l.title, l.parent_lesson_id, lp.lesson_id IS NOT NULL AS has_row,
              lp.status, lp.completion_percentage, lp.time_spent_seconds, lp.started_at, lp.completed_at, lp.updated_at
         FROM lessons l
         LEFT JOIN lesson_progress lp ON lp.lesson_id = l.id AND lp.enrollment_id = ?
        WHERE l.course_id = ?
        ORDER BY l.parent_lesson_id NULLS FIRST, l.order_index, l.id
        LIMIT ? OFFSET ?`,
      [enrollmentId, courseId, page.limit, page.offset],
    ),
    em.execute<Array<{ total: number }>>('SELECT count(*)::int AS total FROM lessons WHERE course_id = ?', [courseId]),
  ]);
  return { rows, total: count.total };
}

/** Enrollment counts as stored, for the sweep to compare with what it recalculates. */
export type StoredEnrollmentCounts = Pick<RowOf<IEnrollment>, 'id' | 'completed_lessons_count' | 'total_lessons_count' | 'total_time_spent_seconds'>;

/**
 * Enrollments whose stored counts disagree with their lessons and lesson progress. Candidates are
 * enrollments whose course's lesson count differs from theirs, or with lesson progress written
 * after the enrollment; of those, only the ones whose counts are wrong, so progress that changed
 * no count (a percentage) is not recalculated on every sweep. An enrollment with progress written
 * in the last `settleSeconds` is left out: its write's own recalculation follows within
 * milliseconds, and repairing it meanwhile announced its progress twice.
 */
export async function staleEnrollments(db: SqlRunner, limit: number, settleSeconds: number): Promise<StoredEnrollmentCounts[]> {
  return db.execute<StoredEnrollmentCounts[]>(
    `WITH lesson_counts AS (SELECT course_id, count(*)::int AS n FROM lessons GROUP BY course_id),
          candidates AS (
            SELECT e.id FROM enrollments e LEFT JOIN lesson_counts lc ON lc.course_id = e.course_id
             WHERE e.total_lessons_count <> coalesce(lc.n, 0)
            UNION
            SELECT lp.enrollment_id FROM lesson_progress lp JOIN enrollments e ON e.id = lp.enrollment_id
             WHERE lp.updated_at > e.updated_at)
     SELECT e.id, e.completed_lessons_count, e.total_lessons_count, e.total_time_spent_seconds
       FROM enrollments e JOIN candidates c ON c.id = e.id
      WHERE NOT EXISTS (SELECT 1 FROM lesson_progress recent
                         WHERE recent.enrollment_id = e.id AND recent.updated_at > now() - make_interval(secs => ?))
        AND (e.total_lessons_count <> (SELECT count(*) FROM lessons WHERE course_id = e.course_id)
             OR e.completed_lessons_count <> (SELECT count(*) FROM lesson_progress lp JOIN lessons l ON l.id = lp.lesson_id
                                               WHERE lp.enrollment_id = e.id AND l.course_id = e.course_id AND lp.status = 'completed')
             OR e.total_time_spent_seconds <> (SELECT coalesce(sum(time_spent_seconds), 0) FROM lesson_progress WHERE enrollment_id = e.id))
      LIMIT ?`,
    [settleSeconds, limit],
  );
}

/** Deletes up to `batch` of the oldest progress client keys older than a day; how many it deleted. */
export async function deleteOldClientKeys(db: SqlRunner, batch: number): Promise<number> {
  const result = await db.execute(
    `DELETE FROM progress_client_keys k
      USING (SELECT enrollment_id, client_key FROM progress_client_keys
              WHERE created_at < now() - interval '1 day' ORDER BY created_at LIMIT ?) old
      WHERE k.enrollment_id = old.enrollment_id AND k.client_key = old.client_key`,
    [batch],
    'run',
  );
  return (result as { affectedRows?: number }).affectedRows ?? 0;
}
