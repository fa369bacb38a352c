import type { AuthUser } from '../auth/auth-user.js';
import { answerShapeError, gradeAttempt, type ChoiceOption, type GradableQuestion, type ShortAnswerKey } from '../../domain/grading.js';
import { answersAccepted, attemptDeadline, deadlineChangeError, finishingAction, isExpired, submitUntil, submitWindowOpen } from '../../domain/quiz-timing.js';
import { keyRevealed } from '../../domain/answer-key.js';
import { buildQuestionOrder, type QuestionOrder } from '../../domain/shuffle.js';
import { OPTIMISTIC_TRIES, retryThenLock, sqlTransaction, type SqlRunner } from '../../platform/db/sql.js';
import { AppError, conflict, forbidden, notFound, validationError } from '../../platform/errors.js';
import { withIdempotency, type IdempotentReply } from '../../platform/db/idempotency.js';
import { decimal, iso, toIso } from '../../platform/schemas.js';
import type { DeadlineChanged, ServiceDeps } from '../deps.js';
import { grantsAccess, isManagerOf } from '../courses/courses.access.js';
import { loadQuiz } from '../quizzes/quizzes.service.js';
import { completeLessonByQuiz, completeLessonForMany, lessonsCompletedForMany, type LessonProgressResult } from '../progress/progress.service.js';
import { settleLaunch } from '../live-sessions/launch-settlement.service.js';
import {
  attemptDue,
  attemptForGrading,
  attemptNumbers,
  attemptRow,
  attemptRows,
  finishedAttemptCount,
  insertAttempt,
  lockDueLaunchAttempts,
  lockEnrollment,
  quizQuestionRows,
  writeFinishes,
  type BatchFinish,
  overdueAttempts,
  overrideOf,
  shiftDeadlines,
  writeAbandon,
  type MovedDeadlineRow,
  questionRows,
  quizQuestionOptions,
  runningAttempts,
  saveAnswerRow,
  writeGrade,
  type AttemptRow,
  type QuestionRow,
  type StoredResults,
} from './attempts.queries.js';

/** What `quiz_attempts.results` holds (a regrade writes it too). */
export type { StoredResults };

/** What grading needs: it reads the grace, reports the grade and cancels the deadline job. */
export type GradingDeps = Pick<ServiceDeps, 'em' | 'config' | 'clock' | 'publisher' | 'jobs'>;

/** A question of an attempt, with its options in the attempt's order. */
type AttemptQuestion = { question: GradableQuestion; optionIds?: string[] };

/** The attempt's questions as they are now, in the attempt's own order. */
async function attemptQuestions(db: SqlRunner, order: QuestionOrder): Promise<AttemptQuestion[]> {
  return inAttemptOrder(
    await questionRows(
      db,
      order.map((item) => item.questionId),
    ),
    order,
  );
}

/** Question rows in the attempt's order (a question deleted since is left out). */
function inAttemptOrder(rows: QuestionRow[], order: QuestionOrder): AttemptQuestion[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  return order.flatMap((item) => {
    const row = byId.get(item.questionId);
    if (!row) return [];
    return [
      {
        question: {
          id: row.id,
          questionText: row.question_text,
          questionType: row.question_type,
          points: row.points,
          options: row.options,
          correctAnswer: row.correct_answer,
          explanation: row.explanation,
        },
        optionIds: item.optionIds,
      },
    ];
  });
}

/**
 * Questions as grading takes them, in the attempt's order (a question deleted since is left out):
 * what a first grading and a regrade both hand to `gradeAttempt`.
 */
export function gradableInOrder(rows: QuestionRow[], order: QuestionOrder): GradableQuestion[] {
  return inAttemptOrder(rows, order).map((item) => item.question);
}

/** The answer key of a question, in the shape an answer has. */
function correctAnswerOf(question: GradableQuestion): unknown {
  switch (question.questionType) {
    case 'multiple_choice':
      return (question.options ?? []).filter((option) => option.isCorrect).map((option) => option.id);
    case 'true_false':
      return question.correctAnswer;
    case 'short_answer':
      return (question.correctAnswer as ShortAnswerKey | null)?.accepted ?? [];
  }
}

/** Whether `viewer` sees the answer key in this graded attempt's result (see `keyRevealed`). */
async function revealsKey(db: SqlRunner, row: AttemptRow, viewer: { isManager: boolean }): Promise<boolean> {
  const context = {
    viewerIsManager: viewer.isManager,
    showCorrectAnswers: row.show_correct_answers,
    quizType: row.quiz_type,
    attemptsAllowed: row.max_attempts,
    attemptsUsed: 0,
    launchOpen: row.launch_open,
  };
  // Counted only when the answer turns on it: a student's graded attempt of a graded quiz with a limit
  // (raised by the student's extra attempts: the key waits for the last of them).
  if (keyRevealed({ ...context, attemptsUsed: Number.MAX_SAFE_INTEGER }) && !keyRevealed(context)) {
    context.attemptsUsed = await finishedAttemptCount(db, row.enrollment_id, row.quiz_id);
    if (context.attemptsAllowed !== null) context.attemptsAllowed += (await overrideOf(db, row.quiz_id, row.student_id)).extraAttempts;
  }
  return keyRevealed(context);
}

/** The columns of an attempt its JSON shows. */
type AttemptViewRow = Pick<
  AttemptRow,
  | 'id'
  | 'quiz_id'
  | 'enrollment_id'
  | 'student_id'
  | 'attempt_number'
  | 'launch_id'
  | 'status'
  | 'started_at'
  | 'deadline'
  | 'overdue_handling'
  | 'submit_until'
  | 'answers'
  | 'results'
  | 'score'
  | 'max_score'
  | 'percentage'
  | 'is_passed'
  | 'auto_submitted'
  | 'submitted_at'
  | 'graded_at'
  | 'time_taken_seconds'
