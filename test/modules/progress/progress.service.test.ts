import { recordingJobs } from '../../helpers/jobs.js';
import t from '../../helpers/tap.js';
import { buildTestApp } from '../../helpers/app.js';
import { createUser, type TestUser } from '../../helpers/users.js';
import { recordingPublisher } from '../../helpers/publisher.js';
import type { ServiceDeps } from '../../../server/modules/deps.js';
import type { AuthUser } from '../../../server/plugins/auth.js';
import { createCourse, updateCourse } from '../../../server/modules/courses/courses.service.js';
import { createLesson } from '../../../server/modules/lessons/lessons.service.js';
import { enroll, updateEnrollment } from '../../../server/modules/enrollments/enrollments.service.js';
import { completeLessonByQuiz, courseLessonsChanged, recordLessonProgress } from '../../../server/modules/progress/progress.service.js';

// The progress rules, called as services with a real database: no HTTP, a recording publisher and
// a fake jobs port that records what would have been queued.
const { app } = await buildTestApp(t, 'progress-service');

/** A jobs port that records its calls; `recalculateCourse` answers `courseQueued`. */
function fakeJobs(courseQueued = true) {
  const jobs = recordingJobs({ courseQueued });
  return { jobs, calls: { issueCertificate: jobs.certificates, recalculateCourse: jobs.courses } };
}

function depsWith(jobs = fakeJobs()) {
  const publisher = recordingPublisher();
  const deps: ServiceDeps = { ...app.forkDeps(), publisher, jobs: jobs.jobs };
  return { deps, publisher, jobs: jobs.calls };
}

const auth = (user: TestUser): AuthUser => ({ id: user.id, role: user.user.role });
const owner = await createUser(app, 'instructor');

async function courseWithLessons(lessons: number, published = true) {
  const { deps } = depsWith();
  const course = await createCourse(deps, auth(owner), { title: 'Progress rules', isPublished: published });
  const lessonIds: string[] = [];
  for (let i = 0; i < lessons; i++) lessonIds.push((await createLesson(deps, auth(owner), course.id, { title: `L${i}` })).id);
  return { courseId: course.id, lessonIds };
}

async function enrolled(courseId: string) {
  const student = await createUser(app, 'student');
  const { enrollment } = await enroll(depsWith().deps, auth(student), courseId);
  return { student, enrollmentId: enrollment.id };
}

t.test('completion never decreases, completed is sticky, time only adds; each write is told to the publisher', async (t) => {
  const { courseId, lessonIds } = await courseWithLessons(2);
  const { student } = await enrolled(courseId);
  const { deps, publisher } = depsWith();
  const lessonId = lessonIds[0]!;

  const first = await recordLessonProgress(deps, auth(student), lessonId, { completionPercentage: 60, timeSpentSecondsDelta: 30 });
  t.match(first.lessonProgress, { status: 'in_progress', completionPercentage: 60, timeSpentSeconds: 30 });
  const lower = await recordLessonProgress(deps, auth(student), lessonId, { completionPercentage: 20, timeSpentSecondsDelta: 5 });
  t.match(lower.lessonProgress, { completionPercentage: 60, timeSpentSeconds: 35 }, 'a lower completion is ignored, time adds');
  await recordLessonProgress(deps, auth(student), lessonId, { status: 'completed' });
  const after = await recordLessonProgress(deps, auth(student), lessonId, { status: 'in_progress', completionPercentage: 10 });
  t.match(after.lessonProgress, { status: 'completed', completionPercentage: 100 }, 'completed stays completed');
  t.match(after.enrollment, { completedLessonsCount: 1, totalLessonsCount: 2, progressPercentage: 50 });

  t.equal(publisher.calls.lessonProgressRecorded.length, 4, 'one lessonProgressRecorded per write');
  t.same(publisher.calls.lessonProgressRecorded[3], after, 'with what the caller got back');
});

