import { DashboardJson } from '../../../server/modules/dashboard/dashboard.schemas.js';
import t from '../../helpers/tap.js';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/users.js';
import { bodyOf, call, countRows, errorOf } from '../../helpers/http.js';
import { CourseDetailJson, CourseJson, EnrollmentJson, LessonJson, LessonProgressJson } from '../../../server/modules/learning.schemas.js';
import { LessonProgressResponse } from '../../../server/modules/progress/progress.schemas.js';
import { Page } from '../../../server/platform/schemas.js';
import { waitFor } from '../../helpers/wait.js';

// Workers on: lesson changes recalculate the course's enrollments through the `progress` queue.
const env = await buildTestApp(t, 'learning', { WORKERS: 'on' });
const { app } = env;

const owner = await createUser(app, 'instructor', { fullName: 'Olive Owner' });
const otherInstructor = await createUser(app, 'instructor');
const admin = await createUser(app, 'admin');
const student = await createUser(app, 'student', { fullName: 'Sam Student' });
const outsider = await createUser(app, 'student');

const CoursePage = Page(CourseJson);
const EnrollmentPage = Page(EnrollmentJson);
const ProgressPage = Page(LessonProgressJson);

/** The dashboard reply, as far as these tests read it: its schema (`DashboardJson`) is not exported by dashboard.routes.ts. */

async function createCourse(body: Record<string, unknown> = {}, as: TestUser = owner): Promise<CourseJson> {
  return bodyOf(await call(app, 'POST', '/api/courses', as, { title: 'Intro to SQL', ...body }), 201, CourseJson);
}

async function createLesson(courseId: string, body: Record<string, unknown> = {}): Promise<LessonJson> {
  return bodyOf(await call(app, 'POST', `/api/courses/${courseId}/lessons`, owner, { title: 'Lesson', ...body }), 201, LessonJson);
}

async function enroll(courseId: string, as: TestUser = student) {
  return call<unknown>(app, 'POST', `/api/courses/${courseId}/enroll`, as);
}

t.test('courses: create, slugs, drafts, listing, search', async (t) => {
  const course = await createCourse({ title: 'Databases 101', category: 'databases', difficultyLevel: 'beginner', description: 'Learn 100% of SQL' });
  t.match(course, { slug: 'databases-101', isPublished: false, instructor: { id: owner.id, fullName: 'Olive Owner' }, lessonCount: 0, metadata: {} });
  const second = await createCourse({ title: 'Databases 101' });
  t.equal(second.slug, 'databases-101-2', 'derived slugs are made unique');

  const taken = await call(app, 'POST', '/api/courses', owner, { title: 'x', slug: 'databases-101' });
  t.equal(errorOf(taken, 409).code, 'CONFLICT');
  const uuidSlug = await call(app, 'POST', '/api/courses', owner, { title: 'x', slug: '0b6f8a4e-1c4e-4a57-9d1e-2f1b8f0c9a11' });
  t.equal(errorOf(uuidSlug, 400).code, 'VALIDATION_ERROR', 'a slug that looks like a UUID is refused');
  const coursesBefore = await countRows(app, ['courses', 'lessons']);
  const deep = '{"a":'.repeat(8000) + '1' + '}'.repeat(8000);
  for (const [url, body] of [
    ['/api/courses', `{"title":"Deep","metadata":${deep}}`],
    ['/api/courses', `{"title":"Deep","metadata":{"a":${'['.repeat(40)}${']'.repeat(40)}}}`],
    [`/api/courses/${course.id}/lessons`, `{"title":"Deep","metadata":${deep}}`],
  ]) {
    const res = await app.inject({ method: 'POST', url, headers: { ...owner.headers, 'content-type': 'application/json' }, payload: body });
    t.equal(res.statusCode, 400, `deep metadata on POST ${url}`);
    t.equal(errorOf({ status: res.statusCode, body: res.json<unknown>(), headers: res.headers }, 400).code, 'VALIDATION_ERROR');
  }
  t.same(await countRows(app, ['courses', 'lessons']), coursesBefore, 'deep metadata wrote nothing');

  // Drafts are invisible to everyone but the owner and admins.
  for (const [who, as, status] of [
    ['anonymous', null, 404],
    ['student', student, 404],
    ['other instructor', otherInstructor, 404],
    ['owner', owner, 200],
    ['admin', admin, 200],
  ] as const) {
    const res = await call(app, 'GET', `/api/courses/${course.slug}`, as);
    t.equal(res.status, status, `draft by slug for ${who}`);
  }
  const publicList = await call(app, 'GET', '/api/courses?q=databases');
  t.equal(bodyOf(publicList, 200, CoursePage).total, 0, 'drafts are not listed');
  const mine = await call(app, 'GET', '/api/courses?mine=true', owner);
  t.ok(
    bodyOf(mine, 200, CoursePage).items.some((item) => item.id === course.id),
    'mine=true lists own drafts',
  );
  t.equal((await call(app, 'GET', '/api/courses?mine=true', student)).status, 403);
  t.equal((await call(app, 'GET', '/api/courses?mine=true')).status, 401);

  const published = await call(app, 'PATCH', `/api/courses/${course.id}`, owner, { isPublished: true });
  t.equal(bodyOf(published, 200, CourseJson).isPublished, true);
  const search = await call(app, 'GET', '/api/courses?q=100%25&category=databases&difficulty=beginner&limit=5');
  t.match(bodyOf(search, 200, CoursePage), { total: 1, page: 1, limit: 5, items: [{ id: course.id }] }, 'search escapes % and filters');
  t.equal(bodyOf(await call(app, 'GET', '/api/courses?q=nothing-like-this'), 200, CoursePage).total, 0);
  for (const query of ['limit=101', 'page=1e21', 'page=999999999999999999', 'page=1000001', 'limit=1e21']) {
    const res = await call(app, 'GET', `/api/courses?${query}`);
    t.equal(errorOf(res, 400).code, 'VALIDATION_ERROR', query);
  }
  t.equal((await call(app, 'GET', '/api/courses?page=1000000')).status, 200, 'the last page is served (empty)');
  t.equal((await call(app, 'GET', '/api/courses?difficulty=expert')).status, 400);
});