>;

/**
 * The attempt object (docs/api.md), from its row and its questions in the attempt's order. Questions
 * come without secrets; the result reveals correct answers and explanations when `revealAnswers`.
 */
function attemptView(row: AttemptViewRow, questions: AttemptQuestion[], revealAnswers: boolean, now: Date) {
  return {
    id: row.id,
    quizId: row.quiz_id,
    enrollmentId: row.enrollment_id,
    studentId: row.student_id,
    attemptNumber: row.attempt_number,
    launchId: row.launch_id ?? null,
    status: row.status,
    startedAt: toIso(row.started_at),
    deadline: iso(row.deadline),
    overdueHandling: row.overdue_handling,
    submitUntil: iso(row.submit_until),
    serverNow: now.toISOString(),
    questions: questions.map(({ question, optionIds }) => {
      const options = question.options
        ? (optionIds ?? question.options.map((option) => option.id))
            .map((id) => question.options!.find((option) => option.id === id))
            .filter((option): option is ChoiceOption => !!option)
            .map((option) => ({ id: option.id, text: option.text }))
        : undefined;
      return {
        id: question.id,
        questionText: question.questionText,
        questionType: question.questionType,
        points: question.points,
        ...(options ? { options, multipleSelect: question.options!.filter((option) => option.isCorrect).length > 1 } : {}),
      };
    }),
    answers: row.answers ?? {},
    ...(row.status === 'graded' && row.results
      ? {
          result: {
            score: decimal(row.score) ?? 0,
            maxScore: decimal(row.max_score) ?? 0,
            percentage: decimal(row.percentage) ?? 0,
            isPassed: !!row.is_passed,
            autoSubmitted: row.auto_submitted,
            submittedAt: iso(row.submitted_at),
            gradedAt: iso(row.graded_at),
            timeTakenSeconds: row.time_taken_seconds,
            questions: row.results.questions.map((result) => ({
              questionId: result.questionId,
              points: result.points,
              maxPoints: result.maxPoints,
              correct: result.correct,
              ...(revealAnswers ? { correctAnswer: correctAnswerOf(result.snapshot), explanation: result.snapshot.explanation } : {}),
            })),
          },
        }
      : {}),
  };
}

/**
 * The attempt object as `viewer` sees it: the result reveals correct answers and explanations
 * only as `keyRevealed` decides (managers always see them). `loaded`: the attempt's questions
 * when the caller has just read them (grading does).
 */
async function attemptJson(deps: Pick<ServiceDeps, 'em' | 'clock'>, row: AttemptRow, viewer: { isManager: boolean }, loaded?: AttemptQuestion[]) {
  const questions = loaded ?? (await attemptQuestions(deps.em, row.question_order ?? []));
  const revealAnswers = row.status === 'graded' && row.results ? await revealsKey(deps.em, row, viewer) : false;
  return attemptView(row, questions, revealAnswers, deps.clock.now());
}

export type AttemptJson = ReturnType<typeof attemptView>;

/**
 * Attempts as their students see them (`GET /attempts/:id`), many at once: the rows in one read
 * and the questions of all of them in one more (a launch starts a whole class). In `attemptIds` order.
 */
export async function studentAttemptsJson(deps: Pick<ServiceDeps, 'em' | 'clock'>, attemptIds: string[]): Promise<AttemptJson[]> {
  const rows = new Map((await attemptRows(deps.em, attemptIds)).map((row) => [row.id, row]));
  const questionIds = new Set<string>();
  for (const row of rows.values()) for (const item of row.question_order ?? []) questionIds.add(item.questionId);
  const questions = await questionRows(deps.em, [...questionIds]);
  const result: AttemptJson[] = [];
  for (const id of attemptIds) {
    const row = rows.get(id);
    if (row) result.push(await attemptJson(deps, row, { isManager: false }, inAttemptOrder(questions, row.question_order ?? [])));
  }
  return result;
}

/** An attempt a launch has just created, as its insert returned it. */
export interface FreshLaunchAttempt {
  attempt_id: string;
  enrollment_id: string;
  student_id: string;
  attempt_number: number;
  started_at: string;
  deadline: string;
  submit_until: string | null;
  overdue_handling: AttemptRow['overdue_handling'];
}

/**
 * The attempts a launch has just created, as their students see them (what `studentAttemptsJson`
 * would read back): running, without answers, each in its question order. Built from what the
 * insert returned and the quiz's questions read once, not by reading 10,000 attempts back.
 */
export async function launchedAttemptsJson(
  deps: Pick<ServiceDeps, 'em' | 'clock'>,
  launch: { quizId: string; launchId: string },
  started: FreshLaunchAttempt[],
  orderOf: (studentId: string) => QuestionOrder,
): Promise<AttemptJson[]> {
  if (started.length === 0) return [];
  const questions = await quizQuestionRows(deps.em, launch.quizId);
  const now = deps.clock.now();
  return started.map((fresh) =>
    attemptView(
      {
        id: fresh.attempt_id,
        quiz_id: launch.quizId,
        enrollment_id: fresh.enrollment_id,
        student_id: fresh.student_id,
        attempt_number: fresh.attempt_number,
        launch_id: launch.launchId,
        status: 'in_progress',
        started_at: fresh.started_at,
        deadline: fresh.deadline,
        overdue_handling: fresh.overdue_handling,
        submit_until: fresh.submit_until,
        answers: {},
        results: null,
        score: null,
        max_score: null,
        percentage: null,
        is_passed: null,
        auto_submitted: false,
        submitted_at: null,
        graded_at: null,
        time_taken_seconds: null,
      },
      inAttemptOrder(questions, orderOf(fresh.student_id)),
      false,
      now,
    ),
  );
}

