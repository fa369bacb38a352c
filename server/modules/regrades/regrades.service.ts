import type { AuthUser } from '../auth/auth-user.js';
import { regradeAttempt, type GradeSummary } from '../../domain/regrading.js';
import { sqlTransaction, type SqlRunner } from '../../platform/db/sql.js';
import { AppError, forbidden, notFound } from '../../platform/errors.js';
import { decimal, iso, toIso } from '../../platform/schemas.js';
import type { ServiceDeps } from '../deps.js';
import { grantsAccess } from '../courses/courses.access.js';
import { gradableInOrder, type StoredResults } from '../attempts/attempts.service.js';
import { completeLessonForMany, lessonsCompletedForMany, type LessonProgressResult } from '../progress/progress.service.js';
import { loadQuiz } from '../quizzes/quizzes.service.js';
import {
  activeRegrade,
  advanceRegrade,
  finishRegradeRow,
  gradedAttemptPage,
  hasOpenLaunch,
  insertHistory,
  insertOrFindRegrade,
  lessonNotCompleted,
  lockRegradeCursor,
  newlyPassing,
  nextRegradeBatch,
  quizQuestions,
  regradeQuiz,
  regradeRow,
  startRegradeRow,
  writeRegrades,
  type HistoryWrite,
  type RegradeAttemptRow,
  type RegradeQuestionRow,
  type RegradeQuizRow,
  type RegradeRow,
  type RegradeWrite,
} from './regrades.queries.js';

/** What a regrade run uses: it writes, completes lessons (and so may queue certificates) and reports. */
export type RegradeDeps = Pick<ServiceDeps, 'em' | 'config' | 'publisher' | 'jobs' | 'log'>;

/** Attempts a dry run reads per page. */
const DRY_RUN_PAGE = 1000;

function summaryOf(row: Pick<RegradeAttemptRow, 'score' | 'max_score' | 'percentage' | 'is_passed'>): GradeSummary {
  return { score: decimal(row.score) ?? 0, maxScore: decimal(row.max_score) ?? 0, percentage: decimal(row.percentage) ?? 0, isPassed: !!row.is_passed };
}

/** Regrades one attempt against `questions` (pure: the same `gradeAttempt` as first grading). */
function regradeRowOf(row: RegradeAttemptRow, questions: RegradeQuestionRow[], passingScore: number) {
  const previous = summaryOf(row);
  const { grade, changed } = regradeAttempt(gradableInOrder(questions, row.question_order ?? []), row.answers ?? {}, passingScore, previous);
  const next: GradeSummary = { score: grade.score, maxScore: grade.maxScore, percentage: grade.percentage, isPassed: grade.isPassed };
  return { previous, next, grade, changed };
}

/** The quiz, for its owner or an admin only (404 for a draft others cannot see, 403 otherwise). */
async function managedQuiz(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, quizId: string) {
  const { quiz, access } = await loadQuiz(deps.em, quizId, user);
  if (!access.isManager) throw forbidden('Only the course owner or an admin may regrade its quizzes');
  return quiz;
}

export function regradeJson(row: RegradeRow) {
  return {
    id: row.id,
    quizId: row.quiz_id,
    courseId: row.course_id,
    keyVersion: row.key_version,
    status: row.status,
    total: row.total,
    processed: row.processed,
    changed: row.changed,
    requestedBy: row.requested_by,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    error: row.error,
    createdAt: toIso(row.created_at),
  };
}

/**
 * `POST /quizzes/:id/regrade {dryRun: true}`: per graded attempt whose result would change under
 * the current key, points and passing score, the old and the new result; writes nothing.
 */
export async function dryRunRegrade(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, quizId: string) {
  await managedQuiz(deps, user, quizId);
  const quiz = (await regradeQuiz(deps.em, quizId))!;
  const questions = await quizQuestions(deps.em, quizId);
  const changes = [];
  let graded = 0;
  for (let after: string | null = null; ;) {
    const page = await gradedAttemptPage(deps.em, quizId, after, DRY_RUN_PAGE);
    if (page.length === 0) break;
    graded += page.length;
    after = page.at(-1)!.id;
    for (const row of page) {
      const { previous, next, changed } = regradeRowOf(row, questions, quiz.passing_score);
      if (changed) changes.push({ attemptId: row.id, enrollmentId: row.enrollment_id, studentId: row.student_id, old: previous, new: next });
    }
  }
  return {
    dryRun: true as const,
    quizId,
    keyVersion: quiz.key_version,
    passingScore: quiz.passing_score,
    gradedAttempts: graded,
    changed: changes.length,
    attempts: changes,
  };
}

