import type { EntityManager } from '@mikro-orm/postgresql';
import { Lesson, Quiz, QuizQuestion, type IQuiz, type IQuizQuestion, type OverdueHandling, type QuestionType, type QuizType } from '../../../entities/index.js';
import { overduePolicyError } from '../../domain/quiz-timing.js';
import type { AuthUser } from '../auth/auth-user.js';
import { normalizeQuestionContent, QuestionRuleError, type QuestionDraft } from '../../domain/question-rules.js';
import { normalizeText, type ChoiceOption } from '../../domain/grading.js';
import { emptyDistribution } from '../../domain/answer-distribution.js';
import { conflict, forbidden, notFound, validationError } from '../../platform/errors.js';
import { decimal, iso, toIso } from '../../platform/schemas.js';
import type { ServiceDeps } from '../deps.js';
import { accessOfColumns, accessTo, assertVisible, type CourseAccess } from '../courses/courses.access.js';
import {
  attemptCount,
  attemptSummaryPage,
  gradedResults,
  nextQuestionIndex,
  questionReadRows,
  quizReadRow,
  type AttemptSummaryRow,
} from './quizzes.queries.js';

export interface QuizSettings {
  title?: string;
  description?: string | null;
  quizType?: QuizType;
  passingScore?: number;
  timeLimitMinutes?: number | null;
  timeLimitSeconds?: number | null;
  maxAttempts?: number | null;
  shuffleQuestions?: boolean;
  shuffleOptions?: boolean;
  showCorrectAnswers?: boolean;
  isPublished?: boolean;
  metadata?: Record<string, unknown>;
  overdueHandling?: OverdueHandling;
  gracePeriodSeconds?: number;
}

/** The overdue policy the quiz would have with `input` applied: refused when inconsistent. */
function assertOverduePolicy(current: { overdueHandling: OverdueHandling; gracePeriodSeconds: number }, input: QuizSettings): void {
  const error = overduePolicyError({
    overdueHandling: input.overdueHandling ?? current.overdueHandling,
    gracePeriodSeconds: input.gracePeriodSeconds ?? current.gracePeriodSeconds,
  });
  if (error) throw validationError(error);
}

export interface QuestionInput {
  questionText?: string;
  questionType?: QuestionType;
  points?: number;
  orderIndex?: number;
  options?: Array<{ id?: string; text: string; isCorrect: boolean }> | null;
  correctAnswer?: unknown;
  explanation?: string | null;
}

/** A quiz with the caller's relation to its course. Unpublished quizzes exist only for managers. */
export async function loadQuiz(em: EntityManager, quizId: string, user: AuthUser | null): Promise<{ quiz: IQuiz; access: CourseAccess }> {
  const quiz = await em.findOne(Quiz, { id: quizId }, { populate: ['lesson', 'lesson.course'] });
  if (!quiz || !quiz.lesson) throw notFound('Quiz');
  const access = await accessTo(em, quiz.lesson.$.course.$, user);
  assertVisible(quiz.isPublished, access.isManager, 'Quiz');
  return { quiz, access };
}

async function loadManagedQuiz(em: EntityManager, quizId: string, user: AuthUser) {
  const loaded = await loadQuiz(em, quizId, user);
  if (!loaded.access.isManager) throw forbidden('Only the course owner or an admin may change its quizzes');
  return loaded;
}

function questionJson(question: IQuizQuestion) {
  return {
    id: question.id,
    quizId: question.quiz.id,
    questionText: question.questionText,
    questionType: question.questionType,
    points: question.points,
    orderIndex: question.orderIndex,
    options: (question.options as ChoiceOption[] | null) ?? null,
    correctAnswer: question.correctAnswer ?? null,
    explanation: question.explanation ?? null,
    createdAt: toIso(question.createdAt),
    updatedAt: toIso(question.updatedAt),
  };
}

