import t from '../../helpers/tap.js';
import { AttemptJson } from '../../../server/modules/attempts/attempts.schemas.js';
import { LaunchCreatedJson, LaunchExtendedJson, LaunchJson } from '../../../server/modules/live-sessions/launches.schemas.js';
import { OverrideJson } from '../../../server/modules/overrides/overrides.schemas.js';
import { buildTestApp } from '../../helpers/app.js';
import { call, errorOf } from '../../helpers/http.js';
import { createUser, type TestUser } from '../../helpers/users.js';
import { client, connect, listen, nextEvent, record, request, socketPool } from '../../realtime/socket-helpers.js';
import { courseWithLessons, ok, publishedQuiz } from '../../realtime/fixtures.js';
import { liveSession } from './launch-fixtures.js';

const { app } = await buildTestApp(t, 'live-launch-extend', { WORKERS: 'on', QUIZ_GRACE_MS: '300', SWEEP_INTERVAL_MS: '3600000' });
const url = await listen(app);
const sockets = socketPool();
t.teardown(() => sockets.closeAll());

const owner = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const otherInstructor = await createUser(app, 'instructor');
const socketOf = async (user: { token: string }) => connect(sockets.add(client(url, user.token)));
const extend = (launchId: string, as: TestUser | null, body: unknown, key?: string) =>
  app
    .inject({
      method: 'POST',
      url: `/api/launches/${launchId}/extend`,
      headers: { ...(as?.headers ?? {}), ...(key ? { 'idempotency-key': key } : {}) },
      payload: body as Record<string, unknown>,
    })
    .then((res) => ({ status: res.statusCode, body: res.json() as unknown, headers: res.headers }));
const deadlines = async (launchId: string) =>
  Object.fromEntries(
    (
      await app.orm.em
        .getConnection()
        .execute<Array<{ student_id: string; deadline: Date }>>(
          'SELECT e.student_id, a.deadline FROM quiz_attempts a JOIN enrollments e ON e.id = a.enrollment_id WHERE a.launch_id = ?',
          [launchId],
        )
    ).map((row) => [row.student_id, new Date(row.deadline).toISOString()]),
  );

/** A launch of 120 s to `students`, all online, the owner's socket in the room. */
async function launched(students: TestUser[], settings: Record<string, unknown> = {}) {
  const { course } = await courseWithLessons(app, owner, students);
  const { quiz } = await publishedQuiz(app, owner, course.id, settings);
  const sessionId = await liveSession(app, course.id, owner);
  const teacher = await socketOf(owner);
  await request(teacher, 'course:join', { courseId: course.id });
  const pupils = [];
  for (const student of students) {
    const socket = await socketOf(student);
    await request(socket, 'course:join', { courseId: course.id });
    pupils.push(socket);
  }
  const created = await ok(
    await call(app, 'POST', `/api/live-sessions/${sessionId}/launches`, owner, { quizId: quiz.id, durationSeconds: 120 }),
    201,
    LaunchCreatedJson,
  );
  return { course, quiz, sessionId, teacher, pupils, created, launchId: created.launch.id };
}

