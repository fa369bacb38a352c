import { QuestionJson, QuizJson } from '../../server/modules/quizzes/quizzes.schemas.js';
import { LessonJson } from '../../server/modules/learning.schemas.js';
import { AttemptJson, SavedAnswerJson } from '../../server/modules/attempts/attempts.schemas.js';
import t from '../helpers/tap.js';
import { buildTestApp } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { createUser } from '../helpers/users.js';
import { client, connect, listen, nextEvent, record, request, socketPool } from './socket-helpers.js';
import { courseWithLessons, dashboardOf, ok, publishedQuiz } from './fixtures.js';

// In-process workers grade at deadline + grace; the sweep stays out of the way.
const { app } = await buildTestApp(t, 'realtime-quiz', { WORKERS: 'on', QUIZ_GRACE_MS: '300', SWEEP_INTERVAL_MS: '3600000' });
const url = await listen(app);
const sockets = socketPool();
t.teardown(() => sockets.closeAll());

const owner = await createUser(app, 'instructor');
const student = await createUser(app, 'student');
const classmate = await createUser(app, 'student');
const socketOf = async (user: { token: string }) => connect(sockets.add(client(url, user.token)));

t.test('a 2-second quiz: started, ticks, expired at the deadline, graded by the deadline job', async (t) => {
  const { course } = await courseWithLessons(app, owner, [student]);
  const { quiz, tf } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 2 });
  const teacher = await socketOf(owner);
  await request(teacher, 'course:join', { courseId: course.id });
  const pupil = await socketOf(student);
  const pupilSaw = record(pupil);
  const teacherSaw = record(teacher);

  const startedForPupil = nextEvent(pupil, 'quiz:started');
  const startedForTeacher = nextEvent(teacher, 'quiz:started');
  const expired = nextEvent(pupil, 'quiz:expired', undefined, 5000);
  const gradedForPupil = nextEvent(pupil, 'quiz:graded', undefined, 8000);
  const gradedForTeacher = nextEvent(teacher, 'quiz:graded', undefined, 8000);
  const attempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  const started = { attemptId: attempt.id, quizId: quiz.id, studentId: student.id, deadline: attempt.deadline, serverNow: String };
  t.match(await startedForPupil, started, 'quiz:started to the student');
  t.match(await startedForTeacher, started, 'quiz:started to the instructor');
  t.equal((await request(pupil, 'quiz:answer', { attemptId: attempt.id, questionId: tf.id, answer: true })).ok, true, 'an answer saved over the socket');

  t.match(await expired, { attemptId: attempt.id, serverNow: String });
  const expiredAt = Date.now();
  t.ok(expiredAt >= Date.parse(attempt.deadline!) - 50, 'quiz:expired comes at the deadline, not before');
  t.ok(expiredAt < Date.parse(attempt.deadline!) + 300, 'and promptly');
  const grade = { attemptId: attempt.id, quizId: quiz.id, studentId: student.id, score: 1, maxScore: 2, percentage: 50, isPassed: true, serverNow: String };
  t.match(await gradedForPupil, grade, 'quiz:graded to the student');
  t.match(await gradedForTeacher, grade, 'quiz:graded to the instructor');
  t.ok(Date.now() >= Date.parse(attempt.deadline!) + 300, 'graded after deadline + grace');

  const ticks = pupilSaw.filter((seen) => seen.event === 'quiz:tick');
  t.ok(ticks.length >= 2, `ticks while the attempt ran (${ticks.length})`);
  for (const tick of ticks) t.match(tick.payload, { attemptId: attempt.id, remainingMs: Number, serverNow: String });
  for (let i = 1; i < ticks.length; i++) {
    t.ok(ticks[i]!.payload.remainingMs < ticks[i - 1]!.payload.remainingMs, 'remainingMs decreases');
    const gap = ticks[i]!.at - ticks[i - 1]!.at;
    t.ok(gap > 600 && gap < 1400, `about a second apart (${gap} ms)`);
  }
  t.ok(ticks.every((tick) => tick.payload.remainingMs > 0 && tick.payload.remainingMs <= 2000));
  t.equal(pupilSaw.filter((seen) => seen.event === 'quiz:expired').length, 1, 'quiz:expired once, although the job graded it as expired too');
  t.equal(teacherSaw.filter((seen) => seen.event === 'quiz:tick' || seen.event === 'quiz:expired').length, 0, 'ticks and expiry are the student’s alone');
  t.equal(
    pupilSaw.findIndex((seen) => seen.event === 'quiz:tick' && seen.at > expiredAt),
    -1,
    'no tick after the expiry',
  );

  const stored = await ok(await call(app, 'GET', `/api/attempts/${attempt.id}`, student), 200, AttemptJson);
  t.match(stored, { status: 'graded', result: { autoSubmitted: true, score: 1 } });
  t.match(
    await request(pupil, 'quiz:answer', { attemptId: attempt.id, questionId: tf.id, answer: false }),
    { ok: false, error: { code: 'QUIZ_TIME_EXPIRED' } },
    'an answer after the server finished the attempt: QUIZ_TIME_EXPIRED',
  );
});

