import t from '../../helpers/tap.js';
import { AttemptJson } from '../../../server/modules/attempts/attempts.schemas.js';
import { QuizJson } from '../../../server/modules/quizzes/quizzes.schemas.js';
import { LaunchCreatedJson, LaunchJson } from '../../../server/modules/live-sessions/launches.schemas.js';
import { buildTestApp } from '../../helpers/app.js';
import { bodyOf, call, countRows, errorOf } from '../../helpers/http.js';
import { createUser, type TestUser } from '../../helpers/users.js';
import { client, connect, listen, nextEvent, record, request, socketPool, type ClientSocket } from '../../realtime/socket-helpers.js';
import { courseWithLessons, ok, publishedQuiz } from '../../realtime/fixtures.js';
import { launchAttemptStatuses, liveSession } from './launch-fixtures.js';

// In-process workers run the launch's deadline job and the attempts' jobs; the sweep stays out of the way.
const { app } = await buildTestApp(t, 'live-launches', { WORKERS: 'on', QUIZ_GRACE_MS: '300', SWEEP_INTERVAL_MS: '3600000' });
const url = await listen(app);
const sockets = socketPool();
t.teardown(() => sockets.closeAll());

const owner = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const otherInstructor = await createUser(app, 'instructor');
const outsider = await createUser(app, 'student');
const socketOf = async (user: { token: string }) => connect(sockets.add(client(url, user.token)));
const students = async (n: number) => Promise.all(Array.from({ length: n }, () => createUser(app, 'student')));
/** Connected and in the course room: online for the launch. */
async function online(courseId: string, users: TestUser[]): Promise<ClientSocket[]> {
  return Promise.all(
    users.map(async (user) => {
      const socket = await socketOf(user);
      const ack = await request(socket, 'course:join', { courseId });
      if (!ack.ok) throw new Error(`join failed: ${JSON.stringify(ack)}`);
      return socket;
    }),
  );
}
const launch = (sessionId: string, as: TestUser | null, body: unknown) => call(app, 'POST', `/api/live-sessions/${sessionId}/launches`, as, body);
const eventsNamed = (seen: Array<{ event: string; payload: any }>, name: string) => seen.filter((e) => e.event === name).map((e) => e.payload);

