import type { EntityManager } from '@mikro-orm/postgresql';
import type { EnrollmentStatus, LessonProgressStatus } from '../../../entities/enums.js';
import type { AuthUser } from '../../plugins/auth.js';
import { OPTIMISTIC_TRIES, retryThenLock, sqlTransaction, type SqlRunner } from '../../platform/db/sql.js';
import { calculateEnrollmentProgress, normalizeProgressWrite, reportsProgress, type LessonProgressInput, type LessonProgressWrite } from '../../domain/progress.js';
import { AppError, forbidden, notFound, validationError } from '../../platform/errors.js';
import { decimal, iso } from '../../platform/schemas.js';
import type { LessonProgressJson } from '../learning.schemas.js';
import { ACCESS_GRANTING_STATUSES, isManagerOf } from '../courses/courses.access.js';
import type { ServiceDeps } from '../deps.js';

/**
 * What recalculating progress needs: the EntityManager, and the jobs port for the certificate of
 * an enrollment that completes (only `issueCertificate` is used, so a test may fake just that).
 */
export type RecalculationDeps = Pick<ServiceDeps, 'em'> & { jobs: Pick<ServiceDeps['jobs'], 'issueCertificate'> };

interface EnrollmentRow {
  id: string;
  course_id: string;
  student_id: string;
  status: EnrollmentStatus;
  progress_percentage: string | number;
  completed_lessons_count: number;
  total_lessons_count: number;
  total_time_spent_seconds: number;
  completed_at: string | null;
}

/** The enrollment's progress fields, as `progress:updated` and the HTTP routes carry them. */
export interface EnrollmentProgressJson {
  enrollmentId: string;
  courseId: string;
  studentId: string;
  status: EnrollmentStatus;
  progressPercentage: number;
  completedLessonsCount: number;
  totalLessonsCount: number;
  totalTimeSpentSeconds: number;
  completedAt: string | null;
}

export interface EnrollmentRecalculation {
  progress: EnrollmentProgressJson;
  /** True once per enrollment: the recalculation that completed it for the first time. */
  justCompleted: boolean;
}

function progressJson(row: EnrollmentRow): EnrollmentProgressJson {
  return {
    enrollmentId: row.id,
    courseId: row.course_id,
    studentId: row.student_id,
    status: row.status,
    progressPercentage: decimal(row.progress_percentage) ?? 0,
    completedLessonsCount: row.completed_lessons_count,
    totalLessonsCount: row.total_lessons_count,
    totalTimeSpentSeconds: row.total_time_spent_seconds,
    completedAt: iso(row.completed_at),
  };
}

const ENROLLMENT_COLUMNS =
  'id, course_id, student_id, status, progress_percentage, completed_lessons_count, total_lessons_count, total_time_spent_seconds, completed_at';
const ENROLLMENT_COLUMNS_OF_E = ENROLLMENT_COLUMNS.split(', ').map((column) => `e.${column}`).join(', ');

/**
 * Recomputes one enrollment from its lesson_progress rows (the seed's `calculate_progress`)
 * and writes it. The write is conditional on the enrollment row's version (`xmin`) as read with
 * the counts, so of concurrent recalculations one that read before another's write cannot
 * overwrite it (it reads again; after a few tries it locks the row): the stored progress always
 * comes from counts read after the last write, and the transition to `completed` happens exactly
 * once. That transition enqueues the certificate (`deps.jobs.issueCertificate`), whichever
 * path got here: an HTTP or socket progress write, a quiz completing its lesson, a `progress`
 * job. A recalculation that changes nothing writes nothing. Returns null when the enrollment no
 * longer exists. Must not be called inside an outer transaction: the certificate job could run
 * before the completion is committed (the sweep would repair it).
 */
export async function recalculateEnrollment(deps: RecalculationDeps, enrollmentId: string, optimisticTries = OPTIMISTIC_TRIES): Promise<EnrollmentRecalculation | null> {
  const { em } = deps;
  const result = await retryThenLock(
    optimisticTries,
    () => recalculate(em, enrollmentId),
    // Under the lock the row cannot change in between, so the write lands: never undefined.
    () => sqlTransaction(em, (tx) => recalculate(tx, enrollmentId, true)) as Promise<EnrollmentRecalculation | null>,
  );
  // Never throws: a certificate not queued is issued by the sweep.
  if (result?.justCompleted) await deps.jobs.issueCertificate(enrollmentId);
  return result;
}

