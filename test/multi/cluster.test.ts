import { AttemptJson } from '../../server/modules/attempts/attempts.schemas.js';
import { LessonProgressResponse } from '../../server/modules/progress/progress.schemas.js';
import { EnrollmentJson } from '../../server/modules/learning.schemas.js';
import t from '../helpers/tap.js';
import { buildApp } from '../../server/app.js';
import { createTestEnv } from '../helpers/app.js';
import { spawnEntry } from '../helpers/processes.js';
import { call } from '../helpers/http.js';
import { createUser } from '../helpers/users.js';
import { waitFor } from '../helpers/wait.js';
import { courseWithLessons, enrolledCrowd, ok, publishedQuiz } from '../realtime/fixtures.js';
import { client, connect, nextEvent, record, request, socketPool, type ClientSocket } from '../realtime/socket-helpers.js';
import type { PresenceUpdatedPayload } from '../../server/realtime/contract.js';
import { countByName, duplicates, http, kill, startInstance, wsClient, type WsClient } from './cluster-helpers.js';

// Two API instances (A, B) and one worker process on one database and Redis prefix. Heartbeats
// are short so a dead instance is noticed within two seconds (long enough for a loaded CI machine); the deadline job grades 200 ms after
// the deadline; the sweep stays out of the way.
const HEARTBEAT_MS = 300;
const TTL_MS = 1500;
const testEnv = await createTestEnv(t, 'multi-cluster', {
  PRESENCE_HEARTBEAT_MS: String(HEARTBEAT_MS),
  PRESENCE_TTL_MS: String(TTL_MS),
  QUIZ_GRACE_MS: '200',
  SWEEP_INTERVAL_MS: '3600000',
});

// Users and courses are made in this process (the same database); the flows go over HTTP to A.
const setup = await buildApp(testEnv.config);
testEnv.defer(() => setup.close());
// One after the other: three processes compiling TypeScript at once starve other test files' timers.
const a = await startInstance(testEnv.env);
const b = await startInstance(testEnv.env);
const worker = spawnEntry('workers/main.ts', testEnv.env);
testEnv.defer(() => Promise.all([kill(a), kill(b), kill(worker)]));
const sockets = socketPool();
const wsClients: WsClient[] = [];
testEnv.defer(() => {
  sockets.closeAll();
  for (const ws of wsClients) ws.ws.terminate();
});

const owner = await createUser(setup, 'instructor');
const student = await createUser(setup, 'student');
const socketOn = async (url: string, user: { token: string }) => connect(sockets.add(client(url, user.token)));
const wsOn = async (url: string, token: string) => {
  const ws = await wsClient(`${url}/ws?token=${encodeURIComponent(token)}`);
  wsClients.push(ws);
  return ws;
};