async function quizJson(em: EntityManager, quiz: IQuiz, withQuestions: boolean) {
  const questions = withQuestions ? await em.find(QuizQuestion, { quiz: quiz.id }, { orderBy: { orderIndex: 'asc', createdAt: 'asc' } }) : null;
  const questionCount = questions ? questions.length : await em.count(QuizQuestion, { quiz: quiz.id });
  return {
    id: quiz.id,
    lessonId: quiz.lesson!.id,
    title: quiz.title,
    description: quiz.description ?? null,
    quizType: quiz.quizType,
    passingScore: quiz.passingScore,
    timeLimitMinutes: quiz.timeLimitMinutes ?? null,
    timeLimitSeconds: quiz.timeLimitSeconds ?? null,
    maxAttempts: quiz.maxAttempts ?? null,
    shuffleQuestions: quiz.shuffleQuestions,
    shuffleOptions: quiz.shuffleOptions,
    showCorrectAnswers: quiz.showCorrectAnswers,
    isPublished: quiz.isPublished,
    metadata: quiz.metadata ?? {},
    overdueHandling: quiz.overdueHandling,
    gracePeriodSeconds: quiz.gracePeriodSeconds,
    questionCount,
    createdAt: toIso(quiz.createdAt),
    updatedAt: toIso(quiz.updatedAt),
    ...(questions ? { questions: questions.map(questionJson) } : {}),
  };
}

/**
 * `GET /quizzes/:id`: managers get everything; enrollees get the settings and `questionCount`,
 * never the questions or their answers (they see questions through an attempt).
 *
 * The hottest quiz read, so it is plain SQL: one query answers the quiz, its course's owner and
 * publication, the caller's enrollment and the question count, and managers get one more for the
 * questions. The ORM path (`loadQuiz` + `quizJson`) loaded quiz → lesson → course, the enrollment
 * and the questions as entities and ran at 0.11× a raw-`pg` route (`npm run bench`, scenario 5).
 */
export async function getQuiz({ em }: Pick<ServiceDeps, 'em'>, user: AuthUser, quizId: string) {
  const row = await quizReadRow(em, quizId, user.id);
  if (!row) throw notFound('Quiz');
  // The same rules as `loadQuiz` + `accessTo`: drafts exist only for managers.
  const { isManager, isEnrollee } = accessOfColumns(user, { instructorId: row.instructor_id, isPublished: row.course_published }, row.enrollment_status);
  assertVisible(row.is_published, isManager, 'Quiz');
  if (!isManager && !isEnrollee) throw forbidden('Enroll in the course to see its quizzes');
  const questions = isManager ? await questionReadRows(em, row.id) : null;
  return {
    id: row.id,
    lessonId: row.lesson_id,
    title: row.title,
    description: row.description,
    quizType: row.quiz_type,
    passingScore: row.passing_score,
    timeLimitMinutes: row.time_limit_minutes,
    timeLimitSeconds: row.time_limit_seconds,
    maxAttempts: row.max_attempts,
    shuffleQuestions: row.shuffle_questions,
    shuffleOptions: row.shuffle_options,
    showCorrectAnswers: row.show_correct_answers,
    isPublished: row.is_published,
    metadata: row.metadata ?? {},
    overdueHandling: row.overdue_handling,
    gracePeriodSeconds: row.grace_period_seconds,
    questionCount: questions ? questions.length : row.question_count,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
    ...(questions
      ? {
          questions: questions.map((q) => ({
            id: q.id,
            quizId: q.quiz_id,
            questionText: q.question_text,
            questionType: q.question_type,
            points: q.points,
            orderIndex: q.order_index,
            options: q.options ?? null,
            correctAnswer: q.correct_answer ?? null,
            explanation: q.explanation,
            createdAt: toIso(q.created_at),
            updatedAt: toIso(q.updated_at),
          })),
        }
      : {}),
  };
}

async function questionCount(em: EntityManager, quizId: string): Promise<number> {
  return em.count(QuizQuestion, { quiz: quizId });
}

export async function createQuiz({ em }: Pick<ServiceDeps, 'em'>, user: AuthUser, lessonId: string, input: QuizSettings & { title: string }) {
  const lesson = await em.findOne(Lesson, { id: lessonId }, { populate: ['course'] });
  if (!lesson) throw notFound('Lesson');
  const access = await accessTo(em, lesson.course.$, user);
  if (!access.isManager) throw forbidden('Only the course owner or an admin may add quizzes');
  if (input.isPublished) throw conflict('A quiz without questions cannot be published; add questions first');
  assertOverduePolicy({ overdueHandling: 'autosubmit', gracePeriodSeconds: 0 }, input);
  const existing = await em.count(Quiz, { lesson: lessonId });
  if (existing > 0) throw conflict('This lesson already has a quiz');
  const quiz = em.create(Quiz, { ...input, lesson });
  await em.flush(); // the unique lesson index settles a race between two creates (409)
  return quizJson(em, quiz, true);
}

