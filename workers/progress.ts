import { randomUUID } from 'node:crypto';
import type { Job, JobsOptions } from 'bullmq';
import type { QueueDefinition, WorkerContext } from './queue-definition.js';
import { assertJobId } from './queue-definition.js';
import type { Queues } from './queues.js';
import { forEachEnrollmentBatch, recalculateCourseEnrollments, recalculateEnrollment } from '../server/modules/progress/progress.service.js';
import type { ProgressJobs } from '../server/modules/progress/progress-jobs.js';
import { QUEUE_CALL_TIMEOUT_MS, withTimeout } from '../server/platform/redis.js';

/** One enrollment to recalculate, or a course whose enrollments all need it (lessons changed). */
export type ProgressPayload = { enrollmentId: string } | { courseId: string };

export type ProgressResult =
  | { enrollmentId: string; found: boolean; progressPercentage?: number; justCompleted?: boolean }
  | { courseId: string; enqueued: number };

/** Enrollment jobs a course job adds per `addBulk` call. */
export const COURSE_FANOUT_BATCH = 500;

const deduplicationId = (payload: ProgressPayload) =>
  'enrollmentId' in payload ? `progress-enrollment-${payload.enrollmentId}` : `progress-course-${payload.courseId}`;

/**
 * Job options that deduplicate recalculations per enrollment (or course) while keeping the last
 * request: a request while one is waiting is dropped (the waiting job will read the rows as they
 * are when it runs); a request while one is active is kept and runs once the active one ends
 * (the active one may have read the rows before the write that asked). A plain `jobId` would
 * drop that last write; BullMQ's `keepLastIfActive` deduplication keeps it. Job ids are unique
 * per request for the same reason.
 */
export function progressJobOptions(payload: ProgressPayload): JobsOptions {
  return { deduplication: { id: deduplicationId(payload), keepLastIfActive: true } };
}

/**
 * `progress`: recalculates an enrollment from its lesson_progress rows, pushes `progress:updated`
 * (a completion enqueues the certificate inside `recalculateEnrollment`); a course job pages
 * through the course's enrollments and enqueues one job each.
 */
export const progressQueue: QueueDefinition<ProgressPayload, ProgressResult> = {
  name: 'progress',
  defaultJobOptions: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 1000 },
  },
  concurrency: (config) => config.progressConcurrency,
  jobId: (payload) => assertJobId(`${deduplicationId(payload)}-${randomUUID()}`),
  async process(job: Job<ProgressPayload, ProgressResult>, ctx: WorkerContext) {
    const em = ctx.orm.em.fork();
    const payload = job.data;
    if ('courseId' in payload) {
      if (!ctx.queues) {
        const results = await recalculateCourseEnrollments(em, payload.courseId);
        for (const result of results) await ctx.events?.progressUpdated?.(result.progress);
        return { courseId: payload.courseId, enqueued: 0 };
      }
      let enqueued = 0;
      const queue = ctx.queues.get('progress');
      await forEachEnrollmentBatch(em, payload.courseId, COURSE_FANOUT_BATCH, async (ids) => {
        await queue.addBulk(
          ids.map((enrollmentId) => {
            const data = { enrollmentId };
            return { name: progressQueue.name, data, opts: { jobId: progressQueue.jobId(data), ...progressJobOptions(data) } };
          }),
        );
        enqueued += ids.length;
      });
      return { courseId: payload.courseId, enqueued };
    }
    const result = await recalculateEnrollment(em, payload.enrollmentId);
    if (!result) return { enrollmentId: payload.enrollmentId, found: false };
    await ctx.events?.progressUpdated?.(result.progress);
    return { enrollmentId: payload.enrollmentId, found: true, progressPercentage: result.progress.progressPercentage, justCompleted: result.justCompleted };
  },
};

/**
 * The `ProgressJobs` of a process with queues. An enqueue that fails or does not answer within
 * `timeoutMs` (Redis down or hung: the queue connection waits for Redis rather than failing) is
 * given up on, so the request that caused it is not held: a certificate is then issued by the
 * sweep, and a course's recalculation runs in the caller instead. An enqueue given up on may
 * still land when Redis answers again; both jobs are idempotent.
 */
export function queueProgressJobs(queues: Queues, logger: { warn(obj: object, msg: string): void }, timeoutMs = QUEUE_CALL_TIMEOUT_MS): ProgressJobs {
  return {
    async enrollmentCompleted(enrollmentId) {
      await withTimeout(queues.add('certificates', { enrollmentId }), timeoutMs, 'enqueueing the certificate').catch((error: unknown) =>
        logger.warn({ err: error, enrollmentId }, 'enqueueing the certificate failed; the sweep will issue it'),
      );
    },
    async courseLessonsChanged(courseId) {
      const data = { courseId };
      await withTimeout(queues.add('progress', data, progressJobOptions(data)), timeoutMs, 'enqueueing the recalculation');
    },
  };
}
