import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { Lesson, Quiz, QuizQuestion, type IQuiz, type IQuizQuestion, type OverdueHandling, type QuestionType, type QuizType } from '../../../entities/index.js';
import { overduePolicyError } from '../../domain/quiz-timing.js';
import type { AuthUser } from '../auth/auth-user.js';
import { normalizeQuestionContent, QuestionRuleError, type QuestionDraft } from '../../domain/question-rules.js';
import { normalizeText, type ChoiceOption } from '../../domain/grading.js';
import { emptyDistribution } from '../../domain/answer-distribution.js';
import { maxOfOptional, minOfOptional } from '../../domain/numbers.js';
import { correctQuestion, CorrectionError, type Correction } from '../../domain/regrading.js';
import { AppError, conflict, forbidden, notFound, validationError } from '../../platform/errors.js';
import { decimal, iso, toIso } from '../../platform/schemas.js';
import type { ServiceDeps } from '../deps.js';
import { accessOfColumns, accessTo, assertVisible, type CourseAccess } from '../courses/courses.access.js';
import {
  activeRegradeOf,
  attemptCount,
  touchRunningAttempts,
  attemptSummaryPage,
  launchQuizId,
  nextQuestionIndex,
  questionReadRows,
  quizReadRow,
  quizItemSums,
  quizPercentageSums,
  itemSumsParts,
  type AttemptSummaryRow,
  type QuestionSumsRow,
  type StatsAttempts,
  type StatsSelection,
} from './quizzes.queries.js';
import { countAnswers, emptyItemSums, itemStatistics } from '../../domain/item-statistics.js';
import { pageOf, pageWindow, type PageQuery } from '../../platform/paging.js';

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
    keyVersion: quiz.keyVersion,
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
    keyVersion: row.key_version,
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

/**
 * Edits a question. Once its quiz has attempts, only a key correction is taken (`correctQuestion`:
 * the answer key, the points, the explanation); past grades move only when a regrade is run.
 */