t.test('extend everyone: the shared close and every attempt move; each student and the instructors hear it', async (t) => {
  const students = await Promise.all([createUser(app, 'student'), createUser(app, 'student'), createUser(app, 'student')]);
  const { course, teacher, pupils, created, launchId } = await launched(students);
  const teacherSaw = record(teacher);
  const heard = pupils.map((socket) => nextEvent(socket, 'quiz:deadline-changed'));
  const before = Date.parse(created.launch.closesAt);
  const reply = await extend(launchId, owner, { seconds: 60 });
  const body = await ok(reply, 200, LaunchExtendedJson);
  const expected = new Date(before + 60_000).toISOString();
  t.equal(body.closesAt, expected);
  t.equal(body.moved.length, 3);
  for (const [i, event] of (await Promise.all(heard)).entries()) {
    t.match(event, { attemptId: created.started.find((s) => s.studentId === students[i]!.id)!.attemptId, deadline: expected });
  }
  await request(teacher, 'course:join', { courseId: course.id }); // a round trip: what was sent before it has arrived
  t.equal(teacherSaw.filter((e) => e.event === 'quiz:deadline-changed').length, 3, 'the instructors hear each change');
  t.same(Object.values(await deadlines(launchId)), [expected, expected, expected], 'in the database');

  // Shorter again (negative), but not into the past.
  const shorter = await ok(await extend(launchId, admin, { seconds: -30 }), 200, LaunchExtendedJson);
  t.equal(shorter.closesAt, new Date(before + 30_000).toISOString(), 'an admin moves it back');
  errorOf(await extend(launchId, owner, { seconds: -3600 }), 409, 'DEADLINE_NOT_IN_FUTURE');
  t.same(Object.values(await deadlines(launchId)), Array(3).fill(shorter.closesAt), 'unchanged by the refused move');
  // A student joining later gets the moved window.
  const late = await createUser(app, 'student');
  await ok(await call(app, 'POST', `/api/courses/${course.id}/enroll`, late), 201);
  const joined = await ok(await call(app, 'POST', `/api/quizzes/${created.launch.quizId}/attempts`, late), 201, AttemptJson);
  t.equal(joined.deadline, shorter.closesAt);
  await ok(await call(app, 'POST', `/api/launches/${launchId}/close`, owner), 200, LaunchJson);
});

t.test('extend one student: its offset and its attempt alone; a retry with the same key applies once', async (t) => {
  const students = await Promise.all([createUser(app, 'student'), createUser(app, 'student')]);
  const { pupils, created, launchId } = await launched(students);
  const [slow, other] = students as [TestUser, TestUser];
  const otherSaw = record(pupils[1]!);
  const heard = nextEvent(pupils[0]!, 'quiz:deadline-changed');
  const first = await extend(launchId, owner, { seconds: 45, studentId: slow.id }, 'retry-1');
  const body = await ok(first, 200, LaunchExtendedJson);
  const expected = new Date(Date.parse(created.launch.closesAt) + 45_000).toISOString();
  t.same(body.studentOffsets, { [slow.id]: 45 });
  t.equal(body.closesAt, created.launch.closesAt, 'the shared close stays');
  t.match(await heard, { deadline: expected });
  const again = await extend(launchId, owner, { seconds: 45, studentId: slow.id }, 'retry-1');
  t.equal(again.status, 200);
  t.equal(again.headers['idempotent-replayed'], 'true');
  t.same(again.body, body, 'the first reply, replayed');
  const now = await deadlines(launchId);
  t.equal(now[slow.id], expected, 'moved once');
  t.equal(now[other.id], created.launch.closesAt, 'the other student is untouched');
  t.equal(otherSaw.filter((e) => e.event === 'quiz:deadline-changed').length, 0, 'and hears nothing');
  // A new key moves it again; then the shared close moves the personal deadline along (it follows the close).
  await ok(await extend(launchId, owner, { seconds: 15, studentId: slow.id }, 'retry-2'), 200, LaunchExtendedJson);
  const all = await ok(await extend(launchId, owner, { seconds: 10 }), 200, LaunchExtendedJson);
  t.equal(all.moved.length, 2);
  t.same(all.studentOffsets, { [slow.id]: 60 });
  t.equal((await deadlines(launchId))[slow.id], new Date(Date.parse(created.launch.closesAt) + 70_000).toISOString());
  errorOf(await extend(launchId, owner, { seconds: -3600, studentId: slow.id }), 409, 'DEADLINE_NOT_IN_FUTURE');
  await ok(await call(app, 'POST', `/api/launches/${launchId}/close`, owner), 200, LaunchJson);
});

