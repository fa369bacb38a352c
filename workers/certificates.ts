import type { Job } from 'bullmq';
import type { QueueDefinition, WorkerContext } from './queue-definition.js';
import type { Queues } from './queues.js';
import { assertJobId } from './queue-definition.js';
import { issueCertificate } from '../server/modules/certificates/certificates.issuer.js';
import { pdfRenderer } from '../server/platform/pdf/pdf-renderer.js';

export interface CertificatePayload {
  enrollmentId: string;
}

export interface CertificateResult {
  status: 'missing' | 'not-completed' | 'issued';
  certificateNumber?: string;
  /** This run announced the certificate (`certificate:issued`); true for one run per certificate. */
  announced?: boolean;
}

export const certificateJobId = (enrollmentId: string) => assertJobId(`certificate-${enrollmentId}`);

/**
 * `certificates`: issues the certificate of a completed enrollment (row, PDF, one
 * `certificate:issued`). Idempotent end to end (see `issueCertificate`), so BullMQ's
 * at-least-once delivery, retries and a job taken over from a dead worker all end in one row,
 * one PDF and one event. The job id is deterministic: duplicate completions while a job exists
 * add nothing; later ones run and find everything done.
 */
export const certificatesQueue: QueueDefinition<CertificatePayload, CertificateResult> = {
  name: 'certificates',
  defaultJobOptions: {
    attempts: 8,
    backoff: { type: 'exponential', delay: 1000 },
    // Kept an hour: long enough to look at, short enough that the id does not block a re-issue.
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { count: 5000 },
  },
  concurrency: (config) => config.certificateConcurrency,
  jobId: (payload) => certificateJobId(payload.enrollmentId),
  // Starting the render thread takes most of a second: pay it at start-up, not on the first certificate.
  start: () => pdfRenderer.warmUp(),
  async process(job: Job<CertificatePayload, CertificateResult>, ctx: WorkerContext) {
    const em = ctx.orm.em.fork();
    const outcome = await issueCertificate(em, { config: ctx.config, renderer: pdfRenderer }, job.data.enrollmentId);
    if (outcome.status !== 'issued') return { status: outcome.status };
    if (outcome.announce) {
      try {
        await ctx.events?.certificateIssued?.(outcome.announce);
      } catch (error) {
        // The announcement is claimed: retrying the job would not send it again anyway.
        ctx.logger.error({ err: error, enrollmentId: job.data.enrollmentId }, 'certificate:issued could not be sent');
      }
    }
    return { status: 'issued', certificateNumber: outcome.certificate.certificate_number, announced: !!outcome.announce };
  },
};

/**
 * Enqueues the certificate of an enrollment even when an earlier job under its id is finished
 * (a failed job that used up its attempts, or one that completed before the enrollment did):
 * that job is removed first. A waiting, delayed or active job is left alone.
 */
export async function enqueueCertificate(queues: Queues, enrollmentId: string): Promise<boolean> {
  const existing = await queues.get('certificates').getJob(certificateJobId(enrollmentId));
  if (existing) {
    const state = await existing.getState();
    if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return false;
    await existing.remove().catch(() => undefined);
  }
  await queues.add('certificates', { enrollmentId });
  return true;
}