t.test('a class of 30: launch, late starter, close, summary', async (t) => {
  const [classmates, offline, [exhausted, selfPaced]] = await Promise.all([students(30), students(3), students(2)]);
  const { course } = await courseWithLessons(app, owner, [...classmates, ...offline, exhausted!, selfPaced!]);
  const { quiz, tf, mc } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 600, maxAttempts: 1, showCorrectAnswers: true });
  // Before the session: one student used its only attempt, another has one running.
  const used = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, exhausted), 201, AttemptJson);
  await ok(await call(app, 'POST', `/api/attempts/${used.id}/submit`, exhausted, {}), 200, AttemptJson);
  const running = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, selfPaced), 201, AttemptJson);

  const sessionId = await liveSession(app, course.id, owner);
  const [teacher] = await online(course.id, [owner]);
  const teacherSaw = record(teacher!);
  const pupils = await online(course.id, [...classmates, exhausted!, selfPaced!]);
  const offlineSockets = await Promise.all(offline.map(socketOf)); // connected, but not in the course
  const offlineSaw = offlineSockets.map(record);
  const pupilsSaw = pupils.map(record);

  const startedEvents = pupils.slice(0, 30).map((socket) => nextEvent(socket, 'quiz:started'));
  const roomHeard = nextEvent(pupils[0]!, 'session:quiz-launched');
  const countsHeard = nextEvent(teacher!, 'session:launch-counts', (p) => p.counts.started === 30);
  const created = await ok(await launch(sessionId, owner, { quizId: quiz.id }), 201, LaunchCreatedJson);
  const launchId = created.launch.id;
  t.equal(created.started.length, 30, 'every online student without a reason to skip got an attempt');
  t.same(
    created.skipped.sort((x, y) => x.reason.localeCompare(y.reason)),
    [
      { studentId: selfPaced!.id, reason: 'ATTEMPT_IN_PROGRESS' },
      { studentId: exhausted!.id, reason: 'MAX_ATTEMPTS_REACHED' },
    ],
  );
  const closesAt = Date.parse(created.launch.closesAt);
  t.ok(Math.abs(closesAt - Date.now() - 600_000) < 5000, 'the window is the quiz time limit');
  t.match(await roomHeard, { launchId, quizId: quiz.id, courseId: course.id, closesAt: created.launch.closesAt });

  const started = await Promise.all(startedEvents);
  for (const [i, payload] of started.entries()) {
    t.equal(payload.studentId, classmates[i]!.id);
    t.equal(payload.launchId, launchId);
    t.equal(payload.deadline, created.launch.closesAt, 'the same deadline for everyone: the shared close');
    t.equal(payload.attempt?.launchId, launchId);
    t.equal(payload.attempt?.questions.length, 2, 'the whole attempt object');
  }
  const viaHttp = await ok(await call(app, 'GET', `/api/attempts/${started[0]!.attemptId}`, classmates[0]!), 200, AttemptJson);
  t.same({ ...started[0]!.attempt, serverNow: null }, { ...viaHttp, serverNow: null }, 'quiz:started carries what GET /attempts/:id gives the student');
  t.match(await countsHeard, { launchId, courseId: course.id, counts: { started: 30, running: 30, graded: 0 } });
  t.equal(eventsNamed(teacherSaw, 'quiz:started').length, 0, 'the instructors get counts, not a quiz:started per student');
  t.equal(
    offlineSaw.every((seen) => seen.length === 0),
    true,
    'offline students heard nothing',
  );
  t.same(await launchAttemptStatuses(app, launchId), { in_progress: 30 });
  t.equal((await ok(await call(app, 'GET', `/api/attempts/${running.id}`, selfPaced), 200, AttemptJson)).launchId, null, 'the self-paced attempt is untouched');

  // Answers of the launch: stats carry the launch and count only its answers; counts follow.
  const stats = nextEvent(teacher!, 'quiz:answer-stats', (p) => p.questionId === tf.id && p.launchId === launchId);
  const answeredCount = nextEvent(teacher!, 'session:launch-counts', (p) => p.counts.answered[tf.id] === 2);
  t.equal((await request(pupils[0]!, 'quiz:answer', { attemptId: started[0]!.attemptId, questionId: tf.id, answer: true })).ok, true);
  t.equal((await request(pupils[1]!, 'quiz:answer', { attemptId: started[1]!.attemptId, questionId: tf.id, answer: false })).ok, true);
  await ok(await call(app, 'PUT', `/api/attempts/${running.id}/answers/${tf.id}`, selfPaced, { answer: true }), 200);
  await answeredCount;
  const lastStats = await stats;
  t.ok((lastStats.distribution.true ?? 0) + (lastStats.distribution.false ?? 0) <= 2, 'the self-paced answer is not in the launch stats');
  // One student submits now: graded, but the key stays hidden while the launch is open.
  const submitted = await ok(
    await call(app, 'POST', `/api/attempts/${started[0]!.attemptId}/submit`, classmates[0]!, { answers: { [mc.id]: ['where'] } }),
    200,
    AttemptJson,
  );
  t.equal(submitted.result?.score, 2);
  t.notOk(
    submitted.result?.questions.some((q) => 'correctAnswer' in q),
    'no key while the launch is open',
  );

  // A late starter joins with the window that is left.
  const late = offline[0]!;
  const joined = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, late), 201, AttemptJson);
  t.equal(joined.launchId, launchId);
  t.equal(joined.deadline, created.launch.closesAt, 'the remaining window, not a fresh one');
  const again = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, late), 200, AttemptJson);
  t.equal(again.id, joined.id, 'asking again returns the running launched attempt');

  // More answers: students 2–9 answer one question; students 10–29 and the late starter answer nothing.
  for (let i = 2; i < 10; i++) {
    t.equal((await request(pupils[i]!, 'quiz:answer', { attemptId: started[i]!.attemptId, questionId: mc.id, answer: ['where'] })).ok, true);
  }

  // Close: every running attempt is finished once by its policy (graded with its saved answers;
  // abandoned without any), the room hears the window end, the summary comes once.
  const runningIds = [...started.slice(1).map((p) => p.attemptId), joined.id];
  const finishedByTeacher = new Map<string, number>();
  const count = (p: { attemptId: string }) => finishedByTeacher.set(p.attemptId, (finishedByTeacher.get(p.attemptId) ?? 0) + 1);
  teacher!.on('quiz:graded', count);
  teacher!.on('quiz:abandoned', count);
  const quizClosed = nextEvent(pupils[5]!, 'session:quiz-closed');
  const deadlineMoved = nextEvent(pupils[12]!, 'quiz:deadline-changed');
  const summaryHeard = nextEvent(teacher!, 'session:launch-summary', undefined, 10_000);
  const closing = await ok(await call(app, 'POST', `/api/launches/${launchId}/close`, owner), 200, LaunchJson);
  t.ok(Date.parse(closing.closesAt) <= Date.now(), 'the window ends now');
  t.match(await quizClosed, { launchId, courseId: course.id });
  t.match(await deadlineMoved, { attemptId: started[12]!.attemptId, deadline: closing.closesAt }, 'each running attempt’s deadline became now');
  const summary = await summaryHeard;
  t.match(summary, { launchId, summary: { started: 31, graded: 10, abandoned: 21, passed: Number } });
  t.same(await launchAttemptStatuses(app, launchId), { graded: 10, abandoned: 21 });
  for (const id of runningIds) t.equal(finishedByTeacher.get(id), 1, `quiz:graded or quiz:abandoned once for ${id}`);
  for (const [i, seen] of pupilsSaw.slice(1, 30).entries()) {
    const n = i + 1;
    t.equal(eventsNamed(seen, n < 10 ? 'quiz:graded' : 'quiz:abandoned').length, 1, `student ${n} heard how its attempt ended, once`);
  }
  // Closing again changes nothing and sends nothing.
  await ok(await call(app, 'POST', `/api/launches/${launchId}/close`, owner), 200, LaunchJson);
  await request(teacher!, 'course:join', { courseId: course.id }); // a round trip: anything sent before it has arrived
  t.equal(eventsNamed(teacherSaw, 'session:launch-summary').length, 1, 'the summary exactly once');
  t.equal(eventsNamed(pupilsSaw[5]!, 'session:quiz-closed').length, 1, 'quiz-closed exactly once');

  const got = await ok(await call(app, 'GET', `/api/launches/${launchId}`, owner), 200, LaunchJson);
  t.match(got, { id: launchId, closedAt: String, counts: { started: 31, graded: 10, abandoned: 21, running: 0 }, summary: { started: 31, graded: 10 } });
  t.equal(got.summary!.questions.length, 2);
  // After the close, the key shows (showCorrectAnswers, the only attempt used).
  const after = await ok(await call(app, 'GET', `/api/attempts/${submitted.id}`, classmates[0]!), 200, AttemptJson);
  t.ok(
    after.result?.questions.every((q) => 'correctAnswer' in q),
    'the key once the launch has closed',
  );
  // Nobody joins a closed launch: a start now is self-paced. An abandoned launched attempt
  // without answers does not count: the late starter may start its one attempt; student 5 may not.
  const selfPacedNow = await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, offline[1]!), 201, AttemptJson);
  t.equal(selfPacedNow.launchId, null);
  t.equal((await ok(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, late), 201, AttemptJson)).launchId, null);
  errorOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, classmates[5]!), 409, 'MAX_ATTEMPTS_REACHED');
});

