import { Page } from '../../server/platform/schemas.js';
import { LessonProgressResponse } from '../../server/modules/progress/progress.schemas.js';
import { CourseJson, EnrollmentJson } from '../../server/modules/learning.schemas.js';
import { UserResponse } from '../../server/modules/users/users.schemas.js';
import t from '../helpers/tap.js';
import { randomUUID } from 'node:crypto';
import { wsClient } from '../multi/cluster-helpers.js';
import { buildTestApp } from '../helpers/app.js';
import { call } from '../helpers/http.js';
import { createUser } from '../helpers/users.js';
import { client, connect, listen, nextDisconnect, nextEvent, receivedEventPackets, record, request, socketPool } from './socket-helpers.js';
import { courseWithLessons, dashboardOf, ok } from './fixtures.js';
import { rooms } from '../../server/realtime/contract.js';

const { app } = await buildTestApp(t, 'realtime-classroom');
const url = await listen(app);
const sockets = socketPool();
t.teardown(() => sockets.closeAll());

const owner = await createUser(app, 'instructor');
const otherInstructor = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const student = await createUser(app, 'student');
const classmate = await createUser(app, 'student');
const outsider = await createUser(app, 'student');

const socketOf = async (user: { token: string }, options = {}) => connect(sockets.add(client(url, user.token, options)));

t.test('course:join is authorised against the database; outsiders get FORBIDDEN and hear nothing', async (t) => {
  const { course, lessons } = await courseWithLessons(app, owner, [student]);
  const draft = await ok(await call(app, 'POST', '/api/courses', owner, { title: 'Draft' }), 201, CourseJson);
  const teacher = await socketOf(owner);
  const pupil = await socketOf(student);
  const stranger = await socketOf(outsider);
  const colleague = await socketOf(otherInstructor);
  const boss = await socketOf(admin);
  const strangerSaw = record(stranger);
  const colleagueSaw = record(colleague);

  t.match(
    await request(teacher, 'course:join', { courseId: course.id }),
    { ok: true, data: { courseId: course.id, onlineCount: 1, seq: Number, online: [owner.id] } },
    'owner joins',
  );
  t.match(await request(boss, 'course:join', { courseId: course.id }), { ok: true }, 'an admin joins');
  t.match(await request(pupil, 'course:join', { courseId: course.id }), { ok: true }, 'an enrollee joins');
  t.match(
    await request(stranger, 'course:join', { courseId: course.id }),
    { ok: false, error: { code: 'FORBIDDEN', message: String } },
    'a student not enrolled',
  );
  t.match(await request(colleague, 'course:join', { courseId: course.id }), { ok: false, error: { code: 'FORBIDDEN' } }, 'another instructor');
  t.match(await request(stranger, 'course:join', { courseId: draft.id }), { ok: false, error: { code: 'NOT_FOUND' } }, 'a draft does not exist for others');
  t.match(await request(stranger, 'course:join', { courseId: '00000000-0000-4000-8000-000000000000' }), { ok: false, error: { code: 'NOT_FOUND' } });
  t.match(await request(teacher, 'course:join', { courseId: draft.id }), { ok: true }, 'the owner joins its draft');

  // Everything the course produces reaches the instructors and nobody outside.
  const adminHeard = nextEvent(boss, 'lesson:progress');
  await ok(await call(app, 'POST', `/api/lessons/${lessons[0].id}/progress`, student, { completionPercentage: 30 }), 200, LessonProgressResponse);
  await adminHeard;
  await request(stranger, 'course:leave', { courseId: course.id }); // a round trip: anything sent before it has arrived
  await request(colleague, 'course:leave', { courseId: course.id });
  t.same(strangerSaw, [], 'the outsider received nothing');
  t.same(colleagueSaw, [], 'the other instructor received nothing');

  // A dropped enrollment closes the door on the next join.
  const enrollment = (await ok(await call(app, 'GET', '/api/enrollments', student), 200, Page(EnrollmentJson))).items.find(
    (item) => item.course?.id === course.id,
  );
  await ok(await call(app, 'PATCH', `/api/enrollments/${enrollment!.id}`, student, { status: 'dropped' }), 200, EnrollmentJson);
  t.match(await request(pupil, 'course:join', { courseId: course.id }), { ok: false, error: { code: 'FORBIDDEN' } }, 'dropped: refused');
});

