import { UserResponse } from '../../server/modules/users/users.schemas.js';
import { Page } from '../../server/platform/schemas.js';
import { CourseJson, EnrollmentJson } from '../../server/modules/learning.schemas.js';
import { AttemptJson, ExtendedAttemptJson } from '../../server/modules/attempts/attempts.schemas.js';
import t from '../helpers/tap.js';
import { buildApp } from '../../server/app.js';
import { rooms } from '../../server/realtime/contract.js';
import { createTestEnv } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { createUser, type TestUser } from '../helpers/users.js';
import { wsClient, type WsClient } from '../multi/cluster-helpers.js';
import { courseWithLessons, dashboardOf, ok, publishedQuiz } from './fixtures.js';
import { client, connect, listen, nextDisconnect, nextEvent, record, request, socketPool, type ClientSocket } from './socket-helpers.js';

// Two API instances (A and B) in this process, both listening, on one database and one Redis
// prefix. No workers: nothing grades at the deadline, so `quiz:expired` can only come from the
// instance that ticks the attempt.
const env = await createTestEnv(t, 'realtime-cross', { QUIZ_GRACE_MS: '200', SWEEP_INTERVAL_MS: '3600000' });
const a = await buildApp(env.config);
const b = await buildApp(env.config);
env.defer(() => a.close());
env.defer(() => b.close());
const urlA = await listen(a);
const urlB = await listen(b);
const sockets = socketPool();
const opened: WsClient[] = [];
env.defer(() => {
  sockets.closeAll();
  for (const ws of opened) ws.ws.terminate();
});

const owner = await createUser(a, 'instructor');
const admin = await createUser(a, 'admin');
const socketOn = async (url: string, user: { token: string }) => connect(sockets.add(client(url, user.token)));
const wsOn = async (url: string, user: { token: string }) => {
  const ws = await wsClient(`${url}/ws?token=${encodeURIComponent(user.token)}`);
  opened.push(ws);
  return ws;
};
/** A broadcast to the course room from instance A. */
const courseBroadcast = (courseId: string, marker: number) =>
  a.realtime.emit(rooms.course(courseId), 'progress:updated', {
    enrollmentId: 'marker',
    courseId,
    studentId: 'marker',
    progressPercentage: marker,
    completedLessonsCount: 0,
    totalLessonsCount: 0,
    status: 'active',
  });
const markers = (seen: Array<{ event: string; payload: any }>) =>
  seen.filter((e) => e.event === 'progress:updated' && e.payload.enrollmentId === 'marker').map((e) => e.payload.progressPercentage);
const wsMarkers = (ws: WsClient) =>
  ws.events.filter((e) => e.type === 'progress:updated' && e.data.enrollmentId === 'marker').map((e) => e.data.progressPercentage);
const joinAll = async (courseId: string, ...clients: Array<ClientSocket | WsClient>) => {
  for (const c of clients) {
    const ack = 'emit' in c ? await request(c, 'course:join', { courseId }) : await c.send('subscribe', { courseId });
    if (!ack.ok) throw new Error(`join failed: ${JSON.stringify(ack)}`);
  }
};