/**
 * The `progress` job of one enrollment: recalculates it and tells the publisher its progress
 * (`progress:updated`). Null when the enrollment no longer exists.
 */
export async function refreshEnrollmentProgress(deps: RecalculationDeps & Pick<ServiceDeps, 'publisher'>, enrollmentId: string): Promise<EnrollmentRecalculation | null> {
  const result = await recalculateEnrollment(deps, enrollmentId);
  if (result) deps.publisher.enrollmentProgressUpdated(result.progress);
  return result;
}

/**
 * The sweep's repair of an enrollment whose stored counts were found stale (`stale`: the counts
 * as the sweep read them). Recalculates it and tells the publisher, unless a job of the course
 * repaired it in between (the counts are what they were: nothing to announce). True when repaired.
 */
export async function repairEnrollmentProgress(
  deps: RecalculationDeps & Pick<ServiceDeps, 'publisher'>,
  stale: { id: string; completed_lessons_count: number; total_lessons_count: number; total_time_spent_seconds: number },
): Promise<boolean> {
  const result = await recalculateEnrollment(deps, stale.id);
  if (!result) return false;
  const { progress } = result;
  if (
    progress.completedLessonsCount === stale.completed_lessons_count &&
    progress.totalLessonsCount === stale.total_lessons_count &&
    progress.totalTimeSpentSeconds === stale.total_time_spent_seconds
  ) {
    return false;
  }
  deps.publisher.enrollmentProgressUpdated(progress);
  return true;
}

/**
 * One read (the enrollment, its version and the counts), the progress rule, one conditional
 * write. Undefined when the row changed in between. `locked`: inside a transaction, lock the row
 * first and count after (a statement that waited for the lock would count from its older snapshot).
 */
async function recalculate(db: SqlRunner, enrollmentId: string, locked = false): Promise<EnrollmentRecalculation | null | undefined> {
  const counts = `(SELECT count(*)::int FROM lessons WHERE course_id = e.course_id) AS total,
              (SELECT count(*)::int FROM lesson_progress lp JOIN lessons l ON l.id = lp.lesson_id
                WHERE lp.enrollment_id = e.id AND l.course_id = e.course_id AND lp.status = 'completed') AS completed,
              (SELECT coalesce(sum(time_spent_seconds), 0)::int FROM lesson_progress WHERE enrollment_id = e.id) AS time`;
  type Read = EnrollmentRow & { version: string; total: number; completed: number; time: number };
  if (locked) await db.execute('SELECT 1 FROM enrollments WHERE id = ? FOR UPDATE', [enrollmentId]);
  const [current] = await db.execute<Read[]>(`SELECT ${ENROLLMENT_COLUMNS_OF_E}, e.xmin::text AS version, ${counts} FROM enrollments e WHERE e.id = ?`, [enrollmentId]);
  if (!current) return null;
  const next = calculateEnrollmentProgress(
    { status: current.status, completedAt: current.completed_at ? new Date(current.completed_at) : null },
    { totalLessons: current.total, completedLessons: current.completed, totalTimeSpentSeconds: current.time },
    new Date(),
  );
  const stored = progressJson(current);
  if (
    !next.justCompleted &&
    stored.status === next.status &&
    stored.progressPercentage === next.progressPercentage &&
    stored.completedLessonsCount === next.completedLessonsCount &&
    stored.totalLessonsCount === next.totalLessonsCount &&
    stored.totalTimeSpentSeconds === next.totalTimeSpentSeconds &&
    stored.completedAt === (next.completedAt?.toISOString() ?? null)
  ) {
    return { progress: stored, justCompleted: false };
  }
  const [updated] = await db.execute<EnrollmentRow[]>(
    `UPDATE enrollments
        SET progress_percentage = ?, completed_lessons_count = ?, total_lessons_count = ?,
            total_time_spent_seconds = ?, status = ?, completed_at = ?, updated_at = now()
      WHERE id = ? AND xmin::text = ? RETURNING ${ENROLLMENT_COLUMNS}`,
    [next.progressPercentage, next.completedLessonsCount, next.totalLessonsCount, next.totalTimeSpentSeconds, next.status, next.completedAt, enrollmentId, current.version],
  );
  if (!updated) return undefined;
  return { progress: progressJson(updated), justCompleted: next.justCompleted };
}

