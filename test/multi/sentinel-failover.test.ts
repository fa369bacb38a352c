import t from '../helpers/tap.js';
import pg from 'pg';
import { buildApp } from '../../server/app.js';
import { deadlineJobId } from '../../server/platform/queues/contract.js';
import { AttemptJson } from '../../server/modules/attempts/attempts.schemas.js';
import { LessonJson } from '../../server/modules/learning.schemas.js';
import { QuestionJson, QuizJson } from '../../server/modules/quizzes/quizzes.schemas.js';
import { createTestEnv } from '../helpers/app.js';
import { bodyOf, call, replyOfFetch } from '../helpers/http.js';
import { ReadyResponse } from '../../server/plugins/health.js';
import { freePort, spawnEntry } from '../helpers/processes.js';
import { createUser, type TestUser } from '../helpers/users.js';
import { waitFor } from '../helpers/wait.js';
import { courseWithLessons, ok } from '../realtime/fixtures.js';
import { client, connect, record, request, socketPool } from '../realtime/socket-helpers.js';
import { http, kill, startInstance } from './cluster-helpers.js';
import { ask, sentinelGroup, switchMaster } from './sentinel-helpers.js';

// A Sentinel-managed Redis (a primary, a replica, three Sentinels that fail over after 1 s of
// silence), an API instance and a worker process configured with REDIS_SENTINELS only, and a
// class taking a timed quiz. The primary is killed (SIGKILL) while students answer; the
// answers, submits, deadline jobs and realtime events must go on on the promoted replica.
const STUDENTS = 10;
const QUESTIONS = 9;
const TIME_LIMIT_S = 12;

// Registered first, so it runs last (teardowns run in reverse): after the processes below have
// been killed and the test's keys cleared through the Sentinels. It stops whatever was started,
// also when the start failed half-way.
const group = sentinelGroup({ downAfterMs: 1000, failoverTimeoutMs: 5000 });
t.teardown(() => group.stop());
const redis = await group.started;

const testEnv = await createTestEnv(t, 'multi-sentinel', {
  // With Sentinels only REDIS_URL's database number (and password) is used: nothing listens at its address.
  REDIS_URL: `redis://127.0.0.1:${await freePort()}/1`,
  REDIS_SENTINELS: redis.sentinelList,
  REDIS_SENTINEL_NAME: redis.name,
  QUIZ_GRACE_MS: '500',
  // Only the deadline jobs can grade what students leave running: the sweep runs once at start.
  SWEEP_INTERVAL_MS: '3600000',
});
// Users, the course and the quiz are made in this process (it goes through the Sentinels too).
const setup = await buildApp(testEnv.config);
testEnv.defer(() => setup.close());
const api = await startInstance(testEnv.env);
const worker = spawnEntry('workers/main.ts', { ...testEnv.env, LOG_LEVEL: 'info' });
testEnv.defer(() => Promise.all([kill(api), kill(worker)]));
const sockets = socketPool();
testEnv.defer(() => sockets.closeAll());
await waitFor('the worker to start', () => worker.output().includes('workers started') || worker.child.exitCode !== null, 30_000, 100);
if (worker.child.exitCode !== null) throw new Error(`the worker exited:\n${worker.output()}`);
const db = new pg.Client({ connectionString: testEnv.db.url });
await db.connect();
testEnv.defer(() => db.end());

/** A published graded quiz of `QUESTIONS` true/false questions, timed. */
async function timedQuiz(owner: TestUser, courseId: string) {
  const lesson = await ok(await call(setup, 'POST', `/api/courses/${courseId}/lessons`, owner, { title: 'Quiz', lessonType: 'quiz' }), 201, LessonJson);
  const quiz = await ok(
    await call(setup, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, {
      title: 'Failover quiz',
      quizType: 'graded',
      passingScore: 50,
      timeLimitSeconds: TIME_LIMIT_S,
    }),
    201,
    QuizJson,
  );
  const questions: string[] = [];
  for (let i = 0; i < QUESTIONS; i++) {
    const body = { questionText: `Statement ${i}`, questionType: 'true_false', correctAnswer: i % 2 === 0, points: 1 };
    questions.push((await ok(await call(setup, 'POST', `/api/quizzes/${quiz.id}/questions`, owner, body), 201, QuestionJson)).id);
  }
  await ok(await call(setup, 'PATCH', `/api/quizzes/${quiz.id}`, owner, { isPublished: true }), 200, QuizJson);
  return { quiz, questions };
}

