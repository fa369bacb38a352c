import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, type Job } from 'bullmq';
import type { Processor } from './processor.js';
import { DEADLINE_JOB_LEAD_MS, deadlineJobDelay, type QuizDeadlinePayload } from '../server/platform/queues/contract.js';
import { gradeAtDeadline } from '../server/modules/attempts/attempts.service.js';
import { finishLaunchWindow } from '../server/modules/live-sessions/launches.service.js';

export type QuizDeadlineResult = { graded: boolean; status: string } | { finished: number; settled: boolean; status: string };

/** How many times a job that started early waits in place for its due time before going back to Redis. */
const WAIT_IN_PLACE = 3;

/**
 * `quiz-deadlines`: one delayed job per timed attempt, due at the end of its submit window +
 * grace, that finishes the attempt by its overdue policy (`gradeAtDeadline`: graded with its saved
 * answers, or abandoned). Finishing is idempotent (a conditional write, then a row lock), so a job
 * that races the student's submit, or runs twice, finishes once. A job early for the attempt as it
 * is now (clock skew, or a deadline moved later) re-delays itself. Redis may lose jobs: the
 * periodic sweep finishes overdue attempts from the database. A launch has one job of its own at
 * its shared close (`{launchId}`), which finishes the attempts due then and settles the launch.
 *
 * Jobs are queued `DEADLINE_JOB_LEAD_MS` early (Redis wakes a delayed job up to 100 ms late), so
 * a job usually starts a little before its due time: it waits out the rest in place, up to
 * `WAIT_IN_PLACE` times, rather than going back to Redis.
 */
export const quizDeadlinesProcessor: Processor<'quiz-deadlines', QuizDeadlineResult> = {
  queue: 'quiz-deadlines',
  concurrency: () => 10,
  async process(job: Job<QuizDeadlinePayload, QuizDeadlineResult>, ctx, token) {
    const { data } = job;
    for (let waits = 0; ; waits++) {
      const outcome = 'launchId' in data ? await finishLaunchWindow(ctx.deps(), data.launchId) : await gradeAtDeadline(ctx.deps(), data.attemptId);
      if (!('dueAt' in outcome)) return outcome;
      const early = outcome.dueAt - Date.now();
      if (early <= 2 * DEADLINE_JOB_LEAD_MS && waits < WAIT_IN_PLACE) {
        // At least a little: a process clock ahead of the database's would otherwise ask again at once.
        await sleep(Math.max(early, 10));
        continue;
      }
      // Far from due (the deadline moved later), or still early after waiting (clock skew): come back then.
      await job.moveToDelayed(waits < WAIT_IN_PLACE ? Date.now() + deadlineJobDelay(new Date(outcome.dueAt)) : outcome.dueAt + 50, token);
      throw new DelayedError();
    }
  },
};
