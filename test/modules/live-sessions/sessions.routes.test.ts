import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { bodyOf, call, errorOf } from '../../helpers/http.js';
import { createUser, type TestUser } from '../../helpers/users.js';
import { recordingPublisher } from '../../helpers/publisher.js';
import { courseWithLessons, publishedQuiz } from '../../realtime/fixtures.js';
import { Page } from '../../../server/platform/schemas.js';
import { CourseJson } from '../../../server/modules/learning.schemas.js';
import { AttemptJson } from '../../../server/modules/attempts/attempts.schemas.js';
import { CurrentSessionJson, LiveSessionJson, SessionHistoryJson } from '../../../server/modules/live-sessions/sessions.schemas.js';
import { endIdleLiveSessions } from '../../../server/modules/live-sessions/sessions.service.js';
import { sweepTasks } from '../../../workers/maintenance.worker.js';

const { app } = await buildTestApp(t, 'live-sessions-routes');

const owner = await createUser(app, 'instructor', { fullName: 'Olga Owner' });
const otherInstructor = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const student = await createUser(app, 'student', { fullName: 'Ada Student' });
const classmate = await createUser(app, 'student', { fullName: 'Bob Classmate' });
const outsider = await createUser(app, 'student');

const SessionPage = Page(SessionHistoryJson);
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return app.orm.em.getConnection().execute<T[]>(text, params);
}

/** Everything a refused request must leave as it was. */
async function snapshot() {
  return {
    sessions: await sql('SELECT id, status, current_lesson_id, ended_at, last_activity_at FROM live_sessions ORDER BY id'),
    attendance: await sql('SELECT session_id, user_id, last_seen_at FROM live_session_attendance ORDER BY session_id, user_id'),
    courses: await sql('SELECT id, is_published, updated_at FROM courses ORDER BY id'),
  };
}

const start = (courseId: string, as: TestUser) => call(app, 'POST', `/api/courses/${courseId}/live-sessions`, as);
const current = (courseId: string, as: TestUser | null, query = '') => call(app, 'GET', `/api/courses/${courseId}/live-sessions/current${query}`, as);

t.test('start: owner and admins of a published course; one live session per course', async (t) => {
  const { course } = await courseWithLessons(app, owner, [student]);
  const draft = bodyOf(await call(app, 'POST', '/api/courses', owner, { title: 'Draft' }), 201, CourseJson);

  const before = await snapshot();
  errorOf(await call(app, 'POST', `/api/courses/${course.id}/live-sessions`, null), 401, 'UNAUTHORIZED');
  errorOf(await start(course.id, student), 403, 'FORBIDDEN');
  errorOf(await start(course.id, otherInstructor), 403, 'FORBIDDEN');
  errorOf(await start(UNKNOWN, owner), 404, 'NOT_FOUND');
  errorOf(await call(app, 'POST', '/api/courses/not-a-uuid/live-sessions', owner), 400, 'VALIDATION_ERROR');
  errorOf(await start(draft.id, outsider), 404, 'NOT_FOUND');
  const refused = errorOf(await start(draft.id, owner), 409, 'CONFLICT');
  t.match(refused.message, /publish/i, 'a draft cannot go live');
  t.same(await snapshot(), before, 'refused starts wrote nothing');

  const session = bodyOf(await start(course.id, owner), 201, LiveSessionJson);
  t.match(session, { courseId: course.id, status: 'live', startedBy: owner.id, currentLesson: null, endedAt: null });
  const again = await snapshot();
  errorOf(await start(course.id, admin), 409, 'CONFLICT');
  t.same(await snapshot(), again, 'a second start changed nothing');
});

