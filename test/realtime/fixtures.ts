import type { App } from '../../server/app.js';
import { call } from '../helpers/http.js';
import type { TestUser } from '../helpers/users.js';

export async function ok(res: { status: number; body: any }, status = 200) {
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** A published course of `owner` with two text lessons, `students` enrolled. */
export async function courseWithLessons(app: App, owner: TestUser, students: TestUser[]) {
  const course = await ok(await call(app, 'POST', '/api/courses', owner, { title: 'Live class', isPublished: true }), 201);
  const lessons = [];
  for (const title of ['One', 'Two']) {
    lessons.push(await ok(await call(app, 'POST', `/api/courses/${course.id}/lessons`, owner, { title, lessonType: 'text' }), 201));
  }
  for (const student of students) await ok(await call(app, 'POST', `/api/courses/${course.id}/enroll`, student), 201);
  return { course, lessons };
}

/** A published graded quiz (true/false worth 1, multiple choice worth 1) on a new lesson of `courseId`. */
export async function publishedQuiz(app: App, owner: TestUser, courseId: string, settings: Record<string, unknown> = {}) {
  const lesson = await ok(await call(app, 'POST', `/api/courses/${courseId}/lessons`, owner, { title: 'Quiz', lessonType: 'quiz' }), 201);
  const quiz = await ok(
    await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, { title: 'Pop quiz', quizType: 'graded', passingScore: 50, ...settings }),
    201,
  );
  const tf = await ok(
    await call(app, 'POST', `/api/quizzes/${quiz.id}/questions`, owner, {
      questionText: 'SQL is declarative',
      questionType: 'true_false',
      correctAnswer: true,
      points: 1,
    }),
    201,
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
  );
  await ok(await call(app, 'PATCH', `/api/quizzes/${quiz.id}`, owner, { isPublished: true }));
  return { lesson, quiz, tf, mc };
}
