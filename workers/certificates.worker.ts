import type { Job } from 'bullmq';
import type { Processor, WorkerContext } from './processor.js';
import type { CertificatePayload } from '../server/platform/queues/contract.js';
import { issueCertificate } from '../server/modules/certificates/certificates.service.js';

export interface CertificateResult {
  status: 'missing' | 'not-completed' | 'issued';
  certificateNumber?: string;
  /** This run announced the certificate (`certificate:issued`); true for one run per certificate. */
  announced?: boolean;
}

/**
 * `certificates`: issues the certificate of a completed enrollment (row, PDF, one
 * `certificate:issued`). Idempotent end to end (see `issueCertificate`), so BullMQ's
 * at-least-once delivery, retries and a job taken over from a dead worker all end in one row,
 * one PDF and one event.
 */
export const certificatesProcessor: Processor<'certificates', CertificateResult> = {
  queue: 'certificates',
  concurrency: (config) => config.certificateConcurrency,
  // A launch's close or a regrade can complete hundreds of courses at once: a cap spreads their
  // certificates out over time (CERTIFICATE_RATE_PER_SECOND; none by default).
  limiter: (config) => (config.certificateRatePerSecond > 0 ? { max: config.certificateRatePerSecond, duration: 1000 } : null),
  // Starting the render thread takes most of a second: pay it at start-up, not on the first certificate.
  start: (ctx) => ctx.pdf.warmUp(),
  async process(job: Job<CertificatePayload, CertificateResult>, ctx: WorkerContext) {
    const outcome = await issueCertificate(ctx.deps(), job.data.enrollmentId);
    if (outcome.status !== 'issued') return { status: outcome.status };
    return { status: 'issued', certificateNumber: outcome.certificate.certificate_number, announced: !!outcome.announce };
  },
};