/** What the caller may do with an attempt: its student acts; managers read. */
function viewerOf(user: AuthUser, row: AttemptRow) {
  const isStudent = row.student_id === user.id;
  const isManager = isManagerOf(user, row.instructor_id);
  if (!isStudent && !isManager) throw forbidden('This attempt belongs to another student');
  return { isStudent, isManager };
}

export interface StartedAttempt {
  /** A new attempt (201), or the one in progress returned again (200). */
  created: boolean;
  attempt: AttemptJson;
}

/**
 * Starts an attempt (created) or returns the one in progress. Concurrent starts serialise on
 * the enrollment row, so attempt numbers have no gaps or duplicates and at most one attempt
 * runs; the partial unique index is the last word. An overdue running attempt is graded first.
 * A new attempt schedules its deadline job and is reported started; a running one is reported open.
 */
export async function startAttempt(deps: GradingDeps, user: AuthUser, quizId: string): Promise<StartedAttempt> {
  const { em } = deps;
  const { quiz, access } = await loadQuiz(em, quizId, user);
  if (!access.isEnrollee) throw forbidden('Only students enrolled in this course take its quizzes');
  if (!quiz.isPublished) throw notFound('Quiz');
  const enrollmentId = access.enrollment!.id;

  // A running attempt past its submit window is finished by its policy first (not due: left alone).
  for (const attempt of await runningAttempts(em, enrollmentId, quiz.id)) await finishOverdueAttempt(deps, attempt.id);

  const outcome = await em.transactional(async (tx) => {
    await lockEnrollment(tx, enrollmentId);
    const [running] = await runningAttempts(tx, enrollmentId, quiz.id);
    if (running) return { created: false, attemptId: running.id };
    const { count, last } = await attemptNumbers(tx, enrollmentId, quiz.id);
    const override = await overrideOf(tx, quiz.id, user.id);
    if (quiz.maxAttempts !== null && quiz.maxAttempts !== undefined && count >= quiz.maxAttempts + override.extraAttempts) {
      throw new AppError('MAX_ATTEMPTS_REACHED', `This quiz allows ${quiz.maxAttempts + override.extraAttempts} attempt(s)`);
    }
    const questions = await quizQuestionOptions(tx, quiz.id);
    if (questions.length === 0) throw new AppError('CONFLICT', 'This quiz has no questions yet');
    const startedAt = deps.clock.now();
    const limited = attemptDeadline(startedAt, quiz);
    // Extra time lengthens timed attempts only: an untimed quiz has no deadline to move.
    const deadline = limited && new Date(limited.getTime() + override.extraTimeSeconds * 1000);
    const policy = { overdueHandling: quiz.overdueHandling, gracePeriodSeconds: quiz.gracePeriodSeconds };
    const order = buildQuestionOrder(questions, { shuffleQuestions: quiz.shuffleQuestions, shuffleOptions: quiz.shuffleOptions });
    const attemptId = await insertAttempt(tx, {
      enrollmentId,
      quizId: quiz.id,
      attemptNumber: last + 1,
      startedAt,
      deadline,
      submitUntil: submitUntil(deadline, policy),
      ...policy,
      questionOrder: order,
    });
    return { created: true, attemptId, deadline };
  });

  const row = (await attemptRow(em, outcome.attemptId))!;
  if (outcome.created && row.submit_until) {
    await deps.jobs.scheduleDeadline(outcome.attemptId, new Date(new Date(row.submit_until).getTime() + deps.config.quizGraceMs));
  }
  const attempt = await attemptJson(deps, row, { isManager: false });
  const started = { attemptId: row.id, quizId: row.quiz_id, studentId: row.student_id, courseId: row.course_id, deadline: iso(row.deadline) };
  if (outcome.created) deps.publisher.attemptStarted(started);
  if (attempt.status === 'in_progress') deps.publisher.attemptOpen(started);
  return { created: outcome.created, attempt };
}

export async function getAttempt(deps: Pick<ServiceDeps, 'em' | 'clock'>, user: AuthUser, attemptId: string): Promise<AttemptJson> {
  const row = await attemptRow(deps.em, attemptId);
  if (!row) throw notFound('Attempt');
  const viewer = viewerOf(user, row);
  return attemptJson(deps, row, viewer);
}

/**
 * `quiz:sync`: the attempt as `getAttempt` returns it; its student's own running attempt is
 * reported open (it ticks where the student is connected from now on).
 */
export async function syncAttempt(deps: Pick<ServiceDeps, 'em' | 'clock' | 'publisher'>, user: AuthUser, attemptId: string): Promise<AttemptJson> {
  const attempt = await getAttempt(deps, user, attemptId);
  if (attempt.studentId === user.id && attempt.status === 'in_progress') {
    deps.publisher.attemptOpen({ attemptId: attempt.id, studentId: attempt.studentId, deadline: attempt.deadline });
  }
  return attempt;
}

/**
 * Why a finished attempt takes no more answers: the server finished it at its deadline (time is
 * up: answers past deadline + grace are `QUIZ_TIME_EXPIRED`), or the student submitted it (a conflict).
 */
