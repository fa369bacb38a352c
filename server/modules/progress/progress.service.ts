import type { AuthUser } from '../auth/auth-user.js';
import { OPTIMISTIC_TRIES, retryThenLock, sqlTransaction, type SqlRunner } from '../../platform/db/sql.js';
import {
  calculateEnrollmentProgress,
  normalizeProgressWrite,
  reportsProgress,
  type LessonProgressInput,
  type LessonProgressWrite,
} from '../../domain/progress.js';
import { AppError, forbidden, notFound, validationError } from '../../platform/errors.js';
import { decimal, iso } from '../../platform/schemas.js';
import type { LessonProgressJson } from '../learning.schemas.js';
import { assertVisible, isManagerOf, requireEnrollee } from '../courses/courses.access.js';
import type { EnrollmentProgress, ServiceDeps } from '../deps.js';
import {
  deleteOldClientKeys,
  staleEnrollments,
  courseEnrollmentIdsAfter,
  enrollmentWithOwner,
  lessonContext,
  lessonHeader,
  lessonsWithProgress,
  lockEnrollment,
  lockEnrollments,
  readEnrollmentCounts,
  readEnrollmentsCounts,
  writeEnrollmentsProgress,
  completeLessonForEnrollments,
  upsertLessonProgress,
  upsertLessonProgressCounted,
  writeEnrollmentProgress,
  type EnrollmentCountsRow,
  type EnrollmentProgressRow,
  type LessonProgressRow,
} from './progress.queries.js';
import { pageOf, pageWindow } from '../../platform/paging.js';

/**
 * What recalculating progress needs: the EntityManager, and the jobs port for the certificate of
 * an enrollment that completes (only `issueCertificate` is used, so a test may fake just that).
 */
export type RecalculationDeps = Pick<ServiceDeps, 'em'> & { jobs: Pick<ServiceDeps['jobs'], 'issueCertificate'> };

/** The enrollment's progress fields, as `progress:updated` and the HTTP routes carry them. */
export type EnrollmentProgressJson = EnrollmentProgress;

export interface EnrollmentRecalculation {
  progress: EnrollmentProgressJson;
  /** True once per enrollment: the recalculation that completed it for the first time. */
  justCompleted: boolean;
}