t.test('the CSV export: one row per student, escaped and safe from formulas', async (t) => {
  const pupil = await createUser(app, 'student', { fullName: '=HYPERLINK("x"), "Bobby"' });
  const { course } = await courseWithLessons(app, owner, [pupil]);
  const { quiz } = await publishedQuiz(app, owner, course.id);
  const sessionId = await liveSession(app, course.id, owner);
  await online(course.id, [pupil]);
  const created = await ok(await launch(sessionId, owner, { quizId: quiz.id, durationSeconds: 120 }), 201, LaunchCreatedJson);
  const res = await call<string>(app, 'GET', `/api/launches/${created.launch.id}?format=csv`, owner);
  t.equal(res.status, 200);
  t.match(res.headers['content-type'], /^text\/csv/);
  const lines = res.body.split('\r\n');
  t.equal(lines[0], 'name,email,status,score,percentage,passed,submitted_at,extra_time_seconds');
  t.equal(lines[1], `"'=HYPERLINK(""x""), ""Bobby""",${pupil.email},in_progress,,,,,0`);
  t.equal(lines.length, 3, 'a header, one student, the final line end');
  errorOf(await call(app, 'GET', `/api/launches/${created.launch.id}?format=csv`, pupil), 403, 'FORBIDDEN');
  errorOf(await call(app, 'GET', `/api/launches/${created.launch.id}?format=xml`, owner), 400, 'VALIDATION_ERROR');
});

