import type { AuthUser } from '../auth/auth-user.js';
import { keyRevealed } from '../../domain/answer-key.js';
import { forbidden, notFound } from '../../platform/errors.js';
import { toIso } from '../../platform/schemas.js';
import type { ServiceDeps } from '../deps.js';
import { grantsAccess } from '../courses/courses.access.js';
import { loadQuiz } from '../quizzes/quizzes.service.js';
import { moveDeadlines } from '../attempts/attempts.service.js';
import type { IQuiz } from '../../../entities/index.js';
import { sqlTransaction } from '../../platform/db/sql.js';
import { attemptsUsed, deleteOverrideRow, enrollmentStatusOf, lockOverride, overrideRows, runningAttemptId, upsertOverride } from './overrides.queries.js';

/** The quiz, if the caller manages its course (403 otherwise; drafts are 404 to others). */
async function managedQuiz(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, quizId: string): Promise<{ quiz: IQuiz; courseId: string }> {
  const { quiz, access } = await loadQuiz(deps.em, quizId, user);
  if (!access.isManager) throw forbidden('Only the course owner or an admin manages overrides');
  return { quiz, courseId: access.course.id };
}

/** Whether a student has seen the quiz's answer key in a graded result, given the attempts it was allowed then. */
function hasSeenKey(quiz: IQuiz, extraAttempts: number, used: { finished: number; graded: number } | undefined): boolean {
  if (!used || used.graded === 0) return false;
  return keyRevealed({
    viewerIsManager: false,
    showCorrectAnswers: quiz.showCorrectAnswers,
    quizType: quiz.quizType,
    attemptsAllowed: quiz.maxAttempts === null || quiz.maxAttempts === undefined ? null : quiz.maxAttempts + extraAttempts,
    attemptsUsed: used.finished,
  });
}

export interface OverrideInput {
  extraAttempts: number;
  extraTimeSeconds: number;
  applyToRunning?: boolean;
}

/**
 * `PUT /quizzes/:id/overrides/:studentId` (owner, admin): sets a student's extra attempts and extra
 * time on later attempts. With `applyToRunning`, the running attempt's deadline moves by the
 * change in extra time (`moveDeadlines`: its job, `quiz:deadline-changed`, ticks). `keyRevealed`
 * says whether the student had already seen the answer key before this change (extra attempts
 * then give a second try at a quiz whose key it knows). The student must be enrolled (404).
 */
export async function putOverride(
  deps: Pick<ServiceDeps, 'em' | 'config' | 'publisher' | 'jobs'>,
  user: AuthUser,
  quizId: string,
  studentId: string,
  input: OverrideInput,
) {
  const { quiz, courseId } = await managedQuiz(deps, user, quizId);
  if (!grantsAccess(await enrollmentStatusOf(deps.em, courseId, studentId))) throw notFound('Student enrolled in this course');
  // The previous values under the row lock: two PUTs in a row each move the running attempt by their own change.
  const { row, previous } = await sqlTransaction(deps.em, async (tx) => {
    const before = await lockOverride(tx, quiz.id, studentId);
    const after = await upsertOverride(tx, { quizId: quiz.id, studentId, extraAttempts: input.extraAttempts, extraTimeSeconds: input.extraTimeSeconds });
    return { row: after, previous: { extraAttempts: before?.extra_attempts ?? 0, extraTimeSeconds: before?.extra_time_seconds ?? 0 } };
  });
  const used = (await attemptsUsed(deps.em, quiz.id, [studentId])).get(studentId);
  let runningAttempt: { attemptId: string; deadline: string; submitUntil: string } | null | undefined;
  if (input.applyToRunning) {
    runningAttempt = null;
    const delta = row.extra_time_seconds - previous.extraTimeSeconds;
    const attemptId = delta === 0 ? null : await runningAttemptId(deps.em, quiz.id, studentId);
    if (attemptId) {
      const [moved] = await moveDeadlines(deps, [{ attemptId, seconds: delta }]);
      if (moved) runningAttempt = { attemptId, deadline: moved.deadline, submitUntil: moved.submitUntil };
    }
  }
  return {
    quizId: row.quiz_id,
    studentId: row.student_id,
    extraAttempts: row.extra_attempts,
    extraTimeSeconds: row.extra_time_seconds,
    keyRevealed: hasSeenKey(quiz, previous.extraAttempts, used),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
    ...(runningAttempt === undefined ? {} : { runningAttempt }),
  };
}

/** `DELETE /quizzes/:id/overrides/:studentId` (owner, admin): later attempts get the quiz's own limits; 404 when there is none. */
export async function deleteOverride(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, quizId: string, studentId: string): Promise<void> {
  const { quiz } = await managedQuiz(deps, user, quizId);
  if (!(await deleteOverrideRow(deps.em, quiz.id, studentId))) throw notFound('Override');
}

/** `GET /quizzes/:id/overrides` (owner, admin): every override of the quiz, by student name. */
export async function listOverrides(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, quizId: string) {
  const { quiz } = await managedQuiz(deps, user, quizId);
  const rows = await overrideRows(deps.em, quiz.id);
  const used = await attemptsUsed(
    deps.em,
    quiz.id,
    rows.map((row) => row.student_id),
  );
  return {
    items: rows.map((row) => ({
      quizId: row.quiz_id,
      studentId: row.student_id,
      studentName: row.student_name,
      extraAttempts: row.extra_attempts,
      extraTimeSeconds: row.extra_time_seconds,
      keyRevealed: hasSeenKey(quiz, row.extra_attempts, used.get(row.student_id)),
      createdAt: toIso(row.created_at),
      updatedAt: toIso(row.updated_at),
    })),
  };
}