t.test('submit over the socket: the ack has the result, the instructor hears quiz:graded; answer stats', async (t) => {
  const { course } = await courseWithLessons(app, owner, [student, classmate]);
  const { quiz, tf, mc } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 600 });
  const teacher = await socketOf(owner);
  await request(teacher, 'course:join', { courseId: course.id });
  const pupil = await socketOf(student);
  const mate = await socketOf(classmate);

  const attempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  const mateAttempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, classmate), 201, AttemptJson);

  // quiz:sync gives the attempt object and starts ticking it on this socket.
  const synced = await request(pupil, 'quiz:sync', { attemptId: attempt.id });
  t.match(synced, { ok: true, data: { id: attempt.id, status: 'in_progress', deadline: attempt.deadline, questions: Array, answers: {} } });
  t.match(await nextEvent(pupil, 'quiz:tick', (p) => p.attemptId === attempt.id), { remainingMs: Number });
  t.match(await request(mate, 'quiz:sync', { attemptId: attempt.id }), { ok: false, error: { code: 'FORBIDDEN' } }, "another student's attempt");

  // Answers feed the instructors' live distribution.
  const stats = nextEvent(teacher, 'quiz:answer-stats', (p) => p.questionId === mc.id && p.distribution.where === 2);
  t.match(await request(pupil, 'quiz:answer', { attemptId: attempt.id, questionId: mc.id, answer: ['where'] }), {
    ok: true,
    data: { attemptId: attempt.id, questionId: mc.id, answer: ['where'] },
  });
  t.equal((await request(mate, 'quiz:answer', { attemptId: mateAttempt.id, questionId: mc.id, answer: ['where'] })).ok, true);
  t.match(await stats, { quizId: quiz.id, questionId: mc.id, distribution: { where: 2, order: 0 }, serverNow: String });
  t.match(
    await request(pupil, 'quiz:answer', { attemptId: attempt.id, questionId: tf.id, answer: 'yes' }),
    { ok: false, error: { code: 'VALIDATION_ERROR' } },
    'wrong answer shape',
  );
  t.match(await request(mate, 'quiz:answer', { attemptId: attempt.id, questionId: tf.id, answer: true }), { ok: false, error: { code: 'FORBIDDEN' } });

  // A student who comes back on a new socket gets ticks again, derived from the deadline.
  mate.disconnect();
  const mateAgain = await socketOf(classmate);
  const tick = await nextEvent(mateAgain, 'quiz:tick', (p) => p.attemptId === mateAttempt.id);
  const remaining = Date.parse(mateAttempt.deadline!) - Date.now();
  t.ok(Math.abs(tick.remainingMs - remaining) < 1000, 'ticks resume on a new connection');

  const graded = nextEvent(teacher, 'quiz:graded', (p) => p.attemptId === attempt.id);
  const completed = nextEvent(teacher, 'progress:updated', (p) => p.studentId === student.id);
  const ack = await request(pupil, 'quiz:submit', { attemptId: attempt.id });
  t.match(ack, {
    ok: true,
    data: { id: attempt.id, status: 'graded', result: { score: 1, maxScore: 2, percentage: 50, isPassed: true, autoSubmitted: false } },
  });
  t.match(await graded, { attemptId: attempt.id, quizId: quiz.id, studentId: student.id, score: 1, maxScore: 2, percentage: 50, isPassed: true });
  // The passed quiz completed its lesson: progress events follow.
  t.match(await completed, { completedLessonsCount: 1, totalLessonsCount: 3 });

  const again = await request(pupil, 'quiz:submit', { attemptId: attempt.id });
  t.match(again, { ok: true, data: { id: attempt.id, status: 'graded' } }, 'submitting again is idempotent');
  t.match(
    await request(pupil, 'quiz:answer', { attemptId: attempt.id, questionId: tf.id, answer: true }),
    { ok: false, error: { code: 'CONFLICT' } },
    'no answers after the submit',
  );
});