/**
 * `POST /quizzes/:id/regrade {dryRun: false}`: the regrade of the quiz's current key version,
 * queued as a job. One per quiz and key version: asking again returns the same one (`created`
 * false; a `failed` one is queued again and resumes). Under the quiz row's lock, so a key
 * correction cannot slip in between reading the key version and queueing its regrade. 409
 * `REGRADE_BLOCKED` while the quiz has an open launch (its attempts are being graded as they
 * come) or a regrade of another key version is queued or running.
 */
export async function requestRegrade(deps: Pick<ServiceDeps, 'em' | 'jobs'>, user: AuthUser, quizId: string) {
  await managedQuiz(deps, user, quizId);
  const regrade = await sqlTransaction(deps.em, async (tx) => {
    const quiz = await regradeQuiz(tx, quizId, true);
    if (!quiz) throw notFound('Quiz');
    if (await hasOpenLaunch(tx, quizId))
      throw new AppError('REGRADE_BLOCKED', 'The quiz has an open launch in a live session; regrade it once the launch has closed');
    const active = await activeRegrade(tx, quizId);
    if (active && active.key_version !== quiz.key_version) {
      throw new AppError('REGRADE_BLOCKED', `A regrade of this quiz (key version ${active.key_version}) is ${active.status}; try again once it has finished`);
    }
    return { ...(await insertOrFindRegrade(tx, quizId, quiz.key_version, user.id)), keyVersion: quiz.key_version };
  });
  if (regrade.status === 'queued' && !(await deps.jobs.runRegrade(regrade.id))) {
    await finishRegradeRow(deps.em, regrade.id, 'failed', 'The job queue could not take the regrade; ask again');
    throw new AppError('UNAVAILABLE', 'The job queue is unavailable; the regrade was not started');
  }
  return { regradeId: regrade.id, keyVersion: regrade.keyVersion, status: regrade.status, created: regrade.created };
}

/** `GET /regrades/:id` (the quiz's owner, admins). */
export async function getRegrade(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, regradeId: string) {
  const row = await regradeRow(deps.em, regradeId);
  if (!row) throw notFound('Regrade');
  await managedQuiz(deps, user, row.quiz_id);
  return regradeJson(row);
}

/** What a regrade job did. */
export type RegradeOutcome = { status: 'missing' | 'not-running' } | { status: 'done' | 'failed'; regrade: ReturnType<typeof regradeJson> };

/**
 * Runs a regrade, or resumes one a dead worker left: attempts in id order, `regradeBatchSize` at a
 * time, each batch in one transaction that locks the regrade row (two runners of one regrade take
 * turns and each continues from the committed cursor), reads the attempts after the cursor (locked),
 * regrades them with the grading code, and writes their grades, the history rows of those whose
 * result changed, the counters and cursor, and the lesson each newly passing attempt completes (set-
 * based, `completeLessonForMany`: a grade never commits without the completion it earns). After
 * each commit: `quiz:regraded` to each affected student, the certificates of courses completed,
 * each lesson's progress, progress to the instructors. A resumed run first completes the lessons
 * of attempts it made pass before, in case a batch committed by an older version left them (a
 * no-op otherwise). Nothing is ever taken away.
 */
export async function runRegrade(deps: RegradeDeps, regradeId: string): Promise<RegradeOutcome> {
  const before = await regradeRow(deps.em, regradeId);
  if (!before) return { status: 'missing' };
  const started = await startRegradeRow(deps.em, regradeId);
  if (!started || started.status !== 'running') return { status: 'not-running' };
  const quiz = (await regradeQuiz(deps.em, started.quiz_id))!;
  if (quiz.key_version !== started.key_version) {
    return fail(deps, regradeId, `The answer key changed (key version ${quiz.key_version}) since this regrade (${started.key_version}) was requested`);
  }
  const questions = await quizQuestions(deps.em, quiz.id);
  if (started.processed > 0) {
    const rows = await newlyPassing(deps.em, regradeId);
    const progress = await sqlTransaction(deps.em, (tx) =>
      completeLessons(
        tx,
        quiz,
        rows.map((row) => ({ enrollmentId: row.enrollment_id, enrollmentStatus: row.enrollment_status })),
      ),
    );
    await lessonsCompletedForMany(deps, progress);
  }
  for (;;) {
    const batch = await sqlTransaction(deps.em, (tx) => regradeBatch(tx, started, quiz, questions, deps.config.regradeBatchSize));
    if (!batch) break;
    for (const change of batch.changes) {
      deps.publisher.attemptRegraded({
        attemptId: change.attemptId,
        quizId: quiz.id,
        courseId: quiz.course_id,
        studentId: change.studentId,
        ...change.new,
        previous: { score: change.old.score, percentage: change.old.percentage, isPassed: change.old.isPassed },
      });
    }
    await lessonsCompletedForMany(deps, batch.progress);
    deps.publisher.regradeProgressed({ regradeId, quizId: quiz.id, courseId: quiz.course_id, ...batch.counts });
  }
  const finished = await finishRegradeRow(deps.em, regradeId, 'done');
  if (!finished) return { status: 'not-running' };
  deps.publisher.regradeFinished(summaryEvent(finished));
  return { status: 'done', regrade: regradeJson(finished) };
}

