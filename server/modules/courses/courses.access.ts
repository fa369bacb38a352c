import type { EntityManager } from '@mikro-orm/postgresql';
import { Course, Enrollment, type ICourse, type IEnrollment } from '../../../entities/index.js';
import type { AuthUser } from '../../plugins/auth.js';
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

export const ACCESS_GRANTING_STATUSES = ['active', 'completed'] as const;

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

export async function accessTo(em: EntityManager, course: ICourse, user: AuthUser | null): Promise<CourseAccess> {
  const isManager = isManagerOf(user, course.instructor.id);
  if (!course.isPublished && !isManager) throw notFound('Course');
  const enrollment = user ? await em.findOne(Enrollment, { student: user.id, course: course.id }) : null;
  const isEnrollee = !!enrollment && (ACCESS_GRANTING_STATUSES as readonly string[]).includes(enrollment.status);
  return { course, isManager, enrollment, isEnrollee };
}

/** Loads the course and insists on a manager (owner or admin). */
export async function requireCourseManager(em: EntityManager, courseId: string, user: AuthUser): Promise<CourseAccess> {
  const access = await loadCourseAccess(em, courseId, user);
  if (!access.isManager) throw forbidden('Only the course owner or an admin may do this');
  return access;
}

/**
 * Whether `userId` is an active or completed enrollee of the course, without the draft rule
 * (for things attached to a course that keep their own visibility, such as its files).
 */
export async function isEnrolleeOf(em: EntityManager, courseId: string, userId: string): Promise<boolean> {
  return (await em.count(Enrollment, { student: userId, course: courseId, status: { $in: [...ACCESS_GRANTING_STATUSES] } })) > 0;
}

/** Whether an enrollment in this status opens the course (active, completed). */
export function grantsAccess(status: string | null | undefined): boolean {
  return !!status && (ACCESS_GRANTING_STATUSES as readonly string[]).includes(status);
}

/**
 * `accessTo`'s rules over columns a query has already read (hot paths that read a course, its
 * owner and the caller's enrollment status in one statement with what they serve): a draft
 * course is 404 for everyone but its managers.
 */
export function accessOfColumns(user: AuthUser | null, course: { instructorId: string; isPublished: boolean }, enrollmentStatus: string | null): { isManager: boolean; isEnrollee: boolean } {
  const isManager = isManagerOf(user, course.instructorId);
  if (!course.isPublished && !isManager) throw notFound('Course');
  return { isManager, isEnrollee: grantsAccess(enrollmentStatus) };
}
