import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../../config/config.js';
import { TEMP_FOLDER } from '../../platform/storage/local-storage.js';
import { sqlTransaction } from '../../platform/db/sql.js';
import { deriveUrlKey, signUrl } from '../../platform/signed-url.js';
import { newCertificateNumber } from '../../domain/certificate-number.js';
import type { CertificatePdfData } from '../../platform/pdf/certificate-pdf.js';
import type { PdfRenderer } from '../../platform/pdf/pdf-renderer.js';

/** What issuing and serving certificates need. */
export interface CertificateDeps {
  config: CertificateUrlConfig & Pick<Config, 'storageDir'>;
  renderer: Pick<PdfRenderer, 'render'>;
}

/** A certificate with the names it shows. */
export interface CertificateRow {
  id: string;
  enrollment_id: string | null;
  student_id: string;
  course_id: string;
  certificate_number: string;
  pdf_path: string | null;
  completion_date: string;
  issued_at: string;
  is_revoked: boolean;
  revoked_at: string | null;
  student_name: string;
  course_title: string;
  instructor_id: string;
  instructor_name: string;
}

/**
 * The certificate row, from `c` (a table or a CTE of certificates rows). The names are the row's
 * own, stored at issue; the course's current owner comes along only to decide who manages it.
 */
const CERTIFICATE_NAMES = `
  SELECT c.id, c.enrollment_id, c.student_id, c.course_id, c.certificate_number, c.pdf_path, c.completion_date,
         c.issued_at, c.is_revoked, c.revoked_at, c.student_name, c.course_title, co.instructor_id, c.instructor_name`;
const CERTIFICATE_JOINS = `
    JOIN courses co ON co.id = c.course_id`;

export const CERTIFICATE_SELECT = `${CERTIFICATE_NAMES} FROM certificates c ${CERTIFICATE_JOINS}`;

/** `certificate:issued` for the student, as the realtime layer sends it. */
export interface IssuedCertificate {
  certificateNumber: string;
  courseId: string;
  studentId: string;
  pdfUrl: string;
}

export type IssueOutcome =
  | { status: 'missing' | 'not-completed' }
  /** `announce` is set for exactly one run per enrollment: the one that claimed the announcement. */
  | { status: 'issued'; certificate: CertificateRow; announce: IssuedCertificate | null };

/** What certificate links are made from. */
export type CertificateUrlConfig = Pick<Config, 'publicUrl' | 'jwtSecret' | 'certificateUrlTtlSeconds'>;

/** The resource a certificate link's signature covers. */
export const certificateUrlResource = (number: string) => `certificate:${number}`;

/**
 * The PDF's address as a signed link (`?expires&signature`, see `signUrl`), valid without a token
 * for `certificateUrlTtlSeconds`: it is sent in `certificate:issued` and listed, and a browser
 * opens it as a plain link. The bearer route behind it works without the query as well.
 */
export function certificatePdfUrl(config: CertificateUrlConfig, number: string, nowMs = Date.now()): string {
  const expires = Math.floor(nowMs / 1000) + config.certificateUrlTtlSeconds;
  const signature = signUrl(deriveUrlKey(config.jwtSecret, 'certificate'), certificateUrlResource(number), expires);
  return `${config.publicUrl}/api/certificates/${encodeURIComponent(number)}/pdf?expires=${expires}&signature=${signature}`;
}
export const certificateVerificationUrl = (config: Pick<Config, 'publicUrl'>, number: string) =>
  `${config.publicUrl}/api/certificates/verify/${encodeURIComponent(number)}`;

/** The storage key of a certificate's PDF: named after the row, so every replay writes the same object. */
export const certificatePdfKey = (certificateId: string) => `certificates/${certificateId}.pdf`;

export async function findCertificateByNumber(em: EntityManager, number: string): Promise<CertificateRow | null> {
  const [row] = await em.execute<CertificateRow[]>(`${CERTIFICATE_SELECT} WHERE c.certificate_number = ?`, [number]);
  return row ?? null;
}

/**
 * Makes sure the certificate's PDF exists in storage and `pdf_path` names it; renders it (in the
 * render thread) when it is missing (see `ensurePdfFile`).
 */
export async function ensureCertificatePdf(em: EntityManager, deps: CertificateDeps, certificate: CertificateRow): Promise<string> {
  const key = await ensurePdfFile(deps, certificate);
  if (certificate.pdf_path !== key) {
    await em.execute('UPDATE certificates SET pdf_path = ? WHERE id = ?', [key, certificate.id]);
    certificate.pdf_path = key;
  }
  return key;
}

/**
 * Makes sure the certificate's PDF exists in storage, and returns its key. The PDF is written to
 * a temporary file in the storage root's spool folder and renamed into place, so readers never
 * see half a file and a crash leaves only a spool that the storage sweeps away. Two concurrent
 * renders of one certificate both rename a complete file onto the same key: the last one wins,
 * with identical content.
 */
