import { DelayedError, type Job } from 'bullmq';
import type { QueueDefinition, WorkerContext } from './queue-definition.js';
import { assertJobId } from './queue-definition.js';
import { gradeAttemptNow, type AttemptDeps } from '../server/modules/attempts/attempts.service.js';

export interface QuizDeadlinePayload {
  attemptId: string;
}

export interface QuizDeadlineResult {
  graded: boolean;
  status: string;
}

export const deadlineJobId = (attemptId: string) => assertJobId(`deadline-${attemptId}`);

export function deadlineDeps(ctx: WorkerContext): AttemptDeps {
  return { config: ctx.config };
}

/**
 * Delay before retry `attemptsMade` of a deadline job: doubling from 0.5 s, capped at 10 s. With
 * `DEADLINE_JOB_ATTEMPTS` the retries span about four minutes, so a grade waits out a PostgreSQL
 * restart or failover without hammering it, and is given at most ten seconds after it returns
 * (the sweep, retrying every second after a failure, is usually first).
 */
export function deadlineRetryDelayMs(attemptsMade: number): number {
  return Math.min(500 * 2 ** Math.max(0, attemptsMade - 1), 10_000);
}

/** 0.5 + 1 + 2 + 4 + 8 s, then 24 × 10 s: about 255 s of retries. */
export const DEADLINE_JOB_ATTEMPTS = 30;

/**
 * `quiz-deadlines`: one delayed job per timed attempt, due at deadline + grace, that grades the
 * attempt with its saved answers. Grading is idempotent (row lock + status check), so a job that
 * races the student's submit, or runs twice, grades once. Redis may lose jobs: the periodic
 * sweep grades overdue attempts from the database.
 */
export const quizDeadlinesQueue: QueueDefinition<QuizDeadlinePayload, QuizDeadlineResult> = {
  name: 'quiz-deadlines',
  defaultJobOptions: {
    attempts: DEADLINE_JOB_ATTEMPTS,
    backoff: { type: 'deadline' },
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 1000 },
  },
  backoffStrategy: deadlineRetryDelayMs,
  concurrency: () => 10,
  jobId: (payload) => deadlineJobId(payload.attemptId),
  async process(job: Job<QuizDeadlinePayload, QuizDeadlineResult>, ctx, token) {
    const em = ctx.orm.em.fork();
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
    const outcome = await gradeAttemptNow(em, job.data.attemptId, { auto: true }, deadlineDeps(ctx));
    if (outcome?.graded) await ctx.events?.attemptGraded(outcome);
    return { graded: !!outcome?.graded, status: outcome?.row.status ?? 'missing' };
  },
};
