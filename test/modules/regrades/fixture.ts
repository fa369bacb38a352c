import type { App } from '../../../server/app.js';
import { CourseJson, EnrollmentJson, LessonJson } from '../../../server/modules/learning.schemas.js';
import { createQuestion, createQuiz, updateQuiz } from '../../../server/modules/quizzes/quizzes.service.js';
import { startAttempt, submitAttempt } from '../../../server/modules/attempts/attempts.service.js';
import { bodyOf, call } from '../../helpers/http.js';
import { asAuth } from '../../helpers/quizzes.js';
import type { TestUser } from '../../helpers/users.js';

/**
 * A one-lesson course whose graded quiz (passing score 60) has a wrong key: the true/false
 * question (2 points) says `true` where the answer is `false`; the multiple choice (1 point,
 * `a` right) and the short answer (1 point, "Paris") are right. Maximum 4; a pass needs 3.
 */
export async function wrongKeyQuiz(app: App, owner: TestUser, students: TestUser[]) {
  const course = bodyOf(await call(app, 'POST', '/api/courses', owner, { title: 'Regrade course', isPublished: true }), 201, CourseJson);
  const lesson = bodyOf(await call(app, 'POST', `/api/courses/${course.id}/lessons`, owner, { title: 'Quiz lesson', lessonType: 'quiz' }), 201, LessonJson);
  const enrollments = new Map<string, string>();
  for (const student of students) {
    enrollments.set(student.id, bodyOf(await call(app, 'POST', `/api/courses/${course.id}/enroll`, student), 201, EnrollmentJson).id);
  }
  const deps = app.forkDeps();
  const quiz = await createQuiz(deps, asAuth(owner), lesson.id, { title: 'Wrong key', quizType: 'graded', passingScore: 60, maxAttempts: 3 });
  const tf = await createQuestion(deps, asAuth(owner), quiz.id, {
    questionText: 'Is the sun cold?',
    questionType: 'true_false',
    correctAnswer: true,
    points: 2,
  });
  const mc = await createQuestion(deps, asAuth(owner), quiz.id, {
    questionText: 'Which is a planet?',
    questionType: 'multiple_choice',
    points: 1,
    options: [
      { id: 'a', text: 'Mars', isCorrect: true },
      { id: 'b', text: 'The Moon', isCorrect: false },
    ],
  });
  const sa = await createQuestion(deps, asAuth(owner), quiz.id, {
    questionText: 'Capital of France?',
    questionType: 'short_answer',
    points: 1,
    correctAnswer: { accepted: ['Paris'] },
  });
  await updateQuiz(deps, asAuth(owner), quiz.id, { isPublished: true });
  return { course, lesson, quiz, tf, mc, sa, enrollments };
}

/** How a student answers, and its result before and after the key is fixed (`tf` → false). */
export const PATTERNS = {
  /** Right all along: fails under the wrong key, passes once fixed. */
  newlyPassing: {
    answers: { tf: false, mc: ['a'], sa: 'paris' },
    before: { score: 2, percentage: 50, isPassed: false },
    after: { score: 4, percentage: 100, isPassed: true },
  },
  /** Passed thanks to the wrong key; fails once fixed. */
  nowFailing: {
    answers: { tf: true, mc: ['a'], sa: 'Paris' },
    before: { score: 4, percentage: 100, isPassed: true },
    after: { score: 2, percentage: 50, isPassed: false },
  },
  /** Did not answer the true/false question: nothing changes. */
  unchanged: {
    answers: { mc: ['a'], sa: ' PARIS ' },
    before: { score: 2, percentage: 50, isPassed: false },
    after: { score: 2, percentage: 50, isPassed: false },
  },
  /** Loses points, fails either way. */
  down: {
    answers: { tf: true, mc: ['b'], sa: 'Lyon' },
    before: { score: 2, percentage: 50, isPassed: false },
    after: { score: 0, percentage: 0, isPassed: false },
  },
  /** Gains points, fails either way. */
  up: {
    answers: { tf: false, mc: ['b'], sa: 'Lyon' },
    before: { score: 0, percentage: 0, isPassed: false },
    after: { score: 2, percentage: 50, isPassed: false },
  },
} as const;
export type Pattern = keyof typeof PATTERNS;

/** Starts and submits one attempt with the pattern's answers, with the app's own deps (real jobs: certificates are queued). */
export async function submitPattern(app: App, student: TestUser, ids: { quizId: string; tf: string; mc: string; sa: string }, pattern: Pattern) {
  const { attempt } = await startAttempt(app.forkDeps(), asAuth(student), ids.quizId);
  const given = PATTERNS[pattern].answers as Record<string, unknown>;
  const answers: Record<string, unknown> = {};
  for (const key of ['tf', 'mc', 'sa'] as const) if (key in given) answers[ids[key]] = given[key];
  const graded = await submitAttempt(app.forkDeps(), asAuth(student), attempt.id, answers);
  return graded;
}
