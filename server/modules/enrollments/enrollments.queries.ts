import type { EntityManager } from '@mikro-orm/postgresql';
import type { EnrollmentStatus, IEnrollment } from '../../../entities/index.js';
import type { RowOf } from '../../platform/db/rows.js';

/** An enrollment with its course's slug and title and its student's name and e-mail. */
export type EnrollmentRow = RowOf<IEnrollment, 'progressPercentage'> & {
  course_slug: string;
  course_title: string;
  student_name: string;
  student_email: string;
};

const SELECT = `SELECT e.*, c.slug AS course_slug, c.title AS course_title, u.full_name AS student_name, u.email AS student_email
  FROM enrollments e JOIN courses c ON c.id = e.course_id JOIN users u ON u.id = e.student_id`;

export async function enrollmentRow(em: EntityManager, id: string): Promise<EnrollmentRow | null> {
  const [row] = await em.execute<EnrollmentRow[]>(`${SELECT} WHERE e.id = ?`, [id]);
  return row ?? null;
}

/**
 * The student's enrollment in the course: a new one (`created`), or the existing one, reactivated
 * when it was dropped or expired. The unique (student, course) index decides between concurrent calls.
 */
export async function insertOrReactivateEnrollment(em: EntityManager, studentId: string, courseId: string): Promise<{ id: string; created: boolean }> {
  const [inserted] = await em.execute<Array<{ id: string }>>(
    `INSERT INTO enrollments (student_id, course_id) VALUES (?, ?)
     ON CONFLICT (student_id, course_id) DO NOTHING RETURNING id`,
    [studentId, courseId],
  );
  if (inserted) return { id: inserted.id, created: true };
  const [existing] = await em.execute<Array<{ id: string }>>(
    `UPDATE enrollments SET status = CASE WHEN status IN ('dropped', 'expired') THEN 'active' ELSE status END, updated_at = now()
      WHERE student_id = ? AND course_id = ? RETURNING id`,
    [studentId, courseId],
  );
  return { id: existing.id, created: false };
}

/** A page of one student's (`studentId`) or one course's (`courseId`) enrollments, newest first, and how many match. */
export async function enrollmentRows(
  em: EntityManager,
  filter: ({ studentId: string } | { courseId: string }) & { status?: EnrollmentStatus },
  page: { limit: number; offset: number },
): Promise<{ rows: EnrollmentRow[]; total: number }> {
  const filters = ['studentId' in filter ? 'e.student_id = ?' : 'e.course_id = ?'];
  const values: unknown[] = ['studentId' in filter ? filter.studentId : filter.courseId];
  if (filter.status) {
    filters.push('e.status = ?');
    values.push(filter.status);
  }
  const whereSql = `WHERE ${filters.join(' AND ')}`;
  const [rows, [count]] = await Promise.all([
    em.execute<EnrollmentRow[]>(`${SELECT} ${whereSql} ORDER BY e.created_at DESC, e.id LIMIT ? OFFSET ?`, [...values, page.limit, page.offset]),
    em.execute<Array<{ total: number }>>(`SELECT count(*)::int AS total FROM enrollments e ${whereSql}`, values),
  ]);
  return { rows, total: count.total };
}

/** Sets the given fields (those present) of an enrollment. */
export async function updateEnrollmentRow(
  em: EntityManager,
  id: string,
  patch: { status?: 'dropped'; rating?: number | null; review?: string | null },
): Promise<void> {
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
  await em.execute(`UPDATE enrollments SET ${sets.join(', ')}, updated_at = now() WHERE id = ?`, [...params, id]);
}