t.test('a student joins the courses its handshake read without another read, until a revocation anywhere', async (t) => {
  const learner = await createUser(app, 'student');
  const [first, second, third] = await Promise.all([0, 1, 2].map(() => courseWithLessons(app, owner, [learner])));
  const sql = app.orm.em.getConnection();
  const dropQuietly = (courseId: string) =>
    sql.execute(`UPDATE enrollments SET status = 'dropped' WHERE student_id = ? AND course_id = ?`, [learner.id, courseId]);
  const pupil = await socketOf(learner);
  // Changed behind the server's back (no revocation): the grant from the handshake still stands,
  // which shows that the join did not read the database.
  await dropQuietly(second!.course.id);
  t.match(await request(pupil, 'course:join', { courseId: second!.course.id }), { ok: true }, 'granted by the handshake read');
  const later = await courseWithLessons(app, owner, [learner]);
  t.match(await request(pupil, 'course:join', { courseId: later.course.id }), { ok: true }, 'a course enrolled in since is read');

  // Any revocation the instance hears of (here a deactivation of someone else) voids the grants read before it.
  const bystander = await createUser(app, 'student');
  await ok(await call(app, 'PATCH', `/api/users/${bystander.id}`, admin, { isActive: false }), 200, UserResponse);
  await dropQuietly(third!.course.id);
  t.match(await request(pupil, 'course:join', { courseId: third!.course.id }), { ok: false, error: { code: 'FORBIDDEN' } }, 'read again: refused');
  t.match(await request(pupil, 'course:join', { courseId: first!.course.id }), { ok: true }, 'read again: admitted');
});

t.test("a student's progress over HTTP and over the socket reaches the instructor", async (t) => {
  const { course, lessons } = await courseWithLessons(app, owner, [student, classmate]);
  const teacher = await socketOf(owner);
  const pupil = await socketOf(student);
  t.equal((await request(teacher, 'course:join', { courseId: course.id })).ok, true);

  // Over HTTP (the student need not have joined the course room).
  const lessonEvent = nextEvent(teacher, 'lesson:progress', (p) => p.courseId === course.id);
  const teacherProgress = nextEvent(teacher, 'progress:updated', (p) => p.courseId === course.id);
  const ownProgress = nextEvent(pupil, 'progress:updated', (p) => p.courseId === course.id);
  await ok(
    await call(app, 'POST', `/api/lessons/${lessons[0].id}/progress`, student, { completionPercentage: 40, timeSpentSecondsDelta: 60 }),
    200,
    LessonProgressResponse,
  );
  t.match(await lessonEvent, {
    courseId: course.id,
    lessonId: lessons[0].id,
    studentId: student.id,
    status: 'in_progress',
    completionPercentage: 40,
    serverNow: String,
  });
  const expected = {
    courseId: course.id,
    studentId: student.id,
    progressPercentage: 0,
    completedLessonsCount: 0,
    totalLessonsCount: 2,
    status: 'active',
    enrollmentId: String,
    serverNow: String,
  };
  t.match(await teacherProgress, expected);
  t.match(await ownProgress, expected, 'the student hears its own progress');

  // Over the socket: the ack carries what HTTP returns.
  const lessonEvent2 = nextEvent(teacher, 'lesson:progress', (p) => p.lessonId === lessons[1].id);
  const teacherProgress2 = nextEvent(teacher, 'progress:updated', (p) => p.progressPercentage === 50);
  const ack = await request(pupil, 'lesson:progress', { lessonId: lessons[1].id, status: 'completed' });
  t.match(ack, {
    ok: true,
    data: {
      lessonProgress: { lessonId: lessons[1].id, status: 'completed', completionPercentage: 100 },
      enrollment: { progressPercentage: 50, completedLessonsCount: 1 },
    },
  });
  t.match(await lessonEvent2, { studentId: student.id, status: 'completed', completionPercentage: 100 });
  t.match(await teacherProgress2, { studentId: student.id, completedLessonsCount: 1, totalLessonsCount: 2 });

  // Socket errors use HTTP's codes.
  const classmateSocket = await socketOf(outsider);
  t.match(await request(classmateSocket, 'lesson:progress', { lessonId: lessons[0].id, completionPercentage: 10 }), {
    ok: false,
    error: { code: 'FORBIDDEN' },
  });
  t.match(await request(pupil, 'lesson:progress', { lessonId: '00000000-0000-4000-8000-000000000000', completionPercentage: 10 }), {
    ok: false,
    error: { code: 'NOT_FOUND' },
  });
});

