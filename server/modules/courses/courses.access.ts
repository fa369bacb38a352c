import type { EntityManager } from '@mikro-orm/postgresql';
import { Course, Enrollment, type ICourse, type IEnrollment } from '../../../entities/index.js';
import type { AuthUser } from '../auth/auth-user.js';
import { forbidden, notFound } from '../../platform/errors.js';

/** What the caller is to one course. Every course-scoped rule (HTTP, sockets, files) reads this. */
export interface CourseAccess {
  course: ICourse;
  /** The owner or an admin: may edit, see drafts and every student's progress. */
  isManager: boolean;
  /** The caller's enrollment, whatever its status. */
  enrollment: IEnrollment | null;
  /** An active or completed enrollee: may see content and join the course room. */
  isEnrollee: boolean;
}

/** The enrollment statuses that open a course: its content, quizzes, files and room. */
export const ACCESS_GRANTING_STATUSES = ['active', 'completed'] as const;

/** An enrollment in one of these statuses makes its student an enrollee (dropped and expired do not). */
export function grantsAccess(status: string | null | undefined): boolean {
  return !!status && (ACCESS_GRANTING_STATUSES as readonly string[]).includes(status);
}

/**
 * Insists on an enrollee: `status` is the caller's enrollment status in the course (none: null),
 * and anything but an access-granting one is 403 with `message`.
 */
export function requireEnrollee(status: string | null | undefined, message: string): void {
  if (!grantsAccess(status)) throw forbidden(message);
}

/**
 * Whether `userId` is an active or completed enrollee of the course, without the draft rule
 * (for things attached to a course that keep their own visibility, such as its files).
 */
export async function isEnrolleeOf(em: EntityManager, courseId: string, userId: string): Promise<boolean> {
  return (await em.count(Enrollment, { student: userId, course: courseId, status: { $in: [...ACCESS_GRANTING_STATUSES] } })) > 0;
}

/**
 * Draft-is-404: an unpublished course (or lesson, or quiz) does not exist for anyone but the
 * course's managers, so that drafts cannot be discovered by id. `what` names it in the 404.
 */
export function assertVisible(isPublished: boolean, isManager: boolean, what: string): void {
  if (!isPublished && !isManager) throw notFound(what);
}

/**
 * An admin, or the owner (the course's instructor) while its role is still instructor. A demoted
 * owner keeps its courses (they do not move) but no rights over them; promoted back, it has them
 * again. `user.role` must be the current one: requests and sockets re-read it from the database.
 */
export function isManagerOf(user: AuthUser | null, instructorId: string): boolean {
  return !!user && (user.role === 'admin' || (user.role === 'instructor' && instructorId === user.id));
}

/**
 * Loads a course and the caller's relation to it. A draft course does not exist for anyone
 * but its managers (404), so that drafts cannot be discovered by id.
 */
export async function loadCourseAccess(em: EntityManager, courseId: string, user: AuthUser | null): Promise<CourseAccess> {
  const course = await em.findOne(Course, { id: courseId });
  if (!course) throw notFound('Course');
  return accessTo(em, course, user);
}

/** The caller's relation to a course already loaded (draft-is-404 applies). */
export async function accessTo(em: EntityManager, course: ICourse, user: AuthUser | null): Promise<CourseAccess> {
  const isManager = isManagerOf(user, course.instructor.id);
  assertVisible(course.isPublished, isManager, 'Course');
  const enrollment = user ? await em.findOne(Enrollment, { student: user.id, course: course.id }) : null;
  const isEnrollee = grantsAccess(enrollment?.status);
  return { course, isManager, enrollment, isEnrollee };
}

/** Loads the course and insists on a manager (owner or admin). */
export async function requireCourseManager(em: EntityManager, courseId: string, user: AuthUser): Promise<CourseAccess> {
  const access = await loadCourseAccess(em, courseId, user);
  if (!access.isManager) throw forbidden('Only the course owner or an admin may do this');
  return access;
}

/**
 * `accessTo`'s rules over columns a query has already read (hot paths that read a course, its
 * owner and the caller's enrollment status in one statement with what they serve): a draft
 * course is 404 for everyone but its managers.
 */
export function accessOfColumns(
  user: AuthUser | null,
  course: { instructorId: string; isPublished: boolean },
  enrollmentStatus: string | null,
): { isManager: boolean; isEnrollee: boolean } {
  const isManager = isManagerOf(user, course.instructorId);
  assertVisible(course.isPublished, isManager, 'Course');
  return { isManager, isEnrollee: grantsAccess(enrollmentStatus) };
}