/**
 * Recalculates every enrollment of a course synchronously, in batches of `batchSize` ids (for
 * processes without queues, and the `progress` job of a course).
 */
export async function recalculateCourseEnrollments(deps: RecalculationDeps, courseId: string, batchSize = 200): Promise<EnrollmentRecalculation[]> {
  const results: EnrollmentRecalculation[] = [];
  await forEachEnrollmentBatch(deps, courseId, batchSize, async (ids) => {
    for (const id of ids) {
      const result = await recalculateEnrollment(deps, id);
      if (result) results.push(result);
    }
  });
  return results;
}

/** Pages through a course's enrollment ids in id order (keyset pagination: no offset scans). */
export async function forEachEnrollmentBatch(deps: Pick<ServiceDeps, 'em'>, courseId: string, batchSize: number, visit: (ids: string[]) => Promise<void>): Promise<void> {
  const { em } = deps;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const batch = await em.execute<Array<{ id: string }>>(
      'SELECT id FROM enrollments WHERE course_id = ? AND id > ? ORDER BY id LIMIT ?',
      [courseId, after, batchSize],
    );
    if (batch.length > 0) await visit(batch.map((row) => row.id));
    if (batch.length < batchSize) return;
    after = batch[batch.length - 1]!.id;
  }
}

/**
 * Lessons were added to or removed from a course: every enrollment's "completed / all lessons"
 * changed. One `progress` job of the course fans out to per-enrollment jobs, so a course with
 * thousands of students does not hold the instructor's request; when the queue cannot take it
 * (Redis unavailable), the change is committed, so the enrollments are recalculated here rather
 * than lost.
 */
export async function courseLessonsChanged(deps: Pick<ServiceDeps, 'em'> & { jobs: Pick<ServiceDeps['jobs'], 'issueCertificate' | 'recalculateCourse'> }, courseId: string): Promise<void> {
  const queued = await deps.jobs.recalculateCourse(courseId).catch(() => false);
  if (queued) return;
  await recalculateCourseEnrollments(deps, courseId);
}

interface ProgressRow {
  lesson_id: string;
  status: LessonProgressStatus;
  completion_percentage: string | number;
  time_spent_seconds: number;
  started_at: string | null;
  completed_at: string | null;
  updated_at: string | null;
}

const PROGRESS_COLUMNS = 'lesson_id, status, completion_percentage, time_spent_seconds, started_at, completed_at, updated_at';

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
): Promise<{ row: ProgressRow | null; replayed: boolean }> {
  const claim = clientKey === undefined ? '' : `WITH claimed AS (
       INSERT INTO progress_client_keys (enrollment_id, client_key) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING client_key
     )
     `;
  const [row] = await em.execute<ProgressRow[]>(
    `${claim}INSERT INTO lesson_progress (enrollment_id, lesson_id, status, started_at, completed_at, time_spent_seconds, completion_percentage)
     SELECT ?::uuid, ?::uuid, ?::text,
            CASE WHEN ?::text <> 'not_started' THEN now() END,
            CASE WHEN ?::text = 'completed' THEN now() END,
            ?::int, ?::numeric${clientKey === undefined ? '' : '\n      WHERE EXISTS (SELECT 1 FROM claimed)'}
     ON CONFLICT (enrollment_id, lesson_id) DO UPDATE SET
       status = CASE
         WHEN lesson_progress.status = 'completed' OR excluded.status = 'completed' THEN 'completed'
         WHEN lesson_progress.status = 'in_progress' OR excluded.status = 'in_progress' THEN 'in_progress'
         ELSE 'not_started' END,
       started_at = coalesce(lesson_progress.started_at, excluded.started_at),
       completed_at = coalesce(lesson_progress.completed_at, excluded.completed_at),
       time_spent_seconds = lesson_progress.time_spent_seconds + excluded.time_spent_seconds,
       completion_percentage = greatest(lesson_progress.completion_percentage, excluded.completion_percentage),
       updated_at = now()
     RETURNING ${PROGRESS_COLUMNS}`,
    [
      ...(clientKey === undefined ? [] : [enrollmentId, clientKey]),
      enrollmentId,
      lessonId,
      write.status,
      write.status,
      write.status,
      write.timeSpentSecondsDelta,
      write.completionPercentage,
    ],
  );
  if (row) return { row, replayed: false };
  const [current] = await em.execute<ProgressRow[]>(`SELECT ${PROGRESS_COLUMNS} FROM lesson_progress WHERE enrollment_id = ? AND lesson_id = ?`, [enrollmentId, lessonId]);
  return { row: current ?? null, replayed: true };
}

