import { mkdir, rename } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Config } from '../../config/config.js';
import type { AuthUser } from '../auth/auth-user.js';
import { forbidden, notFound } from '../../platform/errors.js';
import { toIso } from '../../platform/schemas.js';
import { deriveUrlKey, signUrl, verifyUrl } from '../../platform/signed-url.js';
import type { CertificatePdfData } from '../../platform/pdf/certificate-pdf.js';
import { newCertificateNumber, normaliseCertificateNumber } from '../../domain/certificate-number.js';
import { isManagerOf } from '../courses/courses.access.js';
import type { CertificateIssued, Clock, ServiceDeps } from '../deps.js';
import {
  claimAnnouncement,
  findCertificateByNumber,
  findIssueState,
  findUnfinishedIssues,
  insertCertificate,
  listStudentCertificates,
  markRevoked,
  setPdfPath,
  type CertificateRow,
} from './certificates.queries.js';
import type { CertificateJson, CertificateListQuery, CertificateVerification } from './certificates.schemas.js';
import { pageOf, pageWindow } from '../../platform/paging.js';

export type { CertificateRow } from './certificates.queries.js';

/** `certificate:issued` for the student, as the realtime layer sends it. */
export type IssuedCertificate = CertificateIssued;

export type IssueOutcome =
  | { status: 'missing' | 'not-completed' }
  /** `announce` is set for exactly one run per enrollment: the one that claimed (and reported) the announcement. */
  | { status: 'issued'; certificate: CertificateRow; announce: IssuedCertificate | null };

/** What certificate links are made from. */
export type CertificateUrlConfig = Pick<Config, 'publicUrl' | 'jwtSecret' | 'certificateUrlTtlSeconds'>;

/** What rendering a certificate's PDF into storage needs. */
type PdfDeps = Pick<ServiceDeps, 'em' | 'config' | 'storage' | 'pdf'>;

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

export function certificateJson(deps: { config: CertificateUrlConfig; clock: Clock }, row: CertificateRow): CertificateJson {
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
    pdfUrl: certificatePdfUrl(deps.config, row.certificate_number, deps.clock.now().getTime()),
    verificationUrl: certificateVerificationUrl(deps.config, row.certificate_number),
  };
}

/**
 * Issues the certificate of a completed enrollment; every step is idempotent, so a replay (a
 * retry, a duplicate job, a job taken over from a crashed worker) finishes what is missing and
 * changes nothing else:
 *
 * 1. the row: read with the enrollment; if there is none and the enrollment is completed,
 *    inserted (`insertCertificate`), so the number drawn by the first run is the number forever;
 *    the names copied onto it at issue are all that verification, the list and every
 *    (re-)render show;
 * 2. the PDF file (see `ensurePdfFile`);
 * 3. the announcement: `enrollments.certificate_issued_at` flips from null, with `pdf_path`, in
 *    a transaction of its own, after the PDF exists (`claimAnnouncement`). Only the run that flips
 *    it reports `deps.publisher.certificateIssued` (and returns it as `announce`), and a worker
 *    that dies before committing cannot flip it (its transaction is rolled back), so the event is
 *    sent once. A crash between the commit and the report loses that one event; the certificate
 *    itself is listed by `GET /api/certificates`.
 *
 * Five statements on a first issue (two of them BEGIN and COMMIT), two commits.
 */
export async function issueCertificate(
  deps: Pick<ServiceDeps, 'em' | 'config' | 'storage' | 'pdf' | 'publisher' | 'clock'>,
  enrollmentId: string,
): Promise<IssueOutcome> {
  const found = await findIssueState(deps.em, enrollmentId);
  if (!found) return { status: 'missing' };
  // A certificate issued before the enrollment was dropped is finished all the same.
  let certificate = found.certificate;
  if (!certificate && found.status === 'completed') {
    const completedAt = found.completedAt ? new Date(found.completedAt) : deps.clock.now();
    certificate = await insertCertificate(deps.em, enrollmentId, newCertificateNumber(completedAt));
  }
  if (!certificate) return { status: 'not-completed' };

  const key = await ensurePdfFile(deps, certificate);
  const claimed = await claimAnnouncement(deps.em, enrollmentId, certificate.id, key);
  certificate.pdf_path = key;
  if (!claimed || certificate.is_revoked) return { status: 'issued', certificate, announce: null };
  const announce: IssuedCertificate = {
    certificateNumber: certificate.certificate_number,
    courseId: certificate.course_id,
    studentId: certificate.student_id,
    pdfUrl: certificatePdfUrl(deps.config, certificate.certificate_number, deps.clock.now().getTime()),
  };
  deps.publisher.certificateIssued(announce);
  return { status: 'issued', certificate, announce };
}

/**
 * The sweep's part: gives completed enrollments the certificate they lack (no row, no PDF, or
 * never announced: a lost job, Redis down when the enrollment completed, a job that used up its
 * attempts). Each is queued again; enrollments whose job is still waiting or running are left to
 * it. When Redis cannot be reached the certificates are issued here instead (the issuer is
 * idempotent: one row, one PDF, one `certificate:issued` whoever gets there). Returns how many it
 * queued or issued.
 */
