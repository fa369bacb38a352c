import { DelayedError, type Job } from 'bullmq';
import type { Processor } from './processor.js';
import type { QuizDeadlinePayload } from '../server/platform/queues/contract.js';
import { gradeAtDeadline } from '../server/modules/attempts/attempts.service.js';

export interface QuizDeadlineResult {
  graded: boolean;
  status: string;
}

/**
 * `quiz-deadlines`: one delayed job per timed attempt, due at deadline + grace, that grades the
 * attempt with its saved answers. Grading is idempotent (row lock + status check), so a job that
 * races the student's submit, or runs twice, grades once. Redis may lose jobs: the periodic
 * sweep grades overdue attempts from the database.
 */
export const quizDeadlinesProcessor: Processor<'quiz-deadlines', QuizDeadlineResult> = {
  queue: 'quiz-deadlines',
  concurrency: () => 10,
  async process(job: Job<QuizDeadlinePayload, QuizDeadlineResult>, ctx, token) {
    const outcome = await gradeAtDeadline(ctx.deps(), job.data.attemptId);
    if ('dueAt' in outcome) {
      // Early (clock skew between processes): come back when it is due.
      await job.moveToDelayed(outcome.dueAt + 50, token);
      throw new DelayedError();
    }
    return outcome;
  },
};
