import t from '../helpers/tap.js';
import pg from 'pg';
import { buildTestApp } from '../helpers/app.js';
import { createUser, type TestUser } from '../helpers/users.js';
import { bodyOf, call } from '../helpers/http.js';
import { CourseJson, EnrollmentJson, LessonJson } from '../../server/modules/learning.schemas.js';
import { waitFor } from '../helpers/wait.js';
import { recalculateEnrollment, type EnrollmentProgressJson } from '../../server/modules/progress/progress.service.js';
import { upsertLessonProgress } from '../../server/modules/progress/progress.queries.js';
import { queueContracts } from '../../server/platform/queues/contract.js';
import { normalizeProgressWrite } from '../../server/domain/progress.js';
import type { IssuedCertificate } from '../../server/modules/certificates/certificates.service.js';

const { app, config, defer } = await buildTestApp(t, 'progress-queue', { WORKERS: 'on', SWEEP_INTERVAL_MS: '600000' });
const owner = await createUser(app, 'instructor');
const db = () => app.orm.em.fork().getConnection();

/** What the in-process workers report (the realtime publisher is their `events`). */
const updates: EnrollmentProgressJson[] = [];
const announced: IssuedCertificate[] = [];
Object.assign(app.publisher, {
  enrollmentProgressUpdated: (progress: EnrollmentProgressJson) => void updates.push(progress),
  certificateIssued: (certificate: IssuedCertificate) => void announced.push(certificate),
});

async function course(title: string, lessons: number) {
  const created = bodyOf(await call(app, 'POST', '/api/courses', owner, { title, isPublished: true }), 201, CourseJson);
  const lessonIds: string[] = [];
  for (let i = 0; i < lessons; i++)
    lessonIds.push(bodyOf(await call(app, 'POST', `/api/courses/${created.id}/lessons`, owner, { title: `L${i}` }), 201, LessonJson).id);
  return { id: created.id, lessonIds };
}

async function enrollment(courseId: string, student: TestUser): Promise<string> {
  return bodyOf(await call(app, 'POST', `/api/courses/${courseId}/enroll`, student), 201, EnrollmentJson).id;
}

async function enrollmentRow(id: string) {
  const [row] = await db().execute<
    Array<{ status: string; progress_percentage: string; completed_lessons_count: number; total_lessons_count: number; total_time_spent_seconds: number }>
  >('SELECT status, progress_percentage, completed_lessons_count, total_lessons_count, total_time_spent_seconds FROM enrollments WHERE id = ?', [id]);
  return row!;
}

async function drained(): Promise<boolean> {
  const counts = await app.queues.get('progress').getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  return counts.waiting + counts.active + counts.delayed + counts.prioritized === 0;
}

/** One write the way a queue-only producer makes it: the lesson row, then a recalculation request. */
async function write(enrollmentId: string, lessonId: string, input: Parameters<typeof normalizeProgressWrite>[0]) {
  await upsertLessonProgress(app.orm.em.fork(), enrollmentId, lessonId, normalizeProgressWrite(input));
  const data = { enrollmentId };
  await app.queues.add('progress', data);
}

t.test('many concurrent progress writes for one enrollment end in the right counts through the queue', async (t) => {
  const student = await createUser(app, 'student');
  const { id: courseId, lessonIds } = await course('Concurrency', 20);
  const enrollmentId = await enrollment(courseId, student);
  const before = updates.length;

  await Promise.all(
    lessonIds.flatMap((lessonId) => [
      write(enrollmentId, lessonId, { status: 'completed', timeSpentSecondsDelta: 10 }),
      write(enrollmentId, lessonId, { completionPercentage: 40, timeSpentSecondsDelta: 5 }),
    ]),
  );
  await waitFor('the progress queue to drain', drained);
  t.match(await enrollmentRow(enrollmentId), {
    status: 'completed',
    progress_percentage: '100.00',
    completed_lessons_count: 20,
    total_lessons_count: 20,
    total_time_spent_seconds: 300,
  });
  const mine = updates.slice(before).filter((update) => update.enrollmentId === enrollmentId);
  t.ok(mine.length >= 1 && mine.length < 40, `40 requests were deduplicated into ${mine.length} recalculations`);
  t.match(mine.at(-1), { progressPercentage: 100, completedLessonsCount: 20, status: 'completed' }, 'the last progress:updated is the final state');
  await waitFor('the certificate of the completion found by a job', () => announced.some((item) => item.courseId === courseId));
  t.equal(announced.filter((item) => item.courseId === courseId).length, 1);
});