export async function issueMissingCertificates(
  deps: Pick<ServiceDeps, 'em' | 'config' | 'storage' | 'pdf' | 'publisher' | 'clock' | 'jobs' | 'log'>,
  limit = 1000,
): Promise<number> {
  let queueReachable = true;
  let done = 0;
  for (const enrollmentId of await findUnfinishedIssues(deps.em, limit)) {
    if (queueReachable) {
      const queued = await deps.jobs.requeueCertificate(enrollmentId);
      if (queued === 'queued') done++;
      if (queued !== 'unreachable') continue;
      queueReachable = false;
      deps.log.warn('certificate queue unreachable; the sweep issues missing certificates itself');
    }
    if ((await issueCertificate({ ...deps, em: deps.em.fork() }, enrollmentId)).status === 'issued') done++;
  }
  return done;
}

/**
 * Makes sure the certificate's PDF exists in storage, and returns its key. The PDF is written to
 * a temporary file in the storage's spool folder and renamed into place, so readers never see
 * half a file and a crash leaves only a spool that the storage sweeps away. Two concurrent
 * renders of one certificate both rename a complete file onto the same key: the last one wins,
 * with identical content.
 */
async function ensurePdfFile(deps: Omit<PdfDeps, 'em'>, certificate: CertificateRow): Promise<string> {
  const key = certificatePdfKey(certificate.id);
  if (await deps.storage.stat(key)) return key;
  const spool = await deps.storage.createTempPath();
  // The storage has no "put at this key": the key is the row's, so the file is renamed onto it.
  const target = resolve(deps.config.storageDir, key);
  await mkdir(dirname(target), { recursive: true });
  try {
    await deps.pdf.render(pdfData(deps.config, certificate), spool);
    await rename(spool, target);
  } catch (error) {
    await deps.storage.discardTemp(spool);
    throw error;
  }
  return key;
}

/** Makes sure the PDF exists in storage and `pdf_path` names it; renders it when it is missing. */
async function ensureCertificatePdf(deps: PdfDeps, certificate: CertificateRow): Promise<string> {
  const key = await ensurePdfFile(deps, certificate);
  if (certificate.pdf_path !== key) {
    await setPdfPath(deps.em, certificate.id, key);
    certificate.pdf_path = key;
  }
  return key;
}

function pdfData(config: Pick<Config, 'publicUrl'>, certificate: CertificateRow): CertificatePdfData {
  return {
    certificateNumber: certificate.certificate_number,
    studentName: certificate.student_name,
    courseTitle: certificate.course_title,
    instructorName: certificate.instructor_name,
    completionDate: new Date(certificate.completion_date).toISOString(),
    verificationUrl: certificateVerificationUrl(config, certificate.certificate_number),
  };
}

async function byNumber(deps: Pick<ServiceDeps, 'em'>, raw: string): Promise<CertificateRow> {
  const number = normaliseCertificateNumber(raw);
  const row = number ? await findCertificateByNumber(deps.em, number) : null;
  if (!row) throw notFound('Certificate');
  return row;
}

/** `GET /certificates`: the caller's own, newest first. */
export async function listMyCertificates(deps: Pick<ServiceDeps, 'em' | 'config' | 'clock'>, user: AuthUser, query: CertificateListQuery) {
  const { rows, total } = await listStudentCertificates(deps.em, user.id, pageWindow(query));
  return pageOf(
    rows.map((row) => certificateJson(deps, row)),
    total,
    query,
  );
}

/** Who asks for a PDF: a signed-in user, or whoever holds a signed link (`certificatePdfUrl`). */
export type PdfAccess = { user: AuthUser } | { signed: { expires: number; signature: string } };

/** A certificate's PDF, ready to send. */
export interface CertificatePdfFile {
  certificate: CertificateRow;
  /** Bytes. */
  size: number;
  stream: Readable;
}

/**
 * `GET /certificates/:number/pdf`: the student, the course owner and admins, or a signed link.
 * Renders the PDF again (in the render thread) when the file went missing, and opens it. A link
 * is checked before the number is looked up, so a forged one learns nothing.
 */
export async function certificatePdfFor(
  deps: Pick<ServiceDeps, 'em' | 'config' | 'storage' | 'pdf' | 'clock'>,
  access: PdfAccess,
  number: string,
): Promise<CertificatePdfFile> {
  if ('signed' in access) {
    const { expires, signature } = access.signed;
    const key = deriveUrlKey(deps.config.jwtSecret, 'certificate');
    const nowSeconds = Math.floor(deps.clock.now().getTime() / 1000);
    const check = verifyUrl(key, certificateUrlResource(normaliseCertificateNumber(number) ?? number), expires, signature, nowSeconds);
    if (check !== 'valid') throw forbidden(check === 'expired' ? 'This link has expired' : 'This link is not valid');
  }
  const row = await byNumber(deps, number);
  if ('user' in access && row.student_id !== access.user.id && !isManagerOf(access.user, row.instructor_id)) {
    throw forbidden('Only the student, the course owner and admins download this certificate');
  }
  const key = await ensureCertificatePdf(deps, row);
  const info = await deps.storage.stat(key);
  const stream = await deps.storage.createReadStream(key);
  return { certificate: row, size: info!.size, stream };
}

/** `GET /certificates/verify/:number`: public. */
export async function verifyCertificate(deps: Pick<ServiceDeps, 'em'>, number: string): Promise<CertificateVerification> {
  const row = await byNumber(deps, number);
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
export async function revokeCertificate(deps: Pick<ServiceDeps, 'em' | 'config' | 'clock'>, user: AuthUser, number: string): Promise<CertificateJson> {
  const row = await byNumber(deps, number);
  if (!isManagerOf(user, row.instructor_id)) throw forbidden('Only the course owner and admins revoke its certificates');
  await markRevoked(deps.em, row.id);
  return certificateJson(deps, (await findCertificateByNumber(deps.em, row.certificate_number))!);
}