t.test('courses: concurrent creates with one title get distinct slugs', async (t) => {
  const results = await Promise.all(Array.from({ length: 8 }, () => call(app, 'POST', '/api/courses', owner, { title: 'Race Course' })));
  t.same(
    results.map((res) => res.status),
    Array(8).fill(201),
  );
  const slugs = results.map((res) => bodyOf(res, 201, CourseJson).slug).sort();
  t.same(slugs, ['race-course', 'race-course-2', 'race-course-3', 'race-course-4', 'race-course-5', 'race-course-6', 'race-course-7', 'race-course-8']);
});

t.test('courses: role matrix for writes', async (t) => {
  const course = await createCourse({ title: 'Matrix' });
  const before = await countRows(app, ['courses']);
  for (const [who, as, status] of [
    ['anonymous', null, 401],
    ['student', student, 403],
  ] as const) {
    const res = await call(app, 'POST', '/api/courses', as, { title: 'Nope' });
    t.equal(res.status, status, `create as ${who}`);
  }
  t.same(await countRows(app, ['courses']), before, 'refused creates wrote nothing');
  for (const [who, as, status] of [
    ['anonymous', null, 401],
    ['student', student, 404],
    ['other instructor', otherInstructor, 404],
  ] as const) {
    t.equal((await call(app, 'PATCH', `/api/courses/${course.id}`, as, { title: 'Hacked' })).status, status, `patch draft as ${who}`);
  }
  await call(app, 'PATCH', `/api/courses/${course.id}`, owner, { isPublished: true });
  for (const [who, as, status] of [
    ['student', student, 403],
    ['other instructor', otherInstructor, 403],
  ] as const) {
    t.equal((await call(app, 'PATCH', `/api/courses/${course.id}`, as, { title: 'Hacked' })).status, status, `patch published as ${who}`);
    t.equal((await call(app, 'DELETE', `/api/courses/${course.id}`, as)).status, status, `delete as ${who}`);
  }
  t.equal(bodyOf(await call(app, 'PATCH', `/api/courses/${course.id}`, admin, { title: 'By admin' }), 200, CourseJson).title, 'By admin');
  const bad = [{ title: '' }, { title: 'x', unknown: 1 }, { isPublished: 'true' }, { difficultyLevel: 'expert' }, { thumbnailUrl: 'javascript:alert(1)' }, {}];
  for (const body of bad) {
    const res = await call(app, 'PATCH', `/api/courses/${course.id}`, owner, body);
    t.equal(errorOf(res, 400).code, 'VALIDATION_ERROR', `PATCH ${JSON.stringify(body)} → 400`);
  }
  t.equal(bodyOf(await call(app, 'GET', `/api/courses/${course.id}`), 200, CourseDetailJson).title, 'By admin', 'refused patches changed nothing');
  t.equal((await call(app, 'PATCH', '/api/courses/not-a-uuid', owner, { title: 'x' })).status, 400);
  t.equal((await call(app, 'PATCH', '/api/courses/0b6f8a4e-1c4e-4a57-9d1e-2f1b8f0c9a11', owner, { title: 'x' })).status, 404);
});

