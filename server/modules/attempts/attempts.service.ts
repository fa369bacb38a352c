import type { AuthUser } from '../auth/auth-user.js';
import { answerShapeError, gradeAttempt, type ChoiceOption, type GradableQuestion, type ShortAnswerKey } from '../../domain/grading.js';
import { attemptDeadline, isExpired } from '../../domain/quiz-timing.js';
import { keyRevealed } from '../../domain/answer-key.js';
import { buildQuestionOrder, type QuestionOrder } from '../../domain/shuffle.js';
import { OPTIMISTIC_TRIES, retryThenLock, sqlTransaction, type SqlRunner } from '../../platform/db/sql.js';
import { AppError, forbidden, notFound, validationError } from '../../platform/errors.js';
import { decimal, iso, toIso } from '../../platform/schemas.js';
import type { ServiceDeps } from '../deps.js';
import { grantsAccess, isManagerOf } from '../courses/courses.access.js';
import { loadQuiz } from '../quizzes/quizzes.service.js';
import { completeLessonByQuiz, type LessonProgressResult } from '../progress/progress.service.js';
import { settleLaunch } from '../live-sessions/launch-settlement.service.js';
import {
  attemptDue,
  attemptForGrading,
  attemptNumbers,
  attemptRow,
  attemptRows,
  finishedAttemptCount,
  insertAttempt,
  lockEnrollment,
  overdueAttempts,
  questionRows,
  quizQuestionOptions,
  runningAttempts,
  saveAnswerRow,
  writeGrade,
  type AttemptRow,
  type QuestionRow,
  type StoredResults,
} from './attempts.queries.js';

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
  // Counted only when the answer turns on it: a student's graded attempt of a graded quiz with a limit.
  if (keyRevealed({ ...context, attemptsUsed: Number.MAX_SAFE_INTEGER }) && !keyRevealed(context)) {
    context.attemptsUsed = await finishedAttemptCount(db, row.enrollment_id, row.quiz_id);
  }
  return keyRevealed(context);
}

/**
 * The attempt object (docs/api.md). Questions come in the attempt's order without secrets; the result
 * reveals correct answers and explanations only as `keyRevealed` decides (managers always see them).
 * `loaded`: the attempt's questions when the caller has just read them (grading does).
 */