t.test('a clientKey applies a write once across HTTP, Socket.IO and /ws', async (t) => {
  const { course, lessons } = await courseWithLessons(app, owner, [student]);
  const lessonId = lessons[0].id;
  const pupil = await socketOf(student);
  const key = randomUUID();
  const viaHttp = await ok(
    await call(app, 'POST', `/api/lessons/${lessonId}/progress`, student, { timeSpentSecondsDelta: 40, clientKey: key }),
    200,
    LessonProgressResponse,
  );
  t.equal(viaHttp.lessonProgress.timeSpentSeconds, 40);
  const viaSocket = await request(pupil, 'lesson:progress', { lessonId, timeSpentSecondsDelta: 40, clientKey: key });
  t.match(viaSocket, { ok: true, data: { lessonProgress: { lessonId, timeSpentSeconds: 40 } } }, 'the socket retry of the HTTP write added nothing');

  const socketKey = randomUUID();
  t.match(await request(pupil, 'lesson:progress', { lessonId, timeSpentSecondsDelta: 15, clientKey: socketKey }), {
    ok: true,
    data: { lessonProgress: { timeSpentSeconds: 55 } },
  });
  t.match(
    await request(pupil, 'lesson:progress', { lessonId, timeSpentSecondsDelta: 15, clientKey: socketKey }),
    { ok: true, data: { lessonProgress: { timeSpentSeconds: 55 } } },
    'a socket retry after a lost ack',
  );

  const ws = await wsClient(`${url}/ws?token=${encodeURIComponent(student.token)}`);
  t.teardown(() => ws.ws.terminate());
  t.match(
    await ws.send('lesson:progress', { lessonId, timeSpentSecondsDelta: 15, clientKey: socketKey }),
    { ok: true, data: { lessonProgress: { timeSpentSeconds: 55 } } },
    '/ws too',
  );
  const wsKey = randomUUID();
  t.match(await ws.send('lesson:progress', { lessonId, timeSpentSecondsDelta: 5, clientKey: wsKey }), {
    ok: true,
    data: { lessonProgress: { timeSpentSeconds: 60 } },
  });
  t.match(await ws.send('lesson:progress', { lessonId, timeSpentSecondsDelta: 5, clientKey: wsKey }), {
    ok: true,
    data: { lessonProgress: { timeSpentSeconds: 60 } },
  });

  for (const data of [
    { lessonId, clientKey: randomUUID() },
    { lessonId, timeSpentSecondsDelta: 5, clientKey: 'nope' },
  ]) {
    t.match(await request(pupil, 'lesson:progress', data), { ok: false, error: { code: 'VALIDATION_ERROR' } }, JSON.stringify(data));
  }
  const [{ time }] = await app.orm.em
    .getConnection()
    .execute<Array<{ time: number }>>(
      'SELECT lp.time_spent_seconds AS time FROM lesson_progress lp JOIN enrollments e ON e.id = lp.enrollment_id WHERE e.course_id = ? AND lp.lesson_id = ?',
      [course.id, lessonId],
    );
  t.equal(time, 60, 'stored: 40 + 15 + 5, each once');
});

