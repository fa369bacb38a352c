import { DashboardJson } from '../../../server/modules/dashboard/dashboard.schemas.js';
import t from '../../helpers/tap.js';
import pg from 'pg';
import { QueueEvents } from 'bullmq';
import { buildApp } from '../../../server/app.js';
import { createTestEnv } from '../../helpers/app.js';
import { createUser } from '../../helpers/users.js';
import { bodyOf, call, countRows, errorOf, type Reply } from '../../helpers/http.js';
import { spawnEntry } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait.js';
import { gradeAttemptNow } from '../../../server/modules/attempts/attempts.service.js';
import { deadlineJobId } from '../../../server/platform/queues/contract.js';
import type { Static } from 'typebox';
import { Page } from '../../../server/platform/schemas.js';
import { CourseDetailJson, CourseJson, EnrollmentJson, LessonJson } from '../../../server/modules/learning.schemas.js';
import { AttemptSummaryJson, QuestionJson, QuizJson, QuizStatsJson } from '../../../server/modules/quizzes/quizzes.schemas.js';
import { AttemptJson, SavedAnswerJson } from '../../../server/modules/attempts/attempts.schemas.js';

const env = await createTestEnv(t, 'quizzes', { QUIZ_GRACE_MS: '300', SWEEP_INTERVAL_MS: '3600000' });
const app = await buildApp(env.config);
env.defer(() => app.close());

const AttemptPage = Page(AttemptSummaryJson);
/** The part of the dashboard read here: its schema (DashboardJson) is not exported by dashboard.routes.ts. */
/** A start that made (201) or resumed (200) an attempt. */
const attemptOf = (reply: Reply) => bodyOf(reply, reply.status === 201 ? 201 : 200, AttemptJson);

const owner = await createUser(app, 'instructor');
const otherInstructor = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const student = await createUser(app, 'student');
const classmate = await createUser(app, 'student');
const outsider = await createUser(app, 'student');

/** A published course with one lesson, enrolled by `student` and `classmate`. */
async function courseWithLesson() {
  const course = bodyOf(await call(app, 'POST', '/api/courses', owner, { title: 'Quiz course', isPublished: true }), 201, CourseJson);
  const lesson = bodyOf(await call(app, 'POST', `/api/courses/${course.id}/lessons`, owner, { title: 'Quiz lesson', lessonType: 'quiz' }), 201, LessonJson);
  bodyOf(await call(app, 'POST', `/api/courses/${course.id}/enroll`, student), 201, EnrollmentJson);
  bodyOf(await call(app, 'POST', `/api/courses/${course.id}/enroll`, classmate), 201, EnrollmentJson);
  return { course, lesson };
}

/** A published quiz with a multiple-choice, a true/false and a short-answer question (6 points). */
async function publishedQuiz(settings: Record<string, unknown> = {}) {
  const { course, lesson } = await courseWithLesson();
  const quiz = bodyOf(
    await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, { title: 'Pop quiz', quizType: 'graded', passingScore: 50, ...settings }),
    201,
    QuizJson,
  );
  const mc = bodyOf(
    await call(app, 'POST', `/api/quizzes/${quiz.id}/questions`, owner, {
      questionText: 'Which filters rows?',
      questionType: 'multiple_choice',
      points: 3,
      options: [
        { id: 'where', text: 'WHERE', isCorrect: true },
        { id: 'order', text: 'ORDER BY', isCorrect: false },
        { id: 'group', text: 'GROUP BY', isCorrect: false },
      ],
      explanation: 'WHERE filters.',
    }),
    201,
    QuestionJson,
  );
  const tf = bodyOf(
    await call(app, 'POST', `/api/quizzes/${quiz.id}/questions`, owner, {
      questionText: 'SELECT * returns all columns',
      questionType: 'true_false',
      correctAnswer: true,
      points: 1,
    }),
    201,
    QuestionJson,
  );
  const sa = bodyOf(
    await call(app, 'POST', `/api/quizzes/${quiz.id}/questions`, owner, {
      questionText: 'Remove duplicates?',
      questionType: 'short_answer',
      correctAnswer: { accepted: ['DISTINCT'] },
      points: 2,
    }),
    201,
    QuestionJson,
  );
  bodyOf(await call(app, 'PATCH', `/api/quizzes/${quiz.id}`, owner, { isPublished: true }), 200, QuizJson);
  return { course, lesson, quiz, mc, tf, sa };
}

