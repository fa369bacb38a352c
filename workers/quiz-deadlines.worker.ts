import { DelayedError, type Job } from 'bullmq';
import type { Processor } from './processor.js';
import type { QuizDeadlinePayload } from '../server/platform/queues/contract.js';
import { gradeAtDeadline } from '../server/modules/attempts/attempts.service.js';

export interface QuizDeadlineResult {
  graded: boolean;
  status: string;
}

/**
 * `quiz-deadlines`: one delayed job per timed attempt, due at the end of its submit window +
 * grace, that finishes the attempt by its overdue policy (`gradeAtDeadline`: graded with its saved
 * answers, or abandoned). Finishing is idempotent (a conditional write, then a row lock), so a job
 * that races the student's submit, or runs twice, finishes once. A job early for the attempt as it
 * is now (clock skew, or a deadline moved later) re-delays itself. Redis may lose jobs: the
 * periodic sweep finishes overdue attempts from the database.
 */
export const quizDeadlinesProcessor: Processor<'quiz-deadlines', QuizDeadlineResult> = {
  queue: 'quiz-deadlines',
  concurrency: () => 10,
  async process(job: Job<QuizDeadlinePayload, QuizDeadlineResult>, ctx, token) {
    const outcome = await gradeAtDeadline(ctx.deps(), job.data.attemptId);
    if ('dueAt' in outcome) {
      // Early (clock skew between processes, or the deadline moved): come back when it is due.
      await job.moveToDelayed(outcome.dueAt + 50, token);
      throw new DelayedError();
    }
    return outcome;
  },
};