t.test('presence: the join snapshot, deltas on first join, last leave and disconnect, the dashboard', async (t) => {
  const { course } = await courseWithLessons(app, owner, [student, classmate]);
  const teacher = await socketOf(owner);
  const deltas = record(teacher);
  const ownSnapshot = (await request(teacher, 'course:join', { courseId: course.id })).data;
  t.same(ownSnapshot, { courseId: course.id, onlineCount: 1, seq: ownSnapshot.seq, online: [owner.id] }, "the instructor's ack lists who is online");

  const pupil = await socketOf(student);
  const studentJoined = nextEvent(teacher, 'presence:updated', (p) => p.joined.includes(student.id));
  const snapshot = await request(pupil, 'course:join', { courseId: course.id });
  t.same(snapshot.data, { courseId: course.id, onlineCount: 2, seq: snapshot.data.seq }, "a student's ack counts, without the list");
  t.match(await studentJoined, { courseId: course.id, joined: [student.id], left: [], onlineCount: 2, seq: Number, serverNow: String });
  const adminJoined = nextEvent(teacher, 'presence:updated', (p) => p.joined.includes(admin.id));
  const adminSnapshot = (await request(await socketOf(admin), 'course:join', { courseId: course.id })).data;
  t.same(new Set(adminSnapshot.online), new Set([owner.id, student.id, admin.id]), "an admin's ack lists everyone online");
  await adminJoined;

  // A second tab of the same student: no delta; joining twice: no delta.
  const pupilTab = await socketOf(student);
  await request(pupilTab, 'course:join', { courseId: course.id });
  await request(pupil, 'course:join', { courseId: course.id });
  const dashboard = await dashboardOf(app, course.id, owner);
  t.ok(dashboard.online.includes(student.id), 'the dashboard snapshot shows the student online');
  t.equal(dashboard.students.find((s) => s.studentId === student.id)!.online, true);

  const mate = await socketOf(classmate);
  const mateJoined = nextEvent(teacher, 'presence:updated', (p) => p.joined.includes(classmate.id));
  await request(mate, 'course:join', { courseId: course.id });
  await mateJoined;

  // One tab leaves (still online), the other disconnects (offline); the classmate leaves.
  await request(pupil, 'course:leave', { courseId: course.id });
  const studentLeft = nextEvent(teacher, 'presence:updated', (p) => p.left.includes(student.id));
  pupilTab.disconnect();
  t.match(await studentLeft, { courseId: course.id, joined: [], left: [student.id] });
  const mateLeft = nextEvent(teacher, 'presence:updated', (p) => p.left.includes(classmate.id));
  t.same((await request(mate, 'course:leave', { courseId: course.id })).data, { courseId: course.id });
  await mateLeft;

  const batches = deltas.filter((seen) => seen.event === 'presence:updated').map((seen) => seen.payload);
  t.same(
    batches.map((batch) => [batch.joined, batch.left, batch.onlineCount]),
    [
      [[owner.id], [], 1],
      [[student.id], [], 2],
      [[admin.id], [], 3],
      [[classmate.id], [], 4],
      [[], [student.id], 3],
      [[], [classmate.id], 2],
    ],
    'exactly one change per first join and last leave',
  );
  t.ok(
    batches.every((batch, i) => i === 0 || batch.seq > batches[i - 1]!.seq),
    'numbered in order',
  );
  t.same((await app.presence.online(course.id)).sort(), [owner.id, admin.id].sort());
  const after = await dashboardOf(app, course.id, owner);
  t.same(after.online.sort(), [owner.id, admin.id].sort());
});