t.test('a write returns the counts with itself in them: first write, rewrite, other lessons, a lesson of another course', async (t) => {
  const { courseId, lessonIds } = await courseWithLessons(3);
  const other = await courseWithLessons(1);
  const { student, enrollmentId } = await enrolled(courseId);
  const { deps } = depsWith();
  const em = app.orm.em.fork();
  const stored = async () =>
    (
      await em.execute<Array<{ completed_lessons_count: number; total_time_spent_seconds: number }>>(
        'SELECT completed_lessons_count, total_time_spent_seconds FROM enrollments WHERE id = ?',
        [enrollmentId],
      )
    )[0];
  const a = await recordLessonProgress(deps, auth(student), lessonIds[0]!, { status: 'completed', timeSpentSecondsDelta: 10 });
  t.match(a.enrollment, { completedLessonsCount: 1, totalLessonsCount: 3, totalTimeSpentSeconds: 10 }, 'the first write of a lesson counts');
  const again = await recordLessonProgress(deps, auth(student), lessonIds[0]!, { status: 'completed', timeSpentSecondsDelta: 5 });
  t.match(again.enrollment, { completedLessonsCount: 1, totalTimeSpentSeconds: 15 }, 'a rewrite of a completed lesson counts it once, its time once');
  const b = await recordLessonProgress(deps, auth(student), lessonIds[1]!, { completionPercentage: 50, timeSpentSecondsDelta: 7 });
  t.match(b.enrollment, { completedLessonsCount: 1, totalTimeSpentSeconds: 22 }, 'an unfinished lesson adds its time, not a completion');
  t.match(await stored(), { completed_lessons_count: 1, total_time_spent_seconds: 22 }, 'as stored');
  // A quiz path could name a lesson of another course (it never should): it is not counted.
  await em.execute(`INSERT INTO enrollments (course_id, student_id, status) VALUES (?, ?, 'active') ON CONFLICT DO NOTHING`, [other.courseId, student.id]);
  const foreign = await completeLessonByQuiz(deps, enrollmentId, other.lessonIds[0]!);
  t.match(foreign.enrollment, { completedLessonsCount: 1, totalLessonsCount: 3 }, "another course's lesson is not one of this course's");
});

t.test('lessons completed at once by one student: every completion counted, the course completed once', async (t) => {
  for (let round = 0; round < 3; round++) {
    const { courseId, lessonIds } = await courseWithLessons(8);
    const { student, enrollmentId } = await enrolled(courseId);
    const jobs = fakeJobs();
    const results = await Promise.all(
      lessonIds.map((lessonId) => recordLessonProgress(depsWith(jobs).deps, auth(student), lessonId, { status: 'completed', timeSpentSecondsDelta: 3 })),
    );
    t.equal(results.filter((result) => result.justCompleted).length, 1, `round ${round}: one write completed the course`);
    const [row] = await app.orm.em
      .fork()
      .execute<Array<{ completed_lessons_count: number; total_time_spent_seconds: number; status: string; progress_percentage: string }>>(
        'SELECT completed_lessons_count, total_time_spent_seconds, status, progress_percentage FROM enrollments WHERE id = ?',
        [enrollmentId],
      );
    t.match(row, { completed_lessons_count: 8, total_time_spent_seconds: 24, status: 'completed' }, `round ${round}: the stored counts`);
    t.equal(Number(row!.progress_percentage), 100);
    t.same(jobs.calls.issueCertificate, [enrollmentId], `round ${round}: one certificate job`);
  }
});

t.test('a clientKey applied twice adds its time once', async (t) => {
  const { courseId, lessonIds } = await courseWithLessons(1);
  const { student } = await enrolled(courseId);
  const { deps } = depsWith();
  const write = { timeSpentSecondsDelta: 40, clientKey: 'B4A1C7E2-0000-4000-8000-000000000001' };
  const once = await recordLessonProgress(deps, auth(student), lessonIds[0]!, write);
  const twice = await recordLessonProgress(deps, auth(student), lessonIds[0]!, { ...write, clientKey: write.clientKey.toLowerCase() });
  t.equal(once.lessonProgress.timeSpentSeconds, 40);
  t.equal(twice.lessonProgress.timeSpentSeconds, 40, 'the replay (keys are case-insensitive) adds nothing');
  t.equal(twice.enrollment.totalTimeSpentSeconds, 40);
});

