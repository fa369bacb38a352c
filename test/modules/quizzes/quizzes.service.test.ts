import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { call } from '../../helpers/http.js';
import { createUser } from '../../helpers/users.js';
import { asAuth, publishedQuiz, serviceDeps } from '../../helpers/quizzes.js';
import { startAttempt, submitAttempt } from '../../../server/modules/attempts/attempts.service.js';
import { deleteQuestion, deleteQuiz, getQuiz, listAttempts, updateQuestion } from '../../../server/modules/quizzes/quizzes.service.js';

// The quiz flows called directly: who sees what (courses.access rules over the one-statement
// read), and what attempts freeze.

const { app } = await buildTestApp(t, 'quizzes-service');
const owner = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const student = await createUser(app, 'student');
const outsider = await createUser(app, 'student');

t.test('getQuiz: managers see the questions, enrollees the settings, others nothing; a draft course is 404', async (t) => {
  const { course, quiz } = await publishedQuiz(app, owner, [student]);
  const deps = app.forkDeps();
  const asOwner = await getQuiz(deps, asAuth(owner), quiz.id);
  t.equal(asOwner.questions?.length, 2);
  t.equal((await getQuiz(deps, asAuth(admin), quiz.id)).questions?.length, 2);
  const asStudent = await getQuiz(deps, asAuth(student), quiz.id);
  t.equal(asStudent.questions, undefined);
  t.equal(asStudent.questionCount, 2);
  await t.rejects(getQuiz(deps, asAuth(outsider), quiz.id), { code: 'FORBIDDEN' });

  const unpublished = await call(app, 'PATCH', `/api/courses/${course.id}`, owner, { isPublished: false });
  t.equal(unpublished.status, 200);
  await t.rejects(getQuiz(app.forkDeps(), asAuth(student), quiz.id), { code: 'NOT_FOUND', message: 'Course not found' });
  t.equal((await getQuiz(app.forkDeps(), asAuth(owner), quiz.id)).id, quiz.id, 'its managers still see it');
});

t.test('attempts freeze a quiz: its questions cannot be edited (but for key corrections) or deleted, nor the quiz', async (t) => {
  const { quiz, tf } = await publishedQuiz(app, owner, [student]);
  const { attempt } = await startAttempt(serviceDeps(app).deps, asAuth(student), quiz.id);
  await submitAttempt(serviceDeps(app).deps, asAuth(student), attempt.id);
  const deps = app.forkDeps();
  await t.rejects(updateQuestion(deps, asAuth(owner), tf.id, { questionText: 'Changed?' }), { code: 'QUESTION_FROZEN' });
  await t.rejects(deleteQuestion(deps, asAuth(owner), tf.id), { code: 'CONFLICT' });
  await t.rejects(deleteQuiz(deps, asAuth(owner), quiz.id), { code: 'CONFLICT' });

  const mine = await listAttempts(app.forkDeps(), asAuth(student), quiz.id, { page: 1, limit: 10 });
  t.match(mine, { total: 1, items: [{ id: attempt.id, studentId: student.id, status: 'graded' }] });
  await t.rejects(listAttempts(app.forkDeps(), asAuth(outsider), quiz.id, { page: 1, limit: 10 }), { code: 'FORBIDDEN' });
});

t.test('without attempts, a question and then the quiz are deleted (a published quiz keeps one question)', async (t) => {
  const { quiz, tf, mc } = await publishedQuiz(app, owner, [student]);
  const deps = app.forkDeps();
  await t.rejects(deleteQuestion(deps, asAuth(student), tf.id), { code: 'FORBIDDEN' });
  await deleteQuestion(deps, asAuth(owner), tf.id);
  await t.rejects(deleteQuestion(app.forkDeps(), asAuth(owner), mc.id), { code: 'CONFLICT' }, 'the last question of a published quiz stays');
  await deleteQuiz(app.forkDeps(), asAuth(owner), quiz.id);
  await t.rejects(getQuiz(app.forkDeps(), asAuth(owner), quiz.id), { code: 'NOT_FOUND' });
  const [{ n }] = await app.orm.em.getConnection().execute<Array<{ n: number }>>('SELECT count(*)::int AS n FROM quiz_questions WHERE quiz_id = ?', [quiz.id]);
  t.equal(n, 0, 'its questions went with it');
});
