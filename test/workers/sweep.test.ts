import t from '../helpers/tap.js';
import pg from 'pg';
import { buildTestApp } from '../helpers/app.js';
import { bodyOf, call } from '../helpers/http.js';
import { CourseJson, EnrollmentJson, LessonJson } from '../../server/modules/learning.schemas.js';
import { freePort } from '../helpers/processes.js';
import { createUser, type TestUser } from '../helpers/users.js';
import { waitFor } from '../helpers/wait.js';
import { createQueueRedis } from '../../server/platform/redis.js';
import { Queues } from '../../server/platform/queues/queues.js';
import { deadlineRetryDelayMs, queueContracts } from '../../server/platform/queues/contract.js';
import { issueMissingCertificates, recalculateStaleEnrollments, runSweep, Sweeper, SWEEP_LOCK_KEY, type SweepTask } from '../../workers/maintenance.worker.js';
import { workerContextOf } from '../../workers/in-process.js';
import { QueueJobs } from '../../server/platform/queues/jobs.js';
import type { WorkerContext } from '../../workers/processor.js';
import { recordingPublisher } from '../helpers/publisher.js';
import type { EnrollmentProgressJson } from '../../server/modules/progress/progress.service.js';
import type { IssuedCertificate } from '../../server/modules/certificates/certificates.service.js';

// No in-process workers: every sweep here is run by the test itself.
const { app, config, defer } = await buildTestApp(t, 'sweep');
const owner = await createUser(app, 'instructor');
const db = () => app.orm.em.fork().getConnection();

const publisher = recordingPublisher();
const updates = publisher.calls.enrollmentProgressUpdated as EnrollmentProgressJson[];
const announced = publisher.calls.certificateIssued as IssuedCertificate[];
const ctx: WorkerContext = workerContextOf(app, { deps: () => ({ ...app.forkDeps(), publisher }) });

async function courseWith(lessons: number) {
  const created = bodyOf(await call(app, 'POST', '/api/courses', owner, { title: `Course ${Math.random()}`, isPublished: true }), 201, CourseJson);
  const lessonIds: string[] = [];
  for (let i = 0; i < lessons; i++)
    lessonIds.push(bodyOf(await call(app, 'POST', `/api/courses/${created.id}/lessons`, owner, { title: `L${i}` }), 201, LessonJson).id);
  return { id: created.id, lessonIds };
}

async function enroll(courseId: string, student: TestUser): Promise<string> {
  return bodyOf(await call(app, 'POST', `/api/courses/${courseId}/enroll`, student), 201, EnrollmentJson).id;
}

async function enrollmentRow(id: string) {
  const [row] = await db().execute<
    Array<{
      status: string;
      completed_lessons_count: number;
      total_lessons_count: number;
      total_time_spent_seconds: number;
      certificate_issued_at: string | null;
    }>
  >('SELECT status, completed_lessons_count, total_lessons_count, total_time_spent_seconds, certificate_issued_at FROM enrollments WHERE id = ?', [id]);
  return row!;
}

