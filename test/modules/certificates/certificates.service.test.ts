import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { bodyOf, call } from '../../helpers/http.js';
import { recordingPublisher } from '../../helpers/publisher.js';
import { createUser } from '../../helpers/users.js';
import { CourseJson, EnrollmentJson } from '../../../server/modules/learning.schemas.js';
import { issueCertificate, revokeCertificate, verifyCertificate } from '../../../server/modules/certificates/certificates.service.js';

// The certificates service called directly, with a recording publisher: no worker, no socket.
const { app } = await buildTestApp(t, 'certificates-service');
const owner = await createUser(app, 'instructor', { fullName: 'Olive Owner' });
const student = await createUser(app, 'student', { fullName: 'Sam Student' });

async function completedEnrollment(title: string): Promise<{ enrollmentId: string; courseId: string }> {
  const course = bodyOf(await call(app, 'POST', '/api/courses', owner, { title, isPublished: true }), 201, CourseJson);
  const enrollment = bodyOf(await call(app, 'POST', `/api/courses/${course.id}/enroll`, student), 201, EnrollmentJson);
  await app.orm.em
    .fork()
    .getConnection()
    .execute(`UPDATE enrollments SET status = 'completed', completed_at = now(), progress_percentage = 100 WHERE id = ?`, [enrollment.id]);
  return { enrollmentId: enrollment.id, courseId: course.id };
}

t.test('issuing twice makes one certificate and reports certificate:issued once', async (t) => {
  const { enrollmentId, courseId } = await completedEnrollment('Issued twice');
  const publisher = recordingPublisher();
  const first = await issueCertificate({ ...app.forkDeps(), publisher }, enrollmentId);
  const second = await issueCertificate({ ...app.forkDeps(), publisher }, enrollmentId);
  if (first.status !== 'issued' || second.status !== 'issued') throw new Error('not issued');
  t.equal(second.certificate.certificate_number, first.certificate.certificate_number, 'the same number');
  t.ok(first.announce, 'the first run announces');
  t.equal(second.announce, null, 'the replay does not');
  t.equal(publisher.calls.certificateIssued.length, 1, 'reported once');
  t.match(publisher.calls.certificateIssued[0], {
    certificateNumber: first.certificate.certificate_number,
    courseId,
    studentId: student.id,
    pdfUrl: /\/pdf\?expires=\d+&signature=/,
  });
});

t.test('an enrollment that is not completed gets nothing and reports nothing', async (t) => {
  const course = bodyOf(await call(app, 'POST', '/api/courses', owner, { title: 'Unfinished', isPublished: true }), 201, CourseJson);
  const enrollment = bodyOf(await call(app, 'POST', `/api/courses/${course.id}/enroll`, student), 201, EnrollmentJson);
  const publisher = recordingPublisher();
  t.same(await issueCertificate({ ...app.forkDeps(), publisher }, enrollment.id), { status: 'not-completed' });
  t.same(await issueCertificate({ ...app.forkDeps(), publisher }, '00000000-0000-4000-8000-000000000000'), { status: 'missing' });
  t.equal(publisher.calls.certificateIssued.length, 0);
});

t.test('a revoked certificate verifies as revoked; only managers revoke', async (t) => {
  const { enrollmentId } = await completedEnrollment('Revoked');
  const issued = await issueCertificate({ ...app.forkDeps(), publisher: recordingPublisher() }, enrollmentId);
  if (issued.status !== 'issued') throw new Error('not issued');
  const number = issued.certificate.certificate_number;
  t.match(await verifyCertificate(app.forkDeps(), number), { valid: true, revoked: false, studentName: 'Sam Student', instructorName: 'Olive Owner' });

  await t.rejects(revokeCertificate(app.forkDeps(), { id: student.id, role: 'student' }, number), { code: 'FORBIDDEN' });
  const revoked = await revokeCertificate(app.forkDeps(), { id: owner.id, role: 'instructor' }, number);
  t.equal(revoked.isRevoked, true);
  t.match(await verifyCertificate(app.forkDeps(), number), { valid: false, revoked: true });
  // Idempotent: the first revocation time stays.
  const again = await revokeCertificate(app.forkDeps(), { id: owner.id, role: 'instructor' }, number);
  t.equal(again.revokedAt, revoked.revokedAt);
  await t.rejects(verifyCertificate(app.forkDeps(), 'CERT-0000-0000-0000-0000'), { code: 'NOT_FOUND' });
});