async function attemptJson(deps: Pick<ServiceDeps, 'em' | 'clock'>, row: AttemptRow, viewer: { isManager: boolean }, loaded?: AttemptQuestion[]) {
  const { em } = deps;
  const questions = loaded ?? (await attemptQuestions(em, row.question_order ?? []));
  const revealAnswers = row.status === 'graded' && row.results ? await revealsKey(em, row, viewer) : false;
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
    serverNow: deps.clock.now().toISOString(),
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

export type AttemptJson = Awaited<ReturnType<typeof attemptJson>>;

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

  for (const attempt of await runningAttempts(em, enrollmentId, quiz.id)) {
    if (isExpired(attempt.deadline ? new Date(attempt.deadline) : null, deps.clock.now(), deps.config.quizGraceMs)) {
      await gradeAttemptNow(deps, attempt.id, { auto: true });
    }
  }

  const outcome = await em.transactional(async (tx) => {
    await lockEnrollment(tx, enrollmentId);
    const [running] = await runningAttempts(tx, enrollmentId, quiz.id);
    if (running) return { created: false, attemptId: running.id };
    const { count, last } = await attemptNumbers(tx, enrollmentId, quiz.id);
    if (quiz.maxAttempts !== null && quiz.maxAttempts !== undefined && count >= quiz.maxAttempts) {
      throw new AppError('MAX_ATTEMPTS_REACHED', `This quiz allows ${quiz.maxAttempts} attempt(s)`);
    }
    const questions = await quizQuestionOptions(tx, quiz.id);
    if (questions.length === 0) throw new AppError('CONFLICT', 'This quiz has no questions yet');
    const startedAt = deps.clock.now();
    const deadline = attemptDeadline(startedAt, quiz);
    const order = buildQuestionOrder(questions, { shuffleQuestions: quiz.shuffleQuestions, shuffleOptions: quiz.shuffleOptions });
    const attemptId = await insertAttempt(tx, { enrollmentId, quizId: quiz.id, attemptNumber: last + 1, startedAt, deadline, questionOrder: order });
    return { created: true, attemptId, deadline };
  });

  if (outcome.created && outcome.deadline) {
    await deps.jobs.scheduleDeadline(outcome.attemptId, new Date(outcome.deadline.getTime() + deps.config.quizGraceMs));
  }
  const row = (await attemptRow(em, outcome.attemptId))!;
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
function finishedAttemptError(row: Pick<AttemptRow, 'auto_submitted'>): AppError {
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
  /** True when this call graded it; false when it was already graded (idempotent replay). */
  graded: boolean;
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

/** What the deadline job found: the attempt graded now or before (`status`), or not due yet (`dueAt`, ms). */
export type DeadlineOutcome = { graded: boolean; status: string } | { dueAt: number };

/**
 * The deadline job of an attempt: grades it with its saved answers once deadline + grace has
 * passed. Early (clock skew between processes), it says when the attempt is due instead.
 */
export async function gradeAtDeadline(deps: GradingDeps, attemptId: string): Promise<DeadlineOutcome> {
  const row = await attemptDue(deps.em, attemptId, deps.config.quizGraceMs);
  if (!row) return { graded: false, status: 'missing' };
  if (row.status !== 'in_progress') return { graded: false, status: row.status };
  const due = row.due ? new Date(row.due).getTime() : null;
  if (due !== null && due > deps.clock.now().getTime()) return { dueAt: due };
  const outcome = await gradeAttemptNow(deps, attemptId, { auto: true });
  return { graded: !!outcome?.graded, status: outcome?.row.status ?? 'missing' };
}

interface GradeOptions {
  auto: boolean;
  answers?: Record<string, unknown>;
  /** Tries without a lock before locking the row (default `OPTIMISTIC_TRIES`; 0 locks at once). */
  optimisticTries?: number;
  submittedBy?: string;
}

/** The attempt as graded now (or found graded), with the questions grading read. */
interface Graded {
  graded: boolean;
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
    const row = await attemptRow(tx, attemptId, true);
    if (!row) return null;
    return (await gradeRow(tx, row, options, deps, () => attemptQuestions(tx, row.question_order ?? [])))!;
  });
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
  if (row.status !== 'in_progress') return { graded: false, row, expired: false, questions: null };
  const now = deps.clock.now();
  const deadline = row.deadline ? new Date(row.deadline) : null;
  const expired = isExpired(deadline, now, deps.config.quizGraceMs);
  const answers = { ...(row.answers ?? {}) };
  if (options.answers && !expired) {
    // Only this attempt's questions; a wrong shape is kept and graded as wrong.
    const inAttempt = new Set((row.question_order ?? []).map((item) => item.questionId));
    for (const [questionId, answer] of Object.entries(options.answers)) if (inAttempt.has(questionId)) answers[questionId] = answer;
  }
  const questions = await loadQuestions();
  const grade = gradeAttempt(
    questions.map((item) => item.question),
    answers,
    row.passing_score,
  );
  const results: StoredResults = {
    score: grade.score,
    maxScore: grade.maxScore,
    percentage: grade.percentage,
    isPassed: grade.isPassed,
    questions: grade.questions,
  };
  const submittedAt = deadline && now > deadline ? deadline : now;
  const timeTaken = Math.max(0, Math.round((submittedAt.getTime() - new Date(row.started_at).getTime()) / 1000));
  const updated = await writeGrade(
    db,
    row.id,
    { answers, results, submittedAt, gradedAt: now, timeTakenSeconds: timeTaken, autoSubmitted: options.auto || expired },
    version,
  );
  if (!updated) return undefined;
  // The graded row: what the update wrote (answers and results as written, the other columns as
  // PostgreSQL returns them) over the row read, whose joined columns this update does not change.
  return { graded: true, row: { ...row, ...updated, answers, results }, expired: expired || options.auto, questions };
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
  if (result.graded) {
    await deps.publisher.attemptGraded({ ...graded.event, expired: graded.expired });
    await deps.jobs.cancelDeadline(attemptId);
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
 * The sweep's part: grades the timed attempts whose deadline (plus grace) passed without their
 * job running (Redis lost it, or was down when it was due). Each attempt in an EntityManager of
 * its own. Returns how many this call graded.
 */
export async function gradeOverdueAttempts(deps: GradingDeps, limit = 500): Promise<number> {
  let graded = 0;
  for (const attemptId of await overdueAttemptIds(deps, limit)) {
    if ((await gradeAttemptNow({ ...deps, em: deps.em.fork() }, attemptId, { auto: true }))?.graded) graded++;
  }
  return graded;
}