export async function updateQuestion({ em }: Pick<ServiceDeps, 'em'>, user: AuthUser, questionId: string, input: QuestionInput) {
  const { question, quiz } = await loadManagedQuestion(em, questionId, user);
  if ((await attemptCount(em, quiz.id)) > 0) return correctAnsweredQuestion(em, question, input);
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

/**
 * A correction of a question students have answered (409 `QUESTION_FROZEN` for a change of what
 * they answered, 400 for a malformed key). A changed key or points bumps the quiz's `key_version`
 * in the same transaction, under the quiz row's lock: a regrade being requested (which locks it
 * too) sees either both or neither. The same transaction gives running attempts a new row version,
 * so a grade computed under the old key is not written after it (`writeGrade`): grades are either
 * in before the correction (and the regrade fixes them) or computed under the new key. Refused while a regrade of the quiz is queued or running (409 `REGRADE_BLOCKED`):
 * the regrade grades with one key throughout.
 */
async function correctAnsweredQuestion(em: EntityManager, question: IQuizQuestion, input: QuestionInput) {
  let correction: Correction;
  try {
    correction = correctQuestion(
      {
        questionText: question.questionText,
        questionType: question.questionType,
        points: question.points,
        options: (question.options as ChoiceOption[] | null) ?? null,
        correctAnswer: question.correctAnswer ?? null,
      },
      input,
    );
  } catch (error) {
    if (error instanceof CorrectionError) throw error.kind === 'frozen' ? new AppError('QUESTION_FROZEN', error.message) : validationError(error.message);
    throw error;
  }
  const quizId = question.quiz.id;
  return em.transactional(async (tx) => {
    const quiz = await tx.findOneOrFail(Quiz, { id: quizId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const current = await tx.findOneOrFail(QuizQuestion, { id: question.id }, { refresh: true });
    if (correction.keyChanged) {
      const active = await activeRegradeOf(tx, quizId);
      if (active) throw new AppError('REGRADE_BLOCKED', `A regrade of this quiz is ${active.status} (${active.id}); correct the key once it has finished`);
      current.options = correction.options;
      current.correctAnswer = correction.correctAnswer as never;
      current.points = correction.points;
      quiz.keyVersion += 1;
      await touchRunningAttempts(tx, quizId);
    }
    if (input.explanation !== undefined) current.explanation = input.explanation;
    await tx.flush();
    return questionJson(current);
  });
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
export async function listAttempts({ em }: Pick<ServiceDeps, 'em'>, user: AuthUser, quizId: string, query: PageQuery) {
  const { quiz, access } = await loadQuiz(em, quizId, user);
  if (!access.isManager && !access.enrollment) throw forbidden('Enroll in the course to see your attempts');
  const { rows, total } = await attemptSummaryPage(em, quiz.id, access.isManager ? null : access.enrollment!.id, pageWindow(query));
  return pageOf(rows.map(attemptSummaryJson), total, query);
}

export interface StatsQuery {
  attempts?: StatsAttempts;
  launchId?: string;
}

/** Short answers are counted trimmed, with inner white space collapsed, lower-cased. */
const normalizeShortAnswer = (answer: string) => normalizeText(answer).toLowerCase();

/** The keys an answer as stored counts under: option ids, `true`/`false`, or the normalised text. */
function answerKeys(answer: unknown): string[] {
  if (answer === null || answer === undefined) return [];
  if (Array.isArray(answer)) return answer.map(String);
  if (typeof answer === 'string') return [normalizeShortAnswer(answer)];
  return [typeof answer === 'boolean' ? String(answer) : JSON.stringify(answer)];
}

/**
 * The sums of `ItemSums` and `TestSums` from the per-(question, k) groups of `quizItemSums`: a
 * row is complete when its attempt has a result for every question somebody has (k = that count).
 */
function statisticsSums(questionIds: string[], groups: QuestionSumsRow[]) {
  const items = new Map(questionIds.map((id) => [id, emptyItemSums(id)]));
  const present = new Set(groups.filter((group) => items.has(group.question_id)).map((group) => group.question_id));
  const complete = { n: 0, sumT: 0, sumT2: 0 };
  let totalsFrom: string | null = null;
  for (const group of groups) {
    const item = items.get(group.question_id);
    if (!item) continue;
    item.n += group.n;
    item.sumX += group.sum_x;
    item.sumX2 += group.sum_x2;
    item.sumXT += group.sum_xt;
    item.sumT += group.sum_t;
    item.sumT2 += group.sum_t2;
    item.sumFraction += group.sum_fraction;
    item.nFraction += group.n_fraction;
    item.minMaxPoints = minOfOptional(item.minMaxPoints, group.min_max_points);
    item.maxMaxPoints = maxOfOptional(item.maxMaxPoints, group.max_max_points);
    item.rightWrong &&= group.right_wrong;
    if (group.k === present.size) {
      item.completeSumX += group.sum_x;
      item.completeSumX2 += group.sum_x2;
      // Every complete attempt has a cell of each present question: one question's group has their totals.
      totalsFrom ??= group.question_id;
      if (totalsFrom === group.question_id) Object.assign(complete, { n: group.n, sumT: group.sum_t, sumT2: group.sum_t2 });
    }
  }
  return { items: questionIds.map((id) => items.get(id)!), complete };
}

/**
 * Statistics over the selected graded attempts (SPEC §8): the answer distribution, share correct
 * and pass rate, and the item analysis of server/domain/item-statistics.ts, all from sums
 * PostgreSQL aggregates over the stored results (`quizPercentageSums`, `quizItemSums`).
 */
async function statsFor(em: EntityManager, quiz: Pick<IQuiz, 'id' | 'title'>, selection: StatsSelection) {
  const [questions, percentages] = await Promise.all([questionReadRows(em, quiz.id), quizPercentageSums(em, selection)]);
  const sums = await quizItemSums(
    em,
    selection,
    questions.map((question) => question.id),
    itemSumsParts(percentages.n, percentages.parallel_workers),
  );
  // Maps keyed by question id and answer text: user text never indexes a plain object.
  const counts = new Map<string, { correct: number; unanswered: number }>();
  for (const group of sums.questions) {
    const count = counts.get(group.question_id) ?? { correct: 0, unanswered: 0 };
    counts.set(group.question_id, { correct: count.correct + group.correct, unanswered: count.unanswered + group.unanswered });
  }
  const answers = new Map<string, Array<{ answer: string; count: number }>>();
  for (const row of sums.answers) {
    const list = answers.get(row.question_id) ?? [];
    for (const answer of answerKeys(row.answer)) list.push({ answer, count: row.count });
    answers.set(row.question_id, list);
  }
  const { items, complete } = statisticsSums(
    questions.map((question) => question.id),
    sums.questions,
  );
  const figures = itemStatistics({
    items,
    complete,
    percentages: { n: percentages.n, sum: percentages.sum_percentage, sumSquares: percentages.sum_percentage2, median: percentages.median_percentage },
  });
  const perQuestion = questions.map((question, index) => {
    const answered = items[index].n;
    const { correct, unanswered } = counts.get(question.id) ?? { correct: 0, unanswered: 0 };
    const seed = emptyDistribution({ questionType: question.question_type, options: question.options });
    const merged = countAnswers(seed, answers.get(question.id) ?? []);
    // The options keep their order; other answers follow, most frequent first, ties by text.
    const others = merged.slice(seed.size).sort((a, b) => b.count - a.count || (a.answer < b.answer ? -1 : a.answer > b.answer ? 1 : 0));
    const answerCounts = [...merged.slice(0, seed.size), ...others];
    const item = figures.items[index];
    return {
      questionId: question.id,
      questionText: question.question_text,
      questionType: question.question_type,
      answers: answered,
      unanswered,
      correct,
      shareCorrect: answered ? Math.round((correct / answered) * 10000) / 10000 : 0,
      // Object.fromEntries defines every key as an own property, `__proto__` included.
      distribution: Object.fromEntries(answerCounts.map((entry) => [entry.answer, entry.count])),
      facility: item.facility,
      discrimination: item.discrimination,
      answerCounts,
    };
  });
  return {
    quizId: quiz.id,
    title: quiz.title,
    attempts: selection.attempts,
    launchId: selection.launchId,
    gradedAttempts: percentages.n,
    averagePercentage: percentages.n ? Math.round((percentages.sum_percentage / percentages.n) * 100) / 100 : 0,
    passRate: percentages.n ? Math.round((percentages.passed / percentages.n) * 10000) / 10000 : 0,
    percentages: figures.percentages,
    reliability: figures.reliability,
    questions: perQuestion,
  };
}

/** `GET /quizzes/:id/stats` (owner, admin); `launchId` must name a launch of this quiz. */
export async function getQuizStats({ em }: Pick<ServiceDeps, 'em'>, user: AuthUser, quizId: string, query: StatsQuery = {}) {
  const { quiz } = await loadManagedQuiz(em, quizId, user);
  const launchId = query.launchId ?? null;
  if (launchId !== null && (await launchQuizId(em, launchId)) !== quiz.id) throw notFound('Launch of this quiz');
  return statsFor(em, quiz, { quizId: quiz.id, attempts: query.attempts ?? 'all', launchId });
}

/** Quiz statistics of every quiz of a course, for the dashboard snapshot. */
export async function courseQuizStats(em: EntityManager, courseId: string) {
  const quizzes = await em.find(Quiz, { lesson: { course: courseId } }, { orderBy: { createdAt: 'asc' } });
  const stats = [];
  for (const quiz of quizzes) {
    const { quizId, title, gradedAttempts, averagePercentage, passRate, questions } = await statsFor(em, quiz, {
      quizId: quiz.id,
      attempts: 'all',
      launchId: null,
    });
    stats.push({ quizId, title, gradedAttempts, averagePercentage, passRate, questionCount: questions.length, lessonId: quiz.lesson!.id });
  }
  return stats;
}
