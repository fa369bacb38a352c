import t from '../helpers/tap.js';
import { buildTestApp } from '../helpers/app.js';
import { bodyOf, call } from '../helpers/http.js';
import { createUser } from '../helpers/users.js';
import { wsClient, type WsClient } from '../multi/cluster-helpers.js';
import { courseWithLessons } from './fixtures.js';
import { waitFor } from '../helpers/wait.js';
import { client, connect, listen, nextEvent, record, request, socketPool } from './socket-helpers.js';
import { LiveSessionJson } from '../../server/modules/live-sessions/sessions.schemas.js';

// session:started / session:lesson / session:ended reach the course's room over Socket.IO and
// `/ws` alike, and nobody else; students in the room while a session is live are its attendance.
const { app } = await buildTestApp(t, 'realtime-live-sessions');
const url = await listen(app);
const sockets = socketPool();
const opened: WsClient[] = [];
t.teardown(() => {
  sockets.closeAll();
  for (const ws of opened) ws.ws.terminate();
});

const owner = await createUser(app, 'instructor');
const student = await createUser(app, 'student');
const wsStudent = await createUser(app, 'student');
const latecomer = await createUser(app, 'student');
const wsLatecomer = await createUser(app, 'student');
const otherStudent = await createUser(app, 'student');

const socketOf = async (user: { token: string }) => connect(sockets.add(client(url, user.token)));
const wsOf = async (user: { token: string }) => {
  const ws = await wsClient(`${url}/ws?token=${encodeURIComponent(user.token)}`);
  opened.push(ws);
  return ws;
};

async function attendance(sessionId: string): Promise<Array<{ user_id: string; first_seen_at: string; last_seen_at: string }>> {
  return app.orm.em
    .getConnection()
    .execute('SELECT user_id, first_seen_at, last_seen_at FROM live_session_attendance WHERE session_id = ? ORDER BY user_id', [sessionId]);
}

