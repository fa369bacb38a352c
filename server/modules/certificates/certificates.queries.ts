// The certificates component's SQL (docs/data-access.md): the table is reached only through
// these statements, whose guarantees (`ON CONFLICT`, the claimed announcement) are the point.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EnrollmentStatus, ICertificate } from '../../../entities/index.js';
import type { RowOf } from '../../platform/db/rows.js';
import { sqlTransaction, type SqlRunner } from '../../platform/db/sql.js';

/** A certificate with the names it shows, and the course's current owner (who manages it). */
export type CertificateRow = RowOf<ICertificate> & { instructor_id: string };

/** An enrollment as issuing sees it, with its certificate's columns when it has one. */
type IssueStateRow = { enrollment_status: EnrollmentStatus; enrollment_completed_at: string | null } & (
  ({ has_certificate: true } & CertificateRow) | { has_certificate: false }
);

/**
 * The certificate row, from `c` (a table or a CTE of certificates rows). The names are the row's
 * own, stored at issue; the course's current owner comes along only to decide who manages it.
 */
const CERTIFICATE_NAMES = `
  SELECT c.id, c.enrollment_id, c.student_id, c.course_id, c.certificate_number, c.pdf_path, c.completion_date,
         c.issued_at, c.is_revoked, c.revoked_at, c.student_name, c.course_title, co.instructor_id, c.instructor_name`;
const CERTIFICATE_JOINS = `
    JOIN courses co ON co.id = c.course_id`;
const CERTIFICATE_SELECT = `${CERTIFICATE_NAMES} FROM certificates c ${CERTIFICATE_JOINS}`;

export async function findCertificateByNumber(db: SqlRunner, number: string): Promise<CertificateRow | null> {
  const [row] = await db.execute<CertificateRow[]>(`${CERTIFICATE_SELECT} WHERE c.certificate_number = ?`, [number]);
  return row ?? null;
}

/** The enrollment's status and its certificate (if any), or undefined when there is no such enrollment. */
export async function findIssueState(
  db: SqlRunner,
  enrollmentId: string,
): Promise<{ status: EnrollmentStatus; completedAt: string | null; certificate: CertificateRow | undefined } | undefined> {
  const [found] = await db.execute<IssueStateRow[]>(
    `SELECT e.status AS enrollment_status, e.completed_at AS enrollment_completed_at, cert.id IS NOT NULL AS has_certificate, cert.*
       FROM enrollments e
       LEFT JOIN LATERAL (${CERTIFICATE_NAMES} FROM certificates c ${CERTIFICATE_JOINS} WHERE c.enrollment_id = e.id) cert ON true
      WHERE e.id = ?`,
    [enrollmentId],
  );
  if (!found) return undefined;
  if (!found.has_certificate) return { status: found.enrollment_status, completedAt: found.enrollment_completed_at, certificate: undefined };
  const { enrollment_status: status, enrollment_completed_at: completedAt, has_certificate: _has, ...certificate } = found;
  return { status, completedAt, certificate };
}

/**
 * Inserts the certificate of a completed enrollment with `number`, copying the student's name,
 * the course title and the instructor's name onto the row; `ON CONFLICT (enrollment_id) DO
 * NOTHING`, so the number of the first run is the number forever. Returns the row (inserted now
 * or by another run), or undefined when the enrollment is not completed.
 */
export async function insertCertificate(db: SqlRunner, enrollmentId: string, number: string): Promise<CertificateRow | undefined> {
  // The inserted row comes from the CTE; when another run inserted first (and committed before
  // this statement began) it is read from the table.
  const [row] = await db.execute<CertificateRow[]>(
    `WITH inserted AS (
       INSERT INTO certificates (enrollment_id, student_id, course_id, certificate_number, completion_date, student_name, course_title, instructor_name)
       SELECT e.id, e.student_id, e.course_id, ?, coalesce(e.completed_at, now()), s.full_name, co.title, i.full_name
         FROM enrollments e
         JOIN users s ON s.id = e.student_id
         JOIN courses co ON co.id = e.course_id
         JOIN users i ON i.id = co.instructor_id
        WHERE e.id = ? AND e.status = 'completed'
       ON CONFLICT (enrollment_id) DO NOTHING RETURNING *)
     ${CERTIFICATE_NAMES} FROM (SELECT * FROM inserted UNION ALL SELECT * FROM certificates WHERE enrollment_id = ?) c ${CERTIFICATE_JOINS}`,
    [number, enrollmentId, enrollmentId],
  );
  if (row) return row;
  // …or not even that, when it committed while this statement ran: read it now.
  return (await db.execute<CertificateRow[]>(`${CERTIFICATE_SELECT} WHERE c.enrollment_id = ?`, [enrollmentId]))[0];
}

/**
 * Records the PDF's key and claims the announcement: `enrollments.certificate_issued_at` flips
 * from null in the same transaction. True for the one caller that flipped it.
 *
 * An explicit transaction, not a statement of its own: PostgreSQL commits a lone statement even
 * when the client died while it waited for a lock, and that dead worker's claim would keep
 * everyone else from announcing. COMMIT has to come from a live worker.
 */
export async function claimAnnouncement(em: EntityManager, enrollmentId: string, certificateId: string, pdfKey: string): Promise<boolean> {
  const claimed = await sqlTransaction(em, (tx) =>
    tx.execute<Array<{ id: string }>>(
      `WITH path AS (UPDATE certificates SET pdf_path = ? WHERE id = ? AND pdf_path IS DISTINCT FROM ?)
       UPDATE enrollments SET certificate_issued_at = now() WHERE id = ? AND certificate_issued_at IS NULL RETURNING id`,
      [pdfKey, certificateId, pdfKey, enrollmentId],
    ),
  );
  return claimed.length > 0;
}

export async function setPdfPath(db: SqlRunner, certificateId: string, pdfKey: string): Promise<void> {
  await db.execute('UPDATE certificates SET pdf_path = ? WHERE id = ?', [pdfKey, certificateId]);
}

/** A student's certificates, newest first, and how many there are. */
export async function listStudentCertificates(
  db: SqlRunner,
  studentId: string,
  { limit, offset }: { limit: number; offset: number },
): Promise<{ rows: CertificateRow[]; total: number }> {
  const [rows, [count]] = await Promise.all([
    db.execute<CertificateRow[]>(`${CERTIFICATE_SELECT} WHERE c.student_id = ? ORDER BY c.issued_at DESC, c.id LIMIT ? OFFSET ?`, [studentId, limit, offset]),
    db.execute<Array<{ total: number }>>('SELECT count(*)::int AS total FROM certificates WHERE student_id = ?', [studentId]),
  ]);
  return { rows, total: count.total };
}

/** Idempotent: the first `revoked_at` stays. */
export async function markRevoked(db: SqlRunner, certificateId: string): Promise<void> {
  await db.execute('UPDATE certificates SET is_revoked = true, revoked_at = coalesce(revoked_at, now()) WHERE id = ?', [certificateId]);
}

/**
 * Completed enrollments whose certificate is not finished (no row, no PDF, or never announced),
 * oldest completion first.
 */
export async function findUnfinishedIssues(db: SqlRunner, limit: number): Promise<string[]> {
  const rows = await db.execute<Array<{ id: string }>>(
    `SELECT e.id FROM enrollments e LEFT JOIN certificates c ON c.enrollment_id = e.id
      WHERE e.status = 'completed' AND (c.id IS NULL OR c.pdf_path IS NULL OR e.certificate_issued_at IS NULL)
      ORDER BY e.completed_at LIMIT ?`,
    [limit],
  );
  return rows.map((row) => row.id);
}
