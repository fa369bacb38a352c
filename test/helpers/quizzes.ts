import type { Static, TSchema } from 'typebox';
import { CourseJson, EnrollmentJson, LessonJson } from '../../server/modules/learning.schemas.js';
import { recordingJobs } from './jobs.js';
import type { App } from '../../server/app.js';
import type { AuthUser } from '../../server/plugins/auth.js';
import type { Publisher, ServiceDeps } from '../../server/modules/deps.js';
import { createQuestion, createQuiz, updateQuiz, type QuizSettings } from '../../server/modules/quizzes/quizzes.service.js';
import { bodyOf, call, type Reply } from './http.js';
import { recordingPublisher } from './publisher.js';
import type { TestUser } from './users.js';

export const asAuth = (user: TestUser): AuthUser => ({ id: user.id, role: user.user.role });

async function ok<S extends TSchema>(res: Reply, status: number, schema: S): Promise<Static<S>>;
async function ok(res: Reply, status?: number): Promise<unknown>;
async function ok(res: Reply, status = 200, schema?: TSchema): Promise<unknown> {
  if (schema) return bodyOf(res, status, schema);
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * A published course with one lesson and a published quiz of two questions (a true/false worth 1,
 * a multiple choice worth 3), the course enrolled by `students`. The course and enrollments go
 * through HTTP (they are not under test here), the quiz through the quizzes service.
 */
export async function publishedQuiz(app: App, owner: TestUser, students: TestUser[], settings: QuizSettings = {}) {
  const course = await ok(await call(app, 'POST', '/api/courses', owner, { title: 'Service course', isPublished: true }), 201, CourseJson);
  const lesson = await ok(await call(app, 'POST', `/api/courses/${course.id}/lessons`, owner, { title: 'Quiz lesson', lessonType: 'quiz' }), 201, LessonJson);
  for (const student of students) await ok(await call(app, 'POST', `/api/courses/${course.id}/enroll`, student), 201, EnrollmentJson);
  const deps = app.forkDeps();
  const quiz = await createQuiz(deps, asAuth(owner), lesson.id, { title: 'Service quiz', quizType: 'graded', passingScore: 50, ...settings });
  const tf = await createQuestion(deps, asAuth(owner), quiz.id, { questionText: 'True?', questionType: 'true_false', correctAnswer: true, points: 1 });
  const mc = await createQuestion(deps, asAuth(owner), quiz.id, {
    questionText: 'Which?',
    questionType: 'multiple_choice',
    points: 3,
    options: [
      { id: 'a', text: 'A', isCorrect: true },
      { id: 'b', text: 'B', isCorrect: false },
    ],
  });
  await updateQuiz(deps, asAuth(owner), quiz.id, { isPublished: true });
  return { course, lesson, quiz, tf, mc };
}

/** What a flow reported, in order across methods (`log`), and by method (`calls`). */
export function orderedPublisher() {
  const log: string[] = [];
  const tap = new Proxy({} as Publisher, {
    get: (_target, method) => () => {
      log.push(String(method));
    },
  });
  return Object.assign(recordingPublisher(tap), { log });
}

/** Service deps over the app's, with a fresh EntityManager, recording publisher and jobs, and a clock that can be moved. */
export function serviceDeps(app: App, offsetMs = 0) {
  const publisher = orderedPublisher();
  const jobs = recordingJobs();
  const deps: ServiceDeps = { ...app.forkDeps(), publisher, jobs, clock: { now: () => new Date(Date.now() + offsetMs) } };
  return { deps, publisher, jobs };
}