t.test('two starts racing: one 201, one 409, one live session', async (t) => {
  const { course } = await courseWithLessons(app, owner, []);
  const replies = await Promise.all([start(course.id, owner), start(course.id, admin), start(course.id, owner)]);
  t.same(replies.map((reply) => reply.status).sort(), [201, 409, 409]);
  for (const reply of replies.filter((r) => r.status === 409)) errorOf(reply, 409, 'CONFLICT');
  const [{ n }] = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM live_sessions WHERE course_id = ?`, [course.id]);
  t.equal(n, 1);
});

t.test('current: the session, the open launch, my attempt; the roster for instructors', async (t) => {
  const { course, lessons } = await courseWithLessons(app, owner, [student, classmate]);
  const { quiz } = await publishedQuiz(app, owner, course.id);

  errorOf(await current(course.id, student), 404, 'NOT_FOUND');
  errorOf(await current(course.id, owner), 404, 'NOT_FOUND');
  const session = bodyOf(await start(course.id, owner), 201, LiveSessionJson);

  errorOf(await current(course.id, null), 401, 'UNAUTHORIZED');
  errorOf(await current(course.id, outsider), 403, 'FORBIDDEN');
  errorOf(await current(course.id, otherInstructor), 403, 'FORBIDDEN');
  errorOf(await current(UNKNOWN, owner), 404, 'NOT_FOUND');
  errorOf(await current(course.id, owner, '?limit=0'), 400, 'VALIDATION_ERROR');
  errorOf(await current(course.id, owner, '?limit=101'), 400, 'VALIDATION_ERROR');
  errorOf(await current(course.id, owner, '?color=red'), 400, 'VALIDATION_ERROR');

  const mine = bodyOf(await current(course.id, student), 200, CurrentSessionJson);
  t.match(mine, { id: session.id, courseId: course.id, status: 'live', currentLesson: null, openLaunch: null, myAttempt: null });
  t.notOk('roster' in mine, 'a student does not get the roster');

  // A launch (the launches component writes these; here the rows are made by hand).
  await call(app, 'PATCH', `/api/live-sessions/${session.id}`, owner, { currentLessonId: lessons[1]!.id });
  const attempt = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  const [launch] = await sql<{ id: string; closes_at: string }>(
    `INSERT INTO quiz_launches (session_id, quiz_id, launched_by, closes_at) VALUES (?, ?, ?, now() + interval '5 minutes') RETURNING id, closes_at`,
    [session.id, quiz.id, owner.id],
  );
  await sql('UPDATE quiz_attempts SET launch_id = ? WHERE id = ?', [launch!.id, attempt.id]);

  const withLaunch = bodyOf(await current(course.id, student), 200, CurrentSessionJson);
  t.same(withLaunch.currentLesson, { id: lessons[1]!.id, title: lessons[1]!.title });
  t.same(withLaunch.openLaunch, { id: launch!.id, quizId: quiz.id, closesAt: new Date(launch!.closes_at).toISOString() });
  t.same(withLaunch.myAttempt, { id: attempt.id, status: 'in_progress', deadline: attempt.deadline });
  t.match(bodyOf(await current(course.id, classmate), 200, CurrentSessionJson), { myAttempt: null }, 'no attempt in the launch');

  await call(app, 'POST', `/api/lessons/${lessons[0]!.id}/progress`, classmate, { status: 'completed' });
  const roster = bodyOf(await current(course.id, owner), 200, CurrentSessionJson);
  t.notOk('myAttempt' in roster);
  t.match(roster.roster, {
    total: 2,
    page: 1,
    limit: 20,
    items: [
      { studentId: student.id, fullName: 'Ada Student', online: false, attemptStatus: 'in_progress', progressPercentage: 0 },
      { studentId: classmate.id, fullName: 'Bob Classmate', online: false, attemptStatus: null },
    ],
  });
  t.ok(roster.roster!.items[1]!.progressPercentage > 0, 'progress is shown');
  const second = bodyOf(await current(course.id, admin, '?page=2&limit=1'), 200, CurrentSessionJson);
  t.match(second.roster, { total: 2, page: 2, limit: 1, items: [{ studentId: classmate.id }] });

  // A dropped student is no longer a student of the course.
  await sql(`UPDATE enrollments SET status = 'dropped' WHERE student_id = ? AND course_id = ?`, [classmate.id, course.id]);
  errorOf(await current(course.id, classmate), 403, 'FORBIDDEN');
  t.equal(bodyOf(await current(course.id, owner), 200, CurrentSessionJson).roster!.total, 1);
});

t.test('follow me: PATCH /live-sessions/:id', async (t) => {
  const { course, lessons } = await courseWithLessons(app, owner, [student]);
  const other = await courseWithLessons(app, owner, []);
  const session = bodyOf(await start(course.id, owner), 201, LiveSessionJson);
  const patch = (as: TestUser | null, body: unknown, id = session.id) => call(app, 'PATCH', `/api/live-sessions/${id}`, as, body);

  const before = await snapshot();
  errorOf(await patch(null, { currentLessonId: lessons[0]!.id }), 401, 'UNAUTHORIZED');
  errorOf(await patch(student, { currentLessonId: lessons[0]!.id }), 403, 'FORBIDDEN');
  errorOf(await patch(otherInstructor, { currentLessonId: lessons[0]!.id }), 403, 'FORBIDDEN');
  errorOf(await patch(owner, { currentLessonId: lessons[0]!.id }, UNKNOWN), 404, 'NOT_FOUND');
  errorOf(await patch(owner, { currentLessonId: other.lessons[0]!.id }), 404, 'NOT_FOUND');
  errorOf(await patch(owner, { currentLessonId: UNKNOWN }), 404, 'NOT_FOUND');
  for (const body of [{}, { currentLessonId: 'nope' }, { currentLessonId: lessons[0]!.id, extra: 1 }, { currentLessonId: 5 }]) {
    errorOf(await patch(owner, body), 400, 'VALIDATION_ERROR');
  }
  errorOf(await call(app, 'PATCH', '/api/live-sessions/nope', owner, { currentLessonId: null }), 400, 'VALIDATION_ERROR');
  t.same(await snapshot(), before, 'refused changes wrote nothing');

  const followed = bodyOf(await patch(owner, { currentLessonId: lessons[0]!.id }), 200, LiveSessionJson);
  t.same(followed.currentLesson, { id: lessons[0]!.id, title: lessons[0]!.title });
  t.ok(new Date(followed.lastActivityAt) > new Date(session.lastActivityAt), 'activity moved');
  t.same(bodyOf(await patch(admin, { currentLessonId: null }), 200, LiveSessionJson).currentLesson, null, 'an admin clears it');

  bodyOf(await call(app, 'POST', `/api/live-sessions/${session.id}/end`, owner), 200, LiveSessionJson);
  const ended = await snapshot();
  errorOf(await patch(owner, { currentLessonId: lessons[0]!.id }), 409, 'CONFLICT');
  t.same(await snapshot(), ended, 'an ended session does not move');
});

t.test('deleting the followed lesson clears it', async (t) => {
  const { course, lessons } = await courseWithLessons(app, owner, []);
  const session = bodyOf(await start(course.id, owner), 201, LiveSessionJson);
  bodyOf(await call(app, 'PATCH', `/api/live-sessions/${session.id}`, owner, { currentLessonId: lessons[1]!.id }), 200, LiveSessionJson);
  t.equal((await call(app, 'DELETE', `/api/lessons/${lessons[1]!.id}`, owner)).status, 204);
  t.match(bodyOf(await current(course.id, owner), 200, CurrentSessionJson), { id: session.id, status: 'live', currentLesson: null });
});

t.test('end: the owner or any admin; ending twice is 409', async (t) => {
  const { course } = await courseWithLessons(app, owner, [student]);
  const session = bodyOf(await start(course.id, owner), 201, LiveSessionJson);
  const end = (as: TestUser | null, id = session.id) => call(app, 'POST', `/api/live-sessions/${id}/end`, as);

  const before = await snapshot();
  errorOf(await end(null), 401, 'UNAUTHORIZED');
  errorOf(await end(student), 403, 'FORBIDDEN');
  errorOf(await end(otherInstructor), 403, 'FORBIDDEN');
  errorOf(await end(admin, UNKNOWN), 404, 'NOT_FOUND');
  errorOf(await call(app, 'POST', '/api/live-sessions/nope/end', admin), 400, 'VALIDATION_ERROR');
  t.same(await snapshot(), before);

  const ended = bodyOf(await end(admin), 200, LiveSessionJson);
  t.match(ended, { id: session.id, status: 'ended', endedAt: String });
  const after = await snapshot();
  errorOf(await end(owner), 409, 'CONFLICT');
  t.same(await snapshot(), after, 'ending again changed nothing');
  errorOf(await current(course.id, student), 404, 'NOT_FOUND');
  t.equal(bodyOf(await start(course.id, owner), 201, LiveSessionJson).status, 'live', 'a new session may start');
});

t.test('history: sessions newest first with attendance and launches', async (t) => {
  const { course } = await courseWithLessons(app, owner, [student, classmate]);
  const { quiz } = await publishedQuiz(app, owner, course.id);
  const first = bodyOf(await start(course.id, owner), 201, LiveSessionJson);
  await sql(`INSERT INTO live_session_attendance (session_id, user_id, first_seen_at) VALUES (?, ?, now() - interval '1 minute'), (?, ?, now())`, [
    first.id,
    student.id,
    first.id,
    classmate.id,
  ]);
  await sql(
    `INSERT INTO quiz_launches (session_id, quiz_id, closes_at, closed_at, summary) VALUES (?, ?, now() + interval '1 minute', now(), '{"attempts": 2}')`,
    [first.id, quiz.id],
  );
  bodyOf(await call(app, 'POST', `/api/live-sessions/${first.id}/end`, owner), 200, LiveSessionJson);
  const second = bodyOf(await start(course.id, admin), 201, LiveSessionJson);

  const list = (as: TestUser | null, query = '') => call(app, 'GET', `/api/courses/${course.id}/live-sessions${query}`, as);
  errorOf(await list(null), 401, 'UNAUTHORIZED');
  errorOf(await list(student), 403, 'FORBIDDEN');
  errorOf(await list(otherInstructor), 403, 'FORBIDDEN');
  errorOf(await list(owner, '?page=0'), 400, 'VALIDATION_ERROR');
  errorOf(await call(app, 'GET', `/api/courses/${UNKNOWN}/live-sessions`, admin), 404, 'NOT_FOUND');

  const page = bodyOf(await list(owner), 200, SessionPage);
  t.equal(page.total, 2);
  t.same(
    page.items.map((item) => item.id),
    [second.id, first.id],
    'newest first',
  );
  t.match(page.items[0], { status: 'live', attendance: { count: 0, items: [] }, launches: [] });
  t.match(page.items[1], {
    status: 'ended',
    attendance: {
      count: 2,
      items: [
        { userId: student.id, fullName: 'Ada Student' },
        { userId: classmate.id, fullName: 'Bob Classmate' },
      ],
    },
    launches: [{ quizId: quiz.id, closedAt: String, summary: { attempts: 2 } }],
  });
  const paged = bodyOf(await list(admin, '?page=2&limit=1'), 200, SessionPage);
  t.match(paged, { total: 2, page: 2, limit: 1, items: [{ id: first.id }] });
});

t.test('a course cannot be unpublished while live', async (t) => {
  const { course } = await courseWithLessons(app, owner, [student]);
  const session = bodyOf(await start(course.id, owner), 201, LiveSessionJson);
  const before = await snapshot();
  errorOf(await call(app, 'PATCH', `/api/courses/${course.id}`, owner, { isPublished: false }), 409, 'CONFLICT');
  errorOf(await call(app, 'PATCH', `/api/courses/${course.id}`, admin, { isPublished: false, title: 'Renamed' }), 409, 'CONFLICT');
  t.same(await snapshot(), before, 'the course is unchanged');
  t.equal(bodyOf(await call(app, 'PATCH', `/api/courses/${course.id}`, owner, { title: 'Still live' }), 200, CourseJson).title, 'Still live');

  bodyOf(await call(app, 'POST', `/api/live-sessions/${session.id}/end`, owner), 200, LiveSessionJson);
  t.equal(bodyOf(await call(app, 'PATCH', `/api/courses/${course.id}`, owner, { isPublished: false }), 200, CourseJson).isPublished, false);
});

t.test('unpublish and start racing never leave a draft with a live session', async (t) => {
  for (let i = 0; i < 5; i++) {
    const { course } = await courseWithLessons(app, owner, []);
    const [started, unpublished] = await Promise.all([start(course.id, owner), call(app, 'PATCH', `/api/courses/${course.id}`, owner, { isPublished: false })]);
    t.ok(
      (started.status === 201 && unpublished.status === 409) || (started.status === 409 && unpublished.status === 200),
      `one wins (${started.status}, ${unpublished.status})`,
    );
    const [row] = await sql<{ is_published: boolean; live: number }>(
      `SELECT c.is_published, (SELECT count(*)::int FROM live_sessions s WHERE s.course_id = c.id AND s.status = 'live') AS live FROM courses c WHERE c.id = ?`,
      [course.id],
    );
    t.ok(row!.is_published || row!.live === 0);
  }
});

t.test('the sweep ends sessions idle for LIVE_SESSION_IDLE_MS and announces it', async (t) => {
  t.ok(
    sweepTasks.some((task) => task.name === 'endIdleLiveSessions'),
    'the sweep runs it',
  );
  t.equal(app.config.liveSessionIdleMs, 12 * 3600_000, '12 hours by default');
  const idle = await courseWithLessons(app, owner, []);
  const busy = await courseWithLessons(app, owner, []);
  const idleSession = bodyOf(await start(idle.course.id, owner), 201, LiveSessionJson);
  const busySession = bodyOf(await start(busy.course.id, owner), 201, LiveSessionJson);
  await sql(`UPDATE live_sessions SET last_activity_at = now() - interval '13 hours' WHERE id = ?`, [idleSession.id]);
  await sql(`UPDATE live_sessions SET last_activity_at = now() - interval '11 hours' WHERE id = ?`, [busySession.id]);

  const publisher = recordingPublisher();
  const ended = await endIdleLiveSessions({ ...app.forkDeps(), publisher });
  t.equal(ended, 1);
  t.same(publisher.calls.liveSessionEnded, [{ sessionId: idleSession.id, courseId: idle.course.id }]);
  const [row] = await sql<{ status: string; ended_at: string | null }>('SELECT status, ended_at FROM live_sessions WHERE id = ?', [idleSession.id]);
  t.match(row, { status: 'ended', ended_at: String });
  t.equal(bodyOf(await current(busy.course.id, owner), 200, CurrentSessionJson).status, 'live', 'the busy one goes on');

  const again = recordingPublisher();
  t.equal(await endIdleLiveSessions({ ...app.forkDeps(), publisher: again }), 0, 'a second sweep ends nothing');
  t.same(again.calls.liveSessionEnded, []);
});