function finishedAttemptError(row: Pick<AttemptRow, 'auto_submitted' | 'status'>): AppError {
  if (row.status === 'abandoned') return new AppError('QUIZ_TIME_EXPIRED', 'Time is up for this attempt; it was abandoned unsubmitted');
  return row.auto_submitted
    ? new AppError('QUIZ_TIME_EXPIRED', 'Time is up for this attempt; it has been submitted with its saved answers')
    : new AppError('CONFLICT', 'This attempt has already been submitted');
}

function assertOwnRunningAttempt(user: AuthUser, row: AttemptRow, now: Date, graceMs: number) {
  if (row.student_id !== user.id) throw forbidden('Only the student answers its attempt');
  if (row.status !== 'in_progress') throw finishedAttemptError(row);
  if (isExpired(row.deadline ? new Date(row.deadline) : null, now, graceMs)) {
    throw new AppError('QUIZ_TIME_EXPIRED', 'Time is up for this attempt');
  }
}

/**
 * Autosaves one answer (idempotent) and reports it saved. Refused past deadline + grace, and
 * when its shape is wrong.
 */
export async function saveAnswer(
  deps: Pick<ServiceDeps, 'em' | 'config' | 'clock' | 'publisher'>,
  user: AuthUser,
  attemptId: string,
  questionId: string,
  answer: unknown,
) {
  const { em } = deps;
  const row = await attemptRow(em, attemptId);
  if (!row) throw notFound('Attempt');
  assertOwnRunningAttempt(user, row, deps.clock.now(), deps.config.quizGraceMs);
  if (!(row.question_order ?? []).some((item) => item.questionId === questionId)) throw notFound('Question in this attempt');
  const [question] = await attemptQuestions(em, [{ questionId }]);
  if (!question) throw notFound('Question');
  const shapeError = answerShapeError(question.question, answer);
  if (shapeError) throw validationError(shapeError);
  if (!(await saveAnswerRow(em, attemptId, questionId, answer, deps.config.quizGraceMs))) {
    const current = (await attemptRow(em, attemptId))!;
    if (current.status !== 'in_progress') throw finishedAttemptError(current);
    throw new AppError('QUIZ_TIME_EXPIRED', 'Time is up for this attempt');
  }
  deps.publisher.answersSaved(attemptId, [questionId]);
  const now = deps.clock.now().toISOString();
  return { attemptId, questionId, answer, savedAt: now, deadline: iso(row.deadline), serverNow: now };
}

export interface GradedAttempt {
  /** True when this call graded it; false when it was already finished (idempotent replay) or abandoned now. */
  graded: boolean;
  /** True when this call finished it as `abandoned` (its overdue policy), without a grade. */
  abandoned: boolean;
  row: AttemptRow;
  /** The lesson completed by this grade, if any. */
  lessonProgress: LessonProgressResult | null;
  /** The grade, as `quiz:graded` carries it. */
  event: {
    attemptId: string;
    quizId: string;
    studentId: string;
    courseId: string;
    score: number;
    maxScore: number;
    percentage: number;
    isPassed: boolean;
    launchId: string | null;
  };
  /** The attempt reached its deadline unsubmitted (for `quiz:expired`). */
  expired: boolean;
}

/**
 * Grades an attempt once. Whoever writes the grade first (the student's submit, the deadline
 * job, the sweep) grades it and reports it (see `gradeOnce`); the others find it graded and
 * return it unchanged. Past the deadline plus grace, answers in the request are ignored and the
 * saved ones are graded.
 */
export async function gradeAttemptNow(
  deps: GradingDeps,
  attemptId: string,
  options: Pick<GradeOptions, 'auto' | 'answers' | 'optimisticTries'>,
): Promise<GradedAttempt | null> {
  return (await gradeOnce(deps, attemptId, options))?.outcome ?? null;
}

/** What the deadline job found: the attempt finished now (`graded`: by this call) or before (`status`), or not due yet (`dueAt`, ms). */
export type DeadlineOutcome = { graded: boolean; status: string } | { dueAt: number };

/**
 * What `finishOverdueAttempt` did: `graded` (autosubmit) or `abandoned` (graceperiod,
 * autoabandon) by this call; `not-due` while its submit window (plus grace) is open, with when it
 * is due (epoch ms by `deps.clock`; null for an untimed attempt, never due); `already-finished` when someone finished it before (a
 * submit, another job, the sweep); `missing` when there is no such attempt.
 */
export type FinishOutcome =
  | { outcome: 'graded'; attempt: GradedAttempt }
  | { outcome: 'abandoned'; attempt: GradedAttempt }
  | { outcome: 'not-due'; dueAt: number | null }
  | { outcome: 'already-finished'; status: string }
  | { outcome: 'missing' };

/**
 * Finishes a running attempt by its stored overdue policy once its submit window (deadline, or
 * `submit_until` under `graceperiod`) plus the network grace has passed: `autosubmit` grades its
 * saved answers, the others mark it `abandoned`. The one way the server finishes an attempt: the
 * deadline job, the sweep, a start finding an overdue attempt, and a launch's close (after moving
 * the deadline to now) all call it. Exactly once under races: the write is conditional on the row
 * version (then on a row lock), and the window is checked on the row as written, so a deadline
 * moved in between makes it `not-due`.
 */
