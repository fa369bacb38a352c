import type { EntityManager } from '@mikro-orm/postgresql';
import { Lesson, Quiz, QuizQuestion, type IQuiz, type IQuizQuestion, type QuestionType, type QuizType } from '../../../entities/index.js';
import type { AuthUser } from '../../plugins/auth.js';
import { normalizeQuestionContent, QuestionRuleError, type QuestionDraft } from '../../domain/question-rules.js';
import { normalizeText, type ChoiceOption } from '../../domain/grading.js';
import { conflict, forbidden, notFound, validationError } from '../../errors.js';
import { decimal, iso, toIso } from '../../schemas/common.js';
import { accessTo, type CourseAccess } from '../courses/course-access.js';

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
  if (!quiz.isPublished && !access.isManager) throw notFound('Quiz');
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
    questionCount,
    createdAt: toIso(quiz.createdAt),
    updatedAt: toIso(quiz.updatedAt),
    ...(questions ? { questions: questions.map(questionJson) } : {}),
  };
}

/**
 * `GET /quizzes/:id`: managers get everything; enrollees get the settings and `questionCount`,
 * never the questions or their answers (they see questions through an attempt).
 */
export async function getQuiz(em: EntityManager, user: AuthUser, quizId: string) {
  const { quiz, access } = await loadQuiz(em, quizId, user);
  if (!access.isManager && !access.isEnrollee) throw forbidden('Enroll in the course to see its quizzes');
  return quizJson(em, quiz, access.isManager);
}

async function questionCount(em: EntityManager, quizId: string): Promise<number> {
  return em.count(QuizQuestion, { quiz: quizId });
}

async function attemptCount(em: EntityManager, quizId: string): Promise<number> {
  const [row] = await em.execute<Array<{ n: number }>>('SELECT count(*)::int AS n FROM quiz_attempts WHERE quiz_id = ?', [quizId]);
  return row!.n;
}

export async function createQuiz(em: EntityManager, user: AuthUser, lessonId: string, input: QuizSettings & { title: string }) {
  const lesson = await em.findOne(Lesson, { id: lessonId }, { populate: ['course'] });
  if (!lesson) throw notFound('Lesson');
  const access = await accessTo(em, lesson.course.$, user);
  if (!access.isManager) throw forbidden('Only the course owner or an admin may add quizzes');
  if (input.isPublished) throw conflict('A quiz without questions cannot be published; add questions first');
  const existing = await em.count(Quiz, { lesson: lessonId });
  if (existing > 0) throw conflict('This lesson already has a quiz');
  const quiz = em.create(Quiz, { ...input, lesson });
  await em.flush(); // the unique lesson index settles a race between two creates (409)
  return quizJson(em, quiz, true);
}

export async function updateQuiz(em: EntityManager, user: AuthUser, quizId: string, input: QuizSettings) {
  const { quiz } = await loadManagedQuiz(em, quizId, user);
  if (input.isPublished && !quiz.isPublished && (await questionCount(em, quiz.id)) === 0) {
    throw conflict('A quiz without questions cannot be published; add questions first');
  }
  // Running attempts keep the deadline fixed at their start; settings apply to new attempts.
  em.assign(quiz, input);
  await em.flush();
  return quizJson(em, quiz, true);
}

export async function deleteQuiz(em: EntityManager, user: AuthUser, quizId: string): Promise<void> {
  const { quiz } = await loadManagedQuiz(em, quizId, user);
  if ((await attemptCount(em, quiz.id)) > 0) throw conflict('Students have attempted this quiz; it can no longer be deleted (unpublish it instead)');
  await em.execute('DELETE FROM quizzes WHERE id = ?', [quiz.id]);
}

function content(draft: QuestionDraft) {
  try {
    return normalizeQuestionContent(draft);
  } catch (error) {
    if (error instanceof QuestionRuleError) throw validationError(error.message);
    throw error;
  }
}

