import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { bodyOf, call, errorOf } from '../../helpers/http.js';
import { BodySession, createUser, TEST_PASSWORD, type TestUser } from '../../helpers/users.js';
import { multipartBody } from '../../helpers/multipart.js';
import { client, connect, listen, request, socketPool } from '../../realtime/socket-helpers.js';
import { rooms } from '../../../server/realtime/contract.js';
import { CourseJson, EnrollmentJson, LessonJson } from '../../../server/modules/learning.schemas.js';
import { UserResponse } from '../../../server/modules/users/users.schemas.js';
import { FileJson } from '../../../server/modules/files/files.schemas.js';
import { issueCertificate } from '../../../server/modules/certificates/certificates.service.js';

// Ownership counts only while the owner is an instructor (or an admin). Courses stay where they
// are on demotion: an admin manages them, or promotes the user back.
const { app } = await buildTestApp(t, 'demoted-owner');
const url = await listen(app);
const sockets = socketPool();
t.teardown(() => sockets.closeAll());
const db = () => app.orm.em.fork().getConnection();

const admin = await createUser(app, 'admin');
const owner = await createUser(app, 'instructor');
const student = await createUser(app, 'student');

const published = bodyOf(await call(app, 'POST', '/api/courses', owner, { title: 'Owned and published', isPublished: true }), 201, CourseJson);
const draft = bodyOf(await call(app, 'POST', '/api/courses', owner, { title: 'Owned draft' }), 201, CourseJson);
const lesson = bodyOf(await call(app, 'POST', `/api/courses/${published.id}/lessons`, owner, { title: 'One' }), 201, LessonJson);
const enrollment = bodyOf(await call(app, 'POST', `/api/courses/${published.id}/enroll`, student), 201, EnrollmentJson);
await db().execute(`UPDATE enrollments SET status = 'completed', completed_at = now(), progress_percentage = 100 WHERE id = ?`, [enrollment.id]);
const issued = await issueCertificate(app.forkDeps(), enrollment.id);
if (issued.status !== 'issued') throw new Error(`no certificate: ${JSON.stringify(issued)}`);
const certificateNumber = issued.certificate.certificate_number;

// A private file of the course that the owner did not upload: only the course clause lets the owner read it.
const form = multipartBody({ courseId: published.id, isPublic: 'false' }, [{ filename: 'notes.txt', data: 'course notes' }]);
const uploaded = await call(app, 'POST', '/api/files', { headers: { ...form.headers, ...admin.headers } }, form.payload);
const fileId = bodyOf(uploaded, 201, FileJson).id;

/** Signs in again after the role change: the token claiming the old role is refused (401) anyway. */
async function freshSession(user: TestUser): Promise<TestUser> {
  const token = bodyOf(await call(app, 'POST', '/api/auth/login', null, { email: user.email, password: TEST_PASSWORD }), 200, BodySession).accessToken;
  return { ...user, token, headers: { authorization: `Bearer ${token}` } };
}

t.test('before the demotion the owner manages its courses', async (t) => {
  t.equal((await call(app, 'GET', `/api/courses/${draft.id}`, owner)).status, 200);
  t.equal((await call(app, 'GET', `/api/courses/${published.id}/enrollments`, owner)).status, 200);
  t.equal((await call(app, 'GET', `/api/files/${fileId}`, owner)).status, 200);
  const socket = await connect(sockets.add(client(url, owner.token)));
  t.match(await request(socket, 'course:join', { courseId: published.id }), { ok: true });
  const instructors = await app.io.in(rooms.instructors(published.id)).fetchSockets();
  t.ok(
    instructors.some((s) => s.id === socket.id),
    'in the instructors room',
  );
});