interface LessonContextRow {
  lesson_id: string;
  lesson_title: string;
  parent_lesson_id: string | null;
  course_id: string;
  is_published: boolean;
  instructor_id: string;
  has_graded_quiz: boolean;
  enrollment_id: string | null;
  enrollment_status: EnrollmentStatus | null;
}

export interface LessonProgressResult {
  lessonProgress: LessonProgressJson;
  enrollment: EnrollmentProgressJson;
  /** The enrollment completed with this write (for the certificate). */
  justCompleted: boolean;
}

/**
 * `POST /lessons/:id/progress` and the socket's `lesson:progress`: the caller's own progress on
 * a lesson of a course it is enrolled in (active or completed). A lesson with a published
 * graded quiz is completed by passing the quiz, not here (409 QUIZ_REQUIRED). The result is
 * told to the publisher (`lesson:progress-updated`, `progress:updated`) before it is returned.
 */
export async function recordLessonProgress(
  deps: RecalculationDeps & Pick<ServiceDeps, 'publisher'>,
  user: AuthUser,
  lessonId: string,
  input: LessonProgressInput,
): Promise<LessonProgressResult> {
  const { em } = deps;
  const [context] = await em.execute<LessonContextRow[]>(
    `SELECT l.id AS lesson_id, l.title AS lesson_title, l.parent_lesson_id, l.course_id, c.is_published, c.instructor_id,
            EXISTS (SELECT 1 FROM quizzes q WHERE q.lesson_id = l.id AND q.quiz_type = 'graded' AND q.is_published) AS has_graded_quiz,
            e.id AS enrollment_id, e.status AS enrollment_status
       FROM lessons l
       JOIN courses c ON c.id = l.course_id
       LEFT JOIN enrollments e ON e.course_id = l.course_id AND e.student_id = ?
      WHERE l.id = ?`,
    [user.id, lessonId],
  );
  if (!context || (!context.is_published && !isManagerOf(user, context.instructor_id))) {
    throw notFound('Lesson');
  }
  if (!context.enrollment_id || !(ACCESS_GRANTING_STATUSES as readonly string[]).includes(context.enrollment_status!)) {
    throw forbidden('Only students enrolled in this course record progress on its lessons');
  }
  if (!reportsProgress(input)) throw validationError('Send status, completionPercentage or timeSpentSecondsDelta');
  const write = normalizeProgressWrite(input);
  if (write.status === 'completed' && context.has_graded_quiz) {
    throw new AppError('QUIZ_REQUIRED', 'This lesson is completed by passing its graded quiz');
  }
  const lesson = { id: context.lesson_id, title: context.lesson_title, parentLessonId: context.parent_lesson_id };
  const result = await applyProgress(deps, context.enrollment_id, lesson, write, input.clientKey?.toLowerCase());
  deps.publisher.lessonProgressRecorded(result);
  return result;
}

/**
 * Completes a lesson for an enrollment on behalf of the quiz engine (a passed graded quiz, a
 * submitted practice quiz). `known`: the lesson's title and parent when the caller has read them
 * already (the attempt's row carries them), which spares a lookup. The quiz engine tells the
 * publisher after its own `quiz:graded` (the order clients hear them in), so this does not.
 */