t.test('student on A, instructor on B (Socket.IO and /ws): every event once, the worker’s too', async (t) => {
  // Enrolled after the lessons exist: adding a lesson to a course with enrollments queues a
  // recalculation whose `progress:updated` would land in the middle of the flow.
  const { course, lessons } = await courseWithLessons(setup, owner, []);
  const { quiz, tf, mc } = await publishedQuiz(setup, owner, course.id, { timeLimitSeconds: 2 });
  // The worker may still be starting: let it run the recalculations of those lessons first.
  const progressQueue = setup.queues.get('progress');
  await waitFor(
    'the progress jobs to be done',
    async () => {
      const counts = await progressQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((n) => n === 0);
    },
    20_000,
    100,
  );
  await ok(await call(setup, 'POST', `/api/courses/${course.id}/enroll`, student), 201, EnrollmentJson);

  const teacher = await socketOn(b.url, owner);
  t.equal((await request(teacher, 'course:join', { courseId: course.id })).ok, true, 'instructor joins on B');
  const teacherWs = await wsOn(b.url, owner.token);
  const subscribed = await teacherWs.send('subscribe', { courseId: course.id });
  t.match(
    subscribed,
    { type: 'ack', ok: true, data: { courseId: course.id, onlineCount: 1, seq: Number, online: [owner.id] } },
    '/ws subscribe acks with the snapshot',
  );
  const teacherSaw = record(teacher);

  const pupil = await socketOn(a.url, student);
  const pupilSaw = record(pupil);
  const joinedForWs = teacherWs.next('presence:updated', (p) => p.joined.includes(student.id));
  const joined = nextEvent(teacher, 'presence:updated', (p) => p.joined.includes(student.id));
  const joinAck = await request(pupil, 'course:join', { courseId: course.id });
  t.same(joinAck.data, { courseId: course.id, onlineCount: 2, seq: joinAck.data.seq }, 'the count on A includes the instructor on B (no list for a student)');
  t.match(await joined, { courseId: course.id, joined: [student.id], left: [], onlineCount: 2 }, 'presence crosses instances');
  await joinedForWs;

  // Lesson progress: over HTTP to A, then over the socket on A.
  const progressed = nextEvent(teacher, 'progress:updated', (p) => p.completedLessonsCount === 1);
  await ok(await http(a.url, 'POST', `/api/lessons/${lessons[0].id}/progress`, student.token, { completionPercentage: 40 }), 200, LessonProgressResponse);
  t.equal((await request(pupil, 'lesson:progress', { lessonId: lessons[0].id, status: 'completed' })).ok, true);
  await progressed;

  // A 2-second quiz started on A; answered on A; graded by the worker at deadline + grace.
  const gradedForPupil = nextEvent(pupil, 'quiz:graded', undefined, 10_000);
  const gradedForTeacher = nextEvent(teacher, 'quiz:graded', undefined, 10_000);
  const gradedForWs = teacherWs.next('quiz:graded', undefined, 10_000);
  const attempt = await ok(await http(a.url, 'POST', `/api/quizzes/${quiz.id}/attempts`, student.token), 201, AttemptJson);
  t.equal((await request(pupil, 'quiz:answer', { attemptId: attempt.id, questionId: tf.id, answer: true })).ok, true);
  t.equal((await request(pupil, 'quiz:answer', { attemptId: attempt.id, questionId: mc.id, answer: ['where'] })).ok, true);
  const grade = { attemptId: attempt.id, quizId: quiz.id, studentId: student.id, score: 2, maxScore: 2, isPassed: true };
  t.match(await gradedForPupil, grade, 'quiz:graded from the worker reaches the student on A');
  t.match(await gradedForTeacher, grade, 'and the instructor on B');
  t.match(await gradedForWs, grade, 'and the /ws client on B');
  // Whatever was still on its way (late duplicates would show here).
  await new Promise((resolve) => setTimeout(resolve, 700));

  const pupilCounts = countByName(pupilSaw);
  t.match(pupilCounts, { 'progress:updated': Number, 'quiz:started': 1, 'quiz:expired': 1, 'quiz:graded': 1 }, 'the student hears each quiz event once');
  t.notOk('lesson:progress' in pupilCounts || 'presence:updated' in pupilCounts, 'and nothing of the instructors');
  t.ok(pupilSaw.filter((seen) => seen.event === 'quiz:tick').length >= 1, 'ticks on A');
  t.same(duplicates(pupilSaw), [], 'no event twice for the student');

  const teacherCounts = countByName(teacherSaw);
  t.match(teacherCounts, { 'presence:updated': 1, 'lesson:progress': Number, 'progress:updated': Number, 'quiz:started': 1, 'quiz:graded': 1 });
  t.ok(teacherCounts['lesson:progress']! >= 2, 'both lesson updates reached the instructor');
  t.same(duplicates(teacherSaw), [], 'no event twice for the instructor');
  t.notOk('quiz:tick' in teacherCounts || 'quiz:expired' in teacherCounts);

  // The /ws client saw exactly what the instructor's socket saw from the moment both were in.
  const wsCounts = countByName(teacherWs.events);
  t.same(wsCounts, teacherCounts, '/ws receives the same events, once each');
  t.same(duplicates(teacherWs.events), []);
  const wsGraded = teacherWs.events.find((e) => e.type === 'quiz:graded')!;
  t.match(wsGraded.data, { ...grade, serverNow: String }, 'same payloads');
});

