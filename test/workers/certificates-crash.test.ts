import t from '../helpers/tap.js';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { buildTestApp } from '../helpers/app.js';
import { createUser } from '../helpers/users.js';
import { bodyOf, call } from '../helpers/http.js';
import { CourseJson, EnrollmentJson, LessonJson } from '../../server/modules/learning.schemas.js';
import { LessonProgressResponse } from '../../server/modules/progress/progress.schemas.js';
import { spawnEntry } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { startWorkers } from '../../workers/runtime.js';
import { workerContextOf } from '../../workers/in-process.js';
import { recordingPublisher } from '../helpers/publisher.js';
import type { IssuedCertificate } from '../../server/modules/certificates/certificates.service.js';

t.test('a worker killed in the middle of a certificate job: another finishes it, one row, one PDF, one event', async (t) => {
  // An API-only instance (no workers); jobs give up a dead worker's lock after a second.
  const { app, config, env, defer } = await buildTestApp(t, 'cert-crash', { JOB_LOCK_MS: '1000', SWEEP_INTERVAL_MS: '600000', LOG_LEVEL: 'info' });
  const owner = await createUser(app, 'instructor', { fullName: 'Olive Owner' });
  const student = await createUser(app, 'student', { fullName: 'Crash Test Student' });
  const course = bodyOf(await call(app, 'POST', '/api/courses', owner, { title: 'Fault Tolerance', isPublished: true }), 201, CourseJson);
  const lesson = bodyOf(await call(app, 'POST', `/api/courses/${course.id}/lessons`, owner, { title: 'Only lesson' }), 201, LessonJson);
  const enrollmentId = bodyOf(await call(app, 'POST', `/api/courses/${course.id}/enroll`, student), 201, EnrollmentJson).id;

  // Completing the course over HTTP enqueues the certificate; no worker runs yet.
  const done = bodyOf(await call(app, 'POST', `/api/lessons/${lesson.id}/progress`, student, { status: 'completed' }), 200, LessonProgressResponse);
  t.equal(done.enrollment.status, 'completed');
  t.equal(await app.queues.get('certificates').getJobCountByTypes('waiting'), 1, 'the certificate job waits');

  // A share lock on the enrollment lets the job create the row and the PDF, and stops it at the
  // claim of the announcement (an UPDATE of that row): the job is observably half done.
  const locker = new pg.Client({ connectionString: config.databaseUrl });
  await locker.connect();
  defer(() => locker.end());
  await locker.query('BEGIN');
  await locker.query('SELECT 1 FROM enrollments WHERE id = $1 FOR SHARE', [enrollmentId]);

  const started = Date.now();
  const first = spawnEntry('workers/main.ts', env);
  defer(() => first.child.kill('SIGKILL'));
  const db = () => app.orm.em.fork().getConnection();
  const row = await waitFor(
    'the first worker to write the row and the PDF',
    async () => {
      const [certificate] = await db().execute<Array<{ id: string; certificate_number: string; pdf_path: string | null }>>(
        'SELECT id, certificate_number, pdf_path FROM certificates WHERE enrollment_id = ?',
        [enrollmentId],
      );
      if (!certificate) return undefined;
      const pdf = await stat(join(config.storageDir, 'certificates', `${certificate.id}.pdf`)).catch(() => null);
      return pdf?.isFile() ? certificate : undefined;
    },
    // A worker process starts in seconds, but in tens of them on a loaded CI machine.
    90_000,
    50,
  );
  await waitFor('the first worker to block on the claim', async () => {
    const [blocked] = await db().execute<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE enrollments SET certificate_issued_at%'`,
    );
    return blocked!.n === 1;
  });
  t.comment(`the first worker started and blocked mid-job after ${Date.now() - started} ms`);
  t.equal(row.pdf_path, null, 'pdf_path is written with the claim, which has not committed');
  first.child.kill('SIGKILL');
  const killed = Date.now();
  t.equal((await first.exited).signal, 'SIGKILL', 'the first worker died mid-job');

  // Another worker (in this process, so its events can be counted) takes the job over.
  const publisher = recordingPublisher();
  const announced = publisher.calls.certificateIssued as IssuedCertificate[];
  const runtime = await startWorkers(workerContextOf(app, { deps: () => ({ ...app.forkDeps(), publisher }) }), { only: ['certificates'] });
  defer(() => runtime.close());
  await locker.query('COMMIT');

  await waitFor('the second worker to announce the certificate', () => announced.length > 0, 60_000);
  t.comment(`the second worker finished the job ${Date.now() - killed} ms after the kill`);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  t.equal(announced.length, 1, 'one certificate:issued');
  t.match(announced[0], { certificateNumber: row.certificate_number, courseId: course.id, studentId: student.id });

  const rows = await db().execute<Array<{ id: string; certificate_number: string }>>(
    'SELECT id, certificate_number FROM certificates WHERE enrollment_id = ?',
    [enrollmentId],
  );
  t.equal(rows.length, 1, 'one row');
  t.equal(rows[0]!.certificate_number, row.certificate_number, 'the number drawn before the crash');
  t.same(await readdir(join(config.storageDir, 'certificates')), [`${rows[0]!.id}.pdf`], 'one PDF');
  const [enrollment] = await db().execute<Array<{ certificate_issued_at: string | null }>>('SELECT certificate_issued_at FROM enrollments WHERE id = ?', [
    enrollmentId,
  ]);
  t.ok(enrollment!.certificate_issued_at, 'certificate_issued_at is set');
  const counts = await app.queues.get('certificates').getJobCounts('completed', 'failed', 'active', 'waiting');
  t.match(counts, { completed: 1, failed: 0, active: 0, waiting: 0 }, 'the job completed once');
});