/** `{"a": {"a": … {}}}`, `depth` levels. */
function nestedObject(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

const SECRET_KEYS = ['isCorrect', 'correctAnswer', 'explanation'];
function findSecrets(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => findSecrets(item, `${path}[${index}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, inner]) => (SECRET_KEYS.includes(key) ? [`${path}.${key}`] : findSecrets(inner, `${path}.${key}`)));
  }
  return [];
}

t.test('authoring: one quiz per lesson, per-type validation, publishing rules, roles', async (t) => {
  const { course, lesson } = await courseWithLesson();
  t.equal(
    (await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, { title: 'Q', isPublished: true })).status,
    409,
    'cannot publish without questions',
  );
  for (const [who, as, status] of [
    ['anonymous', null, 401],
    ['student', student, 403],
    ['other instructor', otherInstructor, 403],
  ] as const) {
    t.equal((await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, as, { title: 'Q' })).status, status, `create as ${who}`);
  }
  const quiz = bodyOf(await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, { title: 'Q', timeLimitSeconds: 20, maxAttempts: null }), 201, QuizJson);
  t.match(quiz, {
    lessonId: lesson.id,
    quizType: 'practice',
    passingScore: 70,
    timeLimitSeconds: 20,
    maxAttempts: null,
    questionCount: 0,
    isPublished: false,
    questions: [],
  });
  t.equal((await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, { title: 'Again' })).status, 409, 'one quiz per lesson');
  t.equal((await call(app, 'PATCH', `/api/quizzes/${quiz.id}`, owner, { isPublished: true })).status, 409, 'no questions, no publishing');

  const before = await countRows(app, ['quiz_questions']);
  const bad: Array<Record<string, unknown>> = [
    { questionText: 'x', questionType: 'multiple_choice', options: [{ text: 'only', isCorrect: true }] },
    {
      questionText: 'x',
      questionType: 'multiple_choice',
      options: [
        { text: 'a', isCorrect: false },
        { text: 'b', isCorrect: false },
      ],
    },
    { questionText: 'x', questionType: 'true_false', correctAnswer: 'true' },
    { questionText: 'x', questionType: 'true_false' },
    { questionText: 'x', questionType: 'short_answer', correctAnswer: { accepted: [] } },
    { questionText: 'x', questionType: 'short_answer', correctAnswer: ['a'] },
    { questionText: 'x', questionType: 'essay' },
    { questionText: '', questionType: 'true_false', correctAnswer: true },
    { questionText: 'x', questionType: 'true_false', correctAnswer: true, points: -1 },
    { questionText: 'x', questionType: 'true_false', correctAnswer: true, bogus: 1 },
    { questionText: 'x', questionType: 'short_answer', correctAnswer: nestedObject(40) },
    { questionText: 'x', questionType: 'short_answer', correctAnswer: { accepted: ['x'.repeat(70_000)] } },
  ];
  for (const body of bad) {
    const res = await call(app, 'POST', `/api/quizzes/${quiz.id}/questions`, owner, body);
    t.equal(res.status, 400, `question ${JSON.stringify(body)} → 400`);
    t.equal(errorOf(res, 400).code, 'VALIDATION_ERROR');
  }
  t.same(await countRows(app, ['quiz_questions']), before, 'nothing written');
  const mc = bodyOf(
    await call(app, 'POST', `/api/quizzes/${quiz.id}/questions`, owner, {
      questionText: 'x',
      questionType: 'multiple_choice',
      options: [
        { text: 'a', isCorrect: true },
        { text: 'b', isCorrect: false },
      ],
    }),
    201,
    QuestionJson,
  );
  t.match(
    mc.options,
    [
      { id: /^[0-9a-f-]{36}$/, text: 'a', isCorrect: true },
      { id: /^[0-9a-f-]{36}$/, text: 'b', isCorrect: false },
    ],
    'option ids generated',
  );
  t.equal((await call(app, 'PATCH', `/api/questions/${mc.id}`, otherInstructor, { points: 5 })).status, 404, 'an unpublished quiz does not exist for others');
  t.equal(bodyOf(await call(app, 'PATCH', `/api/questions/${mc.id}`, owner, { points: 5 }), 200, QuestionJson).points, 5);
  t.equal((await call(app, 'PATCH', `/api/questions/${mc.id}`, owner, { questionType: 'true_false' })).status, 400, 'a type change needs its content');
  t.equal((await call(app, 'GET', `/api/quizzes/${quiz.id}`, student)).status, 404, 'a draft quiz does not exist for enrollees');
  const draft = bodyOf(await call(app, 'GET', `/api/quizzes/${quiz.id}`, owner), 200, QuizJson);
  t.match(draft, {
    id: quiz.id,
    isPublished: false,
    questionCount: 1,
    metadata: {},
    questions: [{ id: mc.id, quizId: quiz.id, points: 5, options: mc.options, correctAnswer: null }],
  });
  t.equal((await call(app, 'GET', '/api/quizzes/00000000-0000-4000-8000-000000000000', owner)).status, 404);
  bodyOf(await call(app, 'PATCH', `/api/quizzes/${quiz.id}`, owner, { isPublished: true }), 200, QuizJson);
  t.equal((await call(app, 'DELETE', `/api/questions/${mc.id}`, owner)).status, 409, 'a published quiz keeps one question');

  // What a student sees of the quiz: settings and the count, never the questions.
  const seen = bodyOf(await call(app, 'GET', `/api/quizzes/${quiz.id}`, student), 200, QuizJson);
  t.equal(seen.questionCount, 1);
  t.notOk('questions' in seen);
  t.same(findSecrets(seen), []);
  t.equal((await call(app, 'GET', `/api/quizzes/${quiz.id}`, outsider)).status, 403);
  t.equal((await call(app, 'GET', `/api/quizzes/${quiz.id}`, otherInstructor)).status, 403);
  t.ok(bodyOf(await call(app, 'GET', `/api/quizzes/${quiz.id}`, admin), 200, QuizJson).questions);
  const outline = bodyOf(await call(app, 'GET', `/api/courses/${course.id}`, student), 200, CourseDetailJson);
  t.equal(outline.lessons[0].quizId, quiz.id, 'the outline carries the quiz id');
});

t.test('attempts: start, resume, order, autosave, submit, result, no secrets', async (t) => {
  const { quiz, mc, tf, sa, lesson } = await publishedQuiz({ shuffleQuestions: true, shuffleOptions: true, showCorrectAnswers: false, maxAttempts: 2 });
  t.equal((await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, outsider)).status, 403, 'outsiders cannot start');
  t.equal((await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, owner)).status, 403, 'the owner does not take attempts');
  const attempt = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  t.match(attempt, { quizId: quiz.id, attemptNumber: 1, status: 'in_progress', deadline: null, answers: {} });
  t.ok(Math.abs(Date.parse(attempt.serverNow) - Date.now()) < 5000, 'serverNow is the server clock');
  t.same(attempt.questions.map((q) => q.id).sort(), [mc.id, tf.id, sa.id].sort());
  t.same(findSecrets(attempt), [], 'no secret in the attempt');
  const mcView = attempt.questions.find((q) => q.id === mc.id)!;
  t.same(mcView.options!.map((o) => o.id).sort(), ['group', 'order', 'where']);
  t.equal(mcView.multipleSelect, false);

  const resumed = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 200, AttemptJson);
  t.pass('resuming returns the running attempt');
  t.equal(resumed.id, attempt.id);
  t.same(resumed.questions, attempt.questions, 'question and option order are stable across reads');
  t.same(bodyOf(await call(app, 'GET', `/api/attempts/${attempt.id}`, student), 200, AttemptJson).questions, attempt.questions);

  // Autosave: idempotent, validated against the question type.
  const saved = await call(app, 'PUT', `/api/attempts/${attempt.id}/answers/${tf.id}`, student, { answer: true });
  t.equal(saved.status, 200);
  t.equal((await call(app, 'PUT', `/api/attempts/${attempt.id}/answers/${tf.id}`, student, { answer: true })).status, 200, 'idempotent');
  for (const [questionId, answer] of [
    [tf.id, 'true'],
    [mc.id, 'where'],
    [mc.id, ['nope']],
    [sa.id, 42],
  ] as const) {
    const res = await call(app, 'PUT', `/api/attempts/${attempt.id}/answers/${questionId}`, student, { answer });
    t.equal(res.status, 400, `answer ${JSON.stringify(answer)} refused`);
  }
  t.equal((await call(app, 'PUT', `/api/attempts/${attempt.id}/answers/${tf.id}`, student, {})).status, 400, 'answer is required');
  for (const [label, answer] of [
    ['40 levels', nestedObject(40)],
    ['8,000 levels', '[]'],
  ] as const) {
    // 8,000 levels cannot be built and serialised here: sent as text.
    const payload = label === '8,000 levels' ? `{"answer":${'['.repeat(8000)}${']'.repeat(8000)}}` : JSON.stringify({ answer });
    const res = await app.inject({
      method: 'PUT',
      url: `/api/attempts/${attempt.id}/answers/${mc.id}`,
      headers: { ...student.headers, 'content-type': 'application/json' },
      payload,
    });
    t.equal(res.statusCode, 400, `an answer of ${label}`);
    t.equal(res.json<{ code: string }>().code, 'VALIDATION_ERROR');
  }
  t.equal((await call(app, 'PUT', `/api/attempts/${attempt.id}/answers/${tf.id}`, classmate, { answer: true })).status, 403, "not someone else's attempt");
  t.equal((await call(app, 'PUT', `/api/attempts/${attempt.id}/answers/0b6f8a4e-1c4e-4a57-9d1e-2f1b8f0c9a11`, student, { answer: true })).status, 404);
  bodyOf(await call(app, 'PUT', `/api/attempts/${attempt.id}/answers/${sa.id}`, student, { answer: '  distinct ' }), 200, SavedAnswerJson);
  t.same(bodyOf(await call(app, 'GET', `/api/attempts/${attempt.id}`, student), 200, AttemptJson).answers, { [tf.id]: true, [sa.id]: '  distinct ' });

  // Submit: the body's answers join the saved ones; grading is instant and idempotent.
  const submitted = bodyOf(await call(app, 'POST', `/api/attempts/${attempt.id}/submit`, student, { answers: { [mc.id]: ['order'] } }), 200, AttemptJson);
  t.match(submitted, { status: 'graded', result: { score: 3, maxScore: 6, percentage: 50, isPassed: true, autoSubmitted: false } });
  t.same(findSecrets(submitted), [], 'showCorrectAnswers=false reveals nothing');
  t.same(
    submitted.result!.questions.map((q) => [q.questionId, q.points]).sort(),
    [
      [mc.id, 0],
      [tf.id, 1],
      [sa.id, 2],
    ].sort(),
  );
  const again = bodyOf(await call(app, 'POST', `/api/attempts/${attempt.id}/submit`, student, { answers: { [mc.id]: ['where'] } }), 200, AttemptJson);
  t.same(again.result, submitted.result, 'a second submit changes nothing');
  const afterSubmit = await call(app, 'PUT', `/api/attempts/${attempt.id}/answers/${tf.id}`, student, { answer: false });
  t.equal(errorOf(afterSubmit, 409).code, 'CONFLICT', 'an answer after the student submitted: a conflict');

  // Passing the graded quiz completed the lesson.
  const course = bodyOf(await call(app, 'GET', `/api/lessons/${lesson.id}`, student), 200, LessonJson);
  t.match(course.progress, { status: 'completed' });

  // Managers see everything; students of the course see their own attempts only.
  const managerView = bodyOf(await call(app, 'GET', `/api/attempts/${attempt.id}`, owner), 200, AttemptJson);
  t.ok(managerView.result!.questions.every((q) => q.correctAnswer !== undefined));
  t.equal((await call(app, 'GET', `/api/attempts/${attempt.id}`, classmate)).status, 403);
  t.equal((await call(app, 'GET', `/api/attempts/${attempt.id}`, otherInstructor)).status, 403);
  t.equal(bodyOf(await call(app, 'GET', `/api/quizzes/${quiz.id}/attempts`, student), 200, AttemptPage).total, 1);
  t.equal(bodyOf(await call(app, 'GET', `/api/quizzes/${quiz.id}/attempts`, classmate), 200, AttemptPage).total, 0);
  t.equal(bodyOf(await call(app, 'GET', `/api/quizzes/${quiz.id}/attempts`, owner), 200, AttemptPage).total, 1);
  t.equal((await call(app, 'GET', `/api/quizzes/${quiz.id}/attempts`, outsider)).status, 403);
  for (const query of ['page=1e21', 'page=999999999999999999', 'limit=1e21', 'limit=101']) {
    const res = await call(app, 'GET', `/api/quizzes/${quiz.id}/attempts?${query}`, owner);
    t.equal(res.status, 400, `attempts?${query}`);
    t.equal(errorOf(res, 400).code, 'VALIDATION_ERROR');
  }

  // Max attempts.
  const second = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  t.equal(second.attemptNumber, 2);
  bodyOf(await call(app, 'POST', `/api/attempts/${second.id}/submit`, student, {}), 200, AttemptJson);
  const third = await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student);
  t.equal(errorOf(third, 409).code, 'MAX_ATTEMPTS_REACHED');

  // Questions with attempts are frozen but for their key; a past grade moves only by a regrade.
  t.equal(
    errorOf(
      await call(app, 'PATCH', `/api/questions/${mc.id}`, owner, {
        options: [
          { id: 'order', text: 'ORDER BY', isCorrect: true },
          { id: 'where', text: 'WHERE', isCorrect: false },
        ],
      }),
      409,
    ).code,
    'QUESTION_FROZEN',
  );
  t.equal((await call(app, 'DELETE', `/api/questions/${mc.id}`, owner)).status, 409);
  t.equal((await call(app, 'DELETE', `/api/quizzes/${quiz.id}`, owner)).status, 409);
  await app.orm.em.getConnection().execute(`UPDATE quiz_questions SET correct_answer = 'false'::jsonb WHERE id = ?`, [tf.id]);
  t.same(bodyOf(await call(app, 'GET', `/api/attempts/${attempt.id}`, student), 200, AttemptJson).result, submitted.result, 'the stored grade is a snapshot');

  // Statistics.
  const stats = bodyOf(await call(app, 'GET', `/api/quizzes/${quiz.id}/stats`, owner), 200, QuizStatsJson);
  t.match(stats, { quizId: quiz.id, gradedAttempts: 2, passRate: 0.5 });
  const mcStats = stats.questions.find((q: { questionId: string }) => q.questionId === mc.id);
  t.match(mcStats, { answers: 2, correct: 0, distribution: { where: 0, order: 1, group: 0 } });
  t.equal((await call(app, 'GET', `/api/quizzes/${quiz.id}/stats`, student)).status, 403);
  const dashboard = bodyOf(
    await call(
      app,
      'GET',
      `/api/courses/${quiz.lessonId ? bodyOf(await call(app, 'GET', `/api/lessons/${quiz.lessonId}`, owner), 200, LessonJson).courseId : ''}/dashboard`,
      owner,
    ),
    200,
    DashboardJson,
  );
  t.match(dashboard.quizzes, [{ quizId: quiz.id, gradedAttempts: 2 }], 'quiz statistics join the dashboard');
});

t.test('showCorrectAnswers reveals answers and explanations in the result', async (t) => {
  const { quiz, mc } = await publishedQuiz({ showCorrectAnswers: true, quizType: 'practice' });
  const attempt = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  const graded = bodyOf(await call(app, 'POST', `/api/attempts/${attempt.id}/submit`, student, {}), 200, AttemptJson);
  const mcResult = graded.result!.questions.find((q) => q.questionId === mc.id);
  t.same(mcResult!.correctAnswer, ['where']);
  t.equal(mcResult!.explanation, 'WHERE filters.');
  t.equal(graded.result!.isPassed, false);
  t.same(findSecrets(graded.questions), [], 'the questions themselves still carry no secret');
});

t.test('answers that name Object.prototype keys are counted like any other (stats answered 500)', async (t) => {
  const { course, lesson } = await courseWithLesson();
  const quiz = bodyOf(
    await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, { title: 'Keys', quizType: 'practice', maxAttempts: null }),
    201,
    QuizJson,
  );
  const keys = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
  const sa = bodyOf(
    await call(app, 'POST', `/api/quizzes/${quiz.id}/questions`, owner, {
      questionText: 'Say a key',
      questionType: 'short_answer',
      correctAnswer: { accepted: ['constructor'] },
    }),
    201,
    QuestionJson,
  );
  const mc = bodyOf(
    await call(app, 'POST', `/api/quizzes/${quiz.id}/questions`, owner, {
      questionText: 'Pick a key',
      questionType: 'multiple_choice',
      options: keys.map((id, index) => ({ id, text: id, isCorrect: index === 0 })),
    }),
    201,
    QuestionJson,
  );
  t.same(
    mc.options!.map((option) => option.id),
    keys,
    'option ids are kept as given',
  );
  bodyOf(await call(app, 'PATCH', `/api/quizzes/${quiz.id}`, owner, { isPublished: true }), 200, QuizJson);
  for (const key of keys) {
    const attempt = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
    bodyOf(await call(app, 'POST', `/api/attempts/${attempt.id}/submit`, student, { answers: { [sa.id]: key, [mc.id]: [key] } }), 200, AttemptJson);
  }
  const stats = await call(app, 'GET', `/api/quizzes/${quiz.id}/stats`, owner);
  t.equal(stats.status, 200, 'GET /stats answers');
  const statsBody = bodyOf(stats, 200, QuizStatsJson);
  const byQuestion = new Map(statsBody.questions.map((q) => [q.questionId, q]));
  const entries = (distribution: Record<string, number> | undefined) => Object.entries(distribution ?? {}).sort(([a], [b]) => a.localeCompare(b));
  t.match(byQuestion.get(sa.id), { answers: 4, correct: 1 });
  t.same(
    entries(byQuestion.get(sa.id)?.distribution),
    [
      ['__proto__', 1],
      ['constructor', 1],
      ['hasownproperty', 1],
      ['tostring', 1],
    ],
    'short answers, normalised',
  );
  t.match(byQuestion.get(mc.id), { answers: 4, correct: 1 });
  t.same(
    entries(byQuestion.get(mc.id)?.distribution),
    [
      ['__proto__', 1],
      ['constructor', 1],
      ['hasOwnProperty', 1],
      ['toString', 1],
    ],
    'option ids',
  );
  t.match(statsBody, { gradedAttempts: 4, averagePercentage: 25 });
  const dashboard = await call(app, 'GET', `/api/courses/${course.id}/dashboard`, owner);
  t.equal(dashboard.status, 200, 'the dashboard, which embeds the statistics, answers too');
});

t.test('a graded quiz reveals its key to a student only with no attempts left; a practice quiz after each attempt', async (t) => {
  const keyOf = (attempt: Static<typeof AttemptJson>) => attempt.result!.questions.filter((q) => 'correctAnswer' in q || 'explanation' in q).length;
  const { quiz, mc } = await publishedQuiz({ showCorrectAnswers: true, quizType: 'graded', maxAttempts: 2 });
  const first = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  const firstGraded = bodyOf(await call(app, 'POST', `/api/attempts/${first.id}/submit`, student, { answers: { [mc.id]: ['order'] } }), 200, AttemptJson);
  t.equal(keyOf(firstGraded), 0, 'attempt 1 of 2: no key in the submit');
  t.same(findSecrets(firstGraded), [], 'nothing secret anywhere');
  t.equal(keyOf(bodyOf(await call(app, 'GET', `/api/attempts/${first.id}`, student), 200, AttemptJson)), 0, 'nor when read again');
  t.equal(keyOf(bodyOf(await call(app, 'GET', `/api/attempts/${first.id}`, owner), 200, AttemptJson)), 3, 'the owner sees it');

  const second = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  t.equal(keyOf(bodyOf(await call(app, 'GET', `/api/attempts/${first.id}`, student), 200, AttemptJson)), 0, 'not while attempt 2 runs');
  const secondGraded = bodyOf(await call(app, 'POST', `/api/attempts/${second.id}/submit`, student, {}), 200, AttemptJson);
  t.equal(keyOf(secondGraded), 3, 'attempt 2 of 2: the key');
  t.same(secondGraded.result!.questions.find((q) => q.questionId === mc.id)!.correctAnswer, ['where']);
  t.equal(keyOf(bodyOf(await call(app, 'GET', `/api/attempts/${first.id}`, student), 200, AttemptJson)), 3, 'and in attempt 1, now that none is left');
  t.equal((await call(app, 'GET', `/api/attempts/${first.id}`, classmate)).status, 403, "another student's attempt stays closed");

  const unlimited = await publishedQuiz({ showCorrectAnswers: true, quizType: 'graded', maxAttempts: null });
  for (let n = 1; n <= 3; n++) {
    const attempt = bodyOf(await call(app, 'POST', `/api/quizzes/${unlimited.quiz.id}/attempts`, student), 201, AttemptJson);
    t.equal(
      keyOf(bodyOf(await call(app, 'POST', `/api/attempts/${attempt.id}/submit`, student, {}), 200, AttemptJson)),
      0,
      `unlimited attempts: no key after attempt ${n}`,
    );
  }

  const practice = await publishedQuiz({ showCorrectAnswers: true, quizType: 'practice', maxAttempts: 3 });
  const attempt = bodyOf(await call(app, 'POST', `/api/quizzes/${practice.quiz.id}/attempts`, student), 201, AttemptJson);
  t.equal(
    keyOf(bodyOf(await call(app, 'POST', `/api/attempts/${attempt.id}/submit`, student, {}), 200, AttemptJson)),
    3,
    'practice: the key after attempt 1 of 3',
  );
});

t.test('20 concurrent starts make one attempt; numbers have no gaps', async (t) => {
  const { quiz } = await publishedQuiz({ maxAttempts: null });
  const results = await Promise.all(Array.from({ length: 20 }, () => call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student)));
  t.same(results.map((r) => r.status).sort(), [...Array(19).fill(200), 201].sort(), 'one 201, nineteen 200');
  t.equal(new Set(results.map((r) => attemptOf(r).id)).size, 1, 'all the same attempt');
  for (let n = 2; n <= 4; n++) {
    bodyOf(await call(app, 'POST', `/api/attempts/${attemptOf(results[0]!).id}/submit`, student, {}), 200, AttemptJson);
    const next = await Promise.all(Array.from({ length: 5 }, () => call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student)));
    t.equal(new Set(next.map((r) => attemptOf(r).id)).size, 1);
    t.equal(attemptOf(next[0]!).attemptNumber, n);
    results[0] = next[0]!;
  }
  const [{ numbers }] = await app.orm.em
    .getConnection()
    .execute<Array<{ numbers: number[] }>>('SELECT array_agg(attempt_number ORDER BY attempt_number) AS numbers FROM quiz_attempts WHERE quiz_id = ?', [
      quiz.id,
    ]);
  t.same(numbers, [1, 2, 3, 4]);
});

t.test('timed attempts: autosave before the deadline kept, after it refused; submit/deadline race grades once', async (t) => {
  const { quiz, tf } = await publishedQuiz({ timeLimitSeconds: 1 });
  const attempt = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  const deadline = Date.parse(attempt.deadline!);
  t.ok(Math.abs(deadline - Date.parse(attempt.startedAt) - 1000) < 5, 'deadline = start + 1 s');
  t.equal((await call(app, 'PUT', `/api/attempts/${attempt.id}/answers/${tf.id}`, student, { answer: true })).status, 200, 'before the deadline: kept');
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline + 300 + 50 - Date.now())));
  const late = await call(app, 'PUT', `/api/attempts/${attempt.id}/answers/${tf.id}`, student, { answer: false });
  t.equal(errorOf(late, 409).code, 'QUIZ_TIME_EXPIRED');
  // Past deadline + grace, submit grades the saved answers and ignores the body.
  const submitted = bodyOf(await call(app, 'POST', `/api/attempts/${attempt.id}/submit`, student, { answers: { [tf.id]: false } }), 200, AttemptJson);
  t.match(submitted.result, { score: 1, autoSubmitted: true });
  t.equal(submitted.answers[tf.id], true);
  const afterServer = await call(app, 'PUT', `/api/attempts/${attempt.id}/answers/${tf.id}`, student, { answer: false });
  t.equal(errorOf(afterServer, 409).code, 'QUIZ_TIME_EXPIRED', 'an answer once the server has finished the attempt: time is up, not a conflict');

  // Finished by the deadline job (the server) before the student tried anything.
  const byJob = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(byJob.deadline!) + 300 + 50 - Date.now())));
  t.match(await gradeAttemptNow(app.forkDeps(), byJob.id, { auto: true }), { graded: true });
  const afterJob = await call(app, 'PUT', `/api/attempts/${byJob.id}/answers/${tf.id}`, student, { answer: true });
  t.equal(errorOf(afterJob, 409).code, 'QUIZ_TIME_EXPIRED', 'after the deadline job graded it');

  // The race: a student's submit and the deadline job at the same moment.
  const racing = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, classmate), 201, AttemptJson);
  const [viaHttp, viaJob, viaSweep] = await Promise.all([
    call(app, 'POST', `/api/attempts/${racing.id}/submit`, classmate, {}),
    gradeAttemptNow(app.forkDeps(), racing.id, { auto: true }),
    gradeAttemptNow(app.forkDeps(), racing.id, { auto: true }),
  ]);
  t.equal(viaHttp.status, 200);
  const gradedBy = [viaJob!.graded, viaSweep!.graded].filter(Boolean).length;
  t.ok(gradedBy <= 1, 'at most one of the job and the sweep graded it');
  const [{ n }] = await app.orm.em
    .getConnection()
    .execute<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM quiz_attempts WHERE id = ? AND status = 'graded'`, [racing.id]);
  t.equal(n, 1);
  t.equal(bodyOf(viaHttp, 200, AttemptJson).result!.score, viaJob!.event.score, 'everyone reports the one grade');
});

