import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/users.js';
import { recordingPublisher } from '../../helpers/publisher.js';
import type { ServiceDeps } from '../../../server/modules/deps.js';
import type { AuthUser } from '../../../server/plugins/auth.js';
import {
  assertVisible,
  grantsAccess,
  isEnrolleeOf,
  isManagerOf,
  loadCourseAccess,
  requireCourseManager,
  requireEnrollee,
} from '../../../server/modules/courses/courses.access.js';
import { createCourse, getCourseDetail, updateCourse } from '../../../server/modules/courses/courses.service.js';
import { enroll, updateEnrollment } from '../../../server/modules/enrollments/enrollments.service.js';
import { getDashboard } from '../../../server/modules/dashboard/dashboard.service.js';

// The course access rules (manager, enrollee, draft-is-404), called directly with a real database.
const { app } = await buildTestApp(t, 'courses-access');

function depsWith() {
  const publisher = recordingPublisher();
  const deps: ServiceDeps = { ...app.forkDeps(), publisher };
  return { deps, publisher };
}

const auth = (user: TestUser, role = user.user.role): AuthUser => ({ id: user.id, role });
const owner = await createUser(app, 'instructor');
const otherInstructor = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const student = await createUser(app, 'student');

const { deps } = depsWith();
const published = await createCourse(deps, auth(owner), { title: 'Access published', isPublished: true });
const draft = await createCourse(deps, auth(owner), { title: 'Access draft' });

t.test('manager: the owner while an instructor, and admins; a demoted owner is not', async (t) => {
  t.ok(isManagerOf(auth(owner), owner.id));
  t.ok(isManagerOf(auth(admin), owner.id));
  t.notOk(isManagerOf(auth(otherInstructor), owner.id));
  t.notOk(isManagerOf(auth(owner, 'student'), owner.id), 'demoted to student: no rights over its courses');
  t.notOk(isManagerOf(null, owner.id));

  await t.resolves(requireCourseManager(depsWith().deps.em, published.id, auth(owner)));
  await t.rejects(requireCourseManager(depsWith().deps.em, published.id, auth(owner, 'student')), { code: 'FORBIDDEN' });
  await t.rejects(requireCourseManager(depsWith().deps.em, draft.id, auth(owner, 'student')), { code: 'NOT_FOUND' }, 'nor sees its drafts');
  await t.rejects(getDashboard(depsWith().deps, auth(owner, 'student'), published.id), { code: 'FORBIDDEN' });
  await t.rejects(updateCourse(depsWith().deps, auth(owner, 'student'), published.id, { title: 'Taken over' }), { code: 'FORBIDDEN' });
});

t.test('draft-is-404: a draft does not exist for non-managers', async (t) => {
  t.throws(() => assertVisible(false, false, 'Lesson'), { code: 'NOT_FOUND', message: 'Lesson not found' });
  t.doesNotThrow(() => assertVisible(false, true, 'Lesson'));
  t.doesNotThrow(() => assertVisible(true, false, 'Lesson'));

  for (const [who, user] of [
    ['anonymous', null],
    ['a student', auth(student)],
    ['another instructor', auth(otherInstructor)],
  ] as const) {
    await t.rejects(loadCourseAccess(depsWith().deps.em, draft.id, user), { code: 'NOT_FOUND' }, who);
    await t.rejects(getCourseDetail(depsWith().deps, user, draft.id), { code: 'NOT_FOUND' }, `${who}, by id`);
    await t.rejects(getCourseDetail(depsWith().deps, user, draft.slug), { code: 'NOT_FOUND' }, `${who}, by slug`);
  }
  await t.rejects(enroll(depsWith().deps, auth(student), draft.id), { code: 'NOT_FOUND' }, 'no enrolling in a draft');
  t.match(await loadCourseAccess(depsWith().deps.em, draft.id, auth(owner)), { isManager: true });
  t.match(await getCourseDetail(depsWith().deps, auth(admin), draft.id), { id: draft.id, isPublished: false });
});

t.test('enrollee: active and completed enrollments; dropped ones lose access, and the publisher hears it once', async (t) => {
  t.ok(grantsAccess('active'));
  t.ok(grantsAccess('completed'));
  t.notOk(grantsAccess('dropped'));
  t.notOk(grantsAccess('expired'));
  t.notOk(grantsAccess(null));
  t.throws(() => requireEnrollee('dropped', 'Enroll first'), { code: 'FORBIDDEN', message: 'Enroll first' });

  const learner = await createUser(app, 'student');
  const { enrollment } = await enroll(depsWith().deps, auth(learner), published.id);
  t.ok(await isEnrolleeOf(depsWith().deps.em, published.id, learner.id));
  t.match(await loadCourseAccess(depsWith().deps.em, published.id, auth(learner)), { isEnrollee: true, isManager: false });

  const { deps, publisher } = depsWith();
  await updateEnrollment(deps, auth(learner), enrollment.id, { status: 'dropped' });
  await updateEnrollment(deps, auth(learner), enrollment.id, { status: 'dropped', rating: 4 });
  t.same(publisher.calls.courseAccessRevoked, [{ courseId: published.id, userIds: [learner.id] }], 'once: dropping a dropped enrollment revokes nothing');
  t.notOk(await isEnrolleeOf(depsWith().deps.em, published.id, learner.id));
  t.match(await loadCourseAccess(depsWith().deps.em, published.id, auth(learner)), { isEnrollee: false, enrollment: { status: 'dropped' } });
  const detail = await getCourseDetail(depsWith().deps, auth(learner), published.id);
  t.equal(detail.enrollment?.status, 'dropped');

  await t.rejects(
    updateEnrollment(depsWith().deps, auth(student), enrollment.id, { rating: 1 }),
    { code: 'FORBIDDEN' },
    'only the student changes its enrollment',
  );
});

t.test('unpublishing a course revokes non-managers’ access through the publisher; other edits do not', async (t) => {
  const course = await createCourse(depsWith().deps, auth(owner), { title: 'Soon a draft', isPublished: true });
  const { deps, publisher } = depsWith();
  await updateCourse(deps, auth(owner), course.id, { title: 'Renamed' });
  t.same(publisher.calls.courseAccessRevoked, []);
  const updated = await updateCourse(deps, auth(owner), course.id, { isPublished: false });
  t.equal(updated.isPublished, false);
  await updateCourse(deps, auth(owner), course.id, { isPublished: false });
  t.same(publisher.calls.courseAccessRevoked, [{ courseId: course.id, nonManagers: true }]);
});
