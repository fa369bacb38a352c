import { isUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { QUEUE_CALL_TIMEOUT_MS, withTimeout } from '../redis.js';
import { certificateJobId, deadlineJobDelay, deadlineJobId, launchDeadlineJobId, regradeJobId } from './contract.js';
import type { Queues } from './queues.js';

/**
 * Background work the flows start. None of these holds the caller when Redis is down or hangs:
 * each gives up after a bounded wait and says so, and the maintenance sweep repairs what was not
 * queued (it grades overdue attempts, recalculates stale enrollments, issues missing certificates).
 */
export interface Jobs {
  /** The deadline job of a timed attempt, due at `runAt`. */
  scheduleDeadline(attemptId: string, runAt: Date): Promise<void>;
  /**
   * Moves the deadline job of an attempt whose deadline moved to `runAt` (adds it when it is gone).
   * Best effort: a job already running re-reads the attempt and re-delays itself when early; the
   * sweep covers a job Redis lost.
   */
  rescheduleDeadline(attemptId: string, runAt: Date): Promise<void>;
  /** Removes a deadline job no longer needed (best effort: the job finds the attempt finished). */
  cancelDeadline(attemptId: string): Promise<void>;
  /** The deadline jobs of many attempts (a launch's personal deadlines), in one round trip. */
  scheduleDeadlines(deadlines: Array<{ attemptId: string; runAt: Date }>): Promise<void>;
  /**
   * The job that ends a launch's shared window at `runAt` (its `closes_at` + grace), replacing a
   * delayed one (the window moved). Best effort: the sweep closes what it misses.
   */
  scheduleLaunchDeadline(launchId: string, runAt: Date): Promise<void>;
  /** An enrollment just completed: issue its certificate. */
  issueCertificate(enrollmentId: string): Promise<void>;
  /** The course's lessons changed: recalculate its enrollments in the background; false when that could not be queued. */
  recalculateCourse(courseId: string): Promise<boolean>;
  /**
   * The sweep found a completed enrollment without its certificate: queue it again, even over a
   * finished job of the same id. `pending` when a job of it is still waiting or running;
   * `unreachable` when Redis cannot take it (the caller then issues it itself).
   */
  requeueCertificate(enrollmentId: string): Promise<'queued' | 'pending' | 'unreachable'>;
  /**
   * Runs (or resumes) a regrade in the background, even over a finished job of the same id; a
   * waiting or running job of it is left alone. False when Redis could not take it.
   */
  runRegrade(regradeId: string): Promise<boolean>;
}

/**
 * The `Jobs` port over BullMQ. Every call waits at most `timeoutMs` for Redis (the producer
 * connection waits for Redis rather than failing, so a hung or absent Redis would otherwise hold
 * the request) and then gives up: a deadline job not queued is covered by the sweep, which grades
 * every running attempt past deadline + grace; a certificate by the sweep, which issues what
 * completed enrollments lack; a course recalculation is done by the caller instead. An add given
 * up on may still land when Redis answers; every job is idempotent.
 */
export class QueueJobs implements Jobs {
  constructor(
    private readonly queues: Queues,
    private readonly log: Logger,
    private readonly timeoutMs = QUEUE_CALL_TIMEOUT_MS,
  ) {}

  async scheduleDeadline(attemptId: string, runAt: Date): Promise<void> {
    const delay = deadlineJobDelay(runAt);
    await withTimeout(this.queues.add('quiz-deadlines', { attemptId }, { delay }), this.timeoutMs, 'the deadline job').catch((error: unknown) =>
      this.log.warn({ err: error, attemptId }, 'deadline job not queued; the sweep will finish the attempt'),
    );
  }

  async rescheduleDeadline(attemptId: string, runAt: Date): Promise<void> {
    const move = async () => {
      const delay = deadlineJobDelay(runAt);
      const job = await this.queues.get('quiz-deadlines').getJob(deadlineJobId(attemptId));
      if (job) {
        const state = await job.getState();
        if (state === 'delayed') {
          // A job can leave the delayed state between the two calls; then it is replaced below.
          const changed = await job.changeDelay(delay).then(
            () => true,
            () => false,
          );
          if (changed) return;
        }
        // Running now: it re-reads the attempt, and re-delays itself to the new due time when early.
        if (state === 'active') return;
        await job.remove().catch(() => undefined);
      }
      await this.queues.add('quiz-deadlines', { attemptId }, { delay });
    };
    await withTimeout(move(), this.timeoutMs, 'moving the deadline job').catch((error: unknown) =>
      this.log.warn({ err: error, attemptId }, 'deadline job not moved; the job re-delays itself if early and the sweep finishes the attempt'),
    );
  }

  async cancelDeadline(attemptId: string): Promise<void> {
    // A job that is running right now cannot be removed; it will find the attempt finished.
    await withTimeout(this.queues.get('quiz-deadlines').remove(deadlineJobId(attemptId)), this.timeoutMs, 'removing the deadline job').catch(() => undefined);
  }

  async scheduleDeadlines(deadlines: Array<{ attemptId: string; runAt: Date }>): Promise<void> {
    if (deadlines.length === 0) return;
    const now = Date.now();
    const jobs = deadlines.map(({ attemptId, runAt }) => ({ payload: { attemptId }, options: { delay: deadlineJobDelay(runAt, now) } }));
    await withTimeout(this.queues.addBulk('quiz-deadlines', jobs), this.timeoutMs, 'the deadline jobs').catch((error: unknown) =>
      this.log.warn({ err: error, count: deadlines.length }, 'deadline jobs not queued; the sweep will finish the attempts'),
    );
  }

  async scheduleLaunchDeadline(launchId: string, runAt: Date): Promise<void> {
    const replace = async () => {
      const queue = this.queues.get('quiz-deadlines');
      const existing = await queue.getJob(launchDeadlineJobId(launchId));
      // A running job re-reads the launch and re-delays itself when the window moved later.
      if (existing && (await existing.getState()) === 'active') return;
      await existing?.remove().catch(() => undefined);
      await this.queues.add('quiz-deadlines', { launchId }, { delay: deadlineJobDelay(runAt) });
    };
    await withTimeout(replace(), this.timeoutMs, 'the launch deadline job').catch((error: unknown) =>
      this.log.warn({ err: error, launchId }, 'launch deadline job not queued; the sweep will close the launch'),
    );
  }

  async issueCertificate(enrollmentId: string): Promise<void> {
    await withTimeout(enqueueCertificate(this.queues, enrollmentId), this.timeoutMs, 'enqueueing the certificate').catch((error: unknown) =>
      this.log.warn({ err: error, enrollmentId }, 'certificate not queued; the sweep will issue it'),
    );
  }

  async requeueCertificate(enrollmentId: string): Promise<'queued' | 'pending' | 'unreachable'> {
    try {
      return (await withTimeout(enqueueCertificate(this.queues, enrollmentId), this.timeoutMs, 'enqueueing the certificate')) ? 'queued' : 'pending';
    } catch (error) {
      if (!isUnavailableError(error)) throw error;
      return 'unreachable';
    }
  }

  async runRegrade(regradeId: string): Promise<boolean> {
    const enqueue = async () => {
      const existing = await this.queues.get('regrades').getJob(regradeJobId(regradeId));
      if (existing) {
        const state = await existing.getState();
        if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return;
        await existing.remove().catch(() => undefined);
      }
      await this.queues.add('regrades', { regradeId });
    };
    return withTimeout(enqueue(), this.timeoutMs, 'enqueueing the regrade').then(
      () => true,
      (error: unknown) => {
        this.log.warn({ err: error, regradeId }, 'regrade not queued');
        return false;
      },
    );
  }

  async recalculateCourse(courseId: string): Promise<boolean> {
    return withTimeout(this.queues.add('progress', { courseId }), this.timeoutMs, 'enqueueing the recalculation').then(
      () => true,
      (error: unknown) => {
        this.log.warn({ err: error, courseId }, 'course recalculation not queued; running it in the caller');
        return false;
      },
    );
  }
}

/**
 * Enqueues the certificate of an enrollment even when an earlier job under its id is finished (a
 * failed job that used up its attempts, or one that completed before the enrollment did): that job
 * is removed first. A waiting, delayed or active job is left alone (false).
 */
export async function enqueueCertificate(queues: Queues, enrollmentId: string): Promise<boolean> {
  const existing = await queues.get('certificates').getJob(certificateJobId(enrollmentId));
  if (existing) {
    const state = await existing.getState();
    if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return false;
    await existing.remove().catch(() => undefined);
  }
  await queues.add('certificates', { enrollmentId });
  return true;
}