t.test('session events reach the room (Socket.IO and /ws), not other courses', async (t) => {
  const { course, lessons } = await courseWithLessons(app, owner, [student, wsStudent, latecomer, wsLatecomer]);
  const other = await courseWithLessons(app, owner, [otherStudent]);

  const teacher = await socketOf(owner);
  const pupil = await socketOf(student);
  const wsPupil = await wsOf(wsStudent);
  const stranger = await socketOf(otherStudent);
  t.match(await request(teacher, 'course:join', { courseId: course.id }), { ok: true });
  t.match(await request(pupil, 'course:join', { courseId: course.id }), { ok: true });
  t.match(await wsPupil.send('subscribe', { courseId: course.id }), { ok: true });
  t.match(await request(stranger, 'course:join', { courseId: other.course.id }), { ok: true });
  const strangerSaw = record(stranger);

  const started = nextEvent(pupil, 'session:started');
  const wsStarted = wsPupil.next('session:started');
  const teacherStarted = nextEvent(teacher, 'session:started');
  const session = bodyOf(await call(app, 'POST', `/api/courses/${course.id}/live-sessions`, owner), 201, LiveSessionJson);
  t.match(await started, { sessionId: session.id, courseId: course.id, serverNow: String });
  t.match(await wsStarted, { sessionId: session.id, courseId: course.id, serverNow: String });
  await teacherStarted;
  t.same(
    (await attendance(session.id)).map((row) => row.user_id),
    [student.id, wsStudent.id].sort(),
    'the students online at start attend (the instructor does not count)',
  );

  const lesson = nextEvent(pupil, 'session:lesson');
  const wsLesson = wsPupil.next('session:lesson');
  bodyOf(await call(app, 'PATCH', `/api/live-sessions/${session.id}`, owner, { currentLessonId: lessons[1]!.id }), 200, LiveSessionJson);
  t.match(await lesson, { sessionId: session.id, courseId: course.id, lessonId: lessons[1]!.id, serverNow: String });
  t.match(await wsLesson, { sessionId: session.id, lessonId: lessons[1]!.id });
  const cleared = nextEvent(pupil, 'session:lesson');
  bodyOf(await call(app, 'PATCH', `/api/live-sessions/${session.id}`, owner, { currentLessonId: null }), 200, LiveSessionJson);
  t.match(await cleared, { sessionId: session.id, lessonId: null });

  // A student who arrives while the session is live attends it from its join: recorded with the
  // presence batch that tells the instructors it came online.
  const late = await socketOf(latecomer);
  t.match(await request(late, 'course:join', { courseId: course.id }), { ok: true });
  await waitFor('the latecomer attends', async () => (await attendance(session.id)).some((row) => row.user_id === latecomer.id));
  const wsLate = await wsOf(wsLatecomer);
  t.match(await wsLate.send('subscribe', { courseId: course.id }), { ok: true });
  await waitFor('the /ws latecomer attends', async () => (await attendance(session.id)).some((row) => row.user_id === wsLatecomer.id));
  const [before] = (await attendance(session.id)).filter((row) => row.user_id === student.id);
  await request(pupil, 'course:leave', { courseId: course.id });
  t.match(await request(pupil, 'course:join', { courseId: course.id }), { ok: true });
  const after = await waitFor('last seen moves on a rejoin', async () => {
    const [row] = (await attendance(session.id)).filter((row) => row.user_id === student.id);
    return new Date(row!.last_seen_at) > new Date(before!.last_seen_at) && row;
  });
  t.equal(after.first_seen_at, before!.first_seen_at, 'first seen stays');

  const ended = nextEvent(pupil, 'session:ended');
  const wsEnded = wsPupil.next('session:ended');
  const lateEnded = nextEvent(late, 'session:ended');
  bodyOf(await call(app, 'POST', `/api/live-sessions/${session.id}/end`, owner), 200, LiveSessionJson);
  t.match(await ended, { sessionId: session.id, courseId: course.id, serverNow: String });
  t.match(await wsEnded, { sessionId: session.id, courseId: course.id });
  await lateEnded;

  await request(stranger, 'course:leave', { courseId: other.course.id }); // a round trip: anything sent before it has arrived
  t.same(strangerSaw, [], 'a student of another course heard nothing');
});

t.test('a failing attendance write holds back no presence batch', async (t) => {
  const { course } = await courseWithLessons(app, owner, [student]);
  const session = bodyOf(await call(app, 'POST', `/api/courses/${course.id}/live-sessions`, owner), 201, LiveSessionJson);
  const connection = app.orm.em.getConnection();
  await connection.execute(`CREATE FUNCTION refuse_attendance() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'attendance refused'; END $$`);
  await connection.execute('CREATE TRIGGER refuse_attendance BEFORE INSERT ON live_session_attendance FOR EACH ROW EXECUTE FUNCTION refuse_attendance()');
  t.teardown(async () => {
    await connection.execute('DROP TRIGGER IF EXISTS refuse_attendance ON live_session_attendance');
    await connection.execute('DROP FUNCTION IF EXISTS refuse_attendance()');
  });

  const teacher = await socketOf(owner);
  t.match(await request(teacher, 'course:join', { courseId: course.id }), { ok: true });
  const heard = nextEvent(teacher, 'presence:updated', (batch) => batch.joined.includes(student.id));
  const pupil = await socketOf(student);
  t.match(await request(pupil, 'course:join', { courseId: course.id }), { ok: true, data: { courseId: course.id } }, 'the join is answered');
  t.match(await heard, { courseId: course.id }, 'the instructor hears of it');
  const ended = nextEvent(pupil, 'session:ended');
  bodyOf(await call(app, 'POST', `/api/live-sessions/${session.id}/end`, owner), 200, LiveSessionJson);
  await ended;
  t.same(await attendance(session.id), [], 'nothing was written');
});