export async function finishOverdueAttempt(deps: GradingDeps, attemptId: string): Promise<FinishOutcome> {
  const row = await attemptDue(deps.em, attemptId, deps.config.quizGraceMs);
  if (!row) return { outcome: 'missing' };
  if (row.status !== 'in_progress') return { outcome: 'already-finished', status: row.status };
  const due = row.due ? new Date(row.due).getTime() : null;
  // Untimed attempts are never overdue.
  if (due === null) return { outcome: 'not-due', dueAt: null };
  if (due > deps.clock.now().getTime()) return { outcome: 'not-due', dueAt: due };
  const finished = await gradeOnce(deps, attemptId, { auto: true, onlyWhenDue: true });
  if (!finished) return { outcome: 'missing' };
  const { outcome } = finished;
  if (outcome.graded) return { outcome: 'graded', attempt: outcome };
  if (outcome.abandoned) return { outcome: 'abandoned', attempt: outcome };
  if (outcome.row.status === 'in_progress') {
    // Its deadline moved while this call was finishing it.
    const moved = await attemptDue(deps.em, attemptId, deps.config.quizGraceMs);
    if (moved?.due && moved.status === 'in_progress') return { outcome: 'not-due', dueAt: new Date(moved.due).getTime() };
  }
  return { outcome: 'already-finished', status: outcome.row.status };
}

/**
 * One batch of a launch's overdue attempts finished set-based, in ONE transaction: a locking read
 * of up to `limit` due attempts with what grading needs (rows another transaction holds are
 * skipped), the quiz's questions, the overdue policy and pure grading of each in a loop
 * (`serverFinish`), one `UPDATE … FROM` of the whole batch, and the quiz's lesson completed for
 * those whose grade completes it with their enrollments recalculated (`completeLessonForMany`).
 * A failure anywhere rolls the whole batch back: no attempt is left graded without its progress.
 * After the commit, one `attemptsFinished` for the batch, the certificates of enrollments it
 * completed, and each lesson's progress. Personal deadline jobs of these attempts are left to
 * find them finished (removing them one by one would be a round trip per attempt). The launch
 * settles after its last batch (`finishLaunchWindow`). `locked` 0: nothing due was free.
 */
export async function finishDueLaunchBatch(deps: GradingDeps, launchId: string, limit: number): Promise<{ locked: number; graded: number; abandoned: number }> {
  const done = await sqlTransaction(deps.em, async (tx) => {
    const rows = await lockDueLaunchAttempts(tx, launchId, deps.config.quizGraceMs, limit);
    if (rows.length === 0) return null;
    // Read after the rows are locked: a key correction rewrites running attempts, so it waits for these locks.
    const questions = await quizQuestionRows(tx, rows[0].quiz_id);
    const now = deps.clock.now();
    const finishes: BatchFinish[] = rows.map((row) => {
      const finish = serverFinish(row, questions, now);
      return finish.action === 'abandon' ? { id: row.id, status: 'abandoned' } : { id: row.id, status: 'graded', gradedAt: now, ...finish };
    });
    const written = new Map((await writeFinishes(tx, finishes)).map((columns) => [columns.id, columns]));
    const finished = rows.flatMap((row) => {
      const columns = written.get(row.id);
      return columns ? [{ ...row, ...columns }] : [];
    });
    const completing = finished.filter(
      (row) => row.status === 'graded' && (row.quiz_type === 'practice' || !!row.is_passed) && grantsAccess(row.enrollment_status) && row.lesson_title !== null,
    );
    const lesson = completing[0] ? { id: completing[0].lesson_id, title: completing[0].lesson_title!, parentLessonId: completing[0].lesson_parent_id } : null;
    const progress = lesson
      ? await completeLessonForMany(
          tx,
          lesson,
          completing.map((row) => row.enrollment_id),
        )
      : [];
    return { locked: rows.length, finished, progress };
  });
  if (!done) return { locked: 0, graded: 0, abandoned: 0 };
  const event = (row: AttemptRow) => ({
    attemptId: row.id,
    quizId: row.quiz_id,
    studentId: row.student_id,
    courseId: row.course_id,
    submitUntil: iso(row.submit_until),
    launchId: row.launch_id ?? null,
  });
  const graded = done.finished
    .filter((row) => row.status === 'graded')
    .map((row) => ({
      ...event(row),
      score: decimal(row.score) ?? 0,
      maxScore: decimal(row.max_score) ?? 0,
      percentage: decimal(row.percentage) ?? 0,
      isPassed: !!row.is_passed,
      expired: true,
    }));
  const abandoned = done.finished.filter((row) => row.status === 'abandoned').map(event);
  await deps.publisher.attemptsFinished({ graded, abandoned });
  await lessonsCompletedForMany(deps, done.progress);
  return { locked: done.locked, graded: graded.length, abandoned: abandoned.length };
}

/**
 * The deadline job of an attempt: `finishOverdueAttempt`, in the job's terms. Early (clock skew
 * between processes, or a deadline moved later since the job was queued), it says when the
 * attempt is due instead, and the job re-delays itself.
 */
export async function gradeAtDeadline(deps: GradingDeps, attemptId: string): Promise<DeadlineOutcome> {
  const finished = await finishOverdueAttempt(deps, attemptId);
  switch (finished.outcome) {
    case 'graded':
    case 'abandoned':
      return { graded: true, status: finished.attempt.row.status };
    case 'not-due':
      return finished.dueAt === null ? { graded: false, status: 'in_progress' } : { dueAt: finished.dueAt };
    case 'already-finished':
      return { graded: false, status: finished.status };
    case 'missing':
      return { graded: false, status: 'missing' };
  }
}