async function ensurePdfFile(deps: CertificateDeps, certificate: CertificateRow): Promise<string> {
  const key = certificatePdfKey(certificate.id);
  const target = resolve(deps.config.storageDir, key);
  const exists = await stat(target).then((info) => info.isFile(), () => false);
  if (!exists) {
    const spool = join(resolve(deps.config.storageDir), TEMP_FOLDER, `${randomUUID()}.part`);
    await mkdir(dirname(spool), { recursive: true });
    await mkdir(dirname(target), { recursive: true });
    try {
      await deps.renderer.render(pdfData(deps, certificate), spool);
      await rename(spool, target);
    } catch (error) {
      await rm(spool, { force: true });
      throw error;
    }
  }
  return key;
}

function pdfData(deps: CertificateDeps, certificate: CertificateRow): CertificatePdfData {
  return {
    certificateNumber: certificate.certificate_number,
    studentName: certificate.student_name,
    courseTitle: certificate.course_title,
    instructorName: certificate.instructor_name,
    completionDate: new Date(certificate.completion_date).toISOString(),
    verificationUrl: certificateVerificationUrl(deps.config, certificate.certificate_number),
  };
}

/**
 * Issues the certificate of a completed enrollment; every step is idempotent, so a replay (a
 * retry, a duplicate job, a job taken over from a crashed worker) finishes what is missing and
 * changes nothing else:
 *
 * 1. the row: read with the enrollment; if there is none and the enrollment is completed,
 *    `INSERT … ON CONFLICT (enrollment_id) DO NOTHING` and the row read back in the same
 *    statement, so the number drawn by the first run is the number forever; the same statement
 *    copies the student's name, the course title and the instructor's name onto the row, which
 *    from then on is all that verification, the list and every (re-)render show;
 * 2. the PDF file (see `ensurePdfFile`);
 * 3. the announcement: `enrollments.certificate_issued_at` flips from null, with `pdf_path`, in
 *    a transaction of its own, after the PDF exists. Only the run that flips it gets `announce`,
 *    and a worker that dies before committing cannot flip it (its transaction is rolled back), so
 *    the event is sent once. A crash between the commit and the emit loses that one event; the
 *    certificate itself is listed by `GET /api/certificates`.
 *
 * Five statements on a first issue (two of them BEGIN and COMMIT), two commits (bench scenario
 * 8(a): it was seven and three).
 */
export async function issueCertificate(em: EntityManager, deps: CertificateDeps, enrollmentId: string): Promise<IssueOutcome> {
  const [found] = await em.execute<Array<CertificateRow & { enrollment_status: string; enrollment_completed_at: string | null; has_certificate: boolean }>>(
    `SELECT e.status AS enrollment_status, e.completed_at AS enrollment_completed_at, cert.id IS NOT NULL AS has_certificate, cert.*
       FROM enrollments e
       LEFT JOIN LATERAL (${CERTIFICATE_NAMES} FROM certificates c ${CERTIFICATE_JOINS} WHERE c.enrollment_id = e.id) cert ON true
      WHERE e.id = ?`,
    [enrollmentId],
  );
  if (!found) return { status: 'missing' };
  // A certificate issued before the enrollment was dropped is finished all the same.
  let certificate: CertificateRow | undefined = found.has_certificate ? withoutEnrollment(found) : undefined;
  if (!certificate && found.enrollment_status === 'completed') {
    const completedAt = found.enrollment_completed_at ? new Date(found.enrollment_completed_at) : new Date();
    // The inserted row comes from the CTE; when another run inserted first (and committed before
    // this statement began) it is read from the table.
    [certificate] = await em.execute<CertificateRow[]>(
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
      [newCertificateNumber(completedAt), enrollmentId, enrollmentId],
    );
    // …or not even that, when it committed while this statement ran: read it now.
    certificate ??= (await em.execute<CertificateRow[]>(`${CERTIFICATE_SELECT} WHERE c.enrollment_id = ?`, [enrollmentId]))[0];
  }
  if (!certificate) return { status: 'not-completed' };

  const key = await ensurePdfFile(deps, certificate);

  // An explicit transaction, not a statement of its own: PostgreSQL commits a lone statement even
  // when the client died while it waited for a lock, and that dead worker's claim would keep
  // everyone else from announcing. COMMIT has to come from a live worker.
  const claimed = await sqlTransaction(em, (tx) =>
    tx.execute<Array<{ id: string }>>(
      `WITH path AS (UPDATE certificates SET pdf_path = ? WHERE id = ? AND pdf_path IS DISTINCT FROM ?)
       UPDATE enrollments SET certificate_issued_at = now() WHERE id = ? AND certificate_issued_at IS NULL RETURNING id`,
      [key, certificate.id, key, enrollmentId],
    ),
  );
  certificate.pdf_path = key;
  const announce =
    claimed.length > 0 && !certificate.is_revoked
      ? {
          certificateNumber: certificate.certificate_number,
          courseId: certificate.course_id,
          studentId: certificate.student_id,
          pdfUrl: certificatePdfUrl(deps.config, certificate.certificate_number),
        }
      : null;
  return { status: 'issued', certificate, announce };
}

function withoutEnrollment(row: CertificateRow & { enrollment_status: string; enrollment_completed_at: string | null; has_certificate: boolean }): CertificateRow {
  const { enrollment_status: _status, enrollment_completed_at: _completedAt, has_certificate: _has, ...certificate } = row;
  return certificate;
}