t.test('grading never loses an answer saved while it ran, locked or not', async (t) => {
  const { quiz, tf } = await publishedQuiz();
  const attempt = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  bodyOf(await call(app, 'PUT', `/api/attempts/${attempt.id}/answers/${tf.id}`, student, { answer: false }), 200, SavedAnswerJson);

  // Another session changes the attempt (the right answer saved) and holds it uncommitted while
  // grading reads the old row; its write then waits, finds the row changed, and grades again.
  const other = new pg.Client({ connectionString: env.config.databaseUrl });
  await other.connect();
  env.defer(() => other.end());
  await other.query('BEGIN');
  await other.query(`UPDATE quiz_attempts SET answers = answers || jsonb_build_object($2::text, true) WHERE id = $1`, [attempt.id, tf.id]);
  const grading = gradeAttemptNow(app.forkDeps(), attempt.id, { auto: false });
  await waitFor('the grade to wait for the row', async () => {
    const [{ n }] = await app.orm.em
      .getConnection()
      .execute<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE quiz_attempts%'`,
      );
    return n > 0;
  });
  await other.query('COMMIT');
  const graded = (await grading)!;
  t.equal(graded.graded, true);
  t.equal(graded.row.answers![tf.id], true, 'the answer saved meanwhile was graded');
  t.equal(graded.event.score, 1);
  const [stored] = await app.orm.em
    .getConnection()
    .execute<Array<{ answers: Record<string, unknown>; score: string }>>('SELECT answers, score FROM quiz_attempts WHERE id = ?', [attempt.id]);
  t.match(stored, { answers: { [tf.id]: true }, score: '1.00' }, 'and stored');

  // Under the row lock from the start (what many tries in a row end in), the same holds.
  const locked = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, classmate), 201, AttemptJson);
  bodyOf(await call(app, 'PUT', `/api/attempts/${locked.id}/answers/${tf.id}`, classmate, { answer: true }), 200, SavedAnswerJson);
  const [first, second] = await Promise.all([
    gradeAttemptNow(app.forkDeps(), locked.id, { auto: true, optimisticTries: 0 }),
    gradeAttemptNow(app.forkDeps(), locked.id, { auto: false, optimisticTries: 0 }),
  ]);
  t.equal([first!.graded, second!.graded].filter(Boolean).length, 1, 'graded once');
  t.equal(first!.event.score, 1);
  t.equal(second!.event.score, 1);
});

