import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser } from '../../helpers/users.js';
import { recordingPublisher } from '../../helpers/publisher.js';
import { courseWithLessons } from '../../realtime/fixtures.js';
import type { ServiceDeps } from '../../../server/modules/deps.js';
import type { AuthUser } from '../../../server/modules/auth/auth-user.js';
import {
  endLiveSession,
  finishLiveSession,
  hasLiveSession,
  recordAttendance,
  setCurrentLesson,
  startLiveSession,
} from '../../../server/modules/live-sessions/sessions.service.js';

// The flows at the service level: what they report to the publisher, and the attendance a start
// records from who the presence port says is online.
const { app } = await buildTestApp(t, 'live-sessions-service');

const owner = await createUser(app, 'instructor');
const other = await createUser(app, 'instructor');
const student = await createUser(app, 'student');
const dropped = await createUser(app, 'student');
const offline = await createUser(app, 'student');
const outsider = await createUser(app, 'student');
const auth = (user: { id: string; user: { role: AuthUser['role'] } }): AuthUser => ({ id: user.id, role: user.user.role });

function depsWith(online: string[] = []) {
  const publisher = recordingPublisher();
  const deps: ServiceDeps = { ...app.forkDeps(), publisher, presence: { online: () => Promise.resolve(online) } };
  return { deps, publisher };
}

t.test('a start records the online students of the course, and only them', async (t) => {
  const { course } = await courseWithLessons(app, owner, [student, dropped, offline]);
  await app.orm.em.getConnection().execute(`UPDATE enrollments SET status = 'dropped' WHERE student_id = ? AND course_id = ?`, [dropped.id, course.id]);
  const { deps, publisher } = depsWith([student.id, dropped.id, outsider.id, owner.id]);
  const session = await startLiveSession(deps, auth(owner), course.id);
  t.same(publisher.calls.liveSessionStarted, [{ sessionId: session.id, courseId: course.id }]);
  const rows = await app.orm.em
    .getConnection()
    .execute<Array<{ user_id: string }>>('SELECT user_id FROM live_session_attendance WHERE session_id = ?', [session.id]);
  t.same(
    rows.map((row) => row.user_id),
    [student.id],
    'an online active enrollee; not a dropped one, an outsider or the instructor',
  );
  t.ok(await hasLiveSession(app.orm.em.fork(), course.id));
});

t.test('presence changes during a session are attendance; without one they write nothing', async (t) => {
  const latecomer = await createUser(app, 'student');
  const { course } = await courseWithLessons(app, owner, [student, dropped, latecomer]);
  const sql = app.orm.em.getConnection();
  await sql.execute(`UPDATE enrollments SET status = 'dropped' WHERE student_id = ? AND course_id = ?`, [dropped.id, course.id]);
  const rowsOf = (sessionId: string) =>
    sql.execute<Array<{ user_id: string; first_seen_at: Date; last_seen_at: Date }>>(
      'SELECT user_id, first_seen_at, last_seen_at FROM live_session_attendance WHERE session_id = ? ORDER BY user_id',
      [sessionId],
    );
  const log = app.log;

  await recordAttendance({ em: app.orm.em.fork(), log }, { courseId: course.id, joined: [student.id], left: [] });
  t.same(
    await sql.execute('SELECT 1 FROM live_session_attendance a JOIN live_sessions s ON s.id = a.session_id WHERE s.course_id = ?', [course.id]),
    [],
    'no session, no row',
  );

  const { deps } = depsWith([student.id]);
  const session = await startLiveSession(deps, auth(owner), course.id);
  const [atStart] = await rowsOf(session.id);
  await recordAttendance(
    { em: app.orm.em.fork(), log },
    { courseId: course.id, joined: [latecomer.id, dropped.id, owner.id, outsider.id], left: [student.id] },
  );
  const rows = await rowsOf(session.id);
  t.same(
    rows.map((row) => row.user_id).sort(),
    [student.id, latecomer.id].sort(),
    'the enrollee who came attends; not a dropped one, the instructor or an outsider',
  );
  const studentRow = rows.find((row) => row.user_id === student.id)!;
  t.same(studentRow.first_seen_at, atStart!.first_seen_at, 'first seen stays');
  t.ok(studentRow.last_seen_at > atStart!.last_seen_at, 'going offline is last seen');

  await endLiveSession(deps, auth(owner), session.id);
  await recordAttendance({ em: app.orm.em.fork(), log }, { courseId: course.id, joined: [], left: [latecomer.id] });
  t.same(await rowsOf(session.id), rows, 'after the end nothing changes');
});

t.test('refused flows report nothing', async (t) => {
  const { course, lessons } = await courseWithLessons(app, owner, [student]);
  const { deps, publisher } = depsWith();
  const session = await startLiveSession(deps, auth(owner), course.id);
  await t.rejects(startLiveSession(deps, auth(owner), course.id), { code: 'CONFLICT' });
  await t.rejects(setCurrentLesson(deps, auth(other), session.id, lessons[0]!.id), { code: 'FORBIDDEN' });
  await t.rejects(endLiveSession(deps, auth(student), session.id), { code: 'FORBIDDEN' });
  t.same(publisher.calls.liveSessionStarted.length, 1, 'only the first start');
  t.same(publisher.calls.liveSessionLessonChanged, []);
  t.same(publisher.calls.liveSessionEnded, []);

  await setCurrentLesson(deps, auth(owner), session.id, lessons[0]!.id);
  t.same(publisher.calls.liveSessionLessonChanged, [{ sessionId: session.id, courseId: course.id, lessonId: lessons[0]!.id }]);
  await endLiveSession(deps, auth(owner), session.id);
  await t.rejects(endLiveSession(deps, auth(owner), session.id), { code: 'CONFLICT' });
  t.equal(await finishLiveSession(deps, session.id), false, 'finishing an ended session does nothing');
  t.same(publisher.calls.liveSessionEnded, [{ sessionId: session.id, courseId: course.id }], 'ended once');
  t.notOk(await hasLiveSession(app.orm.em.fork(), course.id));
});

t.test('two ends racing: one wins, one announcement', async (t) => {
  const { course } = await courseWithLessons(app, owner, []);
  const { deps, publisher } = depsWith();
  const session = await startLiveSession(deps, auth(owner), course.id);
  const results = await Promise.all([1, 2, 3].map(() => finishLiveSession({ ...deps, em: app.orm.em.fork() }, session.id)));
  t.equal(results.filter(Boolean).length, 1);
  t.equal(publisher.calls.liveSessionEnded.length, 1);
});