t.test('bad input and wrong roles: stable codes, nothing written', async (t) => {
  const pupil = await createUser(app, 'student');
  const { course } = await courseWithLessons(app, owner, [pupil]);
  const { quiz } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 60 });
  const { quiz: untimed } = await publishedQuiz(app, owner, course.id);
  const { course: other } = await courseWithLessons(app, otherInstructor, []);
  const { quiz: foreign } = await publishedQuiz(app, otherInstructor, other.id, { timeLimitSeconds: 60 });
  const sessionId = await liveSession(app, course.id, owner);
  const endedId = await liveSession(app, (await courseWithLessons(app, owner, [])).course.id, owner, 'ended');
  await online(course.id, [pupil]);
  const tables = ['quiz_launches', 'quiz_attempts'];
  const before = await countRows(app, tables);

  const cases: Array<[string, TestUser | null, string, unknown, number, string]> = [
    ['anonymous', null, sessionId, { quizId: quiz.id }, 401, 'UNAUTHORIZED'],
    ['a student of the course', pupil, sessionId, { quizId: quiz.id }, 403, 'FORBIDDEN'],
    ['a student outside it', outsider, sessionId, { quizId: quiz.id }, 403, 'FORBIDDEN'],
    ['another instructor', otherInstructor, sessionId, { quizId: quiz.id }, 403, 'FORBIDDEN'],
    ['a quiz of another course', owner, sessionId, { quizId: foreign.id }, 404, 'NOT_FOUND'],
    ['a quiz that does not exist', owner, sessionId, { quizId: '00000000-0000-4000-8000-000000000000' }, 404, 'NOT_FOUND'],
    ['a quiz without time limit and no durationSeconds', owner, sessionId, { quizId: untimed.id }, 400, 'VALIDATION_ERROR'],
    ['no quizId', owner, sessionId, {}, 400, 'VALIDATION_ERROR'],
    ['a malformed quizId', owner, sessionId, { quizId: 'nope' }, 400, 'VALIDATION_ERROR'],
    ['an unknown field', owner, sessionId, { quizId: quiz.id, extra: 1 }, 400, 'VALIDATION_ERROR'],
    ['a zero duration', owner, sessionId, { quizId: quiz.id, durationSeconds: 0 }, 400, 'VALIDATION_ERROR'],
    ['a duration too long', owner, sessionId, { quizId: quiz.id, durationSeconds: 10 ** 7 }, 400, 'VALIDATION_ERROR'],
    ['a text duration', owner, sessionId, { quizId: quiz.id, durationSeconds: 'ten' }, 400, 'VALIDATION_ERROR'],
    ['a session that does not exist', owner, '00000000-0000-4000-8000-000000000000', { quizId: quiz.id }, 404, 'NOT_FOUND'],
    ['a malformed session id', owner, 'nope', { quizId: quiz.id }, 400, 'VALIDATION_ERROR'],
    ['an ended session', owner, endedId, { quizId: quiz.id }, 409, 'CONFLICT'],
  ];
  for (const [what, who, session, body, status, code] of cases) {
    t.equal(errorOf(await launch(session, who, body), status).code, code, what);
  }
  t.same(await countRows(app, tables), before, 'nothing written');

  // The close and the read of a real launch refuse the same people.
  const created = await ok(await launch(sessionId, admin, { quizId: untimed.id, durationSeconds: 60 }), 201, LaunchCreatedJson);
  t.equal(created.launch.launchedBy, admin.id, 'an admin launches in any course');
  const id = created.launch.id;
  const after = await countRows(app, tables);
  for (const [who, status, code] of [
    [null, 401, 'UNAUTHORIZED'],
    [pupil, 403, 'FORBIDDEN'],
    [otherInstructor, 403, 'FORBIDDEN'],
  ] as const) {
    t.equal(errorOf(await call(app, 'POST', `/api/launches/${id}/close`, who), status).code, code, `close: ${code}`);
    t.equal(errorOf(await call(app, 'GET', `/api/launches/${id}`, who), status).code, code, `read: ${code}`);
  }
  errorOf(await call(app, 'POST', `/api/launches/00000000-0000-4000-8000-000000000000/close`, owner), 404, 'NOT_FOUND');
  errorOf(await call(app, 'GET', `/api/launches/nope`, owner), 400, 'VALIDATION_ERROR');
  t.same(await countRows(app, tables), after, 'nothing written by refused closes');
  const state = await ok(await call(app, 'GET', `/api/launches/${id}`, owner), 200, LaunchJson);
  t.equal(state.closedAt, null, 'still open');
  t.equal(state.counts.running, 1);
});

