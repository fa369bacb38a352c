import type { Job } from 'bullmq';
import type { Processor, WorkerContext } from './processor.js';
import type { ProgressPayload } from '../server/platform/queues/contract.js';
import { forEachEnrollmentBatch, refreshEnrollmentProgress } from '../server/modules/progress/progress.service.js';

export type ProgressResult =
  { enrollmentId: string; found: boolean; progressPercentage?: number; justCompleted?: boolean } | { courseId: string; enqueued: number };

/** Enrollment jobs a course job adds per `addBulk` call. */
export const COURSE_FANOUT_BATCH = 500;

/**
 * `progress`: recalculates an enrollment from its lesson_progress rows (the service pushes
 * `progress:updated`; a completion enqueues the certificate inside `recalculateEnrollment`); a course job pages
 * through the course's enrollments and enqueues one job each.
 */
export const progressProcessor: Processor<'progress', ProgressResult> = {
  queue: 'progress',
  concurrency: (config) => config.progressConcurrency,
  async process(job: Job<ProgressPayload, ProgressResult>, ctx: WorkerContext) {
    const deps = ctx.deps();
    const payload = job.data;
    if ('courseId' in payload) {
      let enqueued = 0;
      await forEachEnrollmentBatch(deps, payload.courseId, COURSE_FANOUT_BATCH, async (ids) => {
        await ctx.queues.addBulk(
          'progress',
          ids.map((enrollmentId) => ({ payload: { enrollmentId } })),
        );
        enqueued += ids.length;
      });
      return { courseId: payload.courseId, enqueued };
    }
    const result = await refreshEnrollmentProgress(deps, payload.enrollmentId);
    if (!result) return { enrollmentId: payload.enrollmentId, found: false };
    return { enrollmentId: payload.enrollmentId, found: true, progressPercentage: result.progress.progressPercentage, justCompleted: result.justCompleted };
  },
};