function progressJson(row: EnrollmentProgressRow): EnrollmentProgressJson {
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
export async function recalculateEnrollment(
  deps: RecalculationDeps,
  enrollmentId: string,
  optimisticTries = OPTIMISTIC_TRIES,
  firstRead?: EnrollmentCountsRow,
): Promise<EnrollmentRecalculation | null> {
  const { em } = deps;
  // `firstRead`: the counts a caller has read already (with its write): the first try uses them.
  let read = firstRead;
  const result = await retryThenLock(
    optimisticTries,
    () => {
      const counts = read;
      read = undefined;
      return recalculate(em, enrollmentId, false, counts);
    },
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
export async function refreshEnrollmentProgress(
  deps: RecalculationDeps & Pick<ServiceDeps, 'publisher'>,
  enrollmentId: string,
): Promise<EnrollmentRecalculation | null> {
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
 * How old an enrollment's latest progress write must be before the sweep repairs the enrollment:
 * every write is followed by its own recalculation within milliseconds, and an enrollment caught
 * in between looked stale: its instructors heard `progress:updated` twice (benchmark scenario 7,
 * 200 writes/s for 10 s: in 2 of 12 measurements with the default 30 s sweep, in all 3 with a sweep
 * every 0.5 s). Only what stays wrong is the sweep's to repair.
 */
const REPAIR_SETTLE_SECONDS = 10;

/**
 * The sweep's part: recalculates enrollments whose stored progress disagrees with their lessons
 * and lesson progress — the course gained or lost lessons and its `progress` job was lost (Redis
 * restarted empty, or down when the lessons changed), or a progress write committed and the
 * process died (or PostgreSQL went away) before the recalculation that follows it. Returns how
 * many it repaired (and announced).
 */
export async function repairStaleEnrollments(deps: RecalculationDeps & Pick<ServiceDeps, 'publisher'>, limit = 1000): Promise<number> {
  let repaired = 0;
  for (const stale of await staleEnrollments(deps.em, limit, REPAIR_SETTLE_SECONDS)) {
    if (await repairEnrollmentProgress({ ...deps, em: deps.em.fork() }, stale)) repaired++;
  }
  return repaired;
}

/**
 * The sweep's part: progress `clientKey`s are kept a day (a retry after a lost ack comes within
 * seconds or minutes), then deleted, oldest first, in batches, so one sweep never holds a long
 * delete on a busy table.
 */
export async function purgeProgressClientKeys(deps: Pick<ServiceDeps, 'em'>, batch = 10_000, maxRounds = 20): Promise<number> {
  let purged = 0;
  for (let round = 0; round < maxRounds; round++) {
    const deleted = await deleteOldClientKeys(deps.em, batch);
    purged += deleted;
    if (deleted < batch) break;
  }
  return purged;
}

/** Whether the progress rule's result is what is stored already (nothing to write). */
function unchanged(stored: EnrollmentProgressJson, next: ReturnType<typeof calculateEnrollmentProgress>): boolean {
  return (
    !next.justCompleted &&
    stored.status === next.status &&
    stored.progressPercentage === next.progressPercentage &&
    stored.completedLessonsCount === next.completedLessonsCount &&
    stored.totalLessonsCount === next.totalLessonsCount &&
    stored.totalTimeSpentSeconds === next.totalTimeSpentSeconds &&
    stored.completedAt === (next.completedAt?.toISOString() ?? null)
  );
}

/**
 * A quiz's lesson completed for many enrollments at once (a launch's close, for every student who
 * passed), inside the caller's transaction (`tx`), so the grades and the progress they make commit
 * together: one upsert of the lesson's progress, the enrollments locked in id order, their counts
 * in one read, the progress rule, one write of those that changed. The caller, after its commit,
 * hands the results to `lessonsCompletedForMany`.
 */
export async function completeLessonForMany(
  tx: SqlRunner,
  lesson: { id: string; title: string; parentLessonId: string | null },
  enrollmentIds: string[],
): Promise<LessonProgressResult[]> {
  if (enrollmentIds.length === 0) return [];
  const rows = new Map((await completeLessonForEnrollments(tx, lesson.id, enrollmentIds)).map((row) => [row.enrollment_id, row]));
  await lockEnrollments(tx, enrollmentIds);
  const now = new Date();
  const results = new Map<string, EnrollmentRecalculation>();
  const writes: Array<Parameters<typeof writeEnrollmentsProgress>[1][number] & { justCompleted: boolean }> = [];
  for (const current of await readEnrollmentsCounts(tx, enrollmentIds)) {
    const next = calculateEnrollmentProgress(
      { status: current.status, completedAt: current.completed_at ? new Date(current.completed_at) : null },
      { totalLessons: current.total, completedLessons: current.completed, totalTimeSpentSeconds: current.time },
      now,
    );
    const stored = progressJson(current);
    if (unchanged(stored, next)) results.set(current.id, { progress: stored, justCompleted: false });
    else writes.push({ enrollmentId: current.id, ...next });
  }
  const justCompleted = new Set(writes.filter((write) => write.justCompleted).map((write) => write.enrollmentId));
  for (const updated of await writeEnrollmentsProgress(tx, writes)) {
    results.set(updated.id, { progress: progressJson(updated), justCompleted: justCompleted.has(updated.id) });
  }
  return enrollmentIds.flatMap((id) => {
    const recalculation = results.get(id);
    if (!recalculation) return [];
    return [
      { lessonProgress: lessonProgressJson(lesson, rows.get(id) ?? null), enrollment: recalculation.progress, justCompleted: recalculation.justCompleted },
    ];
  });
}

/**
 * After the commit of `completeLessonForMany`: queues the certificate of each enrollment it
 * completed (a certificate not queued is issued by the sweep), then tells the publisher each
 * lesson's progress.
 */
export async function lessonsCompletedForMany(deps: RecalculationDeps & Pick<ServiceDeps, 'publisher'>, results: LessonProgressResult[]): Promise<void> {
  await Promise.all(results.filter((result) => result.justCompleted).map((result) => deps.jobs.issueCertificate(result.enrollment.enrollmentId)));
  for (const result of results) deps.publisher.lessonProgressRecorded(result);
}

/**
 * One read (the enrollment, its version and the counts), the progress rule, one conditional
 * write. Undefined when the row changed in between. `locked`: inside a transaction, lock the row
 * first and count after (a statement that waited for the lock would count from its older snapshot).
 */
async function recalculate(
  db: SqlRunner,
  enrollmentId: string,
  locked = false,
  counts?: EnrollmentCountsRow,
): Promise<EnrollmentRecalculation | null | undefined> {
  if (locked) await lockEnrollment(db, enrollmentId);
  const current = counts ?? (await readEnrollmentCounts(db, enrollmentId));
  if (!current) return null;
  const next = calculateEnrollmentProgress(
    { status: current.status, completedAt: current.completed_at ? new Date(current.completed_at) : null },
    { totalLessons: current.total, completedLessons: current.completed, totalTimeSpentSeconds: current.time },
    new Date(),
  );
  const stored = progressJson(current);
  if (unchanged(stored, next)) return { progress: stored, justCompleted: false };
  const updated = await writeEnrollmentProgress(db, enrollmentId, current.version, next);
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
export async function forEachEnrollmentBatch(
  deps: Pick<ServiceDeps, 'em'>,
  courseId: string,
  batchSize: number,
  visit: (ids: string[]) => Promise<void>,
): Promise<void> {
  const { em } = deps;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const batch = await courseEnrollmentIdsAfter(em, courseId, after, batchSize);
    if (batch.length > 0) await visit(batch);
    if (batch.length < batchSize) return;
    after = batch[batch.length - 1]!;
  }
}

/**
 * Lessons were added to or removed from a course: every enrollment's "completed / all lessons"
 * changed. One `progress` job of the course fans out to per-enrollment jobs, so a course with
 * thousands of students does not hold the instructor's request; when the queue cannot take it
 * (Redis unavailable), the change is committed, so the enrollments are recalculated here rather
 * than lost.
 */
export async function courseLessonsChanged(
  deps: Pick<ServiceDeps, 'em'> & { jobs: Pick<ServiceDeps['jobs'], 'issueCertificate' | 'recalculateCourse'> },
  courseId: string,
): Promise<void> {
  const queued = await deps.jobs.recalculateCourse(courseId).catch(() => false);
  if (queued) return;
  await recalculateCourseEnrollments(deps, courseId);
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
  const context = await lessonContext(em, user.id, lessonId);
  if (!context) throw notFound('Lesson');
  assertVisible(context.is_published, isManagerOf(user, context.instructor_id), 'Lesson');
  requireEnrollee(context.enrollment_status, 'Only students enrolled in this course record progress on its lessons');
  const enrollmentId = context.enrollment_id!;
  if (!reportsProgress(input)) throw validationError('Send status, completionPercentage or timeSpentSecondsDelta');
  const write = normalizeProgressWrite(input);
  if (write.status === 'completed' && context.has_graded_quiz) {
    throw new AppError('QUIZ_REQUIRED', 'This lesson is completed by passing its graded quiz');
  }
  const lesson = { id: context.lesson_id, title: context.lesson_title, parentLessonId: context.parent_lesson_id };
  const result = await applyProgress(deps, enrollmentId, lesson, write, input.clientKey?.toLowerCase());
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
    const row = await lessonHeader(em, lessonId);
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
  let recalculation: EnrollmentRecalculation | null;
  let row: LessonProgressRow | null;
  if (clientKey === undefined) {
    // The write and the enrollment's counts in one statement; the recalculation starts from them.
    const counted = await upsertLessonProgressCounted(deps.em, enrollmentId, lesson.id, write);
    if (!counted) throw notFound('Enrollment');
    row = counted.row;
    recalculation = await recalculateEnrollment(deps, enrollmentId, OPTIMISTIC_TRIES, counted.counts);
  } else {
    row = (await upsertLessonProgress(deps.em, enrollmentId, lesson.id, write, clientKey)).row;
    recalculation = await recalculateEnrollment(deps, enrollmentId);
  }
  if (!recalculation) throw notFound('Enrollment');
  return {
    lessonProgress: lessonProgressJson(lesson, row),
    enrollment: recalculation.progress,
    justCompleted: recalculation.justCompleted,
  };
}

export function lessonProgressJson(
  lesson: { id: string; title: string; parentLessonId: string | null },
  row: Omit<LessonProgressRow, 'lesson_id'> | null,
): LessonProgressJson {
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
  const enrollment = await enrollmentWithOwner(em, enrollmentId);
  if (!enrollment) throw notFound('Enrollment');
  if (enrollment.student_id !== user.id && !isManagerOf(user, enrollment.instructor_id)) {
    throw forbidden('Only the student, the course owner and admins see this progress');
  }
  const { rows, total } = await lessonsWithProgress(em, enrollmentId, enrollment.course_id, pageWindow(query));
  const items = rows.map((row) => lessonProgressJson({ id: row.id, title: row.title, parentLessonId: row.parent_lesson_id }, row.has_row ? row : null));
  return pageOf(items, total, query);
}