t.test('completing the last lesson enqueues exactly one certificate job', async (t) => {
  const { courseId, lessonIds } = await courseWithLessons(2);
  const { student, enrollmentId } = await enrolled(courseId);
  const jobs = fakeJobs();
  const { deps } = depsWith(jobs);
  await recordLessonProgress(deps, auth(student), lessonIds[0]!, { status: 'completed' });
  t.same(jobs.calls.issueCertificate, [], 'not before the enrollment completes');
  const last = await recordLessonProgress(deps, auth(student), lessonIds[1]!, { status: 'completed' });
  t.equal(last.justCompleted, true);
  t.match(last.enrollment, { status: 'completed', progressPercentage: 100 });
  // Completing again (by a write or by a quiz) is not a new completion.
  await recordLessonProgress(deps, auth(student), lessonIds[1]!, { status: 'completed', timeSpentSecondsDelta: 1 });
  const byQuiz = await completeLessonByQuiz(deps, enrollmentId, lessonIds[0]!);
  t.equal(byQuiz.justCompleted, false);
  t.same(jobs.calls.issueCertificate, [enrollmentId], 'one job, for this enrollment');
});

t.test('a quiz completing the last lesson enqueues the certificate and leaves the events to the quiz engine', async (t) => {
  const { courseId, lessonIds } = await courseWithLessons(1);
  const { enrollmentId } = await enrolled(courseId);
  const jobs = fakeJobs();
  const { deps, publisher } = depsWith(jobs);
  const result = await completeLessonByQuiz(deps, enrollmentId, lessonIds[0]!);
  t.match(result, { justCompleted: true, lessonProgress: { status: 'completed', lessonTitle: 'L0' } });
  t.same(jobs.calls.issueCertificate, [enrollmentId]);
  t.equal(publisher.calls.lessonProgressRecorded.length, 0);
});

t.test('lessons added to a course: one course job, or the recalculation in the caller when the queue refuses', async (t) => {
  const { courseId, lessonIds } = await courseWithLessons(1);
  const { student, enrollmentId } = await enrolled(courseId);
  await recordLessonProgress(depsWith().deps, auth(student), lessonIds[0]!, { status: 'completed' });

  const queued = fakeJobs(true);
  await createLesson(depsWith(queued).deps, auth(owner), courseId, { title: 'Added' });
  t.same(queued.calls.recalculateCourse, [courseId], 'handed to the queue');
  const [stale] = await app.orm.em
    .fork()
    .getConnection()
    .execute<Array<{ total_lessons_count: number }>>('SELECT total_lessons_count FROM enrollments WHERE id = ?', [enrollmentId]);
  t.equal(stale!.total_lessons_count, 1, 'the queue does it later');

  const refused = fakeJobs(false);
  await courseLessonsChanged(depsWith(refused).deps, courseId);
  t.same(refused.calls.recalculateCourse, [courseId]);
  const [fresh] = await app.orm.em
    .fork()
    .getConnection()
    .execute<Array<{ total_lessons_count: number; status: string }>>('SELECT total_lessons_count, status FROM enrollments WHERE id = ?', [enrollmentId]);
  t.match(fresh, { total_lessons_count: 2, status: 'completed' }, 'recalculated here (a completion stays a completion)');
});

t.test('who records progress: draft lessons are 404, dropped enrollees and strangers 403', async (t) => {
  const { courseId, lessonIds } = await courseWithLessons(1);
  const { student, enrollmentId } = await enrolled(courseId);
  const stranger = await createUser(app, 'student');
  const { deps } = depsWith();

  await t.rejects(recordLessonProgress(deps, auth(stranger), lessonIds[0]!, { status: 'in_progress' }), { code: 'FORBIDDEN' });

  await updateEnrollment(deps, auth(student), enrollmentId, { status: 'dropped' });
  await t.rejects(recordLessonProgress(deps, auth(student), lessonIds[0]!, { status: 'in_progress' }), { code: 'FORBIDDEN' }, 'dropped: no longer an enrollee');

  const draft = await courseWithLessons(1, false);
  await t.rejects(
    recordLessonProgress(deps, auth(student), draft.lessonIds[0]!, { status: 'in_progress' }),
    { code: 'NOT_FOUND' },
    'a draft course is not there',
  );

  // Unpublishing a course with a student in it: the lesson disappears for the student.
  const live = await courseWithLessons(1);
  const other = await enrolled(live.courseId);
  await updateCourse(deps, auth(owner), live.courseId, { isPublished: false });
  await t.rejects(recordLessonProgress(deps, auth(other.student), live.lessonIds[0]!, { status: 'in_progress' }), { code: 'NOT_FOUND' });
});