t.test('extra time of an override lengthens a launched attempt; a shortened personal deadline finishes it', async (t) => {
  const students = await Promise.all([createUser(app, 'student'), createUser(app, 'student')]);
  const { course } = await courseWithLessons(app, owner, students);
  const { quiz, tf } = await publishedQuiz(app, owner, course.id);
  await ok(
    await call(app, 'PUT', `/api/quizzes/${quiz.id}/overrides/${students[0]!.id}`, owner, { extraAttempts: 0, extraTimeSeconds: 90 }),
    200,
    OverrideJson,
  );
  const sessionId = await liveSession(app, course.id, owner);
  const pupils = [];
  for (const student of students) {
    const socket = await socketOf(student);
    await request(socket, 'course:join', { courseId: course.id });
    pupils.push(socket);
  }
  const created = await ok(
    await call(app, 'POST', `/api/live-sessions/${sessionId}/launches`, owner, { quizId: quiz.id, durationSeconds: 60 }),
    201,
    LaunchCreatedJson,
  );
  const closesAt = Date.parse(created.launch.closesAt);
  const byStudent = Object.fromEntries(created.started.map((row) => [row.studentId, row]));
  t.equal(byStudent[students[0]!.id]!.deadline, new Date(closesAt + 90_000).toISOString(), 'closesAt + extra time');
  t.equal(byStudent[students[1]!.id]!.deadline, created.launch.closesAt);

  // The second student's deadline cut to ~1 s from now: its own job finishes it (graded: it answered).
  const attemptId = byStudent[students[1]!.id]!.attemptId;
  t.equal((await request(pupils[1]!, 'quiz:answer', { attemptId, questionId: tf.id, answer: true })).ok, true);
  const graded = nextEvent(pupils[1]!, 'quiz:graded', undefined, 6000);
  const cut = Math.ceil((Date.now() + 1500 - closesAt) / 1000);
  await ok(await extend(created.launch.id, owner, { seconds: cut, studentId: students[1]!.id }), 200, LaunchExtendedJson);
  t.match(await graded, { attemptId, score: 1 });
  await ok(await call(app, 'POST', `/api/launches/${created.launch.id}/close`, owner), 200, LaunchJson);
});

t.test('extend: bad input, wrong roles, a closed launch', async (t) => {
  const student = await createUser(app, 'student');
  const outsider = await createUser(app, 'student');
  const { launchId } = await launched([student]);
  const before = await deadlines(launchId);
  const cases: Array<[string, TestUser | null, unknown, number, string]> = [
    ['anonymous', null, { seconds: 10 }, 401, 'UNAUTHORIZED'],
    ['the student', student, { seconds: 10 }, 403, 'FORBIDDEN'],
    ['another instructor', otherInstructor, { seconds: 10 }, 403, 'FORBIDDEN'],
    ['zero seconds', owner, { seconds: 0 }, 400, 'VALIDATION_ERROR'],
    ['no seconds', owner, {}, 400, 'VALIDATION_ERROR'],
    ['fractional seconds', owner, { seconds: 1.5 }, 400, 'VALIDATION_ERROR'],
    ['too many seconds', owner, { seconds: 10 ** 8 }, 400, 'VALIDATION_ERROR'],
    ['an unknown field', owner, { seconds: 10, extra: true }, 400, 'VALIDATION_ERROR'],
    ['a malformed student id', owner, { seconds: 10, studentId: 'x' }, 400, 'VALIDATION_ERROR'],
    ['a student outside the course', owner, { seconds: 10, studentId: outsider.id }, 404, 'NOT_FOUND'],
  ];
  for (const [what, who, body, status, code] of cases) t.equal(errorOf(await extend(launchId, who, body), status).code, code, what);
  errorOf(await extend('00000000-0000-4000-8000-000000000000', owner, { seconds: 10 }), 404, 'NOT_FOUND');
  t.same(await deadlines(launchId), before, 'nothing moved');
  await ok(await call(app, 'POST', `/api/launches/${launchId}/close`, owner), 200, LaunchJson);
  const afterClose = await deadlines(launchId);
  t.equal(errorOf(await extend(launchId, owner, { seconds: 10 }), 409).code, 'CONFLICT', 'a closed window does not reopen');
  t.equal(errorOf(await extend(launchId, owner, { seconds: 10, studentId: student.id }), 409).code, 'CONFLICT', 'nor one student’s');
  t.same(await deadlines(launchId), afterClose);
});