/** Ends a regrade as `failed` (the job's last try failed, or it cannot run): asking again resumes it. */
export async function failRegrade(deps: Pick<ServiceDeps, 'em' | 'publisher'>, regradeId: string, error: string): Promise<RegradeOutcome> {
  return fail(deps, regradeId, error);
}

async function fail(deps: Pick<ServiceDeps, 'em' | 'publisher'>, regradeId: string, error: string): Promise<RegradeOutcome> {
  const failed = await finishRegradeRow(deps.em, regradeId, 'failed', error.slice(0, 2000));
  if (!failed) return { status: 'not-running' };
  deps.publisher.regradeFinished(summaryEvent(failed));
  return { status: 'failed', regrade: regradeJson(failed) };
}

function summaryEvent(row: RegradeRow) {
  return {
    regradeId: row.id,
    quizId: row.quiz_id,
    courseId: row.course_id,
    keyVersion: row.key_version,
    status: row.status as 'done' | 'failed',
    total: row.total,
    processed: row.processed,
    changed: row.changed,
    error: row.error,
  };
}

interface BatchChange extends HistoryWrite {
  studentId: string;
  enrollmentId: string;
  enrollmentStatus: RegradeAttemptRow['enrollment_status'];
}

/** One batch, in its transaction (see `runRegrade`); null when the regrade is over or no longer running. */
async function regradeBatch(tx: SqlRunner, regrade: RegradeRow, quiz: RegradeQuizRow, questions: RegradeQuestionRow[], size: number) {
  const state = await lockRegradeCursor(tx, regrade.id);
  if (state?.status !== 'running') return null;
  const rows = await nextRegradeBatch(tx, quiz.id, state.last_attempt_id, size);
  if (rows.length === 0) return null;
  const writes: RegradeWrite[] = [];
  const changes: BatchChange[] = [];
  for (const row of rows) {
    const { previous, next, grade, changed } = regradeRowOf(row, questions, quiz.passing_score);
    const results: StoredResults = { ...next, questions: grade.questions, keyVersion: regrade.key_version, regradeId: regrade.id };
    writes.push({ id: row.id, results });
    if (changed)
      changes.push({
        attemptId: row.id,
        old: previous,
        new: next,
        studentId: row.student_id,
        enrollmentId: row.enrollment_id,
        enrollmentStatus: row.enrollment_status,
      });
  }
  await writeRegrades(tx, writes);
  const inserted = new Set(await insertHistory(tx, regrade.id, regrade.requested_by, changes));
  const counts = await advanceRegrade(tx, regrade.id, { processed: rows.length, changed: inserted.size, lastAttemptId: rows.at(-1)!.id });
  const regraded = changes.filter((change) => inserted.has(change.attemptId));
  const progress = await completeLessons(
    tx,
    quiz,
    regraded.filter((change) => change.new.isPassed && !change.old.isPassed),
  );
  return { changes: regraded, counts, progress };
}

/**
 * Newly passing attempts of a graded quiz complete their lesson (practice quizzes completed it at
 * first grading), inside the caller's transaction, set-based (`completeLessonForMany`, as a
 * launch's close does): one read of who has the lesson completed already (they have nothing to
 * gain), then one upsert, the enrollments locked in id order, their counts and one write. A
 * regrade that makes thousands pass costs a few statements per batch, not a few per student.
 */
async function completeLessons(
  tx: SqlRunner,
  quiz: RegradeQuizRow,
  passing: Array<{ enrollmentId: string; enrollmentStatus: string }>,
): Promise<LessonProgressResult[]> {
  if (quiz.quiz_type !== 'graded') return [];
  const eligible = passing.filter((row) => grantsAccess(row.enrollmentStatus)).map((row) => row.enrollmentId);
  const pending = await lessonNotCompleted(tx, quiz.lesson_id, [...new Set(eligible)]);
  const lesson = { id: quiz.lesson_id, title: quiz.lesson_title, parentLessonId: quiz.lesson_parent_id };
  return completeLessonForMany(tx, lesson, [...pending]);
}