t.test('two launches at once: one 201, one 409; an unpublished quiz is taken only through its launch', async (t) => {
  const pupil = await createUser(app, 'student');
  const { course } = await courseWithLessons(app, owner, [pupil]);
  const { quiz } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 60 });
  const { quiz: draft } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 60 });
  await ok(await call(app, 'PATCH', `/api/quizzes/${draft.id}`, owner, { isPublished: false }), 200, QuizJson);
  const sessionId = await liveSession(app, course.id, owner);
  const replies = await Promise.all([launch(sessionId, owner, { quizId: quiz.id }), launch(sessionId, admin, { quizId: draft.id })]);
  t.same(replies.map((reply) => reply.status).sort(), [201, 409]);
  errorOf(
    replies.find((reply) => reply.status === 409)!,
    409,
    'CONFLICT',
  );
  t.equal((await countRows(app, ['quiz_launches'])).quiz_launches >= 1, true);
  const open = await app.orm.em
    .getConnection()
    .execute<Array<{ n: number }>>('SELECT count(*)::int AS n FROM quiz_launches WHERE session_id = ? AND closed_at IS NULL', [sessionId]);
  t.equal(open[0]!.n, 1, 'one open launch');
  const first = bodyOfCreated(replies.find((reply) => reply.status === 201)!);
  await ok(await call(app, 'POST', `/api/launches/${first.launch.id}/close`, owner), 200, LaunchJson);

  // The draft: refused self-paced, joined through its launch (the student was offline at launch).
  errorOf(await call(app, 'POST', `/api/quizzes/${draft.id}/attempts`, pupil), 404, 'NOT_FOUND');
  const created = await ok(await launch(sessionId, owner, { quizId: draft.id }), 201, LaunchCreatedJson);
  t.same(created.started, [], 'nobody online');
  const joined = await ok(await call(app, 'POST', `/api/quizzes/${draft.id}/attempts`, pupil), 201, AttemptJson);
  t.equal(joined.launchId, created.launch.id);
  await ok(await call(app, 'POST', `/api/attempts/${joined.id}/submit`, pupil, {}), 200, AttemptJson);
  errorOf(await call(app, 'POST', `/api/quizzes/${draft.id}/attempts`, pupil), 409, 'CONFLICT');
  await ok(await call(app, 'POST', `/api/launches/${created.launch.id}/close`, owner), 200, LaunchJson);
  errorOf(await call(app, 'POST', `/api/quizzes/${draft.id}/attempts`, pupil), 404, 'NOT_FOUND');
});

const bodyOfCreated = (reply: { status: number; body: unknown }) => bodyOf({ headers: {}, ...reply }, 201, LaunchCreatedJson);

t.test('a quiz whose regrade is queued or running is not launched (409), and launches once it has finished', async (t) => {
  const { course } = await courseWithLessons(app, owner, []);
  const { quiz } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 60 });
  const sessionId = await liveSession(app, course.id, owner);
  const db = app.orm.em.getConnection();
  const [regrade] = await db.execute<Array<{ id: string }>>(
    `INSERT INTO quiz_regrades (quiz_id, key_version, status, requested_by) VALUES (?, 1, 'running', ?) RETURNING id`,
    [quiz.id, owner.id],
  );
  const before = await countRows(app, ['quiz_launches', 'quiz_attempts']);
  errorOf(await launch(sessionId, owner, { quizId: quiz.id }), 409, 'CONFLICT');
  t.same(await countRows(app, ['quiz_launches', 'quiz_attempts']), before, 'nothing written');
  await db.execute(`UPDATE quiz_regrades SET status = 'done', finished_at = now() WHERE id = ?`, [regrade!.id]);
  await ok(await launch(sessionId, owner, { quizId: quiz.id }), 201, LaunchCreatedJson);
});

