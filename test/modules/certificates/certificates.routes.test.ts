import t from '../../helpers/tap.js';
import { execFile } from 'node:child_process';
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/users.js';
import { bodyOf, call, errorOf, replyOf } from '../../helpers/http.js';
import { OpenApiDocument } from '../../helpers/openapi.js';
import { waitFor } from '../../helpers/wait.js';
import { recordingPublisher } from '../../helpers/publisher.js';
import { client, connect, listen } from '../../realtime/socket-helpers.js';
import { issueCertificate } from '../../../server/modules/certificates/certificates.service.js';
import { CERTIFICATE_NUMBER } from '../../../server/domain/certificate-number.js';
import type { IssuedCertificate } from '../../../server/modules/certificates/certificates.service.js';
import { deriveUrlKey, signUrl } from '../../../server/platform/signed-url.js';
import { CourseJson, EnrollmentJson, LessonJson } from '../../../server/modules/learning.schemas.js';
import { LessonProgressResponse } from '../../../server/modules/progress/progress.schemas.js';
import { QuestionJson, QuizJson } from '../../../server/modules/quizzes/quizzes.schemas.js';
import { AttemptJson } from '../../../server/modules/attempts/attempts.schemas.js';
import { CertificateJson, CertificateVerification } from '../../../server/modules/certificates/certificates.schemas.js';
import { UserResponse } from '../../../server/modules/users/users.schemas.js';
import { Page } from '../../../server/platform/schemas.js';

/** A genuine signature whose expiry has passed. */
function expiredLink(number: string): string {
  const expires = Math.floor(Date.now() / 1000) - 1;
  return `/api/certificates/${number}/pdf?expires=${expires}&signature=${signUrl(deriveUrlKey(config.jwtSecret, 'certificate'), `certificate:${number}`, expires)}`;
}

const pdftotext = promisify(execFile);

const { app, config } = await buildTestApp(t, 'certificates', { WORKERS: 'on', SWEEP_INTERVAL_MS: '600000' });
const db = () => app.orm.em.fork().getConnection();

const owner = await createUser(app, 'instructor', { fullName: 'Olive Owner' });
const otherInstructor = await createUser(app, 'instructor', { fullName: 'Other Instructor' });
const admin = await createUser(app, 'admin');
const student = await createUser(app, 'student', { fullName: 'Sam Student' });
const otherStudent = await createUser(app, 'student', { fullName: 'Otto Other' });

/** Every `certificate:issued` the in-process workers announce (the realtime publisher is their `events`). */
const announced: IssuedCertificate[] = [];
const publish = app.publisher.certificateIssued.bind(app.publisher);
app.publisher.certificateIssued = (certificate) => {
  announced.push(certificate);
  publish(certificate);
};

async function publishedCourse(title: string, lessons = 2) {
  const course = bodyOf(await call(app, 'POST', '/api/courses', owner, { title, isPublished: true }), 201, CourseJson);
  const ids: string[] = [];
  for (let i = 0; i < lessons; i++) {
    const lesson = bodyOf(await call(app, 'POST', `/api/courses/${course.id}/lessons`, owner, { title: `Lesson ${i + 1}` }), 201, LessonJson);
    ids.push(lesson.id);
  }
  return { id: course.id, title, lessonIds: ids };
}

async function enrollmentOf(courseId: string, as: TestUser = student): Promise<string> {
  const res = await call(app, 'POST', `/api/courses/${courseId}/enroll`, as);
  return bodyOf(res, res.status === 200 ? 200 : 201, EnrollmentJson).id;
}

async function certificateRows(enrollmentId: string) {
  return db().execute<Array<{ certificate_number: string; pdf_path: string | null; id: string }>>(
    'SELECT id, certificate_number, pdf_path FROM certificates WHERE enrollment_id = ?',
    [enrollmentId],
  );
}

async function issuedAt(enrollmentId: string): Promise<string | null> {
  const [row] = await db().execute<Array<{ certificate_issued_at: string | null }>>('SELECT certificate_issued_at FROM enrollments WHERE id = ?', [
    enrollmentId,
  ]);
  return row!.certificate_issued_at;
}

/** A completed enrollment made directly in the database (no job enqueued). */
async function completedInDatabase(title: string, as: TestUser = student): Promise<{ courseId: string; enrollmentId: string }> {
  const course = await publishedCourse(title, 1);
  const enrollmentId = await enrollmentOf(course.id, as);
  await db().execute(`UPDATE enrollments SET status = 'completed', completed_at = now(), progress_percentage = 100 WHERE id = ?`, [enrollmentId]);
  return { courseId: course.id, enrollmentId };
}