t.test('a demoted owner is a plain student for its own courses', async (t) => {
  const demoted = bodyOf(await call(app, 'PATCH', `/api/users/${owner.id}`, admin, { role: 'student' }), 200, UserResponse);
  t.equal(demoted.role, 'student');
  const former = await freshSession(owner);
  const before = await db().execute('SELECT title, is_published FROM courses WHERE id IN (?, ?) ORDER BY title', [published.id, draft.id]);

  const patch = await call(app, 'PATCH', `/api/courses/${published.id}`, former, { title: 'Still mine?' });
  t.equal(patch.status, 403, 'PATCH a published course');
  t.equal(errorOf(patch, 403).code, 'FORBIDDEN');
  t.equal((await call(app, 'DELETE', `/api/courses/${published.id}`, former)).status, 403, 'DELETE');
  t.equal(
    (await call(app, 'PATCH', `/api/courses/${draft.id}`, former, { isPublished: true })).status,
    404,
    'publishing the draft: it does not exist for a non-manager',
  );
  t.equal((await call(app, 'GET', `/api/courses/${draft.id}`, former)).status, 404, 'the draft is hidden');
  t.equal((await call(app, 'DELETE', `/api/courses/${draft.id}`, former)).status, 404);
  t.equal((await call(app, 'POST', `/api/courses/${published.id}/lessons`, former, { title: 'Extra' })).status, 403, 'adding a lesson');
  t.equal((await call(app, 'PATCH', `/api/lessons/${lesson.id}`, former, { title: 'Edited' })).status, 403, 'editing a lesson');
  const roster = await call<unknown>(app, 'GET', `/api/courses/${published.id}/enrollments`, former);
  t.equal(roster.status, 403, 'the roster with emails');
  t.notMatch(JSON.stringify(roster.body), student.email);
  t.equal((await call(app, 'GET', `/api/courses/${published.id}/dashboard`, former)).status, 403, 'the dashboard');
  t.equal((await call(app, 'GET', `/api/enrollments/${enrollment.id}/progress`, former)).status, 403, "a student's progress");
  const revoke = await call(app, 'POST', `/api/certificates/${certificateNumber}/revoke`, former);
  t.equal(revoke.status, 403, 'revoking a certificate of the course');
  t.equal((await call(app, 'GET', `/api/files/${fileId}`, former)).status, 404, "the course's private file");

  t.same(await db().execute('SELECT title, is_published FROM courses WHERE id IN (?, ?) ORDER BY title', [published.id, draft.id]), before, 'nothing changed');
  const [certificate] = await db().execute<Array<{ is_revoked: boolean }>>('SELECT is_revoked FROM certificates WHERE certificate_number = ?', [
    certificateNumber,
  ]);
  t.equal(certificate!.is_revoked, false);
  const [owned] = await db().execute<Array<{ instructor_id: string }>>('SELECT instructor_id FROM courses WHERE id = ?', [published.id]);
  t.equal(owned!.instructor_id, owner.id, 'the course did not move');

  // Admins still manage the course.
  t.equal((await call(app, 'GET', `/api/courses/${published.id}/enrollments`, admin)).status, 200);
});

t.test("a demoted owner's socket never gets the instructors room", async (t) => {
  const former = await freshSession(owner);
  const socket = await connect(sockets.add(client(url, former.token)));
  t.match(await request(socket, 'course:join', { courseId: published.id }), { ok: false, error: { code: 'FORBIDDEN' } }, 'not enrolled: refused');
  t.match(await request(socket, 'course:join', { courseId: draft.id }), { ok: false, error: { code: 'NOT_FOUND' } });

  // Enrolled in its former course as a student, it joins the course room and nothing more.
  bodyOf(await call(app, 'POST', `/api/courses/${published.id}/enroll`, former), 201, EnrollmentJson);
  t.match(await request(socket, 'course:join', { courseId: published.id }), { ok: true });
  const inCourse = await app.io.in(rooms.course(published.id)).fetchSockets();
  const inInstructors = await app.io.in(rooms.instructors(published.id)).fetchSockets();
  t.ok(
    inCourse.some((s) => s.id === socket.id),
    'in the course room',
  );
  t.notOk(
    inInstructors.some((s) => s.id === socket.id),
    'not in the instructors room',
  );
});

t.test('promoted back, the owner manages its courses again', async (t) => {
  t.equal((await call(app, 'PATCH', `/api/users/${owner.id}`, admin, { role: 'instructor' })).status, 200);
  const back = await freshSession(owner);
  t.equal((await call(app, 'GET', `/api/courses/${draft.id}`, back)).status, 200);
  t.equal((await call(app, 'GET', `/api/courses/${published.id}/enrollments`, back)).status, 200);
});
