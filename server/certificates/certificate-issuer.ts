import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config.js';
import { TEMP_FOLDER } from '../storage/local-storage.js';
import { newCertificateNumber } from './certificate-number.js';
import type { CertificatePdfData } from './certificate-pdf.js';
import type { PdfRenderer } from './pdf-renderer.js';

/** What issuing and serving certificates need. */
export interface CertificateDeps {
  config: Pick<Config, 'publicUrl' | 'storageDir'>;
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

export const CERTIFICATE_SELECT = `
  SELECT c.id, c.enrollment_id, c.student_id, c.course_id, c.certificate_number, c.pdf_path, c.completion_date,
         c.issued_at, c.is_revoked, c.revoked_at, s.full_name AS student_name, co.title AS course_title,
         co.instructor_id, i.full_name AS instructor_name
    FROM certificates c
    JOIN users s ON s.id = c.student_id
    JOIN courses co ON co.id = c.course_id
    JOIN users i ON i.id = co.instructor_id`;

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

export const certificatePdfUrl = (config: Pick<Config, 'publicUrl'>, number: string) =>
  `${config.publicUrl}/api/certificates/${encodeURIComponent(number)}/pdf`;
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
 * render thread) when it is missing. The PDF is written to a temporary file in the storage
 * root's spool folder and renamed into place, so readers never see half a file and a crash
 * leaves only a spool that the storage sweeps away. Two concurrent renders of one certificate
 * both rename a complete file onto the same key: the last one wins, with identical content.
 */
export async function ensureCertificatePdf(em: EntityManager, deps: CertificateDeps, certificate: CertificateRow): Promise<string> {
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
  if (certificate.pdf_path !== key) {
    await em.execute('UPDATE certificates SET pdf_path = ? WHERE id = ?', [key, certificate.id]);
    certificate.pdf_path = key;
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
 * 1. the row: `INSERT … ON CONFLICT (enrollment_id) DO NOTHING`, then read back, so the number
 *    drawn by the first run is the number forever;
 * 2. the PDF (see `ensureCertificatePdf`);
 * 3. the announcement: `enrollments.certificate_issued_at` flips from null in a transaction of
 *    its own, after the PDF exists. Only the run that flips it gets `announce`, and a worker
 *    that dies before committing cannot flip it (its transaction is rolled back), so the event
 *    is sent once. A crash between the commit and the emit loses that one event; the
 *    certificate itself is listed by `GET /api/certificates`.
 */
export async function issueCertificate(em: EntityManager, deps: CertificateDeps, enrollmentId: string): Promise<IssueOutcome> {
  const [enrollment] = await em.execute<Array<{ status: string; completed_at: string | null }>>(
    'SELECT status, completed_at FROM enrollments WHERE id = ?',
    [enrollmentId],
  );
  if (!enrollment) return { status: 'missing' };
  if (enrollment.status === 'completed') {
    const completedAt = enrollment.completed_at ? new Date(enrollment.completed_at) : new Date();
    await em.execute(
      `INSERT INTO certificates (enrollment_id, student_id, course_id, certificate_number, completion_date)
       SELECT id, student_id, course_id, ?, coalesce(completed_at, now()) FROM enrollments WHERE id = ? AND status = 'completed'
       ON CONFLICT (enrollment_id) DO NOTHING`,
      [newCertificateNumber(completedAt), enrollmentId],
    );
  }
  // A certificate issued before the enrollment was dropped is finished all the same.
  const [certificate] = await em.execute<CertificateRow[]>(`${CERTIFICATE_SELECT} WHERE c.enrollment_id = ?`, [enrollmentId]);
  if (!certificate) return { status: 'not-completed' };

  await ensureCertificatePdf(em, deps, certificate);

  const claimed = await em.transactional((tx) =>
    tx.execute<Array<{ id: string }>>(
      'UPDATE enrollments SET certificate_issued_at = now() WHERE id = ? AND certificate_issued_at IS NULL RETURNING id',
      [enrollmentId],
    ),
  );
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
