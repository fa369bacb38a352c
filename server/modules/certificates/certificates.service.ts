import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthUser } from '../../plugins/auth.js';
import { forbidden, notFound } from '../../platform/errors.js';
import { toIso } from '../../platform/schemas.js';
import { isManagerOf } from '../courses/courses.access.js';
import { normaliseCertificateNumber } from '../../domain/certificate-number.js';
import { deriveUrlKey, verifyUrl } from '../../platform/signed-url.js';
import {
  CERTIFICATE_SELECT,
  certificatePdfUrl,
  certificateUrlResource,
  certificateVerificationUrl,
  ensureCertificatePdf,
  findCertificateByNumber,
  type CertificateDeps,
  type CertificateRow,
  type CertificateUrlConfig,
} from './certificates.issuer.js';
import type { CertificateJson, CertificateListQuery, CertificateVerification } from './certificates.schemas.js';

export function certificateJson(deps: { config: CertificateUrlConfig }, row: CertificateRow): CertificateJson {
  return {
    id: row.id,
    certificateNumber: row.certificate_number,
    enrollmentId: row.enrollment_id,
    studentId: row.student_id,
    studentName: row.student_name,
    course: { id: row.course_id, title: row.course_title, instructorName: row.instructor_name },
    completionDate: toIso(row.completion_date),
    issuedAt: toIso(row.issued_at),
    isRevoked: row.is_revoked,
    revokedAt: row.revoked_at ? toIso(row.revoked_at) : null,
    pdfUrl: certificatePdfUrl(deps.config, row.certificate_number),
    verificationUrl: certificateVerificationUrl(deps.config, row.certificate_number),
  };
}

async function byNumber(em: EntityManager, raw: string): Promise<CertificateRow> {
  const number = normaliseCertificateNumber(raw);
  const row = number ? await findCertificateByNumber(em, number) : null;
  if (!row) throw notFound('Certificate');
  return row;
}

/** `GET /certificates`: the caller's own, newest first. */
export async function listMyCertificates(em: EntityManager, deps: { config: CertificateUrlConfig }, user: AuthUser, query: CertificateListQuery) {
  const [rows, [count]] = await Promise.all([
    em.execute<CertificateRow[]>(`${CERTIFICATE_SELECT} WHERE c.student_id = ? ORDER BY c.issued_at DESC, c.id LIMIT ? OFFSET ?`, [
      user.id,
      query.limit,
      (query.page - 1) * query.limit,
    ]),
    em.execute<Array<{ total: number }>>('SELECT count(*)::int AS total FROM certificates WHERE student_id = ?', [user.id]),
  ]);
  return { items: rows.map((row) => certificateJson(deps, row)), total: count!.total, page: query.page, limit: query.limit };
}

/** Who asks for a PDF: a signed-in user, or whoever holds a signed link (`certificatePdfUrl`). */
export type PdfAccess = { user: AuthUser } | { signed: { expires: number; signature: string } };

/**
 * `GET /certificates/:number/pdf`: the student, the course owner and admins, or a signed link.
 * Returns the storage key of the PDF, rendering it again (in the render thread) when the file
 * went missing. A link is checked before the number is looked up, so a forged one learns nothing.
 */
export async function certificatePdfFor(em: EntityManager, deps: CertificateDeps, access: PdfAccess, number: string) {
  if ('signed' in access) {
    const { expires, signature } = access.signed;
    const key = deriveUrlKey(deps.config.jwtSecret, 'certificate');
    const check = verifyUrl(key, certificateUrlResource(normaliseCertificateNumber(number) ?? number), expires, signature, Math.floor(Date.now() / 1000));
    if (check !== 'valid') throw forbidden(check === 'expired' ? 'This link has expired' : 'This link is not valid');
  }
  const row = await byNumber(em, number);
  if ('user' in access && row.student_id !== access.user.id && !isManagerOf(access.user, row.instructor_id)) {
    throw forbidden('Only the student, the course owner and admins download this certificate');
  }
  const key = await ensureCertificatePdf(em, deps, row);
  return { key, certificate: row };
}

/** `GET /certificates/verify/:number`: public. */
export async function verifyCertificate(em: EntityManager, number: string): Promise<CertificateVerification> {
  const row = await byNumber(em, number);
  return {
    valid: !row.is_revoked,
    revoked: row.is_revoked,
    certificateNumber: row.certificate_number,
    studentName: row.student_name,
    courseTitle: row.course_title,
    instructorName: row.instructor_name,
    completionDate: toIso(row.completion_date),
    issuedAt: toIso(row.issued_at),
  };
}

/** `POST /certificates/:number/revoke`: the course owner and admins. Idempotent: the first `revokedAt` stays. */
export async function revokeCertificate(em: EntityManager, deps: { config: CertificateUrlConfig }, user: AuthUser, number: string): Promise<CertificateJson> {
  const row = await byNumber(em, number);
  if (!isManagerOf(user, row.instructor_id)) throw forbidden('Only the course owner and admins revoke its certificates');
  await em.execute('UPDATE certificates SET is_revoked = true, revoked_at = coalesce(revoked_at, now()) WHERE id = ?', [row.id]);
  return certificateJson(deps, (await findCertificateByNumber(em, row.certificate_number))!);
}
