import type { EntityManager } from '@mikro-orm/postgresql';
import { forbidden, notFound, unauthorized } from '../platform/errors.js';
import { accessOfColumns } from '../modules/courses/courses.access.js';
import { rooms } from './contract.js';
import { courseRoomAccess } from './realtime.queries.js';

/** The course rooms a user may be in, read from the database now. */
export interface CourseRooms {
  courseId: string;
  isManager: boolean;
  /** `course:<id>`, plus `course:<id>:instructors` for the owner and admins. */
  rooms: string[];
}

/** What an enrollee may join: the course's room. */
export function enrolleeRooms(courseId: string): CourseRooms {
  return { courseId, isManager: false, rooms: [rooms.course(courseId)] };
}

/**
 * Authorises a user for a course's rooms against the database, on every join and for every
 * recovered socket: active and completed enrollees get `course:<id>`; the owner and admins get it
 * and `course:<id>:instructors`; anyone else FORBIDDEN. A course that does not exist, or a
 * draft for a non-manager, is NOT_FOUND (as over HTTP). The user's role and active flag are
 * read here too, not taken from the token.
 */
export async function authorizeCourseRooms(em: EntityManager, userId: string, courseId: string): Promise<CourseRooms> {
  const row = await courseRoomAccess(em, userId, courseId);
  if (!row || !row.is_active) throw unauthorized('This account is not active');
  if (!row.course_id) throw notFound('Course');
  const { isManager, isEnrollee } = accessOfColumns(
    { id: userId, role: row.role },
    { instructorId: row.instructor_id!, isPublished: !!row.is_published },
    row.enrollment_status ?? null,
  );
  if (isManager) return { courseId, isManager, rooms: [rooms.course(courseId), rooms.instructors(courseId)] };
  if (isEnrollee) return enrolleeRooms(courseId);
  throw forbidden('Only enrolled students, the course owner and admins join this course');
}

const COURSE_ROOM = /^course:([0-9a-f-]{36})$/;

/** The course ids of the `course:<id>` rooms a socket is in. */
export function joinedCourseIds(socketRooms: Iterable<string>): string[] {
  const ids: string[] = [];
  for (const room of socketRooms) {
    const match = COURSE_ROOM.exec(room);
    if (match) ids.push(match[1]);
  }
  return ids;
}