t.test('lessons: nesting, outline, content visibility, cycles, reorder', async (t) => {
  const course = await createCourse({ title: 'Outline' });
  const module1 = await createLesson(course.id, { title: 'Module 1', isPreview: true, content: 'intro' });
  const child1 = await createLesson(course.id, {
    title: 'Basics',
    parentLessonId: module1.id,
    content: 'secret basics',
    videoUrl: 'https://cdn.example.com/v.mp4',
  });
  const child2 = await createLesson(course.id, { title: 'Basics', parentLessonId: module1.id });
  t.equal(child2.slug, 'basics-2', 'lesson slugs are unique per course');
  t.equal(child1.orderIndex, 0);
  t.equal(child2.orderIndex, 1, 'order index defaults to the end of its siblings');
  const module2 = await createLesson(course.id, { title: 'Module 2' });
  await call(app, 'PATCH', `/api/courses/${course.id}`, owner, { isPublished: true });

  const otherCourse = await createCourse({ title: 'Elsewhere' });
  const foreign = await createLesson(otherCourse.id, { title: 'Foreign' });
  const wrongParent = await call(app, 'POST', `/api/courses/${course.id}/lessons`, owner, { title: 'x', parentLessonId: foreign.id });
  t.equal(wrongParent.status, 400, 'a parent from another course is refused');

  const anonymous = await call(app, 'GET', `/api/courses/${course.id}`);
  const [m1, m2] = bodyOf(anonymous, 200, CourseDetailJson).lessons;
  t.equal(m1.id, module1.id);
  t.equal(m2.id, module2.id);
  t.same(
    m1.children.map((lesson) => lesson.id),
    [child1.id, child2.id],
  );
  t.equal(m1.content, 'intro', 'preview content is public');
  t.notOk('content' in m1.children[0], 'other content is hidden from visitors');
  t.notOk('videoUrl' in m1.children[0]);
  t.notOk('progress' in m1, 'no progress for visitors');
  t.equal(bodyOf(await call(app, 'GET', `/api/lessons/${child1.id}`), 200, LessonJson).content, undefined);
  t.equal(bodyOf(await call(app, 'GET', `/api/lessons/${child1.id}`, owner), 200, LessonJson).content, 'secret basics');

  await enroll(course.id);
  const enrolled = bodyOf(await call(app, 'GET', `/api/courses/${course.slug}`, student), 200, CourseDetailJson);
  t.equal(enrolled.lessons[0].children[0].content, 'secret basics', 'enrollees see content');
  t.equal(enrolled.lessons[0].children[0].videoUrl, 'https://cdn.example.com/v.mp4');
  t.same(enrolled.lessons[0].progress, { status: 'not_started', completionPercentage: 0 });
  t.match(enrolled.enrollment, { status: 'active', totalLessonsCount: 4 });

  // Cycles are refused, by PATCH and by reorder.
  const cycle = await call(app, 'PATCH', `/api/lessons/${module1.id}`, owner, { parentLessonId: child1.id });
  t.equal(cycle.status, 400);
  t.equal((await call(app, 'PATCH', `/api/lessons/${module1.id}`, owner, { parentLessonId: module1.id })).status, 400);
  const moved = await call(app, 'PATCH', `/api/lessons/${child2.id}`, owner, { parentLessonId: module2.id, title: 'Moved' });
  t.match(bodyOf(moved, 200, LessonJson), { parentLessonId: module2.id, title: 'Moved' });
  t.equal((await call(app, 'PATCH', `/api/lessons/${child2.id}`, owner, { slug: 'basics' })).status, 409, 'lesson slug taken in the course');
  t.equal((await call(app, 'PATCH', `/api/lessons/${child2.id}`, otherInstructor, { title: 'x' })).status, 403);
  t.equal((await call(app, 'PATCH', `/api/lessons/${child2.id}`, student, { title: 'x' })).status, 403);

  // Reorder: one bad item rolls back everything.
  const before = bodyOf(await call(app, 'GET', `/api/courses/${course.id}`, owner), 200, CourseDetailJson).lessons;
  const badOrder = await call(app, 'PUT', `/api/courses/${course.id}/lesson-order`, owner, [
    { id: module2.id, parentLessonId: null, orderIndex: 0 },
    { id: module1.id, parentLessonId: null, orderIndex: 1 },
    { id: foreign.id, parentLessonId: null, orderIndex: 2 },
  ]);
  t.equal(badOrder.status, 400);
  t.same(bodyOf(await call(app, 'GET', `/api/courses/${course.id}`, owner), 200, CourseDetailJson).lessons, before, 'nothing moved');
  const cyclicOrder = await call(app, 'PUT', `/api/courses/${course.id}/lesson-order`, owner, [{ id: module1.id, parentLessonId: child1.id, orderIndex: 0 }]);
  t.equal(cyclicOrder.status, 400);
  const goodOrder = await call(app, 'PUT', `/api/courses/${course.id}/lesson-order`, owner, [
    { id: module2.id, parentLessonId: null, orderIndex: 0 },
    { id: module1.id, parentLessonId: null, orderIndex: 1 },
    { id: child1.id, parentLessonId: module2.id, orderIndex: 0 },
  ]);
  const reordered = bodyOf(goodOrder, 200, CourseDetailJson);
  t.same(
    reordered.lessons.map((lesson) => lesson.id),
    [module2.id, module1.id],
  );
  t.same(
    reordered.lessons[0].children.map((lesson) => lesson.id),
    [child1.id, child2.id],
  );
  t.equal((await call(app, 'PUT', `/api/courses/${course.id}/lesson-order`, student, [{ id: module1.id, parentLessonId: null, orderIndex: 0 }])).status, 403);
  t.equal((await call(app, 'PUT', `/api/courses/${course.id}/lesson-order`, owner, [])).status, 400);
});