t.test('the deadline job retries for minutes, its delay doubling up to 10 s', async (t) => {
  t.same([1, 2, 3, 4, 5, 6, 7].map(deadlineRetryDelayMs), [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  const attempts = queueContracts['quiz-deadlines'].defaultJobOptions.attempts!;
  let covered = 0;
  for (let made = 1; made < attempts; made++) covered += deadlineRetryDelayMs(made);
  t.ok(covered >= 4 * 60_000, `retries cover ${Math.round(covered / 1000)} s of outage`);
  t.match(queueContracts['quiz-deadlines'].defaultJobOptions.backoff, { type: 'deadline' });
  t.equal(queueContracts['quiz-deadlines'].backoffStrategy?.(3), 2000, 'the workers use it for the custom type');
});

t.test('enrollments whose lesson changes or progress the recalculation missed are recalculated', async (t) => {
  const student = await createUser(app, 'student');
  const { id: courseId, lessonIds } = await courseWith(2);
  const enrollmentId = await enroll(courseId, student);
  t.match(await enrollmentRow(enrollmentId), { total_lessons_count: 2, completed_lessons_count: 0 });

  // What a lost `progress` job of the course and a crash between a progress write and its
  // recalculation leave behind: a lesson the enrollment does not count, progress it does not show
  // (written a minute ago, after the enrollment's last update).
  await db().execute(`INSERT INTO lessons (course_id, title, slug, order_index) VALUES (?, 'Added', 'added-${Date.now()}', 9)`, [courseId]);
  await db().execute(`UPDATE enrollments SET updated_at = now() - interval '2 minutes' WHERE id = ?`, [enrollmentId]);
  await db().execute(
    `INSERT INTO lesson_progress (enrollment_id, lesson_id, status, completion_percentage, time_spent_seconds, started_at, completed_at, updated_at)
     VALUES (?, ?, 'completed', 100, 42, now(), now(), now() - interval '1 minute')`,
    [enrollmentId, lessonIds[0]],
  );
  const untouched = await enroll((await courseWith(1)).id, await createUser(app, 'student'));

  const before = updates.length;
  t.equal(await recalculateStaleEnrollments.run(ctx), 1, 'one enrollment repaired');
  t.match(await enrollmentRow(enrollmentId), { total_lessons_count: 3, completed_lessons_count: 1, total_time_spent_seconds: 42 });
  t.match(updates.slice(before), [{ enrollmentId, completedLessonsCount: 1, totalLessonsCount: 3 }], 'progress:updated for it');
  t.match(await enrollmentRow(untouched), { total_lessons_count: 1 });
  t.equal(await recalculateStaleEnrollments.run(ctx), 0, 'nothing left to repair');

  // Progress newer than its enrollment that changes no count (a percentage) is not repaired again and again.
  await db().execute(`UPDATE enrollments SET updated_at = now() - interval '2 minutes' WHERE id = ?`, [enrollmentId]);
  await db().execute(`UPDATE lesson_progress SET completion_percentage = 50, updated_at = now() - interval '1 minute' WHERE enrollment_id = ?`, [enrollmentId]);
  t.equal(await recalculateStaleEnrollments.run(ctx), 0);
});

t.test('progress written in the last seconds is left to the recalculation that follows it: no repair, no second progress:updated', async (t) => {
  const student = await createUser(app, 'student');
  const { id: courseId, lessonIds } = await courseWith(2);
  const enrollmentId = await enroll(courseId, student);
  // A write whose own recalculation has not run yet (it follows within milliseconds): the
  // enrollment disagrees with its progress for that long.
  await db().execute(
    `INSERT INTO lesson_progress (enrollment_id, lesson_id, status, completion_percentage, time_spent_seconds, started_at, completed_at, updated_at)
     VALUES (?, ?, 'completed', 100, 42, now(), now(), now())`,
    [enrollmentId, lessonIds[0]],
  );
  const before = updates.length;
  t.equal(await recalculateStaleEnrollments.run(ctx), 0, 'not repaired while the write is recent');
  t.same(updates.slice(before), [], 'nothing announced');
  t.match(await enrollmentRow(enrollmentId), { completed_lessons_count: 0 });

  // Still wrong once the write is older than the settling time: the recalculation never came.
  await db().execute(`UPDATE lesson_progress SET updated_at = now() - interval '1 minute' WHERE enrollment_id = ?`, [enrollmentId]);
  await db().execute(`UPDATE enrollments SET updated_at = now() - interval '2 minutes' WHERE id = ?`, [enrollmentId]);
  t.equal(await recalculateStaleEnrollments.run(ctx), 1, 'repaired');
  t.match(updates.slice(before), [{ enrollmentId, completedLessonsCount: 1 }]);
});

t.test('completed enrollments without a certificate get one: queued, or issued here when Redis cannot be reached', async (t) => {
  const { id: courseId, lessonIds } = await courseWith(1);
  const queued = await createUser(app, 'student');
  const direct = await createUser(app, 'student');
  const queuedId = await enroll(courseId, queued);
  const directId = await enroll(courseId, direct);
  // Completed without their certificate jobs (Redis lost them, or was down at completion).
  for (const id of [queuedId, directId]) {
    await db().execute(
      `INSERT INTO lesson_progress (enrollment_id, lesson_id, status, completion_percentage, started_at, completed_at) VALUES (?, ?, 'completed', 100, now(), now())`,
      [id, lessonIds[0]],
    );
    await db().execute(
      `UPDATE enrollments SET status = 'completed', completed_at = now(), completed_lessons_count = 1, progress_percentage = 100 WHERE id = ?`,
      [id],
    );
  }

  // With Redis answering, the sweep queues the job (nothing runs it here: no workers).
  t.equal(await issueMissingCertificates.run(ctx), 2);
  t.ok(await app.queues.get('certificates').getJob(`certificate-${queuedId}`), 'queued');
  await app.queues.get('certificates').obliterate({ force: true });

  // With Redis unreachable, the queue would wait for it forever: the sweep issues them itself.
  const deadRedis = createQueueRedis({ redisUrl: `redis://127.0.0.1:${await freePort()}`, redisSentinel: null });
  deadRedis.on('error', () => undefined);
  const unreachable = new Queues(config, deadRedis, () => undefined);
  defer(() => deadRedis.disconnect());
  const offline: WorkerContext = { ...ctx, queues: unreachable, deps: () => ({ ...ctx.deps(), jobs: new QueueJobs(unreachable, app.log) }) };
  const started = Date.now();
  t.equal(await issueMissingCertificates.run(offline), 2);
  t.ok(Date.now() - started < 10_000, `within ${Date.now() - started} ms`);
  for (const id of [queuedId, directId]) {
    t.ok((await enrollmentRow(id)).certificate_issued_at, 'issued and announced');
    const [cert] = await db().execute<Array<{ pdf_path: string | null }>>('SELECT pdf_path FROM certificates WHERE enrollment_id = ?', [id]);
    t.ok(cert?.pdf_path, 'with its PDF');
  }
  t.equal(announced.filter((c) => c.courseId === courseId).length, 2, 'certificate:issued once each');
  t.equal(await issueMissingCertificates.run(offline), 0, 'nothing left');
});

t.test('one process sweeps at a time (PostgreSQL advisory lock)', async (t) => {
  const holder = new pg.Client({ connectionString: config.databaseUrl });
  await holder.connect();
  defer(() => holder.end());
  await holder.query('SELECT pg_advisory_lock($1)', [SWEEP_LOCK_KEY]);
  let ran = 0;
  const task: SweepTask = { name: 'count', run: async () => ++ran };
  t.match(await runSweep(ctx, [task]), { ran: false }, 'skipped while another process sweeps');
  t.equal(ran, 0);
  await holder.query('SELECT pg_advisory_unlock($1)', [SWEEP_LOCK_KEY]);
  t.match(await runSweep(ctx, [task]), { ran: true, result: { count: 1 }, failed: [] });
});

t.test('a failed sweep is retried within about a second, not at the next period', async (t) => {
  let runs = 0;
  const flaky: SweepTask = {
    name: 'flaky',
    async run() {
      runs++;
      if (runs === 1) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      return 0;
    },
  };
  const sweeper = new Sweeper(ctx, { intervalMs: 600_000, retryMs: 1000, tasks: [flaky] });
  defer(() => sweeper.close());
  const started = Date.now();
  sweeper.start();
  await waitFor('the retry', () => runs >= 2, 5000);
  const elapsed = Date.now() - started;
  t.ok(elapsed >= 900 && elapsed < 3000, `second run after ${elapsed} ms`);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal(runs, 2, 'then back to the period');
  await sweeper.close();
});