interface GradeOptions {
  /** Finished by the server (its overdue policy applies), not submitted by the student. */
  auto: boolean;
  /** Only when the submit window (plus grace) has closed, checked on the row as written (`finishOverdueAttempt`). */
  onlyWhenDue?: boolean;
  answers?: Record<string, unknown>;
  /** Tries without a lock before locking the row (default `OPTIMISTIC_TRIES`; 0 locks at once). */
  optimisticTries?: number;
  submittedBy?: string;
}

/** The attempt as graded now (or found graded), with the questions grading read. */
interface Graded {
  graded: boolean;
  abandoned: boolean;
  row: AttemptRow;
  expired: boolean;
  questions: AttemptQuestion[] | null;
}

/**
 * Reads the attempt with its questions and the row's version (`xmin`) in one statement, grades it
 * and writes the grade only if the row is still that version: one read and one write, no
 * transaction. Undefined when someone changed the row in between (a saved answer, another
 * grader); then the caller tries again, and in the end locks.
 */
async function gradeOptimistically(
  deps: Pick<ServiceDeps, 'em' | 'config' | 'clock'>,
  attemptId: string,
  options: GradeOptions,
): Promise<Graded | null | undefined> {
  const loaded = await attemptForGrading(deps.em, attemptId);
  if (!loaded) return null;
  const { row_version: version, question_rows: questions, ...row } = loaded;
  return gradeRow(deps.em, row, options, deps, async () => inAttemptOrder(questions, row.question_order ?? []), version);
}

/** The same under a row lock, in a transaction: never conflicts. */
async function gradeUnderLock(deps: Pick<ServiceDeps, 'em' | 'config' | 'clock'>, attemptId: string, options: GradeOptions): Promise<Graded | null> {
  return sqlTransaction(deps.em, async (tx) => {
    // A key correction rewrites running attempts, so it waits for this lock: the key read here holds.
    const row = await attemptRow(tx, attemptId, true);
    if (!row) return null;
    return (await gradeRow(tx, row, options, deps, () => attemptQuestions(tx, row.question_order ?? [])))!;
  });
}

/**
 * The grade of `answers` to `questions` (in the attempt's order) at `now`: the stored results and
 * when it counts as submitted, never later than the end of the submit window (the server finishes
 * it then, whenever it runs).
 */
function gradeOf(
  row: Pick<AttemptRow, 'passing_score' | 'key_version' | 'deadline' | 'submit_until' | 'started_at'>,
  questions: GradableQuestion[],
  answers: Record<string, unknown>,
  now: Date,
): { results: StoredResults; submittedAt: Date; timeTakenSeconds: number } {
  const grade = gradeAttempt(questions, answers, row.passing_score);
  const results: StoredResults = {
    score: grade.score,
    maxScore: grade.maxScore,
    percentage: grade.percentage,
    isPassed: grade.isPassed,
    questions: grade.questions,
    keyVersion: row.key_version,
  };
  const windowEnd = row.submit_until ? new Date(row.submit_until) : row.deadline ? new Date(row.deadline) : null;
  const submittedAt = windowEnd && now > windowEnd ? windowEnd : now;
  const timeTakenSeconds = Math.max(0, Math.round((submittedAt.getTime() - new Date(row.started_at).getTime()) / 1000));
  return { results, submittedAt, timeTakenSeconds };
}

/**
 * How the server finishes an overdue attempt by its stored policy (`finishOverdueAttempt`, and a
 * launch's close in batches): abandoned, or its saved answers graded at `now`. Pure: the caller
 * has read the row (locked) and the quiz's questions, and writes the outcome.
 */
export function serverFinish(
  row: AttemptRow,
  questionRows: QuestionRow[],
  now: Date,
): { action: 'abandon' } | { action: 'grade'; answers: Record<string, unknown>; results: StoredResults; submittedAt: Date; timeTakenSeconds: number } {
  const attemptShape = { launched: row.launch_id !== null, answered: Object.keys(row.answers ?? {}).length > 0 };
  if (finishingAction(row.overdue_handling, attemptShape) === 'abandon') return { action: 'abandon' };
  const answers = { ...(row.answers ?? {}) };
  return { action: 'grade', answers, ...gradeOf(row, gradableInOrder(questionRows, row.question_order ?? []), answers, now) };
}

/**
 * Checks a submit against the attempt row, grades what it holds and writes the grade (only at
 * `version`, when given: undefined if the row is no longer that version).
 */