t.test('a socket recovered after a dropped connection gets the events it missed', async (t) => {
  const { course, lessons } = await courseWithLessons(app, owner, [student]);
  const teacher = await socketOf(owner);
  await request(teacher, 'course:join', { courseId: course.id });
  // Reconnects by itself, a second after the drop: events emitted meanwhile must come back.
  const pupil = await socketOf(student, { reconnection: true, reconnectionDelay: 1000 });
  await request(pupil, 'course:join', { courseId: course.id });
  const first = nextEvent(pupil, 'progress:updated');
  await ok(await call(app, 'POST', `/api/lessons/${lessons[0].id}/progress`, student, { completionPercentage: 10 }), 200, LessonProgressResponse);
  await first;

  const offline = nextEvent(teacher, 'presence:updated', (p) => p.left.includes(student.id));
  const dropped = nextDisconnect(pupil);
  pupil.io.engine.close();
  await dropped;
  await offline; // the server has noticed

  const missed = nextEvent(pupil, 'progress:updated', (p) => p.completedLessonsCount === 1, 8000);
  const backOnline = nextEvent(teacher, 'presence:updated', (p) => p.joined.includes(student.id), 8000);
  const packets = receivedEventPackets(pupil);
  await ok(await call(app, 'POST', `/api/lessons/${lessons[1].id}/progress`, student, { status: 'completed' }), 200, LessonProgressResponse);
  t.match(await missed, { courseId: course.id, studentId: student.id, completedLessonsCount: 1 }, 'the missed event arrives');
  // As broadcast: the event, its payload and its one recovery offset (a replay re-sent with
  // `socket.emit` would be broadcast into the stream again and carry a second offset).
  const replayed = packets.filter(
    ([event, payload]) => event === 'progress:updated' && (payload as { completedLessonsCount: number }).completedLessonsCount === 1,
  );
  t.equal(replayed.length, 1, 'once');
  t.match(replayed[0], [String, Object, /^\d+-\d+$/]);
  t.equal(replayed[0]!.length, 3);
  t.equal(pupil.recovered, true, 'the connection state was recovered');
  await backOnline;
  t.pass('the recovered socket is online in its course again');

  // Its rooms came back: course events still reach it without a new join.
  const again = nextEvent(pupil, 'progress:updated', (p) => p.progressPercentage === 100);
  await ok(await call(app, 'POST', `/api/lessons/${lessons[0].id}/progress`, student, { status: 'completed' }), 200, LessonProgressResponse);
  await again;
});