export async function updateQuiz({ em }: Pick<ServiceDeps, 'em'>, user: AuthUser, quizId: string, input: QuizSettings) {
  const { quiz } = await loadManagedQuiz(em, quizId, user);
  if (input.isPublished && !quiz.isPublished && (await questionCount(em, quiz.id)) === 0) {
    throw conflict('A quiz without questions cannot be published; add questions first');
  }
  assertOverduePolicy(quiz, input);
  // Running attempts keep the deadline and overdue policy fixed at their start; settings apply to new attempts.
  em.assign(quiz, input);
  await em.flush();
  return quizJson(em, quiz, true);
}

export async function deleteQuiz({ em }: Pick<ServiceDeps, 'em'>, user: AuthUser, quizId: string): Promise<void> {
  const { quiz } = await loadManagedQuiz(em, quizId, user);
  if ((await attemptCount(em, quiz.id)) > 0) throw conflict('Students have attempted this quiz; it can no longer be deleted (unpublish it instead)');
  await em.nativeDelete(Quiz, { id: quiz.id });
}

function content(draft: QuestionDraft) {
  try {
    return normalizeQuestionContent(draft);
  } catch (error) {
    if (error instanceof QuestionRuleError) throw validationError(error.message);
    throw error;
  }
}

export async function createQuestion(
  { em }: Pick<ServiceDeps, 'em'>,
  user: AuthUser,
  quizId: string,
  input: QuestionInput & { questionText: string; questionType: QuestionType },
) {
  const { quiz } = await loadManagedQuiz(em, quizId, user);
  const normalized = content({ questionType: input.questionType, options: input.options, correctAnswer: input.correctAnswer });
  const question = em.create(QuizQuestion, {
    quiz,
    questionText: input.questionText,
    questionType: input.questionType,
    points: input.points ?? 1,
    orderIndex: input.orderIndex ?? (await nextQuestionIndex(em, quiz.id)),
    options: normalized.options,
    correctAnswer: normalized.correctAnswer as never,
    explanation: input.explanation ?? null,
  });
  await em.flush();
  return questionJson(question);
}

async function loadManagedQuestion(em: EntityManager, questionId: string, user: AuthUser) {
  const question = await em.findOne(QuizQuestion, { id: questionId });
  if (!question) throw notFound('Question');
  const { quiz } = await loadManagedQuiz(em, question.quiz.id, user);
  return { question, quiz };
}

/** Editing a question is refused once its quiz has attempts: past grades must not move. */
export async function updateQuestion({ em }: Pick<ServiceDeps, 'em'>, user: AuthUser, questionId: string, input: QuestionInput) {
  const { question, quiz } = await loadManagedQuestion(em, questionId, user);
  if ((await attemptCount(em, quiz.id)) > 0) throw conflict('Students have attempted this quiz; its questions can no longer be edited');
  const questionType = input.questionType ?? question.questionType;
  const touchesContent = input.questionType !== undefined || input.options !== undefined || input.correctAnswer !== undefined;
  if (touchesContent) {
    const normalized = content({
      questionType,
      options: input.options !== undefined ? input.options : input.questionType !== undefined ? undefined : question.options,
      correctAnswer: input.correctAnswer !== undefined ? input.correctAnswer : input.questionType !== undefined ? undefined : question.correctAnswer,
    });
    question.questionType = questionType;
    question.options = normalized.options;
    question.correctAnswer = normalized.correctAnswer as never;
  }
  if (input.questionText !== undefined) question.questionText = input.questionText;
  if (input.points !== undefined) question.points = input.points;
  if (input.orderIndex !== undefined) question.orderIndex = input.orderIndex;
  if (input.explanation !== undefined) question.explanation = input.explanation;
  await em.flush();
  return questionJson(question);
}

export async function deleteQuestion({ em }: Pick<ServiceDeps, 'em'>, user: AuthUser, questionId: string): Promise<void> {
  const { question, quiz } = await loadManagedQuestion(em, questionId, user);
  if ((await attemptCount(em, quiz.id)) > 0) throw conflict('Students have attempted this quiz; its questions can no longer be deleted');
  if (quiz.isPublished && (await questionCount(em, quiz.id)) === 1) throw conflict('A published quiz keeps at least one question; unpublish it first');
  await em.nativeDelete(QuizQuestion, { id: question.id });
}

export function attemptSummaryJson(row: AttemptSummaryRow) {
  return {
    id: row.id,
    quizId: row.quiz_id,
    enrollmentId: row.enrollment_id,
    studentId: row.student_id,
    studentName: row.student_name,
    attemptNumber: row.attempt_number,
    status: row.status,
    startedAt: toIso(row.started_at),
    deadline: iso(row.deadline),
    submittedAt: iso(row.submitted_at),
    gradedAt: iso(row.graded_at),
    score: decimal(row.score),
    maxScore: decimal(row.max_score),
    percentage: decimal(row.percentage),
    isPassed: row.is_passed,
    autoSubmitted: row.auto_submitted,
  };
}