t.test('a class joining over both instances: one course’s batches at most 4 per second across A and B, numbered in order', async (t) => {
  const { course } = await courseWithLessons(setup, owner, []);
  const crowd = await enrolledCrowd(setup, course.id, 200);
  const teacher = await socketOn(b.url, owner);
  const batches: PresenceUpdatedPayload[] = [];
  teacher.on('presence:updated', (batch) => void batches.push(batch));
  const start = (await request(teacher, 'course:join', { courseId: course.id })).data as { seq: number; online: string[] };
  // Half on each instance, in waves over about a second and a half, so both flush while the other does.
  for (let from = 0; from < crowd.length; from += 20) {
    await Promise.all(
      crowd.slice(from, from + 20).map(async (student, i) => {
        const socket = await socketOn(i % 2 === 0 ? a.url : b.url, student);
        await request(socket, 'course:join', { courseId: course.id });
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  const sent = () => batches.filter((batch) => batch.seq > start.seq);
  const online = () => {
    const seen = new Set(start.online);
    for (const batch of sent()) {
      batch.joined.forEach((id) => seen.add(id));
      batch.left.forEach((id) => seen.delete(id));
    }
    return seen;
  };
  await waitFor('every student in a batch', () => online().size === crowd.length + 1, 10_000);
  t.same(online(), new Set([owner.id, ...crowd.map((student) => student.id)]), 'the snapshot plus the batches is everyone');
  const received = sent();
  t.equal(received.at(-1)!.onlineCount, crowd.length + 1, 'the last batch counts everyone');
  t.ok(
    received.every((batch, i) => i === 0 || batch.seq > received[i - 1]!.seq),
    'seq increases strictly from batch to batch',
  );
  // Both instances flush this course; Redis spaces their flushes 250 ms apart, stamps in Node may
  // jitter (a stamp is taken after the Redis pacing key was set, by a loop that may be busy): the
  // count allows each end of the span 25 ms of it (8 batches once came 1,747 ms apart, gaps ≥ 246 ms).
  const stamps = received.map((batch) => Date.parse(batch.serverNow));
  const gaps = stamps.slice(1).map((at, i) => at - stamps[i]!);
  const span = stamps.at(-1)! - stamps[0]!;
  t.ok(Math.min(...gaps) >= 150, `batches at least ${Math.min(...gaps)} ms apart (server stamps of A and B)`);
  t.ok(received.length <= Math.floor((span + 2 * 25) / 250) + 1, `${received.length} batches over ${span} ms: at most 4 per second`);
});

t.test('/ws: auth frame, refusals and bad frames', async (t) => {
  const noToken = await wsClient(`${b.url}/ws`);
  wsClients.push(noToken);
  noToken.ws.send(JSON.stringify({ type: 'subscribe', data: {} }));
  t.match(await noToken.closed, { code: 4401, reason: /unauthorized/ }, 'a first frame other than auth closes 4401');

  const forged = await wsClient(`${b.url}/ws?token=not-a-token`);
  wsClients.push(forged);
  t.match(await forged.closed, { code: 4401 }, 'a bad ?token= closes 4401');

  const framed = await wsClient(`${b.url}/ws`);
  wsClients.push(framed);
  framed.ws.send(JSON.stringify({ type: 'auth', id: 'a1', data: { token: student.token } }));
  t.match(await framed.next('ack'), { type: 'ack', id: 'a1', ok: true, data: { userId: student.id } }, 'the auth frame is acknowledged');
  t.match(await framed.send('nonsense', {}), { type: 'ack', ok: false, error: { code: 'VALIDATION_ERROR' } });
  t.match(await framed.send('subscribe', { courseId: 'nope' }), { ok: false, error: { code: 'VALIDATION_ERROR' } });
  const refused = framed.next('ack');
  framed.ws.send('{not json');
  t.match(
    await refused,
    { type: 'ack', id: null, ok: false, error: { code: 'VALIDATION_ERROR' } },
    'a frame that is not JSON is refused, the connection lives',
  );
  const outsiderCourse = await courseWithLessons(setup, owner, []);
  t.match(
    await framed.send('subscribe', { courseId: outsiderCourse.course.id }),
    { ok: false, error: { code: 'FORBIDDEN' } },
    'the same authorisation as course:join',
  );
  framed.ws.close();
});

t.test('recovery across instances: a client dropped from A resumes on B with the missed events', async (t) => {
  const { lessons } = await courseWithLessons(setup, owner, [student]);
  const first = await socketOn(a.url, student);
  // An event after the connection gives the client an offset to resume from.
  const before = nextEvent(first, 'progress:updated');
  await ok(await http(a.url, 'POST', `/api/lessons/${lessons[0].id}/progress`, student.token, { completionPercentage: 10 }), 200, LessonProgressResponse);
  await before;
  const { _pid: pid, _lastOffset: offset } = first as unknown as { _pid: string; _lastOffset: string };
  t.ok(pid && offset, 'the client has a session to resume');
  first.io.engine.close();
  await waitFor('A to see the disconnection', () => !first.connected, 5000);
  await new Promise((resolve) => setTimeout(resolve, 300));

  // Missed while offline.
  await ok(await http(a.url, 'POST', `/api/lessons/${lessons[1].id}/progress`, student.token, { status: 'completed' }), 200, LessonProgressResponse);

  // socket.io-client resumes by sending its pid/offset in the CONNECT packet: a new client to B with them.
  const second = sockets.add(client(b.url, student.token));
  Object.assign(second as unknown as Record<string, unknown>, { _pid: pid, _lastOffset: offset });
  const missed = nextEvent(second, 'progress:updated', (p) => p.completedLessonsCount === 1);
  await connect(second);
  t.equal(second.recovered, true, 'B recovered the session that A stored in Redis');
  t.match(await missed, { studentId: student.id, completedLessonsCount: 1 }, 'the missed event is delivered');
});

t.test('a grade from another instance stops the ticks of the instance holding the socket', async (t) => {
  const { course } = await courseWithLessons(setup, owner, [student]);
  const { quiz } = await publishedQuiz(setup, owner, course.id, { timeLimitSeconds: 8 });
  const pupil = await socketOn(a.url, student);
  const attempt = await ok(await http(a.url, 'POST', `/api/quizzes/${quiz.id}/attempts`, student.token), 201, AttemptJson);
  await nextEvent(pupil, 'quiz:tick', (p) => p.attemptId === attempt.id);
  const graded = nextEvent(pupil, 'quiz:graded', (p) => p.attemptId === attempt.id);
  await ok(await http(b.url, 'POST', `/api/attempts/${attempt.id}/submit`, student.token, {}), 200, AttemptJson);
  await graded;
  const seen = record(pupil);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal(seen.filter((e) => e.event === 'quiz:tick').length, 0, 'A stopped ticking when B graded the attempt');
  pupil.disconnect();
});

t.test('SIGKILL of A: the student goes offline for the instructor on B, then ticks and submits on B', async (t) => {
  const { course } = await courseWithLessons(setup, owner, [student]);
  const { quiz, tf } = await publishedQuiz(setup, owner, course.id, { timeLimitSeconds: 8 });
  const teacher = await socketOn(b.url, owner);
  await request(teacher, 'course:join', { courseId: course.id });
  const pupil: ClientSocket = await socketOn(a.url, student);
  const joined = nextEvent(teacher, 'presence:updated', (p) => p.joined.includes(student.id));
  await request(pupil, 'course:join', { courseId: course.id });
  await joined;
  const attempt = await ok(await http(a.url, 'POST', `/api/quizzes/${quiz.id}/attempts`, student.token), 201, AttemptJson);
  await nextEvent(pupil, 'quiz:tick', (p) => p.attemptId === attempt.id);

  const left = nextEvent(teacher, 'presence:updated', (p) => p.left.includes(student.id), 5000);
  const killedAt = Date.now();
  await kill(a);
  t.match(await left, { courseId: course.id, joined: [], left: [student.id], onlineCount: 1 }, 'presence:updated left, from B');
  const took = Date.now() - killedAt;
  t.ok(took <= TTL_MS + 2 * HEARTBEAT_MS + 500, `within the heartbeat window (${took} ms)`);
  const snapshot = await request(teacher, 'course:join', { courseId: course.id });
  t.same(snapshot.data.online, [owner.id], 'the snapshot agrees');

  const again = await socketOn(b.url, student);
  const tick = await nextEvent(again, 'quiz:tick', (p) => p.attemptId === attempt.id);
  t.ok(tick.remainingMs > 0 && tick.remainingMs < 8000, 'B ticks the attempt from its deadline');
  t.equal((await request(again, 'quiz:answer', { attemptId: attempt.id, questionId: tf.id, answer: true })).ok, true);
  const graded = nextEvent(teacher, 'quiz:graded', (p) => p.attemptId === attempt.id);
  const submitted = await request(again, 'quiz:submit', { attemptId: attempt.id });
  t.match(submitted, { ok: true, data: { id: attempt.id, status: 'graded' } }, 'the student submits on B');
  await graded;
  const seen = record(again);
  await new Promise((resolve) => setTimeout(resolve, 1200));
  t.equal(seen.filter((e) => e.event === 'quiz:tick').length, 0, 'no ticks after the grade');
});
