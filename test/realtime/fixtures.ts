import { randomUUID } from 'node:crypto';
import type { Static, TSchema } from 'typebox';
import type { App } from '../../server/app.js';
import { CourseJson, LessonJson, EnrollmentJson } from '../../server/modules/learning.schemas.js';
import { QuestionJson, QuizJson } from '../../server/modules/quizzes/quizzes.schemas.js';
import { bodyOf, call } from '../helpers/http.js';
import type { TestUser } from '../helpers/users.js';

/**
 * The body of a reply that must have `status`: with a schema (the route's response schema) it is
 * checked against it and typed by it; without one it is only the status that is checked.
 */
export async function ok<S extends TSchema>(res: { status: number; body: unknown }, status: number, schema: S): Promise<Static<S>>;
export async function ok(res: { status: number; body: unknown }, status?: number): Promise<unknown>;
export async function ok(res: { status: number; body: unknown }, status = 200, schema?: TSchema): Promise<unknown> {
  if (schema) return bodyOf({ headers: {}, ...res }, status, schema);
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * The 200 body of GET /api/courses/:id/dashboard, the part the tests read. The route's
 * `DashboardJson` is not exported by server/modules/dashboard/dashboard.routes.ts.
 */
export interface DashboardView {
  students: Array<{ studentId: string; online: boolean; status: string; progressPercentage: number }>;
  online: string[];
  recentGrades: Array<{ attemptId: string; quizId: string; studentId: string; percentage: number; gradedAt: string; autoSubmitted: boolean }>;
  runningAttempts: Array<{ attemptId: string; quizId: string; studentId: string; startedAt: string; deadline: string | null }>;
}

/** The dashboard of `courseId` as `as` sees it (200), typed by `DashboardView`. */
export async function dashboardOf(app: App, courseId: string, as: { headers: Record<string, string> }): Promise<DashboardView> {
  const res = await call<DashboardView>(app, 'GET', `/api/courses/${courseId}/dashboard`, as);
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A published course of `owner` with two text lessons, `students` enrolled. */
export async function courseWithLessons(app: App, owner: TestUser, students: TestUser[]) {
  const course = await ok(await call(app, 'POST', '/api/courses', owner, { title: 'Live class', isPublished: true }), 201, CourseJson);
  const lessons: Array<Static<typeof LessonJson>> = [];
  for (const title of ['One', 'Two']) {
    lessons.push(await ok(await call(app, 'POST', `/api/courses/${course.id}/lessons`, owner, { title, lessonType: 'text' }), 201, LessonJson));
  }
  for (const student of students) await ok(await call(app, 'POST', `/api/courses/${course.id}/enroll`, student), 201, EnrollmentJson);
  return { course, lessons };
}

/** A published graded quiz (true/false worth 1, multiple choice worth 1) on a new lesson of `courseId`. */
export async function publishedQuiz(app: App, owner: TestUser, courseId: string, settings: Record<string, unknown> = {}) {
  const lesson = await ok(await call(app, 'POST', `/api/courses/${courseId}/lessons`, owner, { title: 'Quiz', lessonType: 'quiz' }), 201, LessonJson);
  const quiz = await ok(
    await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, { title: 'Pop quiz', quizType: 'graded', passingScore: 50, ...settings }),
    201,
    QuizJson,
  );
  const tf = await ok(
    await call(app, 'POST', `/api/quizzes/${quiz.id}/questions`, owner, {
      questionText: 'SQL is declarative',
      questionType: 'true_false',
      correctAnswer: true,
      points: 1,
    }),
    201,
    QuestionJson,
  );
  const mc = await ok(
    await call(app, 'POST', `/api/quizzes/${quiz.id}/questions`, owner, {
      questionText: 'Which filters rows?',
      questionType: 'multiple_choice',
      points: 1,
      options: [
        { id: 'where', text: 'WHERE', isCorrect: true },
        { id: 'order', text: 'ORDER BY', isCorrect: false },
      ],
    }),
    201,
    QuestionJson,
  );
  await ok(await call(app, 'PATCH', `/api/quizzes/${quiz.id}`, owner, { isPublished: true }), 200, QuizJson);
  return { lesson, quiz, tf, mc };
}

/**
 * `count` students enrolled in `courseId`, written with two statements (a crowd made through the
 * API would take minutes), each with an access token.
 */
export async function enrolledCrowd(app: App, courseId: string, count: number): Promise<Array<{ id: string; token: string }>> {
  const db = app.orm.em.fork().getConnection();
  const tag = randomUUID().slice(0, 8);
  const rows: Array<{ id: string }> = await db.execute(
    `WITH crowd AS (
       INSERT INTO users (email, password_hash, full_name, role)
       SELECT 'crowd-' || ? || '-' || n || '@example.com', 'x', 'Crowd student ' || n, 'student' FROM generate_series(1, ?::int) AS n RETURNING id
     ), enrolled AS (INSERT INTO enrollments (student_id, course_id) SELECT id, ? FROM crowd)
     SELECT id FROM crowd`,
    [tag, count, courseId],
  );
  return rows.map(({ id }) => ({ id, token: app.signAccessToken({ id, role: 'student' }) }));
}