t.test('the answer stats of a question are throttled to 4 per second, the last change included', async (t) => {
  const { course } = await courseWithLessons(app, owner, [student]);
  const { quiz, tf } = await publishedQuiz(app, owner, course.id);
  const teacher = await socketOf(owner);
  await request(teacher, 'course:join', { courseId: course.id });
  const pupil = await socketOf(student);
  const attempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  const teacherSaw = record(teacher);

  const last = nextEvent(teacher, 'quiz:answer-stats', (p) => p.distribution.false === 1);
  const started = Date.now();
  for (let i = 0; i < 20; i++) await request(pupil, 'quiz:answer', { attemptId: attempt.id, questionId: tf.id, answer: i % 2 === 0 });
  // The last answer (false) is always reported.
  const elapsed = Date.now() - started;
  t.match(await last, { quizId: quiz.id, questionId: tf.id, distribution: { true: 0, false: 1 } });
  const updates = teacherSaw.filter((seen) => seen.event === 'quiz:answer-stats');
  const allowed = Math.ceil((elapsed + 250) / 250) + 1;
  t.ok(updates.length <= allowed, `${updates.length} updates for 20 answers in ${elapsed} ms (at most ${allowed})`);
  // Spacing read from the server's stamps: arrival times bunch up when the test process is busy.
  // The throttle spaces runs by 250 ms; each emit follows its run's query, whose time varies.
  const stamps = updates.map((update) => Date.parse((update.payload as { serverNow: string }).serverNow));
  for (let i = 1; i < stamps.length; i++) t.ok(stamps[i]! - stamps[i - 1]! >= 150, `spaced by the throttle (${stamps[i]! - stamps[i - 1]!} ms)`);
});

t.test('an instructor who reconnects without recovery rebuilds the dashboard from one request', async (t) => {
  const latecomer = await createUser(app, 'student');
  const { course } = await courseWithLessons(app, owner, [student, classmate, latecomer]);
  const { quiz, tf } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 600, maxAttempts: 100 });
  const teacher = await socketOf(owner);
  await request(teacher, 'course:join', { courseId: course.id });
  const running = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, classmate), 201, AttemptJson);
  const attempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  await ok(await call(app, 'PUT', `/api/attempts/${attempt.id}/answers/${tf.id}`, student, { answer: true }), 200, SavedAnswerJson);

  // The instructor's connection dies without a session to recover (a crash): the grade is missed.
  teacher.disconnect();
  await ok(await call(app, 'POST', `/api/attempts/${attempt.id}/submit`, student, {}), 200, AttemptJson);
  const back = await socketOf(owner);
  t.equal(back.recovered, false, 'a fresh connection: the missed quiz:graded is gone');

  const dashboard = await dashboardOf(app, course.id, owner);
  t.match(
    dashboard.recentGrades,
    [
      {
        attemptId: attempt.id,
        quizId: quiz.id,
        studentId: student.id,
        score: 1,
        maxScore: 2,
        percentage: 50,
        isPassed: true,
        autoSubmitted: false,
        gradedAt: String,
      },
    ],
    'the missed grade is in the snapshot, with what quiz:graded carried',
  );
  t.same(
    dashboard.runningAttempts,
    [{ attemptId: running.id, quizId: quiz.id, studentId: classmate.id, startedAt: running.startedAt, deadline: running.deadline }],
    'so is the attempt still running (and not the graded one)',
  );

  // Newest first, at most 50, none older than an hour.
  const em = app.orm.em.fork();
  const [enrollment] = await em.execute<Array<{ id: string }>>('SELECT id FROM enrollments WHERE student_id = ? AND course_id = ?', [latecomer.id, course.id]);
  await em.execute(
    `INSERT INTO quiz_attempts (enrollment_id, quiz_id, attempt_number, status, started_at, submitted_at, graded_at, score, max_score, percentage, is_passed)
     SELECT ?, ?, n, 'graded', now() - interval '2 hours', now() - make_interval(secs => n), now() - make_interval(secs => n), 2, 2, 100, true
       FROM generate_series(1, 60) AS n`,
    [enrollment!.id, quiz.id],
  );
  await em.execute(
    `INSERT INTO quiz_attempts (enrollment_id, quiz_id, attempt_number, status, started_at, submitted_at, graded_at, score, max_score, percentage, is_passed)
     VALUES (?, ?, 61, 'graded', now() - interval '3 hours', now() - interval '61 minutes', now() - interval '61 minutes', 0, 2, 0, false)`,
    [enrollment!.id, quiz.id],
  );
  const busy = await dashboardOf(app, course.id, owner);
  t.equal(busy.recentGrades.length, 50, 'at most 50');
  const times = busy.recentGrades.map((grade) => Date.parse(grade.gradedAt));
  t.same(
    times,
    [...times].sort((x: number, y: number) => y - x),
    'newest first',
  );
  t.equal(busy.recentGrades[0].attemptId, attempt.id, 'the newest is the submit');
  t.notOk(
    busy.recentGrades.some((grade) => grade.percentage === 0),
    'a grade older than an hour is left out',
  );
  t.equal((await call(app, 'GET', `/api/courses/${course.id}/dashboard`, student)).status, 403, 'students still may not read it');
});

