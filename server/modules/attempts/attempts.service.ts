import type { EntityManager } from '@mikro-orm/postgresql';
import type { AttemptStatus, EnrollmentStatus, QuestionType, QuizType } from '../../../entities/enums.js';
import type { AuthUser } from '../../plugins/auth.js';
import type { Config } from '../../config/config.js';
import type { Jobs } from '../../platform/queues/jobs.js';
import { answerShapeError, gradeAttempt, type ChoiceOption, type GradableQuestion, type QuestionResult, type ShortAnswerKey } from '../../domain/grading.js';
import { attemptDeadline, isExpired } from '../../domain/quiz-timing.js';
import { keyRevealed } from '../../domain/answer-key.js';
import { buildQuestionOrder, type QuestionOrder } from '../../domain/shuffle.js';
import { OPTIMISTIC_TRIES, retryThenLock, sqlTransaction, type SqlRunner } from '../../platform/db/sql.js';
import { AppError, forbidden, notFound, validationError } from '../../platform/errors.js';
import { decimal, iso, toIso } from '../../platform/schemas.js';
import { ACCESS_GRANTING_STATUSES, isManagerOf } from '../courses/courses.access.js';
import { loadQuiz } from '../quizzes/quizzes.service.js';
import { completeLessonByQuiz, type LessonProgressResult } from '../progress/progress.service.js';

/** What attempt operations need beyond the EntityManager. */
export interface AttemptDeps {
  config: Pick<Config, 'quizGraceMs'>;
  /** Schedules the deadline job; absent in contexts that never start attempts. */
  scheduleDeadline?(attemptId: string, runAt: Date): Promise<void>;
  /** Removes a deadline job that is no longer needed (best effort: the job is idempotent). */
  cancelDeadline?(attemptId: string): Promise<void>;
  /** Enqueues the certificate of an enrollment a quiz completes. */
  jobs: Pick<Jobs, 'issueCertificate'>;
}

interface AttemptRow {
  id: string;
  enrollment_id: string;
  quiz_id: string;
  attempt_number: number;
  status: AttemptStatus;
  started_at: string;
  deadline: string | null;
  submitted_at: string | null;
  graded_at: string | null;
  score: string | null;
  max_score: string | null;
  percentage: string | null;
  is_passed: boolean | null;
  time_taken_seconds: number | null;
  answers: Record<string, unknown> | null;
  question_order: QuestionOrder | null;
  results: StoredResults | null;
  auto_submitted: boolean;
  // joined
  student_id: string;
  course_id: string;
  enrollment_status: EnrollmentStatus;
  instructor_id: string;
  lesson_id: string;
  lesson_title: string | null;
  lesson_parent_id: string | null;
  quiz_type: QuizType;
  passing_score: number;
  show_correct_answers: boolean;
  max_attempts: number | null;
}

/** What `quiz_attempts.results` holds: the grade and each question as graded. */
interface StoredResults {
  score: number;
  maxScore: number;
  percentage: number;
  isPassed: boolean;
  questions: QuestionResult[];
}

const ATTEMPT_COLUMNS = `a.*, e.student_id, e.course_id, e.status AS enrollment_status, c.instructor_id,
         q.lesson_id, q.quiz_type, q.passing_score, q.show_correct_answers, q.max_attempts,
         l.title AS lesson_title, l.parent_lesson_id AS lesson_parent_id`;
const ATTEMPT_FROM = `
    FROM quiz_attempts a
    JOIN enrollments e ON e.id = a.enrollment_id
    JOIN courses c ON c.id = e.course_id
    JOIN quizzes q ON q.id = a.quiz_id
    LEFT JOIN lessons l ON l.id = q.lesson_id`;
const ATTEMPT_SELECT = `SELECT ${ATTEMPT_COLUMNS} ${ATTEMPT_FROM}`;

