import type { EntityManager } from '@mikro-orm/postgresql';
import { Course, type EnrollmentStatus } from '../../../entities/index.js';
import type { AuthUser } from '../auth/auth-user.js';
import { forbidden, notFound } from '../../platform/errors.js';
import { decimal, iso, toIso } from '../../platform/schemas.js';
import type { EnrollmentJson } from '../learning.schemas.js';
import { assertVisible, grantsAccess, requireCourseManager } from '../courses/courses.access.js';
import type { ServiceDeps } from '../deps.js';
import { recalculateEnrollment, type RecalculationDeps } from '../progress/progress.service.js';
import { enrollmentRow, enrollmentRows, insertOrReactivateEnrollment, updateEnrollmentRow, type EnrollmentRow } from './enrollments.queries.js';
import { pageOf, pageWindow } from '../../platform/paging.js';

export function enrollmentJson(row: EnrollmentRow, embed: { course?: boolean; student?: boolean } = {}): EnrollmentJson {
  return {
    id: row.id,
    courseId: row.course_id,
    studentId: row.student_id,
    status: row.status,
    progressPercentage: decimal(row.progress_percentage) ?? 0,
    completedLessonsCount: row.completed_lessons_count,
    totalLessonsCount: row.total_lessons_count,
    totalTimeSpentSeconds: row.total_time_spent_seconds,
    completedAt: iso(row.completed_at),
    rating: row.rating,
    review: row.review,
    certificateIssuedAt: iso(row.certificate_issued_at),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
    ...(embed.course ? { course: { id: row.course_id, slug: row.course_slug, title: row.course_title } } : {}),
    ...(embed.student ? { student: { id: row.student_id, fullName: row.student_name, email: row.student_email } } : {}),
  };
}

/**
 * Enrolls the student in a published course. Idempotent: enrolling twice returns the same
 * enrollment (200), and a dropped one is reactivated (200); only a new one is 201. Two
 * concurrent calls cannot create two rows: the unique (student, course) index decides.
 */
export async function enroll(deps: RecalculationDeps, user: AuthUser, courseId: string): Promise<{ created: boolean; enrollment: EnrollmentJson }> {
  const { em } = deps;
  if (user.role !== 'student') throw forbidden('Only students enroll in courses');
  const course = await em.findOne(Course, { id: courseId }, { fields: ['id', 'isPublished'] });
  if (!course) throw notFound('Course');
  // Only students enroll, and a student manages no course: a draft is 404 here.
  assertVisible(course.isPublished, false, 'Course');
  const { id, created } = await insertOrReactivateEnrollment(em, user.id, courseId);
  // Counts (and a reactivated enrollment's status) follow the course as it is now.
  await recalculateEnrollment(deps, id);
  return { created, enrollment: enrollmentJson((await enrollmentRow(em, id))!, { course: true }) };
}

export interface EnrollmentListQuery {
  status?: EnrollmentStatus;
  page: number;
  limit: number;
}

async function page(
  em: EntityManager,
  owner: { studentId: string } | { courseId: string },
  query: EnrollmentListQuery,
  embed: { course?: boolean; student?: boolean },
) {
  const { rows, total } = await enrollmentRows(em, { ...owner, status: query.status }, pageWindow(query));
  return pageOf(
    rows.map((row) => enrollmentJson(row, embed)),
    total,
    query,
  );
}

/** `GET /enrollments`: the caller's own, each with `course {id, slug, title}`. */
export function listMyEnrollments(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, query: EnrollmentListQuery) {
  return page(deps.em, { studentId: user.id }, query, { course: true });
}

/** `GET /courses/:id/enrollments`: every student's progress (owner, admin). */
export async function listCourseEnrollments(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, courseId: string, query: EnrollmentListQuery) {
  const { em } = deps;
  await requireCourseManager(em, courseId, user);
  return page(em, { courseId }, query, { student: true });
}

export interface EnrollmentPatch {
  status?: 'dropped';
  rating?: number | null;
  review?: string | null;
}

/**
 * The student drops its enrollment, or rates and reviews the course. Dropping an enrollment that
 * gave access is reported to the publisher once committed (live sockets leave the room).
 */
export async function updateEnrollment(
  deps: Pick<ServiceDeps, 'em' | 'publisher'>,
  user: AuthUser,
  enrollmentId: string,
  patch: EnrollmentPatch,
): Promise<EnrollmentJson> {
  const { em } = deps;
  const row = await enrollmentRow(em, enrollmentId);
  if (!row) throw notFound('Enrollment');
  if (row.student_id !== user.id) throw forbidden('Only the student changes its enrollment');
  await updateEnrollmentRow(em, enrollmentId, patch);
  if (patch.status === 'dropped' && grantsAccess(row.status)) {
    deps.publisher.courseAccessRevoked({ courseId: row.course_id, userIds: [row.student_id] });
  }
  return enrollmentJson((await enrollmentRow(em, enrollmentId))!, { course: true });
}