async function gradeRow(
  db: SqlRunner,
  row: AttemptRow,
  options: GradeOptions,
  deps: Pick<ServiceDeps, 'config' | 'clock'>,
  loadQuestions: () => Promise<AttemptQuestion[]>,
  version?: string,
): Promise<Graded | undefined> {
  if (options.submittedBy !== undefined && row.student_id !== options.submittedBy) throw forbidden('Only the student submits its attempt');
  if (options.answers !== undefined && (typeof options.answers !== 'object' || options.answers === null || Array.isArray(options.answers))) {
    throw validationError('answers must be an object of questionId → answer');
  }
  const unchanged = { graded: false, abandoned: false, row, expired: false, questions: null };
  if (row.status !== 'in_progress') return unchanged;
  const now = deps.clock.now();
  const deadline = row.deadline ? new Date(row.deadline) : null;
  const window = { deadline, submitUntil: row.submit_until ? new Date(row.submit_until) : null };
  const windowOpen = submitWindowOpen(window, now, deps.config.quizGraceMs);
  // Finishing by the deadline finishes only what is due (the deadline may have moved since it was looked at).
  if (options.onlyWhenDue && windowOpen) return unchanged;
  // Past the window, the server finishes it by its policy, whoever asks (a late submit included).
  const byServer = options.auto || !windowOpen;
  const attemptShape = { launched: row.launch_id !== null, answered: Object.keys(row.answers ?? {}).length > 0 };
  if (byServer && finishingAction(row.overdue_handling, attemptShape) === 'abandon') {
    const abandoned = await writeAbandon(db, row.id, version);
    if (!abandoned) return undefined;
    return { graded: false, abandoned: true, row: { ...row, ...abandoned }, expired: true, questions: null };
  }
  const expired = byServer || isExpired(deadline, now, deps.config.quizGraceMs);
  const answers = { ...(row.answers ?? {}) };
  // Answers a submit carries count until deadline + network grace (never in a grace period's extra time).
  if (options.answers && !byServer && answersAccepted(deadline, now, deps.config.quizGraceMs)) {
    // Only this attempt's questions; a wrong shape is kept and graded as wrong.
    const inAttempt = new Set((row.question_order ?? []).map((item) => item.questionId));
    for (const [questionId, answer] of Object.entries(options.answers)) if (inAttempt.has(questionId)) answers[questionId] = answer;
  }
  const questions = await loadQuestions();
  const grade = gradeOf(
    row,
    questions.map((item) => item.question),
    answers,
    now,
  );
  const updated = await writeGrade(db, row.id, { ...grade, answers, gradedAt: now, autoSubmitted: byServer }, version);
  if (!updated) return undefined;
  // The graded row: what the update wrote (answers and results as written, the other columns as
  // PostgreSQL returns them) over the row read, whose joined columns this update does not change.
  return { graded: true, abandoned: false, row: { ...row, ...updated, answers, results: grade.results }, expired, questions };
}

/**
 * `gradeAttemptNow`, plus what a submit needs: `submittedBy` is checked on the row grading read
 * (so a submit reads the attempt once), and the questions the grading loaded come back for the
 * attempt JSON. Whoever writes the grade first (the student's submit, the deadline job, the
 * sweep) grades it; the others find it graded. The write is conditional on the row's version,
 * so a save or a grade in between makes this read again, and after a few tries lock the row.
 *
 * A new grade is reported as soon as it is committed (`quiz:expired` when due, then
 * `quiz:graded`), before the deadline job is cancelled and the lesson a pass completes is
 * recorded (so `quiz:graded` does not wait for them); that lesson is reported after it.
 */
async function gradeOnce(
  deps: GradingDeps,
  attemptId: string,
  options: GradeOptions,
): Promise<{ outcome: GradedAttempt; questions: AttemptQuestion[] | null } | null> {
  const result = await retryThenLock(
    options.optimisticTries ?? OPTIMISTIC_TRIES,
    () => gradeOptimistically(deps, attemptId, options),
    () => gradeUnderLock(deps, attemptId, options),
  );
  if (!result) return null;

  const { row } = result;
  const graded: Omit<GradedAttempt, 'lessonProgress'> = {
    graded: result.graded,
    abandoned: result.abandoned,
    row,
    expired: result.expired,
    event: {
      attemptId: row.id,
      quizId: row.quiz_id,
      studentId: row.student_id,
      courseId: row.course_id,
      score: decimal(row.score) ?? 0,
      maxScore: decimal(row.max_score) ?? 0,
      percentage: decimal(row.percentage) ?? 0,
      isPassed: !!row.is_passed,
      launchId: row.launch_id ?? null,
    },
  };
  let lessonProgress: LessonProgressResult | null = null;
  if (result.abandoned) {
    await deps.publisher.attemptAbandoned({
      attemptId: row.id,
      quizId: row.quiz_id,
      studentId: row.student_id,
      courseId: row.course_id,
      submitUntil: iso(row.submit_until),
      launchId: row.launch_id ?? null,
    });
    if (row.submit_until) await deps.jobs.cancelDeadline(attemptId);
    if (row.launch_id) await settleLaunch(deps, row.launch_id);
  }
  if (result.graded) {
    await deps.publisher.attemptGraded({ ...graded.event, expired: graded.expired, submitUntil: iso(row.submit_until) });
    // Only a timed attempt has a deadline job (scheduled with its submit window): an untimed
    // submit makes no Redis call for one.
    if (row.submit_until) await deps.jobs.cancelDeadline(attemptId);
    // The last attempt of a launch to finish summarises (and closes) it.
    if (row.launch_id) await settleLaunch(deps, row.launch_id);
    const completes = row.quiz_type === 'practice' || !!row.is_passed;
    if (completes && grantsAccess(row.enrollment_status)) {
      const lesson = row.lesson_title === null ? undefined : { title: row.lesson_title, parentLessonId: row.lesson_parent_id };
      lessonProgress = await completeLessonByQuiz(deps, row.enrollment_id, row.lesson_id, lesson);
      deps.publisher.lessonProgressRecorded(lessonProgress);
    }
  }
  return { outcome: { ...graded, lessonProgress }, questions: result.questions };
}

/**
 * `POST /attempts/:id/submit`, `quiz:submit`: grades at once; idempotent; after the deadline it
 * returns the auto-submitted result. A new grade is reported as `gradeOnce` says; the answers the
 * submit carried for the attempt's questions are then reported saved.
 */
export async function submitAttempt(deps: GradingDeps, user: AuthUser, attemptId: string, answers?: Record<string, unknown>): Promise<AttemptJson> {
  const graded = await gradeOnce(deps, attemptId, { auto: false, answers, submittedBy: user.id });
  if (!graded) throw notFound('Attempt');
  const { outcome, questions } = graded;
  if (outcome.graded && answers) {
    const inAttempt = new Set((outcome.row.question_order ?? []).map((item) => item.questionId));
    deps.publisher.answersSaved(
      outcome.event.attemptId,
      Object.keys(answers).filter((id) => inAttempt.has(id)),
    );
  }
  return attemptJson(deps, outcome.row, { isManager: false }, questions ?? undefined);
}

