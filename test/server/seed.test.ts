import t from '../helpers/tap.js';
import { buildApp } from '../../server/app.js';
import { createTestEnv } from '../helpers/app.js';
import { bodyOf, call } from '../helpers/http.js';
import { AttemptJson } from '../../server/modules/attempts/attempts.schemas.js';
import { Session } from '../../server/modules/auth/auth.schemas.js';
import { CourseDetailJson, EnrollmentJson } from '../../server/modules/learning.schemas.js';
import { Page } from '../../server/platform/schemas.js';
import { spawnEntry } from '../helpers/processes.js';

const env = await createTestEnv(t, 'seed');

async function seed(): Promise<{ code: number | null; output: string }> {
  const run = spawnEntry('scripts/seed.ts', env.env);
  const timer = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
  const { code } = await run.exited;
  clearTimeout(timer);
  return { code, output: run.output() };
}

async function counts() {
  const app = await buildApp(env.config);
  try {
    const [row] = await app.orm.em.getConnection().execute<Array<Record<string, number>>>(
      `SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM courses) AS courses,
              (SELECT count(*)::int FROM lessons) AS lessons, (SELECT count(*)::int FROM quizzes) AS quizzes,
              (SELECT count(*)::int FROM quiz_questions) AS questions, (SELECT count(*)::int FROM enrollments) AS enrollments`,
    );
    return row!;
  } finally {
    await app.close();
  }
}

t.test('`npm run seed` loads the demo data, which works through the API', async (t) => {
  const { code, output } = await seed();
  t.equal(code, 0, output);
  t.match(output, /created:/);
  t.match(output, 'alice@example.com / student-password');
  t.same(await counts(), { users: 5, courses: 1, lessons: 6, quizzes: 1, questions: 3, enrollments: 3 });

  const app = await buildApp(env.config);
  t.teardown(() => app.close());
  // A printed login works.
  const login = bodyOf(await call(app, 'POST', '/api/auth/login', null, { email: 'alice@example.com', password: 'student-password' }), 200, Session);
  const student = { headers: { authorization: `Bearer ${login.accessToken}` } };
  const course = bodyOf(await call(app, 'GET', '/api/courses/intro-to-sql', student), 200, CourseDetailJson);
  const enrollments = bodyOf(await call(app, 'GET', '/api/enrollments', student), 200, Page(EnrollmentJson));
  t.match(enrollments.items, [{ course: { slug: 'intro-to-sql' }, totalLessonsCount: 6 }], 'enrolled, counting every lesson');
  const quizLesson = JSON.stringify(course).match(/"quizId":"([0-9a-f-]{36})"/);
  t.ok(quizLesson, 'the outline shows the quiz');
  // The timed quiz can be started.
  const attempt = bodyOf(await call(app, 'POST', `/api/quizzes/${quizLesson![1]}/attempts`, student), 201, AttemptJson);
  t.ok(attempt.deadline);
});

t.test('a second run creates nothing and does not fail', async (t) => {
  const before = await counts();
  const { code, output } = await seed();
  t.equal(code, 0, output);
  t.match(output, 'nothing created');
  t.same(await counts(), before);
});