t.test('events broadcast while a recovering socket is being re-authorised reach it too', async (t) => {
  const { course, lessons } = await courseWithLessons(app, owner, [student]);
  const teacher = await socketOf(owner);
  await request(teacher, 'course:join', { courseId: course.id });
  const pupil = await socketOf(student, { reconnection: true, reconnectionDelay: 300 });
  await request(pupil, 'course:join', { courseId: course.id });
  const first = nextEvent(pupil, 'progress:updated');
  await ok(await call(app, 'POST', `/api/lessons/${lessons[0].id}/progress`, student, { completionPercentage: 10 }), 200, LessonProgressResponse);
  await first;

  const offline = nextEvent(teacher, 'presence:updated', (p) => p.left.includes(student.id));
  pupil.io.engine.close();
  await offline;
  // The session is already restored when the handshake middlewares run: an event emitted then
  // is neither in the replay nor delivered live to the not-yet-connected socket.
  const verify = app.verifyAccessToken;
  let armed = true;
  app.verifyAccessToken = (async (token: string, readStanding?: Parameters<typeof verify>[1]) => {
    if (armed) {
      armed = false;
      app.realtime.emit(rooms.course(course.id), 'progress:updated', {
        enrollmentId: 'e',
        courseId: course.id,
        studentId: student.id,
        progressPercentage: 50,
        completedLessonsCount: 1,
        totalLessonsCount: 2,
        status: 'active',
      });
      // Published to the stream and delivered on this instance before the handshake goes on.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return verify(token, readStanding);
  }) as typeof verify;
  t.teardown(() => {
    app.verifyAccessToken = verify;
  });
  const during = nextEvent(pupil, 'progress:updated', (p) => p.completedLessonsCount === 1, 8000);
  await new Promise<void>((resolve) => pupil.once('connect', () => resolve()));
  t.equal(pupil.recovered, true, 'the connection state was recovered');
  t.match(await during, { courseId: course.id, studentId: student.id, completedLessonsCount: 1 }, 'the event arrives after recovery');
  t.notOk(armed, 'the event was emitted during the handshake');
});

t.test('a recovered socket that lost a course room is resumed as a fresh session, without the replay', async (t) => {
  const formerOwner = await createUser(app, 'instructor');
  const { course, lessons } = await courseWithLessons(app, formerOwner, [student]);
  const kept = await courseWithLessons(app, formerOwner, [student]);
  const boss = await socketOf(admin);
  await request(boss, 'course:join', { courseId: course.id });
  const former = await socketOf(formerOwner, { reconnection: true, reconnectionDelay: 1000 });
  await request(former, 'course:join', { courseId: course.id });
  await request(former, 'course:join', { courseId: kept.course.id });
  const first = nextEvent(former, 'lesson:progress');
  await ok(await call(app, 'POST', `/api/lessons/${lessons[0].id}/progress`, student, { completionPercentage: 10 }), 200, LessonProgressResponse);
  await first;

  const offline = nextEvent(boss, 'presence:updated', (p) => p.left.includes(formerOwner.id));
  const reached = receivedEventPackets(former);
  former.io.engine.close();
  await offline;
  // While it is offline the course changes hands: the former owner may no longer be in either
  // room, and what the course broadcast meanwhile is not theirs to see.
  await app.orm.em.fork().getConnection().execute('UPDATE courses SET instructor_id = ? WHERE id = ?', [owner.id, course.id]);
  const bossMissed = nextEvent(boss, 'lesson:progress', (p) => p.completionPercentage === 15);
  await ok(await call(app, 'POST', `/api/lessons/${lessons[0].id}/progress`, student, { completionPercentage: 15 }), 200, LessonProgressResponse);
  await bossMissed;
  await new Promise<void>((resolve) => former.once('connect', () => resolve()));
  t.equal(former.recovered, false, 'not recovered: the client re-joins and resyncs');
  const formerSaw = record(former);

  const bossHeard = nextEvent(boss, 'lesson:progress', (p) => p.completionPercentage === 20);
  await ok(await call(app, 'POST', `/api/lessons/${lessons[0].id}/progress`, student, { completionPercentage: 20 }), 200, LessonProgressResponse);
  await bossHeard;
  await request(former, 'course:leave', { courseId: '00000000-0000-4000-8000-000000000000' });
  t.same(formerSaw, [], 'nothing from the course after reconnecting');
  t.same(
    reached.map(([event, payload]) => [event, (payload as { completionPercentage: number }).completionPercentage]),
    [],
    'nor what it missed',
  );
  t.notOk((await app.presence.online(course.id)).includes(formerOwner.id), 'and not online there');
  t.match(await request(former, 'course:join', { courseId: course.id }), { ok: false, error: { code: 'FORBIDDEN' } });

  // The course it still owns is joined again as after any reconnect that was not recovered.
  t.notOk((await app.presence.online(kept.course.id)).includes(formerOwner.id), 'in no course room until it joins');
  t.match(await request(former, 'course:join', { courseId: kept.course.id }), { ok: true });
  const stillOwner = nextEvent(former, 'lesson:progress', (p) => p.courseId === kept.course.id);
  await ok(await call(app, 'POST', `/api/lessons/${kept.lessons[0].id}/progress`, student, { completionPercentage: 10 }), 200, LessonProgressResponse);
  await stillOwner;

  // Dropped again, with nothing taken away meanwhile: this one recovers, with the new session id.
  await request(boss, 'course:join', { courseId: kept.course.id });
  const offlineAgain = nextEvent(boss, 'presence:updated', (p) => p.courseId === kept.course.id && p.left.includes(formerOwner.id));
  former.io.engine.close();
  await offlineAgain;
  const missed = nextEvent(former, 'lesson:progress', (p) => p.courseId === kept.course.id && p.completionPercentage === 30, 8000);
  await ok(await call(app, 'POST', `/api/lessons/${kept.lessons[0].id}/progress`, student, { completionPercentage: 30 }), 200, LessonProgressResponse);
  await missed;
  t.equal(former.recovered, true, 'recovered: the missed event was replayed');
});