/** Attempts whose deadline plus grace has passed while they are still open (for the sweep). */
export async function overdueAttemptIds(deps: Pick<ServiceDeps, 'em' | 'config'>, limit = 500): Promise<string[]> {
  return overdueAttempts(deps.em, deps.config.quizGraceMs, limit);
}

/**
 * The sweep's part: finishes (by their overdue policy, `finishOverdueAttempt`) the timed attempts
 * whose submit window (plus grace) passed without their job running (Redis lost it, or was down
 * when it was due). Each attempt in an EntityManager of its own. Returns how many this call
 * finished (graded or abandoned).
 */
export async function gradeOverdueAttempts(deps: GradingDeps, limit = 500): Promise<number> {
  let finished = 0;
  for (const attemptId of await overdueAttemptIds(deps, limit)) {
    const outcome = await finishOverdueAttempt({ ...deps, em: deps.em.fork() }, attemptId);
    if (outcome.outcome === 'graded' || outcome.outcome === 'abandoned') finished++;
  }
  return finished;
}

// --- Moving deadlines (SPEC §7) -------------------------------------------------------------

/** One attempt's deadline change, in seconds (negative: earlier). */
export interface DeadlineChange {
  attemptId: string;
  seconds: number;
}

function movedDeadline(row: MovedDeadlineRow): DeadlineChanged {
  return {
    attemptId: row.id,
    quizId: row.quiz_id,
    studentId: row.student_id,
    courseId: row.course_id,
    deadline: iso(row.deadline)!,
    submitUntil: iso(row.submit_until)!,
  };
}

/**
 * What follows deadlines moved in the database, once that is committed: each attempt's deadline
 * job is moved to its new due time (end of the submit window + grace), then the student and the
 * instructors hear `quiz:deadline-changed` and every instance ticking the attempt follows the new
 * deadline. For callers that move deadlines in their own transaction (a launch's extend or close).
 */
export async function deadlinesMoved(deps: Pick<ServiceDeps, 'config' | 'publisher' | 'jobs'>, moved: DeadlineChanged[]): Promise<void> {
  await Promise.all(
    moved.map((attempt) => deps.jobs.rescheduleDeadline(attempt.attemptId, new Date(Date.parse(attempt.submitUntil) + deps.config.quizGraceMs))),
  );
  if (moved.length > 0) deps.publisher.deadlinesChanged(moved);
}

/**
 * Moves the deadlines of running timed attempts (one statement, by the database clock; the submit
 * window moves with each), then `deadlinesMoved`. Attempts finished, untimed, or whose new
 * deadline would not be in the future are left alone; returns the moved ones.
 */
export async function moveDeadlines(deps: Pick<ServiceDeps, 'em' | 'config' | 'publisher' | 'jobs'>, changes: DeadlineChange[]): Promise<DeadlineChanged[]> {
  const moved = (await shiftDeadlines(deps.em, changes)).map(movedDeadline);
  await deadlinesMoved(deps, moved);
  return moved;
}

/** The reply of `POST /attempts/:id/extend`. */
export interface ExtendedAttempt {
  attemptId: string;
  deadline: string;
  submitUntil: string;
  serverNow: string;
}

/**
 * `POST /attempts/:id/extend {seconds}` (the course owner or an admin): moves a running timed
 * attempt's deadline by `seconds` (negative allowed). 409 `CONFLICT` when the attempt is finished
 * or untimed, 409 `DEADLINE_NOT_IN_FUTURE` when the new deadline would not be after now. With an
 * idempotency key, a retry replays the first reply instead of moving the deadline again; the key's
 * scope is the route with its attempt and the caller, so one key reused on another attempt applies there.
 */
export async function extendAttempt(
  deps: Pick<ServiceDeps, 'em' | 'config' | 'clock' | 'publisher' | 'jobs'>,
  user: AuthUser,
  attemptId: string,
  seconds: number,
  idempotencyKey?: string,
): Promise<IdempotentReply<ExtendedAttempt>> {
  const rangeError = deadlineChangeError(seconds);
  if (rangeError) throw validationError(rangeError);
  const row = await attemptRow(deps.em, attemptId);
  if (!row) throw notFound('Attempt');
  if (!isManagerOf(user, row.instructor_id)) throw forbidden('Only the course owner or an admin extends an attempt');
  const extend = async (): Promise<{ statusCode: number; body: ExtendedAttempt }> => {
    const [moved] = await moveDeadlines(deps, [{ attemptId, seconds }]);
    if (!moved) {
      const current = (await attemptRow(deps.em, attemptId))!;
      if (current.status !== 'in_progress') throw conflict('This attempt is finished; its deadline can no longer move');
      if (!current.deadline) throw conflict('This attempt has no time limit');
      throw new AppError('DEADLINE_NOT_IN_FUTURE', 'The new deadline would not be in the future');
    }
    return { statusCode: 200, body: { attemptId, deadline: moved.deadline, submitUntil: moved.submitUntil, serverNow: deps.clock.now().toISOString() } };
  };
  if (idempotencyKey === undefined) return { ...(await extend()), replayed: false };
  return withIdempotency<ExtendedAttempt>(deps.em, { scope: `POST /attempts/${attemptId}/extend ${user.id}`, key: idempotencyKey }, extend);
}