t.test("question orders: the quiz's own for everyone when it shuffles nothing, each student's own when it shuffles", async (t) => {
  const pupils = await students(16);
  /** Each started attempt's order, from its quiz:started: question ids and, per question, option ids. */
  async function ordersOfLaunch(settings: Record<string, unknown>) {
    const { course } = await courseWithLessons(app, owner, pupils);
    const sessionId = await liveSession(app, course.id, owner);
    const sockets = await online(course.id, pupils);
    const { quiz, tf, mc } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 60, ...settings });
    const heard = sockets.map((socket) => nextEvent(socket, 'quiz:started', (p) => p.quizId === quiz.id));
    const created = await ok(await launch(sessionId, owner, { quizId: quiz.id }), 201, LaunchCreatedJson);
    t.equal(created.started.length, pupils.length);
    const orders = (await Promise.all(heard)).map((payload) =>
      JSON.stringify(payload.attempt!.questions.map((q: { id: string; options?: Array<{ id: string }> | null }) => [q.id, (q.options ?? []).map((o) => o.id)])),
    );
    await ok(await call(app, 'POST', `/api/launches/${created.launch.id}/close`, owner), 200, LaunchJson);
    return {
      orders,
      quizOrder: JSON.stringify([
        [tf.id, []],
        [mc.id, ['where', 'order']],
      ]),
      tf,
      mc,
    };
  }

  const plain = await ordersOfLaunch({});
  t.same(new Set(plain.orders), new Set([plain.quizOrder]), "nothing shuffled: every student has the quiz's order");

  const shuffled = await ordersOfLaunch({ shuffleQuestions: true, shuffleOptions: true });
  for (const order of shuffled.orders) {
    const questions: Array<[string, string[]]> = JSON.parse(order);
    t.same(questions.map(([id]) => id).sort(), [shuffled.tf.id, shuffled.mc.id].sort(), 'each order holds every question once');
    t.same(questions.find(([id]) => id === shuffled.mc.id)![1].sort(), ['order', 'where'], 'and every option once');
  }
  // 2 questions of which one has 2 options: 4 orders; 16 students on one of them by chance: 4 × 4^-16.
  t.ok(new Set(shuffled.orders).size > 1, 'students have orders of their own');
});

t.test('a late starter under 15 s of window left: 409 QUIZ_TIME_EXPIRED', async (t) => {
  const pupil = await createUser(app, 'student');
  const { course } = await courseWithLessons(app, owner, [pupil]);
  const { quiz } = await publishedQuiz(app, owner, course.id);
  const sessionId = await liveSession(app, course.id, owner);
  const created = await ok(await launch(sessionId, owner, { quizId: quiz.id, durationSeconds: 10 }), 201, LaunchCreatedJson);
  errorOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, pupil), 409, 'QUIZ_TIME_EXPIRED');
  t.same(await launchAttemptStatuses(app, created.launch.id), {}, 'no attempt');
  await ok(await call(app, 'POST', `/api/launches/${created.launch.id}/close`, owner), 200, LaunchJson);
});

t.test('a launch closes by itself when its window passes', async (t) => {
  const [answering, silent] = await students(2);
  const { course } = await courseWithLessons(app, owner, [answering!, silent!]);
  const { quiz, tf } = await publishedQuiz(app, owner, course.id);
  const sessionId = await liveSession(app, course.id, owner);
  const [teacher] = await online(course.id, [owner]);
  const [pupil, quiet] = await online(course.id, [answering!, silent!]);
  const started = nextEvent(pupil!, 'quiz:started');
  const closed = nextEvent(quiet!, 'session:quiz-closed', undefined, 8000);
  const graded = nextEvent(pupil!, 'quiz:graded', undefined, 8000);
  const summary = nextEvent(teacher!, 'session:launch-summary', undefined, 8000);
  const created = await ok(await launch(sessionId, owner, { quizId: quiz.id, durationSeconds: 2 }), 201, LaunchCreatedJson);
  const { attemptId } = await started;
  t.equal((await request(pupil!, 'quiz:answer', { attemptId, questionId: tf.id, answer: true })).ok, true);
  t.match(await closed, { launchId: created.launch.id });
  t.ok(Date.now() >= Date.parse(created.launch.closesAt), 'not before the window ends');
  t.match(await graded, { attemptId, score: 1, maxScore: 2 });
  t.match(await summary, { launchId: created.launch.id, summary: { started: 2, graded: 1, abandoned: 1 } });
  const state = await ok(await call(app, 'GET', `/api/launches/${created.launch.id}`, owner), 200, LaunchJson);
  t.ok(state.closedAt, 'closed by itself');
  t.match(state.counts, { started: 2, graded: 1, abandoned: 1, submitted: 0, running: 0 });
});