let issued: { number: string; enrollmentId: string; courseId: string; pdfPath: string; pdfUrl: string };

t.test('completing a course over HTTP issues one certificate, one PDF and one certificate:issued', async (t) => {
  const course = await publishedCourse('Relational Databases');
  const enrollmentId = await enrollmentOf(course.id);

  const url = await listen(app);
  const socket = client(url, student.token);
  t.teardown(() => socket.disconnect());
  await connect(socket);
  const received: unknown[] = [];
  socket.on('certificate:issued', (payload) => received.push(payload));

  // The certificates worker starts the render thread at start-up (as a server does long before
  // its first certificate); the first render must not include that.
  const warming = performance.now();
  await app.pdf.ready();
  t.comment(`render thread ready ${(performance.now() - warming).toFixed(0)} ms after this test started waiting`);

  await call(app, 'POST', `/api/lessons/${course.lessonIds[0]}/progress`, student, { status: 'completed' });
  const started = performance.now();
  const last = bodyOf(await call(app, 'POST', `/api/lessons/${course.lessonIds[1]}/progress`, student, { status: 'completed' }), 200, LessonProgressResponse);
  t.match(last.enrollment, { status: 'completed', progressPercentage: 100 }, 'the response carries the completion at once');

  await waitFor('certificate:issued on the socket', () => received.length > 0, 5000, 5);
  const elapsedMs = performance.now() - started;
  t.comment(`completion → certificate:issued on the student's socket: ${elapsedMs.toFixed(0)} ms`);
  t.ok(elapsedMs < 1000, `within a second (${elapsedMs.toFixed(0)} ms)`);

  const rows = await certificateRows(enrollmentId);
  t.equal(rows.length, 1, 'one row');
  const number = rows[0]!.certificate_number;
  t.match(number, CERTIFICATE_NUMBER, 'a CERT-YYYY-XXXX-XXXX-XXXX number');
  t.match(received[0], { certificateNumber: number, courseId: course.id, pdfUrl: String, serverNow: String });
  t.ok(await issuedAt(enrollmentId), 'certificate_issued_at is set');
  t.equal(rows[0]!.pdf_path, `certificates/${rows[0]!.id}.pdf`);

  const path = join(config.storageDir, rows[0]!.pdf_path!);
  const bytes = await readFile(path);
  t.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-', 'a PDF');
  const { stdout } = await pdftotext('pdftotext', ['-layout', path, '-']);
  for (const text of ['Sam Student', 'Relational Databases', number, 'Olive Owner', `/api/certificates/verify/${number}`]) {
    t.match(stdout, text, `the PDF shows ${text}`);
  }
  const { stdout: info } = await pdftotext('pdfinfo', [path]);
  t.match(info, /Pages:\s+1\n/, 'one page');
  t.match(info, /Page size:\s+841\.89 x 595\.28/, 'landscape A4');

  // Later writes (the course is complete) change nothing.
  await call(app, 'POST', `/api/lessons/${course.lessonIds[0]}/progress`, student, { timeSpentSecondsDelta: 30 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(received.length, 1, 'one event');
  t.equal(announced.filter((item) => item.certificateNumber === number).length, 1, 'announced once');
  t.equal((await certificateRows(enrollmentId)).length, 1);
  issued = { number, enrollmentId, courseId: course.id, pdfPath: path, pdfUrl: (received[0] as IssuedCertificate).pdfUrl };
});

t.test('duplicate completion events and concurrent jobs make one certificate and one announcement', async (t) => {
  const { enrollmentId } = await completedInDatabase('Duplicates');
  const before = announced.length;
  // Many enqueues at once (one job: deterministic id) racing direct runs of the service, which
  // report to a publisher of their own.
  const direct = recordingPublisher();
  const deps = () => ({ ...app.forkDeps(), publisher: direct });
  const [, outcomes] = await Promise.all([
    Promise.all(Array.from({ length: 10 }, () => app.queues.add('certificates', { enrollmentId }))),
    Promise.all(Array.from({ length: 5 }, () => issueCertificate(deps(), enrollmentId))),
  ]);
  await waitFor('the certificate job', async () => (await issuedAt(enrollmentId)) !== null);
  await waitFor('the queue to drain', async () => {
    const counts = await app.queues.get('certificates').getJobCounts('waiting', 'active', 'delayed');
    return counts.waiting + counts.active + counts.delayed === 0;
  });
  const rows = await certificateRows(enrollmentId);
  t.equal(rows.length, 1, 'one row');
  const numbers = new Set(outcomes.map((outcome) => (outcome.status === 'issued' ? outcome.certificate.certificate_number : null)));
  t.same([...numbers], [rows[0]!.certificate_number], 'every run saw the same number');
  const directAnnouncements = outcomes.filter((outcome) => outcome.status === 'issued' && outcome.announce).length;
  t.equal(direct.calls.certificateIssued.length, directAnnouncements, 'a direct run that announces reports it');
  const jobAnnouncements = announced.length - before;
  t.equal(directAnnouncements + jobAnnouncements, 1, 'announced exactly once across all runs');
  const files = (await readdir(join(config.storageDir, 'certificates'))).filter((name) => name.startsWith(rows[0]!.id));
  t.same(files, [`${rows[0]!.id}.pdf`], 'one PDF');
  t.same(
    (await readdir(join(config.storageDir, '.tmp'))).filter((name) => name.endsWith('.part')),
    [],
    'no spool left behind',
  );

  // A replay after everything is done changes nothing.
  const again = await issueCertificate(deps(), enrollmentId);
  t.match(again, { status: 'issued', announce: null, certificate: { certificate_number: rows[0]!.certificate_number } });
});

t.test('a passed graded quiz that completes the course issues the certificate too', async (t) => {
  const course = bodyOf(await call(app, 'POST', '/api/courses', owner, { title: 'Quizzed', isPublished: true }), 201, CourseJson);
  const lesson = bodyOf(await call(app, 'POST', `/api/courses/${course.id}/lessons`, owner, { title: 'Quiz lesson', lessonType: 'quiz' }), 201, LessonJson);
  const quiz = bodyOf(
    await call(app, 'POST', `/api/lessons/${lesson.id}/quiz`, owner, { title: 'Final', quizType: 'graded', passingScore: 50 }),
    201,
    QuizJson,
  );
  const question = bodyOf(
    await call(app, 'POST', `/api/quizzes/${quiz.id}/questions`, owner, {
      questionText: 'SQL is declarative',
      questionType: 'true_false',
      correctAnswer: true,
      points: 1,
    }),
    201,
    QuestionJson,
  );
  bodyOf(await call(app, 'PATCH', `/api/quizzes/${quiz.id}`, owner, { isPublished: true }), 200, QuizJson);
  const quizTaker = await createUser(app, 'student', { fullName: 'Quinn Quiz' });
  const enrollmentId = await enrollmentOf(course.id, quizTaker);
  const attempt = bodyOf(await call(app, 'POST', `/api/quizzes/${quiz.id}/attempts`, quizTaker), 201, AttemptJson);
  bodyOf(await call(app, 'POST', `/api/attempts/${attempt.id}/submit`, quizTaker, { answers: { [question.id]: true } }), 200, AttemptJson);
  await waitFor('the certificate of the quiz completion', async () => (await issuedAt(enrollmentId)) !== null);
  t.equal((await certificateRows(enrollmentId)).length, 1);
  t.equal(announced.filter((item) => item.courseId === course.id).length, 1);
});

t.test('enrollments that are not completed get no certificate', async (t) => {
  const course = await publishedCourse('Unfinished', 2);
  const enrollmentId = await enrollmentOf(course.id);
  t.same(await issueCertificate(app.forkDeps(), enrollmentId), { status: 'not-completed' });
  t.same(await issueCertificate(app.forkDeps(), '00000000-0000-4000-8000-000000000000'), { status: 'missing' });
  t.same(await certificateRows(enrollmentId), []);
});

t.test('the sweep issues certificates that completed enrollments lack', async (t) => {
  const { enrollmentId } = await completedInDatabase('Swept');
  await app.queues.add('maintenance', { reason: 'manual' });
  await waitFor('the swept certificate', async () => (await issuedAt(enrollmentId)) !== null);
  t.equal((await certificateRows(enrollmentId)).length, 1);
});

t.test('GET /certificates lists my own', async (t) => {
  const mine = bodyOf(await call(app, 'GET', '/api/certificates', student), 200, Page(CertificateJson));
  t.match(mine, { page: 1, limit: 20 });
  t.ok(mine.total >= 3);
  t.equal(mine.items.length, mine.total);
  const item = mine.items.find((entry) => entry.certificateNumber === issued.number);
  t.match(item, {
    enrollmentId: issued.enrollmentId,
    studentId: student.id,
    studentName: 'Sam Student',
    course: { id: issued.courseId, title: 'Relational Databases', instructorName: 'Olive Owner' },
    isRevoked: false,
    revokedAt: null,
    pdfUrl: String,
    verificationUrl: `${config.publicUrl}/api/certificates/verify/${issued.number}`,
  });
  t.match(bodyOf(await call(app, 'GET', '/api/certificates?limit=1&page=2', student), 200, Page(CertificateJson)), { page: 2, limit: 1, items: { length: 1 } });
  t.same(bodyOf(await call(app, 'GET', '/api/certificates', otherStudent), 200, Page(CertificateJson)), { items: [], total: 0, page: 1, limit: 20 });
  t.equal((await call(app, 'GET', '/api/certificates')).status, 401);
  for (const query of ['limit=0', 'limit=101', 'page=0', 'unknown=1', 'page=1e21', 'page=999999999999999999', 'limit=1e21']) {
    t.equal((await call(app, 'GET', `/api/certificates?${query}`, student)).status, 400, query);
  }
});

t.test('GET /certificates/:number/pdf: the student, the course owner and admins', async (t) => {
  const url = `/api/certificates/${issued.number}/pdf`;
  for (const [who, as, status] of [
    ['student', student, 200],
    ['owner', owner, 200],
    ['admin', admin, 200],
    ['another student', otherStudent, 403],
    ['another instructor', otherInstructor, 403],
    ['anonymous', null, 401],
  ] as const) {
    const res = await app.inject({ method: 'GET', url, headers: as ? as.headers : {} });
    t.equal(res.statusCode, status, who);
    if (status === 200) {
      t.equal(res.headers['content-type'], 'application/pdf');
      t.equal(res.headers['content-disposition'], `inline; filename="${issued.number}.pdf"`);
      t.equal(res.rawPayload.subarray(0, 5).toString('latin1'), '%PDF-');
    } else {
      t.match(errorOf(replyOf(res), status), { code: status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN' });
    }
  }
  t.equal((await call(app, 'GET', '/api/certificates/CERT-2026-0000-0000-0000/pdf', student)).status, 404);
  t.equal((await call(app, 'GET', '/api/certificates/not$valid/pdf', student)).status, 400);
});

t.test("certificate:issued's pdfUrl is a signed link that opens without a token; altered or expired is 403", async (t) => {
  const url = new URL(issued.pdfUrl);
  t.equal(`${url.origin}${url.pathname}`, `${config.publicUrl}/api/certificates/${issued.number}/pdf`);
  const expires = Number(url.searchParams.get('expires'));
  const lifetime = expires - Date.now() / 1000;
  t.ok(lifetime > 7 * 24 * 3600 - 120 && lifetime <= 7 * 24 * 3600 + 1, `valid for CERTIFICATE_URL_TTL_SECONDS, 7 days by default (${Math.round(lifetime)} s)`);
  const local = `${url.pathname}${url.search}`;

  const open = await app.inject({ method: 'GET', url: local });
  t.equal(open.statusCode, 200, 'no Authorization header needed');
  t.equal(open.headers['content-type'], 'application/pdf');
  t.equal(open.rawPayload.subarray(0, 5).toString('latin1'), '%PDF-');
  t.equal(
    (await app.inject({ method: 'GET', url: local, headers: { authorization: 'Bearer stale.token.value' } })).statusCode,
    200,
    'a stale token does not spoil it',
  );
  t.equal((await app.inject({ method: 'GET', url: local, headers: otherStudent.headers })).statusCode, 200, 'whoever holds the link');

  const listed = bodyOf(await call(app, 'GET', '/api/certificates', student), 200, Page(CertificateJson)).items.find(
    (item) => item.certificateNumber === issued.number,
  );
  const fromList = new URL(listed!.pdfUrl);
  t.equal((await app.inject({ method: 'GET', url: `${fromList.pathname}${fromList.search}` })).statusCode, 200, "the list's pdfUrl opens too");

  const signature = url.searchParams.get('signature')!;
  const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
  const other = bodyOf(await call(app, 'GET', '/api/certificates', student), 200, Page(CertificateJson)).items.find(
    (item) => item.certificateNumber !== issued.number,
  )!;
  const refused: Array<[string, string]> = [
    ['an altered signature', `${url.pathname}?expires=${expires}&signature=${flipped}`],
    ['a later expiry', `${url.pathname}?expires=${expires + 3600}&signature=${signature}`],
    ["another certificate's number", `/api/certificates/${other.certificateNumber}/pdf?expires=${expires}&signature=${signature}`],
    ['an expired link', expiredLink(issued.number)],
  ];
  for (const [label, path] of refused) {
    const res = await call(app, 'GET', path);
    t.equal(res.status, 403, label);
    t.equal(errorOf(res, 403).code, 'FORBIDDEN', label);
  }
  t.match(errorOf(await call(app, 'GET', expiredLink(issued.number)), 403), { message: /expired/ });
  const half = await app.inject({ method: 'GET', url: `${url.pathname}?expires=${expires}` });
  t.equal(half.statusCode, 400, 'expires without signature');
  t.equal((await app.inject({ method: 'GET', url: url.pathname })).statusCode, 401, 'without the signature it is the bearer route');
});

t.test('a PDF missing from storage is rendered again', async (t) => {
  const original = await readFile(issued.pdfPath);
  await rm(issued.pdfPath);
  const res = await app.inject({ method: 'GET', url: `/api/certificates/${issued.number}/pdf`, headers: student.headers });
  t.equal(res.statusCode, 200);
  t.equal(res.rawPayload.subarray(0, 5).toString('latin1'), '%PDF-');
  t.ok((await stat(issued.pdfPath)).size > 1000, 'the file is back');
  t.ok(Math.abs(original.length - res.rawPayload.length) < 200, 'the same certificate (size within timestamps)');
});

t.test('GET /certificates/verify/:number is public', async (t) => {
  const res = bodyOf(await call(app, 'GET', `/api/certificates/verify/${issued.number}`), 200, CertificateVerification);
  t.match(res, {
    valid: true,
    revoked: false,
    certificateNumber: issued.number,
    studentName: 'Sam Student',
    courseTitle: 'Relational Databases',
    instructorName: 'Olive Owner',
    completionDate: String,
    issuedAt: String,
  });
  t.equal((await call(app, 'GET', `/api/certificates/verify/${issued.number.toLowerCase()}`)).status, 200, 'case-insensitive');
  const lookalike = issued.number.replace(/0/g, 'O').replace(/1/g, 'l');
  t.equal((await call(app, 'GET', `/api/certificates/verify/${lookalike}`)).status, 200, 'O and l read as 0 and 1');
  for (const unknown of ['CERT-2026-0000-0000-0000', 'nothing-like-a-number', 'CERT']) {
    const res404 = await call(app, 'GET', `/api/certificates/verify/${unknown}`);
    t.equal(res404.status, 404, unknown);
    t.equal(errorOf(res404, 404).code, 'NOT_FOUND');
  }
  for (const bad of ['bad%20number', 'CERT_2026', '%3Cscript%3E']) {
    const res400 = await call(app, 'GET', `/api/certificates/verify/${bad}`);
    t.equal(res400.status, 400, bad);
    t.equal(errorOf(res400, 400).code, 'VALIDATION_ERROR');
  }
});

t.test('a certificate keeps the names it was issued with: renames change neither verification, the list nor a re-rendered PDF', async (t) => {
  const teacher = await createUser(app, 'instructor', { fullName: 'Ada Author' });
  const learner = await createUser(app, 'student', { fullName: 'Lee Learner' });
  const course = bodyOf(await call(app, 'POST', '/api/courses', teacher, { title: 'Original Title', isPublished: true }), 201, CourseJson);
  const lesson = bodyOf(await call(app, 'POST', `/api/courses/${course.id}/lessons`, teacher, { title: 'Only lesson' }), 201, LessonJson);
  const enrollmentId = await enrollmentOf(course.id, learner);
  await call(app, 'POST', `/api/lessons/${lesson.id}/progress`, learner, { status: 'completed' });
  await waitFor('the certificate', async () => (await issuedAt(enrollmentId)) !== null);
  const [row] = await certificateRows(enrollmentId);
  const number = row!.certificate_number;

  // Everyone renamed afterwards.
  t.equal(bodyOf(await call(app, 'PATCH', '/api/me', learner, { fullName: 'Lee Renamed' }), 200, UserResponse).fullName, 'Lee Renamed');
  t.equal(bodyOf(await call(app, 'PATCH', `/api/users/${teacher.id}`, admin, { fullName: 'Ada Renamed' }), 200, UserResponse).fullName, 'Ada Renamed');
  t.equal(bodyOf(await call(app, 'PATCH', `/api/courses/${course.id}`, teacher, { title: 'Renamed Title' }), 200, CourseJson).title, 'Renamed Title');

  const original = { studentName: 'Lee Learner', courseTitle: 'Original Title', instructorName: 'Ada Author' };
  t.match(
    bodyOf(await call(app, 'GET', `/api/certificates/verify/${number}`), 200, CertificateVerification),
    { valid: true, ...original },
    'verification shows the names at issue',
  );
  const listed = bodyOf(await call(app, 'GET', '/api/certificates', learner), 200, Page(CertificateJson)).items.find(
    (item) => item.certificateNumber === number,
  );
  t.match(listed, { studentName: 'Lee Learner', course: { title: 'Original Title', instructorName: 'Ada Author' } }, 'so does the list');

  const path = join(config.storageDir, row!.pdf_path!);
  await rm(path);
  const res = await app.inject({ method: 'GET', url: `/api/certificates/${number}/pdf`, headers: learner.headers });
  t.equal(res.statusCode, 200, 're-rendered');
  const { stdout } = await pdftotext('pdftotext', ['-layout', path, '-']);
  for (const text of Object.values(original)) t.match(stdout, text, `the re-rendered PDF shows ${text}`);
  for (const text of ['Renamed']) t.notMatch(stdout, text, 'and no new name');
});

t.test('POST /certificates/:number/revoke: the course owner and admins; verification then says revoked', async (t) => {
  const url = `/api/certificates/${issued.number}/revoke`;
  for (const [who, as, status] of [
    ['anonymous', null, 401],
    ['the student', student, 403],
    ['another student', otherStudent, 403],
    ['another instructor', otherInstructor, 403],
  ] as const) {
    t.equal((await call(app, 'POST', url, as)).status, status, who);
  }
  t.match(
    bodyOf(await call(app, 'GET', `/api/certificates/verify/${issued.number}`), 200, CertificateVerification),
    { valid: true },
    'refused revocations changed nothing',
  );

  const revoked = bodyOf(await call(app, 'POST', url, owner), 200, CertificateJson);
  t.match(revoked, { certificateNumber: issued.number, isRevoked: true, revokedAt: String });
  const again = bodyOf(await call(app, 'POST', url, admin), 200, CertificateJson);
  t.equal(again.revokedAt, revoked.revokedAt, 'the first revocation time stays');

  const verification = bodyOf(await call(app, 'GET', `/api/certificates/verify/${issued.number}`), 200, CertificateVerification);
  t.match(verification, { valid: false, revoked: true, studentName: 'Sam Student' });
  t.equal((await call(app, 'POST', '/api/certificates/CERT-2026-0000-0000-0000/revoke', admin)).status, 404);
  t.equal((await call(app, 'POST', '/api/certificates/a.b/revoke', admin)).status, 400);
});

t.test('/metrics reports the queues', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  for (const queue of ['certificates', 'progress', 'maintenance', 'quiz-deadlines']) {
    for (const state of ['waiting', 'active', 'delayed', 'failed']) {
      t.match(res.body, `bullmq_queue_jobs{queue="${queue}",state="${state}"}`, `${queue} ${state}`);
    }
  }
  t.match(res.body, /bullmq_job_duration_seconds_count\{queue="certificates",outcome="completed"\} [1-9]/, 'certificate job durations');
  t.match(res.body, /# TYPE bullmq_job_retries_total counter/);
  t.match(res.body, /# TYPE bullmq_job_failures_total counter/);
});

t.test('the certificate routes are documented', async (t) => {
  const spec = bodyOf(await call(app, 'GET', '/docs/json'), 200, OpenApiDocument);
  for (const path of ['/api/certificates', '/api/certificates/{number}/pdf', '/api/certificates/verify/{number}', '/api/certificates/{number}/revoke']) {
    t.ok(spec.paths[path], path);
  }
  t.same(spec.paths['/api/certificates/verify/{number}']!.get!.tags, ['certificates']);
});
