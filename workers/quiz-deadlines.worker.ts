import { DelayedError, type Job } from 'bullmq';
import type { Processor } from './processor.js';
import type { QuizDeadlinePayload } from '../server/platform/queues/contract.js';
import { gradeAtDeadline } from '../server/modules/attempts/attempts.service.js';
import { finishLaunchWindow } from '../server/modules/live-sessions/launches.service.js';

export type QuizDeadlineResult = { graded: boolean; status: string } | { finished: number; settled: boolean; status: string };

/**
 * `quiz-deadlines`: one delayed job per timed attempt, due at the end of its submit window +
 * grace, that finishes the attempt by its overdue policy (`gradeAtDeadline`: graded with its saved
 * answers, or abandoned). Finishing is idempotent (a conditional write, then a row lock), so a job
 * that races the student's submit, or runs twice, finishes once. A job early for the attempt as it
 * is now (clock skew, or a deadline moved later) re-delays itself. Redis may lose jobs: the
 * periodic sweep finishes overdue attempts from the database. A launch has one job of its own at
 * its shared close (`{launchId}`), which finishes the attempts due then and settles the launch.
 */
export const quizDeadlinesProcessor: Processor<'quiz-deadlines', QuizDeadlineResult> = {
  queue: 'quiz-deadlines',
  concurrency: () => 10,
  async process(job: Job<QuizDeadlinePayload, QuizDeadlineResult>, ctx, token) {
    const { data } = job;
    const outcome = 'launchId' in data ? await finishLaunchWindow(ctx.deps(), data.launchId) : await gradeAtDeadline(ctx.deps(), data.attemptId);
    if ('dueAt' in outcome) {
      // Early (clock skew between processes, or the deadline moved): come back when it is due.
      await job.moveToDelayed(outcome.dueAt + 50, token);
      throw new DelayedError();
    }
    return outcome;
  },
};