t.test('the Redis primary dies mid-quiz: answers, submits, deadline jobs and events go on on the promoted replica', async (t) => {
  const owner = await createUser(setup, 'instructor');
  const students: TestUser[] = [];
  for (let i = 0; i < STUDENTS; i++) students.push(await createUser(setup, 'student'));
  const { course } = await courseWithLessons(setup, owner, students);
  const { quiz, questions } = await timedQuiz(owner, course.id);

  const teacher = await connect(sockets.add(client(api.url, owner.token)));
  t.equal((await request(teacher, 'course:join', { courseId: course.id })).ok, true, 'the instructor follows the class');
  const teacherSaw = record(teacher);

  const attempts = new Map<TestUser, string>();
  for (const student of students) {
    attempts.set(student, (await ok(await http(api.url, 'POST', `/api/quizzes/${quiz.id}/attempts`, student.token), 201, AttemptJson)).id);
  }

  // What the API acknowledged (200), per attempt and question: each must be in the database.
  const acknowledged = new Map<string, Map<string, boolean>>();
  const refusals: Array<number | string> = [];
  /** One answer, retried while the API answers 503 or cannot be reached; 409 is the deadline. */
  const answer = async (student: TestUser, questionId: string, value: boolean) => {
    const attemptId = attempts.get(student)!;
    for (;;) {
      const res = await http(api.url, 'PUT', `/api/attempts/${attemptId}/answers/${questionId}`, student.token, { answer: value }).catch((error: Error) => ({
        status: 0,
        body: error.message,
      }));
      if (res.status === 200) {
        const saved = acknowledged.get(attemptId) ?? new Map<string, boolean>();
        saved.set(questionId, value);
        acknowledged.set(attemptId, saved);
        return;
      }
      if (res.status === 409) return;
      refusals.push(res.status);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  /** Every student answers `slice` of the questions, one after the other. */
  const answerAll = (slice: string[], round: number) =>
    Promise.all(
      students.map(async (student, i) => {
        for (const questionId of slice) await answer(student, questionId, (i + round) % 2 === 0);
      }),
    );

  await answerAll(questions.slice(0, 3), 0);
  const failover = await switchMaster(redis.sentinels[0]!.port, redis.name, 30_000);
  t.teardown(() => failover.close());
  await redis.primary.kill();
  const killedAt = Date.now();
  // While no Redis is primary (the Sentinels wait a second, then elect and promote).
  const during = answerAll(questions.slice(3, 6), 1);
  const promoted = await failover.switched;
  const failoverMs = Date.now() - killedAt;
  t.equal(promoted, redis.replica.port, `the Sentinels promoted the replica (${failoverMs} ms after the kill)`);
  await during;
  // After the failover; some students also change their first answers.
  await answerAll([...questions.slice(6), questions[0]!], 2);

  // Half the class submits; the others' attempts are left to their deadline jobs.
  const submitting = students.filter((_, i) => i % 2 === 0);
  for (const student of submitting) {
    const attemptId = attempts.get(student)!;
    const submitted = await waitFor(
      `the submit of ${attemptId}`,
      async () => {
        const res = await http(api.url, 'POST', `/api/attempts/${attemptId}/submit`, student.token, {});
        if (res.status !== 200) refusals.push(res.status);
        return res.status === 200 ? (res.body as { status: string }) : false;
      },
      10_000,
      100,
    );
    t.equal(submitted.status, 'graded', 'a submit after the failover grades the attempt');
  }

  const attemptIds = [...attempts.values()];
  const rows = await waitFor(
    'every attempt to be finished',
    async () => {
      const { rows } = await db.query<{ id: string; status: string; answers: Record<string, unknown> | null }>(
        'SELECT id, status, answers FROM quiz_attempts WHERE id = ANY($1)',
        [attemptIds],
      );
      return rows.every((row) => row.status !== 'in_progress') && rows;
    },
    (TIME_LIMIT_S + 15) * 1000,
    200,
  );
  t.same(new Set(rows.map((row) => row.status)), new Set(['graded']), 'every attempt is graded');

  const lost: string[] = [];
  let checked = 0;
  for (const row of rows) {
    for (const [questionId, value] of acknowledged.get(row.id) ?? []) {
      checked++;
      if (row.answers?.[questionId] !== value) lost.push(`${row.id}/${questionId}: acknowledged ${value}, stored ${String(row.answers?.[questionId])}`);
    }
  }
  t.ok(
    checked >= STUDENTS * (QUESTIONS - 3),
    `${checked} acknowledged answers checked (${refusals.length} refused and retried: ${[...new Set(refusals)].join(', ') || 'none'})`,
  );
  t.same(lost, [], 'every acknowledged answer is in the database');

  // The worker graded the others on the new primary: their deadline jobs completed there.
  const deadlines = setup.queues.get('quiz-deadlines');
  for (const student of students.filter((student) => !submitting.includes(student))) {
    const job = await deadlines.getJob(deadlineJobId(attempts.get(student)!));
    t.equal(await job?.getState(), 'completed', 'the deadline job of an attempt left running completed after the failover');
  }

  // Every grade reached the instructor's socket through the streams adapter, on the new primary.
  await waitFor(
    'quiz:graded of every attempt at the instructor',
    () => {
      const graded = new Set(teacherSaw.filter((seen) => seen.event === 'quiz:graded').map((seen) => seen.payload.attemptId as string));
      return attemptIds.every((id) => graded.has(id));
    },
    10_000,
    100,
  );

  // The API answers, and writes where the Sentinels say the primary is (database 1 of REDIS_URL).
  const ready = bodyOf(await replyOfFetch(await fetch(`${api.url}/ready`)), 200, ReadyResponse);
  t.match(ready, { checks: { redis: { ok: true } } }, '/ready');
  t.equal(await redis.primaryPort(), redis.replica.port);
  const keys = await ask(redis.replica.port, async (r) => {
    await r.select(1);
    return r.keys(`${testEnv.config.redisPrefix}*`);
  });
  t.ok(
    keys.some((key) => key.startsWith(`${testEnv.config.queuePrefix}:quiz-deadlines:`)),
    'BullMQ’s keys are on the promoted replica',
  );
  const clients = await ask(redis.replica.port, (r) => r.client('LIST') as Promise<string>);
  const names = new Set([...clients.matchAll(/ name=(\S+)/g)].map((match) => match[1]));
  const prefix = testEnv.config.redisPrefix;
  for (const name of [`${prefix}-api`, `${prefix}-sio-api`, `${prefix}-worker`, `${prefix}-sio-worker`]) {
    t.ok(names.has(name), `${name} is connected to the promoted replica`);
  }
  t.notMatch(worker.output(), /"level":(50|60)/, 'the worker logged no error');
});