t.test('abandoned attempts are graded at their deadline by a worker process', async (t) => {
  const { quiz, tf, sa } = await publishedQuiz({ timeLimitSeconds: 1 });
  const connection = { connection: { url: env.config.redisUrl } as never, prefix: env.config.queuePrefix };
  const deadlineEvents = new QueueEvents('quiz-deadlines', connection);
  const sweepEvents = new QueueEvents('maintenance', connection);
  env.defer(() => deadlineEvents.close());
  env.defer(() => sweepEvents.close());
  await Promise.all([deadlineEvents.waitUntilReady(), sweepEvents.waitUntilReady()]);

  // A real worker process; it is ready once its workers are registered in Redis.
  const worker = spawnEntry('workers/main.ts', env.env);
  env.defer(async () => {
    if (worker.child.exitCode === null) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });
  await waitFor('the worker process', async () => (await app.queues.get('quiz-deadlines').getWorkersCount()) > 0, 30_000, 100);

  // Started on an API instance that then goes away before the deadline.
  const other = await buildApp(env.config);
  const attempt = bodyOf(await call(other, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  bodyOf(await call(other, 'PUT', `/api/attempts/${attempt.id}/answers/${tf.id}`, student, { answer: true }), 200, SavedAnswerJson);
  bodyOf(await call(other, 'PUT', `/api/attempts/${attempt.id}/answers/${sa.id}`, student, { answer: 'distinct' }), 200, SavedAnswerJson);
  await other.close();

  // A second attempt whose delayed job Redis "lost": only the sweep can grade it.
  const lost = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, classmate), 201, AttemptJson);
  await app.queues.get('quiz-deadlines').remove(deadlineJobId(lost.id));

  const job = await app.queues.get('quiz-deadlines').getJob(deadlineJobId(attempt.id));
  t.ok(job, 'the deadline job is waiting in Redis');
  const result = await job!.waitUntilFinished(deadlineEvents, 15_000);
  t.match(result, { graded: true, status: 'graded' }, 'the deadline job graded it');
  const graded = bodyOf(await call(app, 'GET', `/api/attempts/${attempt.id}`, student), 200, AttemptJson);
  t.match(graded, { status: 'graded', result: { score: 3, maxScore: 6, autoSubmitted: true } }, 'with the saved answers');

  t.equal(bodyOf(await call(app, 'GET', `/api/attempts/${lost.id}`, classmate), 200, AttemptJson).status, 'in_progress', 'no job, no grade yet');
  // Wait until the lost attempt is overdue (its deadline plus grace), then let a sweep run.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(lost.deadline!) + 300 + 50 - Date.now())));
  const sweep = await app.queues.add('maintenance', { reason: 'manual' });
  const swept = await sweep.waitUntilFinished(sweepEvents, 15_000);
  t.match(swept, { gradeOverdueAttempts: 1 }, 'the sweep graded the attempt whose job was lost');
  t.match(bodyOf(await call(app, 'GET', `/api/attempts/${lost.id}`, classmate), 200, AttemptJson), { status: 'graded', result: { autoSubmitted: true } });
});

t.test('quiz routes are documented', async (t) => {
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, unknown> }>();
  for (const path of [
    '/api/lessons/{id}/quiz',
    '/api/quizzes/{id}',
    '/api/quizzes/{id}/questions',
    '/api/questions/{id}',
    '/api/quizzes/{id}/attempts',
    '/api/quizzes/{id}/stats',
    '/api/attempts/{id}',
    '/api/attempts/{id}/answers/{questionId}',
    '/api/attempts/{id}/submit',
  ]) {
    t.ok(doc.paths[path], path);
  }
});