t.test('lessons: delete moves children up and is refused once students progressed', async (t) => {
  const course = await createCourse({ title: 'Deletion', isPublished: true });
  const parent = await createLesson(course.id, { title: 'Parent' });
  const child = await createLesson(course.id, { title: 'Child', parentLessonId: parent.id });
  const grandchild = await createLesson(course.id, { title: 'Grandchild', parentLessonId: child.id });
  const other = await createLesson(course.id, { title: 'Other' });
  const enrollment = bodyOf(await enroll(course.id), 201, EnrollmentJson);
  t.equal(enrollment.totalLessonsCount, 4);

  t.equal((await call(app, 'DELETE', `/api/lessons/${child.id}`, otherInstructor)).status, 403);
  t.equal((await call(app, 'DELETE', `/api/lessons/${child.id}`, owner)).status, 204);
  const after = await call(app, 'GET', `/api/lessons/${grandchild.id}`, owner);
  t.equal(bodyOf(after, 200, LessonJson).parentLessonId, parent.id, 'the grandchild moved up to its grandparent');
  let lessonCount = 0;
  for (let tries = 0; tries < 100 && lessonCount !== 3; tries++) {
    if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    const mine = await call(app, 'GET', '/api/enrollments', student);
    lessonCount = bodyOf(mine, 200, EnrollmentPage).items.find((item) => item.id === enrollment.id)!.totalLessonsCount;
  }
  t.equal(lessonCount, 3, 'enrollments follow the lesson count (recalculated in the background)');

  await call(app, 'POST', `/api/lessons/${other.id}/progress`, student, { timeSpentSecondsDelta: 5 });
  const refused = await call(app, 'DELETE', `/api/lessons/${other.id}`, owner);
  t.equal(errorOf(refused, 409).code, 'CONFLICT');
  t.equal((await call(app, 'GET', `/api/lessons/${other.id}`, owner)).status, 200, 'still there');

  t.equal((await call(app, 'DELETE', `/api/courses/${course.id}`, owner)).status, 409, 'a course with enrollments is not deleted');
  const empty = await createCourse({ title: 'Empty' });
  await createLesson(empty.id, { title: 'Gone with it' });
  t.equal((await call(app, 'DELETE', `/api/courses/${empty.id}`, owner)).status, 204);
  t.equal((await call(app, 'GET', `/api/courses/${empty.id}`, owner)).status, 404);
  t.equal(
    (await countRows(app, ['lessons'])).lessons,
    (await app.orm.em.getConnection().execute<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM lessons WHERE course_id <> '${empty.id}'`))[0]!.n,
    'its lessons went with it',
  );
});

t.test('enrollments: idempotent enroll, roles, drop and reactivate, review', async (t) => {
  const course = await createCourse({ title: 'Enrollable' });
  await createLesson(course.id, { title: 'One' });
  t.equal((await enroll(course.id)).status, 404, 'drafts cannot be enrolled in');
  await call(app, 'PATCH', `/api/courses/${course.id}`, owner, { isPublished: true });

  const first = bodyOf(await enroll(course.id), 201, EnrollmentJson);
  t.match(first, { status: 'active', course: { id: course.id, slug: course.slug, title: course.title }, totalLessonsCount: 1 });
  const again = await enroll(course.id);
  t.equal(bodyOf(again, 200, EnrollmentJson).id, first.id);
  t.equal((await enroll(course.id, owner)).status, 403, 'instructors do not enroll');
  t.equal((await enroll(course.id, admin)).status, 403);
  t.equal((await call(app, 'POST', `/api/courses/${course.id}/enroll`)).status, 401);
  const concurrent = await Promise.all(Array.from({ length: 5 }, () => enroll(course.id, outsider)));
  t.same(concurrent.map((res) => res.status).sort(), [200, 200, 200, 200, 201], 'concurrent enrolls make one enrollment');

  const list = await call(app, 'GET', '/api/enrollments?status=active', student);
  t.ok(bodyOf(list, 200, EnrollmentPage).items.some((item) => item.id === first.id));
  t.equal((await call(app, 'GET', '/api/enrollments?status=bogus', student)).status, 400);
  for (const query of ['page=1e21', 'page=999999999999999999', 'limit=1e21']) {
    t.equal((await call(app, 'GET', `/api/enrollments?${query}`, student)).status, 400, `enrollments?${query}`);
    t.equal((await call(app, 'GET', `/api/courses/${course.id}/enrollments?${query}`, owner)).status, 400, `course enrollments?${query}`);
  }

  for (const [who, as, status] of [
    ['student', student, 403],
    ['other instructor', otherInstructor, 403],
    ['owner', owner, 200],
    ['admin', admin, 200],
    ['anonymous', null, 401],
  ] as const) {
    t.equal((await call(app, 'GET', `/api/courses/${course.id}/enrollments`, as)).status, status, `course enrollments as ${who}`);
  }
  const roster = bodyOf(await call(app, 'GET', `/api/courses/${course.id}/enrollments`, owner), 200, EnrollmentPage);
  t.equal(roster.total, 2);
  t.match(roster.items[0], { student: { fullName: String, email: String } });

  t.equal((await call(app, 'PATCH', `/api/enrollments/${first.id}`, outsider, { rating: 5 })).status, 403, 'only the student');
  t.equal((await call(app, 'PATCH', `/api/enrollments/${first.id}`, student, { rating: 6 })).status, 400);
  t.equal((await call(app, 'PATCH', `/api/enrollments/${first.id}`, student, { status: 'completed' })).status, 400);
  t.equal((await call(app, 'PATCH', `/api/enrollments/${first.id}`, student, {})).status, 400);
  const reviewed = await call(app, 'PATCH', `/api/enrollments/${first.id}`, student, { rating: 5, review: 'Great' });
  t.match(bodyOf(reviewed, 200, EnrollmentJson), { rating: 5, review: 'Great' });

  const dropped = await call(app, 'PATCH', `/api/enrollments/${first.id}`, student, { status: 'dropped' });
  t.equal(bodyOf(dropped, 200, EnrollmentJson).status, 'dropped');
  const lessonId = bodyOf(await call(app, 'GET', `/api/courses/${course.id}`), 200, CourseDetailJson).lessons[0].id;
  t.equal((await call(app, 'POST', `/api/lessons/${lessonId}/progress`, student, { status: 'completed' })).status, 403, 'dropped students lose access');
  const detail = await call(app, 'GET', `/api/lessons/${lessonId}`, student);
  t.notOk('content' in bodyOf(detail, 200, LessonJson), 'and content');
  const back = await enroll(course.id);
  const backBody = bodyOf(back, 200, EnrollmentJson);
  t.equal(backBody.status, 'active', 're-enrolling reactivates');
  t.equal(backBody.id, first.id);
});

t.test('progress: rules, QUIZ_REQUIRED, concurrency, completion once', async (t) => {
  const course = await createCourse({ title: 'Progressing', isPublished: true });
  const a = await createLesson(course.id, { title: 'A' });
  const b = await createLesson(course.id, { title: 'B' });
  const quizLesson = await createLesson(course.id, { title: 'Quiz lesson', lessonType: 'quiz' });
  const enrollment = bodyOf(await enroll(course.id), 201, EnrollmentJson);

  // Roles.
  t.equal((await call(app, 'POST', `/api/lessons/${a.id}/progress`, null, { status: 'in_progress' })).status, 401);
  t.equal((await call(app, 'POST', `/api/lessons/${a.id}/progress`, outsider, { status: 'in_progress' })).status, 403);
  t.equal((await call(app, 'POST', `/api/lessons/${a.id}/progress`, owner, { status: 'in_progress' })).status, 403);
  const before = await countRows(app, ['lesson_progress']);
  for (const body of [
    {},
    { timeSpentSecondsDelta: 3601 },
    { timeSpentSecondsDelta: -1 },
    { completionPercentage: 101 },
    { status: 'done' },
    { status: 'completed', extra: 1 },
    { timeSpentSecondsDelta: '5' },
  ]) {
    const res = await call(app, 'POST', `/api/lessons/${a.id}/progress`, student, body);
    t.equal(res.status, 400, `progress ${JSON.stringify(body)} → 400`);
  }
  t.same(await countRows(app, ['lesson_progress']), before, 'refused writes wrote nothing');

  // Completion never decreases, time only adds, completed is sticky.
  let res = bodyOf(
    await call(app, 'POST', `/api/lessons/${a.id}/progress`, student, { completionPercentage: 40.456, timeSpentSecondsDelta: 30 }),
    200,
    LessonProgressResponse,
  );
  t.match(res.lessonProgress, { lessonId: a.id, status: 'in_progress', completionPercentage: 40.46, timeSpentSeconds: 30 });
  res = bodyOf(
    await call(app, 'POST', `/api/lessons/${a.id}/progress`, student, { completionPercentage: 10, timeSpentSecondsDelta: 15 }),
    200,
    LessonProgressResponse,
  );
  t.match(res.lessonProgress, { completionPercentage: 40.46, timeSpentSeconds: 45 }, 'completion never goes down; time adds');
  res = bodyOf(await call(app, 'POST', `/api/lessons/${a.id}/progress`, student, { status: 'completed' }), 200, LessonProgressResponse);
  t.match(res.lessonProgress, { status: 'completed', completionPercentage: 100 });
  t.match(res.enrollment, { enrollmentId: enrollment.id, completedLessonsCount: 1, totalLessonsCount: 3, progressPercentage: 33.33, status: 'active' });
  res = bodyOf(
    await call(app, 'POST', `/api/lessons/${a.id}/progress`, student, { status: 'in_progress', timeSpentSecondsDelta: 5 }),
    200,
    LessonProgressResponse,
  );
  t.match(res.lessonProgress, { status: 'completed', completionPercentage: 100, timeSpentSeconds: 50 }, 'completed is sticky');

  // Ten concurrent writes add up exactly.
  const writes = await Promise.all(Array.from({ length: 10 }, () => call(app, 'POST', `/api/lessons/${b.id}/progress`, student, { timeSpentSecondsDelta: 7 })));
  t.same(
    writes.map((w) => w.status),
    Array(10).fill(200),
  );
  const progress = bodyOf(await call(app, 'GET', `/api/enrollments/${enrollment.id}/progress`, student), 200, ProgressPage);
  t.equal(progress.items.find((item) => item.lessonId === b.id)!.timeSpentSeconds, 70);
  t.equal(progress.items.length, 3, 'every lesson of the course is listed');
  t.equal(progress.items.find((item) => item.lessonId === quizLesson.id)!.status, 'not_started');
  for (const [who, as, status] of [
    ['outsider', outsider, 403],
    ['other instructor', otherInstructor, 403],
    ['owner', owner, 200],
    ['admin', admin, 200],
  ] as const) {
    t.equal((await call(app, 'GET', `/api/enrollments/${enrollment.id}/progress`, as)).status, status, `progress as ${who}`);
  }

  // A standard list: ?page&limit, limit ≤ 100, default 20.
  t.match(progress, { total: 3, page: 1, limit: 20 }, 'default page');
  const pageOne = bodyOf(await call(app, 'GET', `/api/enrollments/${enrollment.id}/progress?limit=2`, student), 200, ProgressPage);
  t.match(pageOne, { total: 3, page: 1, limit: 2 });
  t.equal(pageOne.items.length, 2, 'page 1 of 2');
  const pageTwo = bodyOf(await call(app, 'GET', `/api/enrollments/${enrollment.id}/progress?limit=2&page=2`, student), 200, ProgressPage);
  t.match(pageTwo, { total: 3, page: 2, limit: 2 });
  t.equal(pageTwo.items.length, 1, 'page 2 of 2');
  t.same(
    [...pageOne.items, ...pageTwo.items].map((item) => item.lessonId),
    progress.items.map((item) => item.lessonId),
    'the pages together are the whole list, in its order',
  );
  t.same(
    bodyOf(await call(app, 'GET', `/api/enrollments/${enrollment.id}/progress?page=3&limit=2`, student), 200, ProgressPage),
    { items: [], total: 3, page: 3, limit: 2 },
    'past the end',
  );
  for (const query of ['limit=101', 'limit=0', 'page=0', 'page=1e21', 'page=999999999999999999', 'status=x']) {
    const res = await call(app, 'GET', `/api/enrollments/${enrollment.id}/progress?${query}`, student);
    t.equal(errorOf(res, 400).code, 'VALIDATION_ERROR', `progress?${query}`);
  }

  // A lesson with a published graded quiz is completed by the quiz only.
  await app.orm.em
    .getConnection()
    .execute(`INSERT INTO quizzes (lesson_id, title, quiz_type, is_published) VALUES (?, 'Gate', 'graded', true)`, [quizLesson.id]);
  const gated = await call(app, 'POST', `/api/lessons/${quizLesson.id}/progress`, student, { status: 'completed' });
  t.equal(errorOf(gated, 409).code, 'QUIZ_REQUIRED');
  t.equal(
    (await call(app, 'POST', `/api/lessons/${quizLesson.id}/progress`, student, { timeSpentSecondsDelta: 20 })).status,
    200,
    'time on a quiz lesson is fine',
  );

  // The 100 % transition happens once, even when the last writes race.
  await app.orm.em.getConnection().execute(`UPDATE quizzes SET quiz_type = 'practice' WHERE lesson_id = ?`, [quizLesson.id]);
  const finals = await Promise.all([
    call(app, 'POST', `/api/lessons/${b.id}/progress`, student, { status: 'completed' }),
    call(app, 'POST', `/api/lessons/${quizLesson.id}/progress`, student, { status: 'completed' }),
    call(app, 'POST', `/api/lessons/${b.id}/progress`, student, { completionPercentage: 100 }),
  ]);
  t.same(
    finals.map((f) => f.status),
    [200, 200, 200],
  );
  const [row] = await app.orm.em
    .getConnection()
    .execute<Array<{ status: string; completed_at: string; progress_percentage: string }>>(
      'SELECT status, completed_at, progress_percentage FROM enrollments WHERE id = ?',
      [enrollment.id],
    );
  t.equal(row!.status, 'completed');
  t.equal(Number(row!.progress_percentage), 100);
  const completedAt = new Date(row!.completed_at).getTime();
  await call(app, 'POST', `/api/lessons/${b.id}/progress`, student, { timeSpentSecondsDelta: 1 });
  const [later] = await app.orm.em
    .getConnection()
    .execute<Array<{ completed_at: string }>>('SELECT completed_at FROM enrollments WHERE id = ?', [enrollment.id]);
  t.equal(new Date(later!.completed_at).getTime(), completedAt, 'completedAt is set once');

  // A dropped enrollment does not complete.
  const other = await createCourse({ title: 'Dropping', isPublished: true });
  const only = await createLesson(other.id, { title: 'Only' });
  const otherEnrollment = bodyOf(await enroll(other.id), 201, EnrollmentJson);
  await call(app, 'PATCH', `/api/enrollments/${otherEnrollment.id}`, student, { status: 'dropped' });
  t.equal((await call(app, 'POST', `/api/lessons/${only.id}/progress`, student, { status: 'completed' })).status, 403);
});

t.test('progress writes with a clientKey are applied once, whatever the retries and races', async (t) => {
  const course = await createCourse({ title: 'Idempotent', isPublished: true });
  const lesson = await createLesson(course.id, { title: 'Watched twice' });
  const enrollment = bodyOf(await enroll(course.id), 201, EnrollmentJson);
  const write = (body: Record<string, unknown>) => call<unknown>(app, 'POST', `/api/lessons/${lesson.id}/progress`, student, body);
  const key = randomUUID();

  const first = bodyOf(await write({ timeSpentSecondsDelta: 30, completionPercentage: 20, clientKey: key }), 200, LessonProgressResponse);
  t.match(first.lessonProgress, { timeSpentSeconds: 30, completionPercentage: 20 });
  const retry = await write({ timeSpentSecondsDelta: 30, completionPercentage: 20, clientKey: key });
  t.equal(retry.status, 200, 'a retry answers as the write did');
  t.match(
    bodyOf(retry, 200, LessonProgressResponse),
    { lessonProgress: { timeSpentSeconds: 30, completionPercentage: 20 }, enrollment: { enrollmentId: enrollment.id, totalTimeSpentSeconds: 30 } },
    'the time was added once',
  );
  const other = await write({ timeSpentSecondsDelta: 30, clientKey: randomUUID() });
  t.equal(bodyOf(other, 200, LessonProgressResponse).lessonProgress.timeSpentSeconds, 60, 'another key is another write');
  const keyless = await write({ timeSpentSecondsDelta: 5 });
  t.equal(bodyOf(keyless, 200, LessonProgressResponse).lessonProgress.timeSpentSeconds, 65, 'without a key every write applies (as before)');
  const reused = await write({ timeSpentSecondsDelta: 600, status: 'completed', clientKey: key });
  t.match(
    bodyOf(reused, 200, LessonProgressResponse).lessonProgress,
    { timeSpentSeconds: 65, status: 'in_progress' },
    'a used key applies nothing, whatever the body says',
  );

  // Ten at once with one key: one applies.
  const racingKey = randomUUID();
  const racing = await Promise.all(Array.from({ length: 10 }, () => write({ timeSpentSecondsDelta: 7, clientKey: racingKey })));
  t.same(
    racing.map((res) => res.status),
    Array(10).fill(200),
  );
  const [stored] = await app.orm.em
    .getConnection()
    .execute<Array<{ time_spent_seconds: number }>>('SELECT time_spent_seconds FROM lesson_progress WHERE enrollment_id = ? AND lesson_id = ?', [
      enrollment.id,
      lesson.id,
    ]);
  t.equal(stored!.time_spent_seconds, 72, 'ten concurrent writes with one key added 7 s once');

  // Two at once, for certain: another session holds the progress row, so the first write waits
  // for it with its key claimed and uncommitted, and the second waits for that claim.
  const locker = new pg.Client({ connectionString: env.config.databaseUrl });
  await locker.connect();
  t.teardown(() => locker.end());
  await locker.query('BEGIN');
  await locker.query('SELECT 1 FROM lesson_progress WHERE enrollment_id = $1 AND lesson_id = $2 FOR UPDATE', [enrollment.id, lesson.id]);
  const heldKey = randomUUID();
  const both = Promise.all([write({ timeSpentSecondsDelta: 11, clientKey: heldKey }), write({ timeSpentSecondsDelta: 11, clientKey: heldKey })]);
  await waitFor('both writes to wait', async () => {
    const [{ n }] = await app.orm.em
      .getConnection()
      .execute<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%progress_client_keys%'`,
      );
    return n === 2;
  });
  await locker.query('COMMIT');
  const [one, two] = await both;
  t.same([one.status, two.status], [200, 200]);
  t.same(
    [bodyOf(one, 200, LessonProgressResponse).lessonProgress.timeSpentSeconds, bodyOf(two, 200, LessonProgressResponse).lessonProgress.timeSpentSeconds],
    [83, 83],
    'both answer the state with 11 s added once',
  );
  const [{ keys }] = await app.orm.em
    .getConnection()
    .execute<Array<{ keys: number }>>('SELECT count(*)::int AS keys FROM progress_client_keys WHERE enrollment_id = ?', [enrollment.id]);
  t.equal(keys, 4, 'one row per key used');

  // Bad keys and key-only writes change nothing.
  const before = await countRows(app, ['lesson_progress', 'progress_client_keys']);
  for (const body of [{ timeSpentSecondsDelta: 5, clientKey: 'not-a-uuid' }, { timeSpentSecondsDelta: 5, clientKey: 42 }, { clientKey: randomUUID() }]) {
    const res = await write(body);
    t.equal(errorOf(res, 400).code, 'VALIDATION_ERROR', `progress ${JSON.stringify(body)} → 400`);
  }
  t.same(await countRows(app, ['lesson_progress', 'progress_client_keys']), before, 'nothing written');

  // The sweep forgets keys after a day; a fresh one stays.
  const db = app.orm.em.getConnection();
  const stale = randomUUID();
  await db.execute(`INSERT INTO progress_client_keys (enrollment_id, client_key, created_at) VALUES (?, ?, now() - interval '25 hours')`, [
    enrollment.id,
    stale,
  ]);
  const keyExists = async (clientKey: string) =>
    (await db.execute<Array<{ n: number }>>('SELECT count(*)::int AS n FROM progress_client_keys WHERE client_key = ?', [clientKey]))[0]!.n === 1;
  await app.queues.add('maintenance', { reason: 'manual' });
  await waitFor('the sweep to purge the day-old key', async () => !(await keyExists(stale)));
  t.ok(await keyExists(racingKey), 'a fresh key stays');
});

