import { DelayedError, type Job } from 'bullmq';
import type { Processor } from './processor.js';
import type { QuizDeadlinePayload } from '../server/platform/queues/contract.js';
import { gradeAttemptNow } from '../server/modules/attempts/attempts.service.js';
import { announceGraded, attemptDepsOf } from '../server/modules/transition.js';

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
    const deps = ctx.deps();
    const { em } = deps;
    const [row] = await em.execute<Array<{ status: string; due: string | null }>>(
      `SELECT status, deadline + (? || ' milliseconds')::interval AS due FROM quiz_attempts WHERE id = ?`,
      [String(ctx.config.quizGraceMs), job.data.attemptId],
    );
    if (!row) return { graded: false, status: 'missing' };
    if (row.status !== 'in_progress') return { graded: false, status: row.status };
    const due = row.due ? new Date(row.due).getTime() : null;
    if (due !== null && due > Date.now()) {
      // Early (clock skew between processes): come back when it is due.
      await job.moveToDelayed(due + 50, token);
      throw new DelayedError();
    }
    const outcome = await gradeAttemptNow(em, job.data.attemptId, { auto: true }, attemptDepsOf(deps));
    if (outcome?.graded) await announceGraded(deps, outcome);
    return { graded: !!outcome?.graded, status: outcome?.row.status ?? 'missing' };
  },
};