t.test('close vs a submit vs the deadline job: each attempt finished once', async (t) => {
  const pupils = await students(6);
  const { course } = await courseWithLessons(app, owner, pupils);
  const { quiz } = await publishedQuiz(app, owner, course.id);
  const sessionId = await liveSession(app, course.id, owner);
  const [teacher] = await online(course.id, [owner]);
  const teacherSaw = record(teacher!);
  await online(course.id, pupils);
  const summary = nextEvent(teacher!, 'session:launch-summary', undefined, 8000);
  const created = await ok(await launch(sessionId, owner, { quizId: quiz.id, durationSeconds: 1 }), 201, LaunchCreatedJson);
  // At the deadline + grace, when the launch's job fires too.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(created.launch.closesAt) + 300 - Date.now())));
  const submits = created.started.map((row, i) =>
    call(
      app,
      'POST',
      `/api/attempts/${row.attemptId}/submit`,
      pupils.find((p) => p.id === row.studentId)!,
      i % 2 ? {} : undefined,
    ),
  );
  const [close] = await Promise.all([call(app, 'POST', `/api/launches/${created.launch.id}/close`, owner), ...submits]);
  t.equal(close.status, 200);
  await summary;
  await request(teacher!, 'course:join', { courseId: course.id });
  const ends = [...eventsNamed(teacherSaw, 'quiz:graded'), ...eventsNamed(teacherSaw, 'quiz:abandoned')];
  t.equal(ends.length, 6, 'one quiz:graded or quiz:abandoned per attempt');
  t.same(new Set(ends.map((g) => g.attemptId)).size, 6);
  t.equal(eventsNamed(teacherSaw, 'session:launch-summary').length, 1);
  const statuses = await launchAttemptStatuses(app, created.launch.id);
  t.equal((statuses.graded ?? 0) + (statuses.abandoned ?? 0), 6, `every attempt finished (${JSON.stringify(statuses)})`);
});

t.test('ending the session closes its open launch first', async (t) => {
  const pupil = await createUser(app, 'student');
  const { course } = await courseWithLessons(app, owner, [pupil]);
  const { quiz, tf } = await publishedQuiz(app, owner, course.id, { timeLimitSeconds: 600 });
  const [teacher] = await online(course.id, [owner]);
  const started = await ok(await call(app, 'POST', `/api/courses/${course.id}/live-sessions`, owner), 201);
  const sessionId = (started as { id: string }).id;
  const [socket] = await online(course.id, [pupil]);
  const seen = record(socket!);
  const created = await ok(await launch(sessionId, owner, { quizId: quiz.id }), 201, LaunchCreatedJson);
  const attemptId = created.started[0]!.attemptId;
  t.equal((await request(socket!, 'quiz:answer', { attemptId, questionId: tf.id, answer: true })).ok, true);
  const summary = nextEvent(teacher!, 'session:launch-summary', undefined, 8000);
  const ended = nextEvent(socket!, 'session:ended');
  await ok(await call(app, 'POST', `/api/live-sessions/${sessionId}/end`, owner), 200);
  await ended;
  const order = seen.map((e) => e.event).filter((name) => name === 'session:quiz-closed' || name === 'session:ended');
  t.same(order, ['session:quiz-closed', 'session:ended'], 'the window ends before the session');
  t.match(await summary, { launchId: created.launch.id, summary: { started: 1, graded: 1 } });
  const state = await ok(await call(app, 'GET', `/api/launches/${created.launch.id}`, owner), 200, LaunchJson);
  t.ok(state.closedAt, 'the launch closed');
  errorOf(await launch(sessionId, owner, { quizId: quiz.id }), 409, 'CONFLICT');
});