/** Sends a Socket.IO event as raw text (the client's encoder recurses and cannot encode 8,000 levels) and resolves with its ack. */
function rawEmit(socket: ReturnType<typeof client>, event: string, json: string, id: number): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack ${id}`)), 5000);
    socket.io.on('packet', (packet: { type: number; id?: number; data?: unknown[] }) => {
      if (packet.type !== 3 || packet.id !== id) return;
      clearTimeout(timer);
      resolve(packet.data?.[0]);
    });
    (socket.io.engine as unknown as { send(data: string): void }).send(`2${id}[${JSON.stringify(event)},${json}]`);
  });
}

t.test('deep or oversized answers over Socket.IO and /ws are refused with VALIDATION_ERROR and save nothing', async (t) => {
  const { course } = await courseWithLessons(app, owner, [student]);
  const { quiz, mc } = await publishedQuiz(app, owner, course.id);
  const attempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  const pupil = await socketOf(student);
  const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  const payload = (answer: string) => `{"attemptId":${JSON.stringify(attempt.id)},"questionId":${JSON.stringify(mc.id)},"answer":${answer}}`;

  const cases: Array<[string, string, RegExp]> = [
    ['8,000 levels', deep(8000), /64 levels/],
    ['40 levels', deep(40), /answer must not nest more than 32 levels/],
    ['40,000 characters', JSON.stringify(['x'.repeat(40_000)]), /answer must not be larger than 32768 characters/],
  ];
  let id = 100;
  for (const [label, answer, message] of cases) {
    const ack = await rawEmit(pupil, 'quiz:answer', payload(answer), id++);
    t.match(ack, { ok: false, error: { code: 'VALIDATION_ERROR', message } }, `Socket.IO: ${label}`);
  }

  const { wsClient } = await import('../multi/cluster-helpers.js');
  const ws = await wsClient(`${url}/ws?token=${encodeURIComponent(student.token)}`);
  t.teardown(() => ws.ws.terminate());
  for (const [label, answer, message] of cases) {
    const frameId = `deep-${id++}`;
    const acked = ws.next('ack', (frame) => frame.id === frameId);
    ws.ws.send(`{"type":"quiz:answer","id":${JSON.stringify(frameId)},"data":${payload(answer)}}`);
    t.match(await acked, { ok: false, error: { code: 'VALIDATION_ERROR', message } }, `/ws: ${label}`);
  }
  const deepFrame = ws.next('ack', (frame) => frame.id === 'whole');
  ws.ws.send(`{"type":"quiz:answer","id":"whole","data":${'{"a":'.repeat(8000)}1${'}'.repeat(8000)}}`);
  t.match(await deepFrame, { ok: false, error: { code: 'VALIDATION_ERROR' } }, '/ws: a deep frame');

  t.same((await ok(await call(app, 'GET', `/api/attempts/${attempt.id}`, student), 200, AttemptJson)).answers, {}, 'nothing saved');
  t.match(await request(pupil, 'quiz:answer', { attemptId: attempt.id, questionId: mc.id, answer: ['where'] }), { ok: true }, 'a normal answer still saves');
});

t.test('quiz:answer-stats counts answers that name Object.prototype keys', async (t) => {
  const { course } = await courseWithLessons(app, owner, [student]);
  const lesson = await ok(await call(app, 'POST', `/api/courses/${course.id}/lessons`, owner, { title: 'Keys', lessonType: 'quiz' }), 201, LessonJson);
  const quiz = await ok(await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, { title: 'Keys', maxAttempts: null }), 201, QuizJson);
  const sa = await ok(
    await call(app, 'POST', `/api/quizzes/${quiz.id}/questions`, owner, {
      questionText: 'Say a key',
      questionType: 'short_answer',
      correctAnswer: { accepted: ['x'] },
    }),
    201,
    QuestionJson,
  );
  await ok(await call(app, 'PATCH', `/api/quizzes/${quiz.id}`, owner, { isPublished: true }), 200, QuizJson);
  const teacher = await socketOf(owner);
  await request(teacher, 'course:join', { courseId: course.id });
  const pupil = await socketOf(student);

  const expected = [
    ['__proto__', 1],
    ['constructor', 1],
    ['hasownproperty', 1],
    ['tostring', 1],
  ];
  const entries = (distribution: Record<string, number>) => Object.entries(distribution).sort(([a], [b]) => a.localeCompare(b));
  const complete = nextEvent(
    teacher,
    'quiz:answer-stats',
    (p) => p.questionId === sa.id && JSON.stringify(entries(p.distribution)) === JSON.stringify(expected),
    5000,
  );
  for (const [index, key] of ['__proto__', 'constructor', 'toString', 'hasOwnProperty'].entries()) {
    const attempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
    t.match(await request(pupil, 'quiz:answer', { attemptId: attempt.id, questionId: sa.id, answer: key }), { ok: true }, `answer ${key}`);
    // The last attempt stays running: the distribution covers running and graded attempts.
    if (index < 3) await ok(await call(app, 'POST', `/api/attempts/${attempt.id}/submit`, student, {}), 200, AttemptJson);
  }
  t.same(entries((await complete).distribution), expected, 'every key counted once');
});

t.test('a quiz started while the student’s handshake is under way ticks on the socket it then opens', async (t) => {
  const arriving = await createUser(app, 'student');
  const absent = await createUser(app, 'student');
  const { course } = await courseWithLessons(app, owner, [arriving, absent]);
  const { quiz } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 30 });
  const teacher = await socketOf(owner);
  await request(teacher, 'course:join', { courseId: course.id });
  const start = async (student: typeof arriving) => {
    const heard = nextEvent(teacher, 'quiz:started', (p) => p.studentId === student.id);
    const attempt = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
    // The instructor's copy is the same broadcast: this instance has delivered it (and looked at it).
    await heard;
    return attempt;
  };

  // As between the handshake's read of the running attempts and the socket's admission.
  const arrived = app.realtimeConnections.local.arrive(arriving.id);
  const attempt = await start(arriving);
  t.ok(app.quizTicks.isTracking(attempt.id), 'the quiz:started of a user on its way here starts its ticks');
  // The scheduler's passes (every 100 ms; a self-paced attempt is due to tick at once) drop the
  // attempts of students who are not here: one still on its way must stay.
  await new Promise((resolve) => setTimeout(resolve, 350));
  t.ok(app.quizTicks.isTracking(attempt.id), 'and keeps them over the scheduler’s passes until it is admitted');
  const other = await start(absent);
  t.notOk(app.quizTicks.isTracking(other.id), 'a user with no connection here, and none on its way, is not ticked here');

  const pupil = await socketOf(arriving);
  arrived();
  const tick = await nextEvent(pupil, 'quiz:tick', (p) => p.attemptId === attempt.id);
  t.ok(tick.remainingMs > 0 && tick.remainingMs <= 30_000, 'the socket gets the ticks');
});
