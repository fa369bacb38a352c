import { DelayedError, type Job } from 'bullmq';
import type { QueueDefinition, WorkerContext } from './queue-definition.js';
import { assertJobId } from './queue-definition.js';
import { gradeAttemptNow, type AttemptDeps } from '../server/routes/attempts/attempts.service.js';

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
 * `quiz-deadlines`: one delayed job per timed attempt, due at deadline + grace, that grades the
 * attempt with its saved answers. Grading is idempotent (row lock + status check), so a job that
 * races the student's submit, or runs twice, grades once. Redis may lose jobs: the periodic
 * sweep grades overdue attempts from the database.
 */
export const quizDeadlinesQueue: QueueDefinition<QuizDeadlinePayload, QuizDeadlineResult> = {
  name: 'quiz-deadlines',
  defaultJobOptions: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 500 },
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 1000 },
  },
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