t.test('a student whose socket is on B gets ticks from B and a timely quiz:expired when the attempt starts on A', async (t) => {
  const student = await createUser(a, 'student');
  const { course } = await courseWithLessons(a, owner, [student]);
  const { quiz } = await publishedQuiz(a, owner, course.id, { timeLimitSeconds: 2 });
  const pupil = await socketOn(urlB, student);
  const seen = record(pupil);
  const firstTick = nextEvent(pupil, 'quiz:tick', undefined, 3000);
  const expired = nextEvent(pupil, 'quiz:expired', undefined, 4000);
  const attempt = await ok(await call(a, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  t.match(await firstTick, { attemptId: attempt.id, remainingMs: Number }, 'B ticks the attempt A started');
  t.match(await expired, { attemptId: attempt.id });
  const late = Date.now() - Date.parse(attempt.deadline!);
  t.ok(late >= -50 && late < 500, `quiz:expired at the deadline (${late} ms after it)`);
  const ticks = seen.filter((e) => e.event === 'quiz:tick');
  t.ok(ticks.length >= 2, `${ticks.length} ticks`);
  t.equal(seen.filter((e) => e.event === 'quiz:expired').length, 1, 'once');
});

t.test('an extend made through A moves the ticks and the expiry of a student connected to B', async (t) => {
  const student = await createUser(a, 'student');
  const { course } = await courseWithLessons(a, owner, [student]);
  const { quiz } = await publishedQuiz(a, owner, course.id, { timeLimitSeconds: 2 });
  const pupil = await socketOn(urlB, student);
  const firstTick = nextEvent(pupil, 'quiz:tick', undefined, 3000);
  const attempt = await ok(await call(a, 'POST', `/api/quizzes/${quiz.id}/attempts`, student), 201, AttemptJson);
  await firstTick;
  const changed = nextEvent(pupil, 'quiz:deadline-changed');
  const extended = await ok(await call(a, 'POST', `/api/attempts/${attempt.id}/extend`, owner, { seconds: 3 }), 200, ExtendedAttemptJson);
  const extendedAt = Date.now();
  t.match(await changed, { attemptId: attempt.id, deadline: extended.deadline });
  const tick = await nextEvent(pupil, 'quiz:tick', () => Date.now() > extendedAt, 3000);
  t.ok(tick.remainingMs > 2000, `B ticks towards the new deadline (${tick.remainingMs} ms left)`);
  await nextEvent(pupil, 'quiz:expired', undefined, 7000);
  const late = Date.now() - Date.parse(extended.deadline);
  t.ok(late >= -50 && late < 500, `quiz:expired from B at the new deadline (${late} ms after it)`);
});

t.test('a dropped student leaves the course room and presence on every instance at once', async (t) => {
  const student = await createUser(a, 'student');
  const classmate = await createUser(a, 'student');
  const { course } = await courseWithLessons(a, owner, [student, classmate]);
  const teacher = await socketOn(urlA, owner);
  await joinAll(course.id, teacher);
  const pupilOnB = await socketOn(urlB, student);
  const pupilOnA = await socketOn(urlA, student);
  const pupilWs = await wsOn(urlB, student);
  const mate = await socketOn(urlB, classmate);
  const joined = nextEvent(teacher, 'presence:updated', (p) => p.joined.includes(student.id));
  await joinAll(course.id, pupilOnB, pupilOnA, pupilWs, mate);
  await joined;
  const pupilSawB = record(pupilOnB);
  const pupilSawA = record(pupilOnA);
  const mateSaw = record(mate);

  const left = nextEvent(teacher, 'presence:updated', (p) => p.left.includes(student.id), 3000);
  const enrollment = (await ok(await call(a, 'GET', '/api/enrollments', { headers: student.headers }), 200, Page(EnrollmentJson))).items.find(
    (e) => e.course?.id === course.id,
  );
  await ok(await call(a, 'PATCH', `/api/enrollments/${enrollment!.id}`, student, { status: 'dropped' }), 200, EnrollmentJson);
  t.match(await left, { courseId: course.id, joined: [], left: [student.id] }, 'the instructor hears the student left');
  t.notOk((await a.presence.online(course.id)).includes(student.id), 'offline in the course');

  const heard = nextEvent(mate, 'progress:updated', (p) => p.enrollmentId === 'marker');
  courseBroadcast(course.id, 1);
  await heard;
  // Round trips: anything sent to them before has arrived.
  await request(pupilOnB, 'course:leave', { courseId: '00000000-0000-4000-8000-000000000000' });
  await request(pupilOnA, 'course:leave', { courseId: '00000000-0000-4000-8000-000000000000' });
  await pupilWs.send('unsubscribe', { courseId: '00000000-0000-4000-8000-000000000000' });
  t.same(markers(mateSaw), [1], 'a classmate still hears the course');
  t.same(markers(pupilSawB), [], 'the socket on B no longer does');
  t.same(markers(pupilSawA), [], 'nor the one on A');
  t.same(wsMarkers(pupilWs), [], 'nor the /ws connection');
  t.ok(pupilOnB.connected && pupilOnA.connected, 'the sockets stay connected (the student keeps its other courses)');
  // B heard the revocation made on A: what B's handshake read no longer admits the student.
  t.match(await request(pupilOnB, 'course:join', { courseId: course.id }), { ok: false, error: { code: 'FORBIDDEN' } }, 'no rejoin on B');
  const dashboard = await dashboardOf(a, course.id, owner);
  t.notOk(dashboard.online.includes(student.id));
});

t.test('unpublishing takes students out of the room and presence everywhere; the owner and admins stay', async (t) => {
  const student = await createUser(a, 'student');
  const classmate = await createUser(a, 'student');
  const { course } = await courseWithLessons(a, owner, [student, classmate]);
  const teacher = await socketOn(urlB, owner);
  const boss = await socketOn(urlA, admin);
  await joinAll(course.id, teacher, boss);
  const pupil = await socketOn(urlB, student);
  const mate = await socketOn(urlA, classmate);
  const mateWs = await wsOn(urlA, classmate);
  const bothJoined = nextEvent(teacher, 'presence:updated', (p) => p.joined.includes(classmate.id));
  await joinAll(course.id, pupil, mate, mateWs);
  await bothJoined;
  const pupilSaw = record(pupil);
  const mateSaw = record(mate);
  const teacherSaw = record(teacher);
  const bossSaw = record(boss);

  const departures = new Set<string>();
  const allLeft = new Promise<void>((resolve, reject) => {
    setTimeout(() => reject(new Error(`only ${[...departures].join(', ') || 'nobody'} left`)), 3000);
    teacher.on('presence:updated', (p) => {
      for (const id of p.left) departures.add(id);
      if (departures.has(student.id) && departures.has(classmate.id)) resolve();
    });
  });
  await ok(await call(b, 'PATCH', `/api/courses/${course.id}`, owner, { isPublished: false }), 200, CourseJson);
  await allLeft;
  t.same([...departures].sort(), [student.id, classmate.id].sort(), 'both students left, nobody else');
  t.same((await a.presence.online(course.id)).sort(), [owner.id, admin.id].sort(), 'the owner and the admin are still online');

  const ownerHeard = nextEvent(teacher, 'progress:updated', (p) => p.enrollmentId === 'marker');
  const adminHeard = nextEvent(boss, 'progress:updated', (p) => p.enrollmentId === 'marker');
  courseBroadcast(course.id, 2);
  await ownerHeard;
  await adminHeard;
  await request(pupil, 'course:leave', { courseId: '00000000-0000-4000-8000-000000000000' });
  await request(mate, 'course:leave', { courseId: '00000000-0000-4000-8000-000000000000' });
  await mateWs.send('unsubscribe', { courseId: '00000000-0000-4000-8000-000000000000' });
  t.same(markers(teacherSaw), [2], 'the owner still hears the course');
  t.same(markers(bossSaw), [2], 'so does the admin');
  t.same(markers(pupilSaw), [], 'the students do not');
  t.same(markers(mateSaw), []);
  t.same(wsMarkers(mateWs), []);
  t.match(
    await request(pupil, 'course:join', { courseId: course.id }),
    { ok: false, error: { code: 'NOT_FOUND' } },
    'and cannot come back while it is a draft',
  );
});

t.test('an owner demoted to student is cut off on every instance (its sockets are disconnected)', async (t) => {
  const formerOwner: TestUser = await createUser(a, 'instructor');
  const { course } = await courseWithLessons(a, formerOwner, []);
  const boss = await socketOn(urlA, admin);
  await joinAll(course.id, boss);
  const teacher = await socketOn(urlB, formerOwner);
  const joined = nextEvent(boss, 'presence:updated', (p) => p.joined.includes(formerOwner.id));
  await joinAll(course.id, teacher);
  await joined;
  const left = nextEvent(boss, 'presence:updated', (p) => p.left.includes(formerOwner.id), 3000);
  const cut = nextDisconnect(teacher, 3000);
  await ok(await call(a, 'PATCH', `/api/users/${formerOwner.id}`, admin, { role: 'student' }), 200, UserResponse);
  t.equal(await cut, 'io server disconnect', 'the socket on B is disconnected');
  t.match(await left, { courseId: course.id, left: [formerOwner.id] }, 'and the admin hears it left');
});
