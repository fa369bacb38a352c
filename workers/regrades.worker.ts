import type { Job } from 'bullmq';
import type { Processor } from './processor.js';
import type { RegradePayload } from '../server/platform/queues/contract.js';
import { failRegrade, runRegrade, type RegradeOutcome } from '../server/modules/regrades/regrades.service.js';

/**
 * `regrades`: runs a regrade (`runRegrade`), or resumes one whose worker died (BullMQ hands the
 * stalled job to another worker; the regrade continues after its last committed batch). A failure
 * is retried with backoff; the last one marks the regrade `failed`, which frees the quiz for key
 * corrections, and asking for the regrade again resumes it.
 */
export const regradesProcessor: Processor<'regrades', RegradeOutcome['status']> = {
  queue: 'regrades',
  // One regrade at a time per process: each is a long run of batches, and several would compete for the same database.
  concurrency: () => 1,
  async process(job: Job<RegradePayload, RegradeOutcome['status']>, ctx) {
    try {
      return (await runRegrade(ctx.deps(), job.data.regradeId)).status;
    } catch (error) {
      const lastTry = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (lastTry) await failRegrade(ctx.deps(), job.data.regradeId, error instanceof Error ? error.message : String(error));
      throw error;
    }
  },
};