t.test('dashboard snapshot', async (t) => {
  const course = await createCourse({ title: 'Dashboard', isPublished: true });
  const lesson = await createLesson(course.id, { title: 'L1' });
  await createLesson(course.id, { title: 'L2' });
  await enroll(course.id);
  await enroll(course.id, outsider);
  await call(app, 'POST', `/api/lessons/${lesson.id}/progress`, student, { status: 'completed', timeSpentSecondsDelta: 60 });
  for (const [who, as, status] of [
    ['anonymous', null, 401],
    ['student', student, 403],
    ['other instructor', otherInstructor, 403],
    ['admin', admin, 200],
  ] as const) {
    t.equal((await call(app, 'GET', `/api/courses/${course.id}/dashboard`, as)).status, status, `dashboard as ${who}`);
  }
  const dashboard = bodyOf(await call(app, 'GET', `/api/courses/${course.id}/dashboard`, owner), 200, DashboardJson);
  t.match(dashboard, { course: { id: course.id }, totals: { enrolled: 2, active: 2, completed: 0, dropped: 0, averageProgress: 25 }, online: [], quizzes: [] });
  const sam = dashboard.students.find((s) => s.studentId === student.id);
  t.match(sam, { fullName: 'Sam Student', progressPercentage: 50, completedLessonsCount: 1, totalTimeSpentSeconds: 60, online: false });
  t.ok(sam?.lastActivityAt);
  t.same(sam?.lastLesson, { id: lesson.id, title: 'L1' }, 'the lesson it wrote progress on');
  t.equal(dashboard.students.find((s) => s.studentId === outsider.id)?.lastLesson, null, 'a student who wrote no progress has none');
});

t.test('the learning routes are documented', async (t) => {
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, unknown> }>();
  for (const path of [
    '/api/courses',
    '/api/courses/{idOrSlug}',
    '/api/courses/{id}',
    '/api/courses/{id}/lessons',
    '/api/lessons/{id}',
    '/api/courses/{id}/lesson-order',
    '/api/courses/{id}/enroll',
    '/api/enrollments',
    '/api/courses/{id}/enrollments',
    '/api/enrollments/{id}',
    '/api/lessons/{id}/progress',
    '/api/enrollments/{id}/progress',
    '/api/courses/{id}/dashboard',
  ]) {
    t.ok(doc.paths[path], path);
  }
});