export async function createQuestion(em: EntityManager, user: AuthUser, quizId: string, input: QuestionInput & { questionText: string; questionType: QuestionType }) {
  const { quiz } = await loadManagedQuiz(em, quizId, user);
  const normalized = content({ questionType: input.questionType, options: input.options, correctAnswer: input.correctAnswer });
  const [next] = await em.execute<Array<{ n: number }>>('SELECT coalesce(max(order_index) + 1, 0)::int AS n FROM quiz_questions WHERE quiz_id = ?', [quiz.id]);
  const question = em.create(QuizQuestion, {
    quiz,
    questionText: input.questionText,
    questionType: input.questionType,
    points: input.points ?? 1,
    orderIndex: input.orderIndex ?? next!.n,
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
export async function updateQuestion(em: EntityManager, user: AuthUser, questionId: string, input: QuestionInput) {
  const { question, quiz } = await loadManagedQuestion(em, questionId, user);
  if ((await attemptCount(em, quiz.id)) > 0) throw conflict('Students have attempted this quiz; its questions can no longer be edited');
  const questionType = input.questionType ?? question.questionType;
  const touchesContent = input.questionType !== undefined || input.options !== undefined || input.correctAnswer !== undefined;
  if (touchesContent) {
    const normalized = content({
      questionType,
      options: input.options !== undefined ? input.options : input.questionType !== undefined ? undefined : (question.options as ChoiceOption[] | null),
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

export async function deleteQuestion(em: EntityManager, user: AuthUser, questionId: string): Promise<void> {
  const { question, quiz } = await loadManagedQuestion(em, questionId, user);
  if ((await attemptCount(em, quiz.id)) > 0) throw conflict('Students have attempted this quiz; its questions can no longer be deleted');
  if (quiz.isPublished && (await questionCount(em, quiz.id)) === 1) throw conflict('A published quiz keeps at least one question; unpublish it first');
  await em.execute('DELETE FROM quiz_questions WHERE id = ?', [question.id]);
}

interface AttemptSummaryRow {
  id: string;
  quiz_id: string;
  enrollment_id: string;
  student_id: string;
  student_name: string;
  attempt_number: number;
  status: 'in_progress' | 'submitted' | 'graded';
  started_at: string;
  deadline: string | null;
  submitted_at: string | null;
  graded_at: string | null;
  score: string | null;
  max_score: string | null;
  percentage: string | null;
  is_passed: boolean | null;
  auto_submitted: boolean;
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
export async function listAttempts(em: EntityManager, user: AuthUser, quizId: string, query: { page: number; limit: number }) {
  const { quiz, access } = await loadQuiz(em, quizId, user);
  if (!access.isManager && !access.enrollment) throw forbidden('Enroll in the course to see your attempts');
  const where = access.isManager ? 'a.quiz_id = ?' : 'a.quiz_id = ? AND a.enrollment_id = ?';
  const params = access.isManager ? [quiz.id] : [quiz.id, access.enrollment!.id];
  const [rows, [count]] = await Promise.all([
    em.execute<AttemptSummaryRow[]>(
      `SELECT a.*, e.student_id, u.full_name AS student_name
         FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id JOIN users u ON u.id = e.student_id
        WHERE ${where} ORDER BY a.started_at DESC, a.id LIMIT ? OFFSET ?`,
      [...params, query.limit, (query.page - 1) * query.limit],
    ),
    em.execute<Array<{ total: number }>>(`SELECT count(*)::int AS total FROM quiz_attempts a WHERE ${where}`, params),
  ]);
  return { items: rows.map(attemptSummaryJson), total: count!.total, page: query.page, limit: query.limit };
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
export function computeQuizStats(questions: Array<{ id: string; questionText: string; questionType: QuestionType; options: ChoiceOption[] | null }>, results: StoredResult[][], percentages: number[]) {
  const perQuestion = questions.map((question) => {
    const answered = results.map((attempt) => attempt.find((result) => result.questionId === question.id)).filter((result): result is StoredResult => !!result);
    const distribution: Record<string, number> = {};
    if (question.questionType === 'multiple_choice') for (const option of question.options ?? []) distribution[option.id] = 0;
    if (question.questionType === 'true_false') Object.assign(distribution, { true: 0, false: 0 });
    let unanswered = 0;
    for (const result of answered) {
      if (result.answer === null || result.answer === undefined) {
        unanswered++;
      } else if (Array.isArray(result.answer)) {
        for (const id of result.answer as string[]) distribution[id] = (distribution[id] ?? 0) + 1;
      } else {
        const key = typeof result.answer === 'string' ? normalizeText(result.answer).toLowerCase() : String(result.answer);
        distribution[key] = (distribution[key] ?? 0) + 1;
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
      distribution,
    };
  });
  const averagePercentage = percentages.length ? Math.round((percentages.reduce((sum, value) => sum + value, 0) / percentages.length) * 100) / 100 : 0;
  return { gradedAttempts: percentages.length, averagePercentage, questions: perQuestion };
}

async function statsFor(em: EntityManager, quiz: IQuiz) {
  const [questions, attempts] = await Promise.all([
    em.find(QuizQuestion, { quiz: quiz.id }, { orderBy: { orderIndex: 'asc', createdAt: 'asc' } }),
    em.execute<Array<{ results: { questions: StoredResult[] } | null; percentage: string; is_passed: boolean }>>(
      `SELECT results, percentage, is_passed FROM quiz_attempts WHERE quiz_id = ? AND status = 'graded'`,
      [quiz.id],
    ),
  ]);
  const stats = computeQuizStats(
    questions.map((question) => ({ id: question.id, questionText: question.questionText, questionType: question.questionType, options: question.options as ChoiceOption[] | null })),
    attempts.map((attempt) => attempt.results?.questions ?? []),
    attempts.map((attempt) => Number(attempt.percentage)),
  );
  const passed = attempts.filter((attempt) => attempt.is_passed).length;
  return { quizId: quiz.id, title: quiz.title, passRate: attempts.length ? Math.round((passed / attempts.length) * 10000) / 10000 : 0, ...stats };
}

/** `GET /quizzes/:id/stats` (owner, admin). */
export async function getQuizStats(em: EntityManager, user: AuthUser, quizId: string) {
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