async function loadAttemptRow(em: SqlRunner, attemptId: string, lock = false): Promise<AttemptRow | null> {
  const [row] = await em.execute<AttemptRow[]>(`${ATTEMPT_SELECT} WHERE a.id = ?${lock ? ' FOR UPDATE OF a' : ''}`, [attemptId]);
  return row ?? null;
}

interface QuestionRow {
  id: string;
  question_text: string;
  question_type: QuestionType;
  points: number;
  options: ChoiceOption[] | null;
  correct_answer: unknown;
  explanation: string | null;
}

/** A question of an attempt, with its options in the attempt's order. */
type AttemptQuestion = { question: GradableQuestion; optionIds?: string[] };

const QUESTION_COLUMNS = 'id, question_text, question_type, points, options, correct_answer, explanation';

/** The attempt's questions as they are now, in the attempt's own order. */
async function attemptQuestions(em: SqlRunner, order: QuestionOrder): Promise<AttemptQuestion[]> {
  if (order.length === 0) return [];
  const rows = await em.execute<QuestionRow[]>(
    `SELECT ${QUESTION_COLUMNS} FROM quiz_questions WHERE id IN (${order.map(() => '?').join(', ')})`,
    order.map((item) => item.questionId),
  );
  return inAttemptOrder(rows, order);
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
async function revealsKey(em: SqlRunner, row: AttemptRow, viewer: { isManager: boolean }): Promise<boolean> {
  const context = {
    viewerIsManager: viewer.isManager,
    showCorrectAnswers: row.show_correct_answers,
    quizType: row.quiz_type,
    attemptsAllowed: row.max_attempts,
    attemptsUsed: 0,
  };
  // Counted only when the answer turns on it: a student's graded attempt of a graded quiz with a limit.
  if (keyRevealed({ ...context, attemptsUsed: Number.MAX_SAFE_INTEGER }) && !keyRevealed(context)) {
    const [{ used }] = await em.execute<Array<{ used: number }>>(
      `SELECT count(*)::int AS used FROM quiz_attempts WHERE enrollment_id = ? AND quiz_id = ? AND status <> 'in_progress'`,
      [row.enrollment_id, row.quiz_id],
    );
    context.attemptsUsed = used!;
  }
  return keyRevealed(context);
}

/**
 * SPEC's attempt object. Questions come in the attempt's order without secrets; the result
 * reveals correct answers and explanations only as `keyRevealed` decides (managers always see them).
 * `loaded`: the attempt's questions when the caller has just read them (grading does).
 */
async function attemptJson(em: EntityManager, row: AttemptRow, viewer: { isManager: boolean }, loaded?: AttemptQuestion[]) {
  const questions = loaded ?? (await attemptQuestions(em, row.question_order ?? []));
  const revealAnswers = row.status === 'graded' && row.results ? await revealsKey(em, row, viewer) : false;
  return {
    id: row.id,
    quizId: row.quiz_id,
    enrollmentId: row.enrollment_id,
    studentId: row.student_id,
    attemptNumber: row.attempt_number,
    status: row.status,
    startedAt: toIso(row.started_at),
    deadline: iso(row.deadline),
    serverNow: new Date().toISOString(),
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

/** What the caller may do with an attempt: its student acts; managers read. */
function viewerOf(user: AuthUser, row: AttemptRow) {
  const isStudent = row.student_id === user.id;
  const isManager = isManagerOf(user, row.instructor_id);
  if (!isStudent && !isManager) throw forbidden('This attempt belongs to another student');
  return { isStudent, isManager };
}

export interface StartedAttempt {
  created: boolean;
  attempt: AttemptJson;
  /** For the `quiz:started` event. */
  event: { attemptId: string; quizId: string; studentId: string; courseId: string; deadline: string | null };
}

/**
 * Starts an attempt (created) or returns the one in progress. Concurrent starts serialise on
 * the enrollment row, so attempt numbers have no gaps or duplicates and at most one attempt
 * runs; the partial unique index is the last word. An overdue running attempt is graded first.
 */
export async function startAttempt(em: EntityManager, user: AuthUser, quizId: string, deps: AttemptDeps): Promise<StartedAttempt> {
  const { quiz, access } = await loadQuiz(em, quizId, user);
  if (!access.enrollment || !(ACCESS_GRANTING_STATUSES as readonly string[]).includes(access.enrollment.status)) {
    throw forbidden('Only students enrolled in this course take its quizzes');
  }
  if (!quiz.isPublished) throw notFound('Quiz');
  const enrollmentId = access.enrollment.id;

  const overdue = await em.execute<Array<{ id: string; deadline: string | null }>>(
    `SELECT id, deadline FROM quiz_attempts WHERE enrollment_id = ? AND quiz_id = ? AND status = 'in_progress'`,
    [enrollmentId, quiz.id],
  );
  for (const attempt of overdue) {
    if (isExpired(attempt.deadline ? new Date(attempt.deadline) : null, new Date(), deps.config.quizGraceMs)) {
      await gradeAttemptNow(em, attempt.id, { auto: true }, deps);
    }
  }

  const outcome = await em.transactional(async (tx) => {
    await tx.execute('SELECT id FROM enrollments WHERE id = ? FOR UPDATE', [enrollmentId]);
    const [running] = await tx.execute<Array<{ id: string }>>(
      `SELECT id FROM quiz_attempts WHERE enrollment_id = ? AND quiz_id = ? AND status = 'in_progress'`,
      [enrollmentId, quiz.id],
    );
    if (running) return { created: false, attemptId: running.id };
    const [{ count, last }] = await tx.execute<Array<{ count: number; last: number }>>(
      'SELECT count(*)::int AS count, coalesce(max(attempt_number), 0)::int AS last FROM quiz_attempts WHERE enrollment_id = ? AND quiz_id = ?',
      [enrollmentId, quiz.id],
    );
    if (quiz.maxAttempts !== null && quiz.maxAttempts !== undefined && count >= quiz.maxAttempts) {
      throw new AppError('MAX_ATTEMPTS_REACHED', `This quiz allows ${quiz.maxAttempts} attempt(s)`);
    }
    const questions = await tx.execute<Array<{ id: string; options: ChoiceOption[] | null }>>(
      'SELECT id, options FROM quiz_questions WHERE quiz_id = ? ORDER BY order_index, created_at, id',
      [quiz.id],
    );
    if (questions.length === 0) throw new AppError('CONFLICT', 'This quiz has no questions yet');
    const startedAt = new Date();
    const deadline = attemptDeadline(startedAt, quiz);
    const order = buildQuestionOrder(questions, { shuffleQuestions: quiz.shuffleQuestions, shuffleOptions: quiz.shuffleOptions });
    const [inserted] = await tx.execute<Array<{ id: string }>>(
      `INSERT INTO quiz_attempts (enrollment_id, quiz_id, attempt_number, status, started_at, deadline, question_order, answers)
       VALUES (?, ?, ?, 'in_progress', ?, ?, ?, '{}') RETURNING id`,
      [enrollmentId, quiz.id, last + 1, startedAt, deadline, JSON.stringify(order)],
    );
    return { created: true, attemptId: inserted!.id, deadline };
  });

  if (outcome.created && outcome.deadline && deps.scheduleDeadline) {
    await deps.scheduleDeadline(outcome.attemptId, new Date(outcome.deadline.getTime() + deps.config.quizGraceMs));
  }
  const row = (await loadAttemptRow(em, outcome.attemptId))!;
  return {
    created: outcome.created,
    attempt: await attemptJson(em, row, { isManager: false }),
    event: { attemptId: row.id, quizId: row.quiz_id, studentId: row.student_id, courseId: row.course_id, deadline: iso(row.deadline) },
  };
}

export async function getAttempt(em: EntityManager, user: AuthUser, attemptId: string): Promise<AttemptJson> {
  const row = await loadAttemptRow(em, attemptId);
  if (!row) throw notFound('Attempt');
  const viewer = viewerOf(user, row);
  return attemptJson(em, row, viewer);
}

/**
 * Why a finished attempt takes no more answers: the server finished it at its deadline (time is
 * up, as SPEC says of answers past deadline + grace), or the student submitted it (a conflict).
 */
function finishedAttemptError(row: Pick<AttemptRow, 'auto_submitted'>): AppError {
  return row.auto_submitted
    ? new AppError('QUIZ_TIME_EXPIRED', 'Time is up for this attempt; it has been submitted with its saved answers')
    : new AppError('CONFLICT', 'This attempt has already been submitted');
}

function assertOwnRunningAttempt(user: AuthUser, row: AttemptRow, graceMs: number) {
  if (row.student_id !== user.id) throw forbidden('Only the student answers its attempt');
  if (row.status !== 'in_progress') throw finishedAttemptError(row);
  if (isExpired(row.deadline ? new Date(row.deadline) : null, new Date(), graceMs)) {
    throw new AppError('QUIZ_TIME_EXPIRED', 'Time is up for this attempt');
  }
}

/** Autosaves one answer (idempotent). Refused past deadline + grace, and when its shape is wrong. */
export async function saveAnswer(em: EntityManager, user: AuthUser, attemptId: string, questionId: string, answer: unknown, deps: AttemptDeps) {
  const row = await loadAttemptRow(em, attemptId);
  if (!row) throw notFound('Attempt');
  assertOwnRunningAttempt(user, row, deps.config.quizGraceMs);
  if (!(row.question_order ?? []).some((item) => item.questionId === questionId)) throw notFound('Question in this attempt');
  const [question] = await attemptQuestions(em, [{ questionId }]);
  if (!question) throw notFound('Question');
  const shapeError = answerShapeError(question.question, answer);
  if (shapeError) throw validationError(shapeError);
  // One statement: the status and time checks hold at the moment of the write, and
  // concurrent saves of different questions merge instead of overwriting each other.
  const updated = await em.execute<Array<{ id: string }>>(
    `UPDATE quiz_attempts SET answers = coalesce(answers, '{}'::jsonb) || jsonb_build_object(?::text, ?::jsonb)
      WHERE id = ? AND status = 'in_progress' AND (deadline IS NULL OR now() <= deadline + (? || ' milliseconds')::interval)
      RETURNING id`,
    [questionId, JSON.stringify(answer), attemptId, String(deps.config.quizGraceMs)],
  );
  if (updated.length === 0) {
    const current = (await loadAttemptRow(em, attemptId))!;
    if (current.status !== 'in_progress') throw finishedAttemptError(current);
    throw new AppError('QUIZ_TIME_EXPIRED', 'Time is up for this attempt');
  }
  return { attemptId, questionId, answer, savedAt: new Date().toISOString(), deadline: iso(row.deadline), serverNow: new Date().toISOString() };
}

export interface GradedAttempt {
  /** True when this call graded it; false when it was already graded (idempotent replay). */
  graded: boolean;
  row: AttemptRow;
  /** The lesson completed by this grade, if any. */
  lessonProgress: LessonProgressResult | null;
  /** For the `quiz:graded` event. */
  event: { attemptId: string; quizId: string; studentId: string; courseId: string; score: number; maxScore: number; percentage: number; isPassed: boolean };
  /** The attempt reached its deadline unsubmitted (for `quiz:expired`). */
  expired: boolean;
}

/** Told of a grade just committed (only when this call graded the attempt). */
export type GradeAnnouncer = (graded: Omit<GradedAttempt, 'lessonProgress'>) => Promise<void> | void;

/**
 * Grades an attempt once. Whoever writes the grade first (the student's submit, the deadline
 * job, the sweep) grades it; the others find it graded and return it unchanged. Past the
 * deadline plus grace, answers in the request are ignored and the saved ones are graded.
 */
export async function gradeAttemptNow(
  em: EntityManager,
  attemptId: string,
  options: Pick<GradeOptions, 'auto' | 'answers' | 'optimisticTries'>,
  deps: AttemptDeps,
): Promise<GradedAttempt | null> {
  return (await gradeOnce(em, attemptId, options, deps))?.outcome ?? null;
}

interface GradeOptions {
  auto: boolean;
  answers?: Record<string, unknown>;
  /** Tries without a lock before locking the row (default `OPTIMISTIC_TRIES`; 0 locks at once). */
  optimisticTries?: number;
  submittedBy?: string;
  onGraded?: GradeAnnouncer;
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
async function gradeOptimistically(em: SqlRunner, attemptId: string, options: GradeOptions, deps: AttemptDeps): Promise<Graded | null | undefined> {
  const [loaded] = await em.execute<Array<AttemptRow & { row_version: string; question_rows: QuestionRow[] }>>(
    `SELECT ${ATTEMPT_COLUMNS}, a.xmin::text AS row_version,
            (SELECT coalesce(json_agg(qq), '[]'::json) FROM (
               SELECT ${QUESTION_COLUMNS} FROM quiz_questions
                WHERE id IN (SELECT (item ->> 'questionId')::uuid FROM jsonb_array_elements(coalesce(a.question_order, '[]'::jsonb)) item)) qq) AS question_rows
     ${ATTEMPT_FROM} WHERE a.id = ?`,
    [attemptId],
  );
  if (!loaded) return null;
  const { row_version: version, question_rows: questionRows, ...row } = loaded;
  return gradeRow(em, row, options, deps, async () => inAttemptOrder(questionRows, row.question_order ?? []), version);
}

/** The same under a row lock, in a transaction: never conflicts. */
async function gradeUnderLock(em: EntityManager, attemptId: string, options: GradeOptions, deps: AttemptDeps): Promise<Graded | null> {
  return sqlTransaction(em, async (tx) => {
    const row = await loadAttemptRow(tx, attemptId, true);
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
  deps: AttemptDeps,
  loadQuestions: () => Promise<AttemptQuestion[]>,
  version?: string,
): Promise<Graded | undefined> {
  if (options.submittedBy !== undefined && row.student_id !== options.submittedBy) throw forbidden('Only the student submits its attempt');
  if (options.answers !== undefined && (typeof options.answers !== 'object' || options.answers === null || Array.isArray(options.answers))) {
    throw validationError('answers must be an object of questionId → answer');
  }
  if (row.status !== 'in_progress') return { graded: false, row, expired: false, questions: null };
  const now = new Date();
  const deadline = row.deadline ? new Date(row.deadline) : null;
  const expired = isExpired(deadline, now, deps.config.quizGraceMs);
  const answers = { ...(row.answers ?? {}) };
  if (options.answers && !expired) {
    // Only this attempt's questions; a wrong shape is kept and graded as wrong.
    const inAttempt = new Set((row.question_order ?? []).map((item) => item.questionId));
    for (const [questionId, answer] of Object.entries(options.answers)) if (inAttempt.has(questionId)) answers[questionId] = answer;
  }
  const questions = await loadQuestions();
  const grade = gradeAttempt(questions.map((item) => item.question), answers, row.passing_score);
  const results: StoredResults = { score: grade.score, maxScore: grade.maxScore, percentage: grade.percentage, isPassed: grade.isPassed, questions: grade.questions };
  const submittedAt = deadline && now > deadline ? deadline : now;
  const timeTaken = Math.max(0, Math.round((submittedAt.getTime() - new Date(row.started_at).getTime()) / 1000));
  const [updated] = await db.execute<Array<Partial<AttemptRow>>>(
    `UPDATE quiz_attempts SET status = 'graded', answers = ?, results = ?, score = ?, max_score = ?, percentage = ?, is_passed = ?,
            submitted_at = ?, graded_at = ?, time_taken_seconds = ?, auto_submitted = ?
      WHERE id = ?${version === undefined ? '' : ' AND xmin::text = ?'}
      RETURNING status, score, max_score, percentage, is_passed, submitted_at, graded_at, time_taken_seconds, auto_submitted`,
    [
      JSON.stringify(answers),
      JSON.stringify(results),
      grade.score,
      grade.maxScore,
      grade.percentage,
      grade.isPassed,
      submittedAt,
      now,
      timeTaken,
      options.auto || expired,
      row.id,
      ...(version === undefined ? [] : [version]),
    ],
  );
  if (!updated) return undefined;
  // The graded row: what the update wrote (answers and results as written, the other columns as
  // PostgreSQL returns them) over the row read, whose joined columns this update does not change.
  return { graded: true, row: { ...row, ...updated, answers, results } as AttemptRow, expired: expired || options.auto, questions };
}

/**
 * `gradeAttemptNow`, plus what a submit needs: `submittedBy` is checked on the row grading read
 * (so a submit reads the attempt once), and the questions the grading loaded come back for the
 * attempt JSON. Whoever writes the grade first (the student's submit, the deadline job, the
 * sweep) grades it; the others find it graded. The write is conditional on the row's version,
 * so a save or a grade in between makes this read again, and after a few tries lock the row.
 */
async function gradeOnce(
  em: EntityManager,
  attemptId: string,
  options: GradeOptions,
  deps: AttemptDeps,
): Promise<{ outcome: GradedAttempt; questions: AttemptQuestion[] | null } | null> {
  const result = await retryThenLock(
    options.optimisticTries ?? OPTIMISTIC_TRIES,
    () => gradeOptimistically(em, attemptId, options, deps),
    () => gradeUnderLock(em, attemptId, options, deps),
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
    },
  };
  let lessonProgress: LessonProgressResult | null = null;
  if (result.graded) {
    await options.onGraded?.(graded);
    await deps.cancelDeadline?.(attemptId);
    const completes = row.quiz_type === 'practice' || !!row.is_passed;
    if (completes && (ACCESS_GRANTING_STATUSES as readonly string[]).includes(row.enrollment_status)) {
      const lesson = row.lesson_title === null ? undefined : { title: row.lesson_title, parentLessonId: row.lesson_parent_id };
      lessonProgress = await completeLessonByQuiz({ em, jobs: deps.jobs }, row.enrollment_id, row.lesson_id, lesson);
    }
  }
  return { outcome: { ...graded, lessonProgress }, questions: result.questions };
}

/**
 * `POST /attempts/:id/submit`: grades at once; idempotent; after the deadline it returns the
 * auto-submitted result. `onGraded` hears of a new grade as soon as it is committed, before the
 * deadline job is cancelled, the lesson a pass completes is recorded and the JSON is built (so
 * `quiz:graded` does not wait for them); the returned outcome then carries the lesson too.
 */
export async function submitAttempt(
  em: EntityManager,
  user: AuthUser,
  attemptId: string,
  answers: Record<string, unknown> | undefined,
  deps: AttemptDeps,
  onGraded?: GradeAnnouncer,
) {
  const graded = await gradeOnce(em, attemptId, { auto: false, answers, submittedBy: user.id, onGraded }, deps);
  if (!graded) throw notFound('Attempt');
  const { outcome, questions } = graded;
  return { outcome, attempt: await attemptJson(em, outcome.row, { isManager: false }, questions ?? undefined) };
}

/** Attempts whose deadline plus grace has passed while they are still open (for the sweep). */
export async function overdueAttemptIds(em: EntityManager, graceMs: number, limit = 500): Promise<string[]> {
  const rows = await em.execute<Array<{ id: string }>>(
    `SELECT id FROM quiz_attempts WHERE status = 'in_progress' AND deadline IS NOT NULL
        AND deadline + (? || ' milliseconds')::interval < now() ORDER BY deadline LIMIT ?`,
    [String(graceMs), limit],
  );
  return rows.map((row) => row.id);
}