t.test('a request while a recalculation is running is kept, not dropped', async (t) => {
  const student = await createUser(app, 'student');
  const { id: courseId, lessonIds } = await course('Keep last', 3);
  const enrollmentId = await enrollment(courseId, student);
  // Jobs the setup queued (its lessons and enrollment) finish first: one of them running late
  // counted as a third recalculation (seen once in CI).
  await waitFor("the setup's jobs to finish", drained);
  const before = updates.length;

  // Hold the enrollment row so that the first job stays active (NO KEY UPDATE: progress rows,
  // whose foreign key only needs KEY SHARE, can still be written).
  const locker = new pg.Client({ connectionString: config.databaseUrl });
  await locker.connect();
  defer(() => locker.end());
  await locker.query('BEGIN');
  await locker.query('SELECT 1 FROM enrollments WHERE id = $1 FOR NO KEY UPDATE', [enrollmentId]);
  await write(enrollmentId, lessonIds[0]!, { status: 'completed' });
  await waitFor('the first job to be active', async () => (await app.queues.get('progress').getJobCountByTypes('active')) === 1);

  // Three more requests while it runs: one (the last) is kept for after it.
  for (const lessonId of lessonIds.slice(1)) await write(enrollmentId, lessonId, { completionPercentage: 50 });
  await write(enrollmentId, lessonIds[1]!, { status: 'completed' });
  t.equal(await app.queues.get('progress').getJobCountByTypes('waiting'), 0, 'nothing waits: the next request is parked with the active job');
  await locker.query('COMMIT');

  await waitFor('the progress queue to drain', drained);
  const mine = updates.slice(before).filter((update) => update.enrollmentId === enrollmentId);
  t.equal(mine.length, 2, 'the active job, then exactly one more for the requests made meanwhile');
  t.match(await enrollmentRow(enrollmentId), { completed_lessons_count: 2, total_lessons_count: 3 });
});

t.test('a recalculation that read before another one wrote does not overwrite it', async (t) => {
  const student = await createUser(app, 'student');
  const { id: courseId, lessonIds } = await course('Stale reads', 3);
  const enrollmentId = await enrollment(courseId, student);
  const em = () => app.orm.em.fork();
  const deps = () => app.forkDeps();
  await upsertLessonProgress(em(), enrollmentId, lessonIds[0]!, normalizeProgressWrite({ status: 'completed' }));

  // A second recalculation holds the row (uncommitted) while this one counts one completed lesson
  // and waits to write; a second lesson is completed meanwhile and the other one writes its count.
  const other = new pg.Client({ connectionString: config.databaseUrl });
  await other.connect();
  defer(() => other.end());
  await other.query('BEGIN');
  await other.query('UPDATE enrollments SET updated_at = now() WHERE id = $1', [enrollmentId]);
  const stale = recalculateEnrollment(deps(), enrollmentId);
  await waitFor('the recalculation to wait for the row', async () => {
    const [{ n }] = await db().execute<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE enrollments%'`,
    );
    return n > 0;
  });
  await upsertLessonProgress(em(), enrollmentId, lessonIds[1]!, normalizeProgressWrite({ status: 'completed' }));
  await other.query(`UPDATE enrollments SET completed_lessons_count = 2, total_lessons_count = 3, progress_percentage = 66.67 WHERE id = $1`, [enrollmentId]);
  await other.query('COMMIT');
  t.match((await stale)!.progress, { completedLessonsCount: 2, progressPercentage: 66.67 }, 'it read again');
  t.match(await enrollmentRow(enrollmentId), { completed_lessons_count: 2, progress_percentage: '66.67' });

  // Nothing changed: nothing is written (the row keeps its version).
  const version = async () => (await db().execute<Array<{ v: string }>>('SELECT xmin::text AS v FROM enrollments WHERE id = ?', [enrollmentId]))[0]!.v;
  const before = await version();
  t.match((await recalculateEnrollment(deps(), enrollmentId))!.progress, { completedLessonsCount: 2 });
  t.equal(await version(), before, 'an unchanged recalculation writes nothing');

  // Under the row lock from the start (what many tries in a row end in): the completion, once.
  await upsertLessonProgress(em(), enrollmentId, lessonIds[2]!, normalizeProgressWrite({ status: 'completed' }));
  const results = await Promise.all([
    recalculateEnrollment(deps(), enrollmentId, 0),
    recalculateEnrollment(deps(), enrollmentId, 0),
    recalculateEnrollment(deps(), enrollmentId),
  ]);
  t.equal(results.filter((result) => result!.justCompleted).length, 1, 'completed exactly once');
  t.match(await enrollmentRow(enrollmentId), { status: 'completed', completed_lessons_count: 3, progress_percentage: '100.00' });
  t.equal(await recalculateEnrollment(deps(), '00000000-0000-4000-8000-000000000000', 0), null, 'an enrollment that does not exist');
});

