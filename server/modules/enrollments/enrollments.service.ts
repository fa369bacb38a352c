import type { EntityManager } from '@mikro-orm/postgresql';
import type { EnrollmentStatus } from '../../../entities/enums.js';
import type { AuthUser } from '../../plugins/auth.js';
import { forbidden, notFound } from '../../platform/errors.js';
import { decimal, iso, toIso } from '../../platform/schemas.js';
import type { EnrollmentJson } from '../learning.schemas.js';
import { ACCESS_GRANTING_STATUSES, requireCourseManager } from '../courses/courses.access.js';
import type { ServiceDeps } from '../deps.js';
import { recalculateEnrollment, type RecalculationDeps } from '../progress/progress.service.js';

interface EnrollmentRow {
  id: string;
  course_id: string;
  student_id: string;
  status: EnrollmentStatus;
  progress_percentage: string | number;
  completed_lessons_count: number;
  total_lessons_count: number;
  total_time_spent_seconds: number;
  rating: number | null;
  review: string | null;
  certificate_issued_at: string | null;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
  course_slug?: string;
  course_title?: string;
  student_name?: string;
  student_email?: string;
}

const SELECT = `SELECT e.*, c.slug AS course_slug, c.title AS course_title, u.full_name AS student_name, u.email AS student_email
  FROM enrollments e JOIN courses c ON c.id = e.course_id JOIN users u ON u.id = e.student_id`;

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
    ...(embed.course ? { course: { id: row.course_id, slug: row.course_slug!, title: row.course_title! } } : {}),
    ...(embed.student ? { student: { id: row.student_id, fullName: row.student_name!, email: row.student_email! } } : {}),
  };
}

async function enrollmentById(em: EntityManager, id: string): Promise<EnrollmentRow | null> {
  const [row] = await em.execute<EnrollmentRow[]>(`${SELECT} WHERE e.id = ?`, [id]);
  return row ?? null;
}

/**
 * Enrolls the student in a published course. Idempotent: enrolling twice returns the same
 * enrollment (200), and a dropped one is reactivated (200); only a new one is 201. Two
 * concurrent calls cannot create two rows: the unique (student, course) index decides.
 */
export async function enroll(deps: RecalculationDeps, user: AuthUser, courseId: string): Promise<{ created: boolean; enrollment: EnrollmentJson }> {
  const { em } = deps;
  if (user.role !== 'student') throw forbidden('Only students enroll in courses');
  const [course] = await em.execute<Array<{ id: string; is_published: boolean }>>('SELECT id, is_published FROM courses WHERE id = ?', [courseId]);
  if (!course || !course.is_published) throw notFound('Course');

  const inserted = await em.execute<Array<{ id: string }>>(
    `INSERT INTO enrollments (student_id, course_id) VALUES (?, ?)
     ON CONFLICT (student_id, course_id) DO NOTHING RETURNING id`,
    [user.id, courseId],
  );
  let id = inserted[0]?.id;
  const created = !!id;
  if (!id) {
    const [existing] = await em.execute<Array<{ id: string }>>(
      `UPDATE enrollments SET status = CASE WHEN status IN ('dropped', 'expired') THEN 'active' ELSE status END, updated_at = now()
        WHERE student_id = ? AND course_id = ? RETURNING id`,
      [user.id, courseId],
    );
    id = existing!.id;
  }
  // Counts (and a reactivated enrollment's status) follow the course as it is now.
  await recalculateEnrollment(deps, id);
  return { created, enrollment: enrollmentJson((await enrollmentById(em, id))!, { course: true }) };
}

export interface EnrollmentListQuery {
  status?: EnrollmentStatus;
  page: number;
  limit: number;
}

async function page(em: EntityManager, where: string, params: unknown[], query: EnrollmentListQuery, embed: { course?: boolean; student?: boolean }) {
  const filters = [where];
  const values = [...params];
  if (query.status) {
    filters.push('e.status = ?');
    values.push(query.status);
  }
  const whereSql = `WHERE ${filters.join(' AND ')}`;
  const [rows, [count]] = await Promise.all([
    em.execute<EnrollmentRow[]>(`${SELECT} ${whereSql} ORDER BY e.created_at DESC, e.id LIMIT ? OFFSET ?`, [...values, query.limit, (query.page - 1) * query.limit]),
    em.execute<Array<{ total: number }>>(`SELECT count(*)::int AS total FROM enrollments e ${whereSql}`, values),
  ]);
  return { items: rows.map((row) => enrollmentJson(row, embed)), total: count!.total, page: query.page, limit: query.limit };
}

/** `GET /enrollments`: the caller's own, each with `course {id, slug, title}`. */
export function listMyEnrollments(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, query: EnrollmentListQuery) {
  return page(deps.em, 'e.student_id = ?', [user.id], query, { course: true });
}

/** `GET /courses/:id/enrollments`: every student's progress (owner, admin). */
export async function listCourseEnrollments(deps: Pick<ServiceDeps, 'em'>, user: AuthUser, courseId: string, query: EnrollmentListQuery) {
  const { em } = deps;
  await requireCourseManager(em, courseId, user);
  return page(em, 'e.course_id = ?', [courseId], query, { student: true });
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
export async function updateEnrollment(deps: Pick<ServiceDeps, 'em' | 'publisher'>, user: AuthUser, enrollmentId: string, patch: EnrollmentPatch): Promise<EnrollmentJson> {
  const { em } = deps;
  const row = await enrollmentById(em, enrollmentId);
  if (!row) throw notFound('Enrollment');
  if (row.student_id !== user.id) throw forbidden('Only the student changes its enrollment');
  const sets: string[] = [];
  const params: unknown[] = [];
  if (patch.status) sets.push(`status = 'dropped'`);
  if (patch.rating !== undefined) {
    sets.push('rating = ?');
    params.push(patch.rating);
  }
  if (patch.review !== undefined) {
    sets.push('review = ?');
    params.push(patch.review);
  }
  await em.execute(`UPDATE enrollments SET ${sets.join(', ')}, updated_at = now() WHERE id = ?`, [...params, enrollmentId]);
  if (patch.status === 'dropped' && (ACCESS_GRANTING_STATUSES as readonly string[]).includes(row.status)) {
    deps.publisher.courseAccessRevoked({ courseId: row.course_id, userIds: [row.student_id] });
  }
  return enrollmentJson((await enrollmentById(em, enrollmentId))!, { course: true });
}