export async function completeLessonByQuiz(
  deps: RecalculationDeps,
  enrollmentId: string,
  lessonId: string,
  known?: { title: string; parentLessonId: string | null },
): Promise<LessonProgressResult> {
  const { em } = deps;
  let lesson = known ? { id: lessonId, ...known } : null;
  if (!lesson) {
    const [row] = await em.execute<Array<{ id: string; title: string; parent_lesson_id: string | null }>>(
      'SELECT id, title, parent_lesson_id FROM lessons WHERE id = ?',
      [lessonId],
    );
    if (!row) throw notFound('Lesson');
    lesson = { id: row.id, title: row.title, parentLessonId: row.parent_lesson_id };
  }
  return applyProgress(deps, enrollmentId, lesson, normalizeProgressWrite({ status: 'completed' }));
}

/**
 * Records a write and recalculates the enrollment. A replayed `clientKey` records nothing, but the
 * enrollment is still recalculated (a no-op unless the first write's recalculation has not run
 * yet), so the answer is the current state either way.
 */
async function applyProgress(
  deps: RecalculationDeps,
  enrollmentId: string,
  lesson: { id: string; title: string; parentLessonId: string | null },
  write: LessonProgressWrite,
  clientKey?: string,
): Promise<LessonProgressResult> {
  const { row } = await upsertLessonProgress(deps.em, enrollmentId, lesson.id, write, clientKey);
  const recalculation = await recalculateEnrollment(deps, enrollmentId);
  if (!recalculation) throw notFound('Enrollment');
  return {
    lessonProgress: lessonProgressJson(lesson, row),
    enrollment: recalculation.progress,
    justCompleted: recalculation.justCompleted,
  };
}

export function lessonProgressJson(lesson: { id: string; title: string; parentLessonId: string | null }, row: Omit<ProgressRow, 'lesson_id'> | null): LessonProgressJson {
  return {
    lessonId: lesson.id,
    lessonTitle: lesson.title,
    parentLessonId: lesson.parentLessonId,
    status: row?.status ?? 'not_started',
    completionPercentage: decimal(row?.completion_percentage) ?? 0,
    timeSpentSeconds: row?.time_spent_seconds ?? 0,
    startedAt: iso(row?.started_at),
    completedAt: iso(row?.completed_at),
    updatedAt: iso(row?.updated_at),
  };
}

/** `GET /enrollments/:id/progress`: every lesson of the course with the student's progress on it, a page at a time. */
export async function getEnrollmentProgress(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, enrollmentId: string, query: { page: number; limit: number }) {
  const { em } = deps;
  const [enrollment] = await em.execute<Array<{ id: string; student_id: string; course_id: string; instructor_id: string }>>(
    'SELECT e.id, e.student_id, e.course_id, c.instructor_id FROM enrollments e JOIN courses c ON c.id = e.course_id WHERE e.id = ?',
    [enrollmentId],
  );
  if (!enrollment) throw notFound('Enrollment');
  if (enrollment.student_id !== user.id && !isManagerOf(user, enrollment.instructor_id)) {
    throw forbidden('Only the student, the course owner and admins see this progress');
  }
  const [rows, [count]] = await Promise.all([
    em.execute<Array<ProgressRow & { id: string; title: string; parent_lesson_id: string | null; has_row: boolean }>>(
      `SELECT l.id, l.title, l.parent_lesson_id, lp.lesson_id IS NOT NULL AS has_row,
              lp.status, lp.completion_percentage, lp.time_spent_seconds, lp.started_at, lp.completed_at, lp.updated_at
         FROM lessons l
         LEFT JOIN lesson_progress lp ON lp.lesson_id = l.id AND lp.enrollment_id = ?
        WHERE l.course_id = ?
        ORDER BY l.parent_lesson_id NULLS FIRST, l.order_index, l.id
        LIMIT ? OFFSET ?`,
      [enrollmentId, enrollment.course_id, query.limit, (query.page - 1) * query.limit],
    ),
    em.execute<Array<{ total: number }>>('SELECT count(*)::int AS total FROM lessons WHERE course_id = ?', [enrollment.course_id]),
  ]);
  const items = rows.map((row) => lessonProgressJson({ id: row.id, title: row.title, parentLessonId: row.parent_lesson_id }, row.has_row ? row : null));
  return { items, total: count!.total, page: query.page, limit: query.limit };
}