t.test("adding or removing lessons recalculates the course's enrollments through the queue", async (t) => {
  const { id: courseId, lessonIds } = await course('Course changes', 3);
  const students = await Promise.all([1, 2, 3].map(() => createUser(app, 'student')));
  const enrollmentIds: string[] = [];
  for (const student of students) enrollmentIds.push(await enrollment(courseId, student));
  // The first student completes two lessons of three, the others one.
  await call(app, 'POST', `/api/lessons/${lessonIds[0]}/progress`, students[0]!, { status: 'completed' });
  await call(app, 'POST', `/api/lessons/${lessonIds[1]}/progress`, students[0]!, { status: 'completed' });
  for (const student of students.slice(1)) await call(app, 'POST', `/api/lessons/${lessonIds[0]}/progress`, student, { status: 'completed' });
  const before = updates.length;

  const added = bodyOf(await call(app, 'POST', `/api/courses/${courseId}/lessons`, owner, { title: 'Extra' }), 201, LessonJson);
  t.pass('the lesson is added');
  await waitFor('every enrollment to count 4 lessons', async () => {
    for (const id of enrollmentIds) if ((await enrollmentRow(id)).total_lessons_count !== 4) return false;
    return true;
  });
  t.match(await enrollmentRow(enrollmentIds[1]!), { progress_percentage: '25.00' });
  await waitFor('the progress queue to drain', drained);
  t.same(new Set(updates.slice(before).map((update) => update.enrollmentId)), new Set(enrollmentIds), 'progress:updated for each enrollment');

  // Removing the two lessons nobody took completes the first student's enrollment: a job completes it.
  t.equal((await call(app, 'DELETE', `/api/lessons/${added.id}`, owner)).status, 204);
  t.equal((await call(app, 'DELETE', `/api/lessons/${lessonIds[2]}`, owner)).status, 204);
  await waitFor('the completion found by the queue', async () => (await enrollmentRow(enrollmentIds[0]!)).status === 'completed');
  await waitFor('its certificate', () => announced.some((item) => item.courseId === courseId));
  await waitFor('the progress queue to drain', drained);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(announced.filter((item) => item.courseId === courseId).length, 1, 'one certificate:issued');
  t.match(await enrollmentRow(enrollmentIds[1]!), { status: 'active', progress_percentage: '50.00', total_lessons_count: 2 });
});

t.test('job ids and deduplication ids', async (t) => {
  const a = queueContracts.progress.jobId({ enrollmentId: 'e1' });
  t.match(a, /^progress-enrollment-e1-[0-9a-f-]{36}$/);
  t.not(a, queueContracts.progress.jobId({ enrollmentId: 'e1' }), 'unique per request: the deduplication id does the deduplicating');
  t.same(queueContracts.progress.addOptions!({ enrollmentId: 'e1' }), { deduplication: { id: 'progress-enrollment-e1', keepLastIfActive: true } });
  t.same(queueContracts.progress.addOptions!({ courseId: 'c1' }), { deduplication: { id: 'progress-course-c1', keepLastIfActive: true } });
});
