import { randomUUID } from 'node:crypto';
import type { DefaultJobOptions, JobsOptions } from 'bullmq';

/**
 * The queue contract shared by producers (API instances, workers, scripts) and the processors in
 * `workers/`: each queue's name, what its jobs carry, how their ids are made and their retry
 * policy. Processors live in `workers/<queue>.worker.ts`; nothing here runs a job.
 *
 * Job ids are deterministic where a duplicate must be dropped (BullMQ ignores an add whose id
 * exists) and never contain `:` (BullMQ separates key parts with it).
 */

/** Why a sweep runs: process start-up, the periodic timer, or an operator asking for one. */
export interface MaintenancePayload {
  reason: 'schedule' | 'startup' | 'manual';
}

/**
 * The timed attempt whose deadline (plus grace) the job enforces, or the launch whose shared
 * window (`closes_at` plus grace) it ends: one job per launch rather than one per student.
 */
export type QuizDeadlinePayload = { attemptId: string } | { launchId: string };

/** One enrollment to recalculate, or a course whose enrollments all need it (lessons changed). */
export type ProgressPayload = { enrollmentId: string } | { courseId: string };

/** The completed enrollment whose certificate (row, PDF, event) the job issues. */
export interface CertificatePayload {
  enrollmentId: string;
}

/** The regrade (a `quiz_regrades` row) the job runs or resumes. */
export interface RegradePayload {
  regradeId: string;
}

export interface QueuePayloads {
  maintenance: MaintenancePayload;
  'quiz-deadlines': QuizDeadlinePayload;
  progress: ProgressPayload;
  certificates: CertificatePayload;
  regrades: RegradePayload;
}

export type QueueKey = keyof QueuePayloads;

export interface QueueContract<P> {
  name: string;
  defaultJobOptions: DefaultJobOptions;
  jobId(payload: P): string;
  /** Options every add of this queue gets besides the id (deduplication, for instance). */
  addOptions?(payload: P): JobsOptions;
  /**
   * Delay before retry number `attemptsMade` of a failed job, for `backoff: { type }` types BullMQ
   * does not know (its own, `fixed` and `exponential`, cannot be capped).
   */
  backoffStrategy?(attemptsMade: number): number;
}

/** Checks the BullMQ rule that a custom job id contains no `:` (it separates key parts). */
export function assertJobId(id: string): string {
  if (id.includes(':')) throw new Error(`job id "${id}" must not contain ":"`);
  return id;
}

export const deadlineJobId = (attemptId: string) => assertJobId(`deadline-${attemptId}`);
export const launchDeadlineJobId = (launchId: string) => assertJobId(`launch-deadline-${launchId}`);
export const certificateJobId = (enrollmentId: string) => assertJobId(`certificate-${enrollmentId}`);
export const regradeJobId = (regradeId: string) => assertJobId(`regrade-${regradeId}`);

/** Tries of a regrade job; the last failure marks the regrade `failed` (asking again resumes it). */
export const REGRADE_JOB_ATTEMPTS = 5;

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
 * Deadline jobs (an attempt's, a launch's) are queued this long before they are due, and their
 * processor waits out the rest in place (`deadlineJobDelay`, workers/quiz-deadlines.worker.ts).
 * Redis ends a worker's blocking wait for a delayed job only when its event loop next wakes, ten
 * times a second at its default `hz`: a job queued for the exact time started 50–100 ms late
 * (measured at a launch's close), which every student waiting for an automatic grade sat through.
 */
export const DEADLINE_JOB_LEAD_MS = 100;

/** The BullMQ delay (ms) of a deadline job due at `runAt`: `DEADLINE_JOB_LEAD_MS` early, never negative. */
export function deadlineJobDelay(runAt: Date, now = Date.now()): number {
  return Math.max(0, runAt.getTime() - now - DEADLINE_JOB_LEAD_MS);
}

const progressDeduplicationId = (payload: ProgressPayload) =>
  'enrollmentId' in payload ? `progress-enrollment-${payload.enrollmentId}` : `progress-course-${payload.courseId}`;

export const queueContracts: { [K in QueueKey]: QueueContract<QueuePayloads[K]> } = {
  /** A sweep on demand; the periodic sweep is each worker process's own timer (workers/runtime.ts). */
  maintenance: {
    name: 'maintenance',
    defaultJobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 1000 } },
    jobId: (payload) => assertJobId(`sweep-${payload.reason}-${Date.now()}`),
  },
  /**
   * One delayed job per timed attempt, due at deadline + grace. Grading is idempotent, so a job
   * racing the student's submit, or running twice, grades once; the sweep covers jobs Redis lost.
   */
  'quiz-deadlines': {
    name: 'quiz-deadlines',
    defaultJobOptions: { attempts: DEADLINE_JOB_ATTEMPTS, backoff: { type: 'deadline' }, removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } },
    jobId: (payload) => ('launchId' in payload ? launchDeadlineJobId(payload.launchId) : deadlineJobId(payload.attemptId)),
    backoffStrategy: deadlineRetryDelayMs,
  },
  /**
   * Recalculations, deduplicated per enrollment (or course) while keeping the last request: a
   * request while one is waiting is dropped (the waiting job reads the rows as they are when it
   * runs); a request while one is active is kept and runs once the active one ends (the active one
   * may have read the rows before the write that asked). A plain deterministic `jobId` would drop
   * that last write; BullMQ's `keepLastIfActive` deduplication keeps it, which is why the job ids
   * themselves are unique per request.
   */
  progress: {
    name: 'progress',
    defaultJobOptions: { attempts: 5, backoff: { type: 'exponential', delay: 500 }, removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } },
    jobId: (payload) => assertJobId(`${progressDeduplicationId(payload)}-${randomUUID()}`),
    addOptions: (payload) => ({ deduplication: { id: progressDeduplicationId(payload), keepLastIfActive: true } }),
  },
  /**
   * Certificates, one job id per enrollment: duplicate completions while a job exists add
   * nothing; later ones run and find everything done (issuing is idempotent end to end).
   */
  certificates: {
    name: 'certificates',
    defaultJobOptions: {
      attempts: 8,
      backoff: { type: 'exponential', delay: 1000 },
      // Kept an hour: long enough to look at, short enough that the id does not block a re-issue.
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: { count: 5000 },
    },
    jobId: (payload) => certificateJobId(payload.enrollmentId),
  },
  /**
   * One job per regrade: a duplicate request adds nothing while the job exists. The job resumes
   * where the regrade's committed batches ended (its cursor), so a retry or a job taken over from
   * a dead worker regrades no attempt twice.
   */
  regrades: {
    name: 'regrades',
    defaultJobOptions: {
      attempts: REGRADE_JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: 2000 },
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: { count: 1000 },
    },
    jobId: (payload) => regradeJobId(payload.regradeId),
  },
};