/** `GET /quizzes/:id/attempts`: an enrollee's own attempts; every attempt for managers. */
export async function listAttempts({ em }: Pick<ServiceDeps, 'em'>, user: AuthUser, quizId: string, query: { page: number; limit: number }) {
  const { quiz, access } = await loadQuiz(em, quizId, user);
  if (!access.isManager && !access.enrollment) throw forbidden('Enroll in the course to see your attempts');
  const { rows, total } = await attemptSummaryPage(em, quiz.id, access.isManager ? null : access.enrollment!.id, {
    limit: query.limit,
    offset: (query.page - 1) * query.limit,
  });
  return { items: rows.map(attemptSummaryJson), total, page: query.page, limit: query.limit };
}

interface StoredResult {
  questionId: string;
  points: number;
  maxPoints: number;
  correct: boolean;
  answer: unknown;
}

/**
 * Per-question statistics over graded attempts: how answers are distributed (option ids,
 * true/false, normalised short answers), the share answered correctly, and the average score.
 */
export function computeQuizStats(
  questions: Array<{ id: string; questionText: string; questionType: QuestionType; options: ChoiceOption[] | null }>,
  results: StoredResult[][],
  percentages: number[],
) {
  const perQuestion = questions.map((question) => {
    const answered = results.map((attempt) => attempt.find((result) => result.questionId === question.id)).filter((result): result is StoredResult => !!result);
    const counts = emptyDistribution(question);
    let unanswered = 0;
    for (const result of answered) {
      if (result.answer === null || result.answer === undefined) {
        unanswered++;
      } else if (Array.isArray(result.answer)) {
        for (const id of result.answer as string[]) counts.set(id, (counts.get(id) ?? 0) + 1);
      } else {
        const key = typeof result.answer === 'string' ? normalizeText(result.answer).toLowerCase() : JSON.stringify(result.answer);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    const correct = answered.filter((result) => result.correct).length;
    return {
      questionId: question.id,
      questionText: question.questionText,
      questionType: question.questionType,
      answers: answered.length,
      unanswered,
      correct,
      shareCorrect: answered.length ? Math.round((correct / answered.length) * 10000) / 10000 : 0,
      distribution: Object.fromEntries(counts),
    };
  });
  const averagePercentage = percentages.length ? Math.round((percentages.reduce((sum, value) => sum + value, 0) / percentages.length) * 100) / 100 : 0;
  return { gradedAttempts: percentages.length, averagePercentage, questions: perQuestion };
}

async function statsFor(em: EntityManager, quiz: IQuiz) {
  const [questions, attempts] = await Promise.all([
    em.find(QuizQuestion, { quiz: quiz.id }, { orderBy: { orderIndex: 'asc', createdAt: 'asc' } }),
    gradedResults<StoredResult>(em, quiz.id),
  ]);
  const stats = computeQuizStats(
    questions.map((question) => ({
      id: question.id,
      questionText: question.questionText,
      questionType: question.questionType,
      options: question.options as ChoiceOption[] | null,
    })),
    attempts.map((attempt) => attempt.results?.questions ?? []),
    attempts.map((attempt) => Number(attempt.percentage)),
  );
  const passed = attempts.filter((attempt) => attempt.is_passed).length;
  return { quizId: quiz.id, title: quiz.title, passRate: attempts.length ? Math.round((passed / attempts.length) * 10000) / 10000 : 0, ...stats };
}

/** `GET /quizzes/:id/stats` (owner, admin). */
export async function getQuizStats({ em }: Pick<ServiceDeps, 'em'>, user: AuthUser, quizId: string) {
  const { quiz } = await loadManagedQuiz(em, quizId, user);
  return statsFor(em, quiz);
}

/** Quiz statistics of every quiz of a course, for the dashboard snapshot. */
export async function courseQuizStats(em: EntityManager, courseId: string) {
  const quizzes = await em.find(Quiz, { lesson: { course: courseId } }, { orderBy: { createdAt: 'asc' } });
  const stats = [];
  for (const quiz of quizzes) {
    const { questions, ...summary } = await statsFor(em, quiz);
    stats.push({ ...summary, questionCount: questions.length, lessonId: quiz.lesson!.id });
  }
  return stats;
}
