import type { Job } from 'bullmq';
import type { Processor, WorkerContext } from './processor.js';
import { gradeAttemptNow, overdueAttemptIds } from '../server/modules/attempts/attempts.service.js';
import { repairEnrollmentProgress } from '../server/modules/progress/progress.service.js';
import { enrollmentsLackingCertificates, issueCertificate } from '../server/modules/certificates/certificates.service.js';
import { isUnavailableError } from '../server/platform/errors.js';
import type { MaintenancePayload } from '../server/platform/queues/contract.js';
import { enqueueCertificate } from '../server/platform/queues/jobs.js';
import { QUEUE_CALL_TIMEOUT_MS, withTimeout } from '../server/platform/redis.js';

/** Result of one sweep: how many rows each task touched. */
export type SweepResult = Record<string, number>;

/**
 * One step of the periodic sweep. Each task repairs what timers and queues may have missed;
 * the database is the source of truth, so a task must be safe to run at any time, twice.
 */
export interface SweepTask {
  name: string;
  run(ctx: WorkerContext): Promise<number>;
}

/** Refresh tokens are kept a day past expiry (for reuse detection), then purged. */
export const purgeExpiredRefreshTokens: SweepTask = {
  name: 'purgeExpiredRefreshTokens',
  async run(ctx) {
    const result = await ctx.orm.em
      .fork()
      .getConnection()
      .execute(`DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'`, [], 'run');
    return (result as { affectedRows?: number }).affectedRows ?? 0;
  },
};

/**
 * Progress `clientKey`s are kept a day (a retry after a lost ack comes within seconds or minutes),
 * then deleted, oldest first, in batches, so one sweep never holds a long delete on a busy table.
 */
export const purgeProgressClientKeys: SweepTask = {
  name: 'purgeProgressClientKeys',
  async run(ctx) {
    const connection = ctx.orm.em.fork().getConnection();
    const batch = 10_000;
    let purged = 0;
    for (let round = 0; round < 20; round++) {
      const result = await connection.execute(
        `DELETE FROM progress_client_keys k
          USING (SELECT enrollment_id, client_key FROM progress_client_keys
                  WHERE created_at < now() - interval '1 day' ORDER BY created_at LIMIT ${batch}) old
          WHERE k.enrollment_id = old.enrollment_id AND k.client_key = old.client_key`,
        [],
        'run',
      );
      const deleted = (result as { affectedRows?: number }).affectedRows ?? 0;
      purged += deleted;
      if (deleted < batch) break;
    }
    return purged;
  },
};

/** Grades timed attempts whose deadline (plus grace) passed without their job running. */
export const gradeOverdueAttempts: SweepTask = {
  name: 'gradeOverdueAttempts',
  async run(ctx) {
    let graded = 0;
    for (const attemptId of await overdueAttemptIds(ctx.deps())) {
      if ((await gradeAttemptNow(ctx.deps(), attemptId, { auto: true }))?.graded) graded++;
    }
    return graded;
  },
};

/**
 * Recalculates enrollments whose stored progress disagrees with their lessons and lesson
 * progress: the course gained or lost lessons and its `progress` job was lost (Redis restarted
 * empty, or down when the lessons changed), or a progress write committed and the process died
 * (or PostgreSQL went away) before the recalculation that follows it. Candidates are enrollments
 * whose course's lesson count differs from theirs, or with lesson progress written after the
 * enrollment; of those, only the ones whose counts are wrong are recalculated, so progress that
 * changed no count (a percentage) is not recalculated on every sweep.
 */
export const recalculateStaleEnrollments: SweepTask = {
  name: 'recalculateStaleEnrollments',
  async run(ctx) {
    const em = ctx.orm.em.fork();
    const rows = await em.execute<Array<{ id: string; completed_lessons_count: number; total_lessons_count: number; total_time_spent_seconds: number }>>(
      `WITH lesson_counts AS (SELECT course_id, count(*)::int AS n FROM lessons GROUP BY course_id),
            candidates AS (
              SELECT e.id FROM enrollments e LEFT JOIN lesson_counts lc ON lc.course_id = e.course_id
               WHERE e.total_lessons_count <> coalesce(lc.n, 0)
              UNION
              SELECT lp.enrollment_id FROM lesson_progress lp JOIN enrollments e ON e.id = lp.enrollment_id
               WHERE lp.updated_at > e.updated_at)
       SELECT e.id, e.completed_lessons_count, e.total_lessons_count, e.total_time_spent_seconds
         FROM enrollments e JOIN candidates c ON c.id = e.id
        WHERE e.total_lessons_count <> (SELECT count(*) FROM lessons WHERE course_id = e.course_id)
           OR e.completed_lessons_count <> (SELECT count(*) FROM lesson_progress lp JOIN lessons l ON l.id = lp.lesson_id
                                             WHERE lp.enrollment_id = e.id AND l.course_id = e.course_id AND lp.status = 'completed')
           OR e.total_time_spent_seconds <> (SELECT coalesce(sum(time_spent_seconds), 0) FROM lesson_progress WHERE enrollment_id = e.id)
        LIMIT 1000`,
    );
    let repaired = 0;
    for (const row of rows) {
      if (await repairEnrollmentProgress(ctx.deps(), row)) repaired++;
    }
    return repaired;
  },
};

/**
 * Gives completed enrollments the certificate they lack (no row, no PDF, or never announced: a
 * lost job, Redis down when the enrollment completed, a job that used up its attempts). Each is
 * queued; enrollments whose job is still waiting or running are left to it. When Redis cannot be
 * reached the queue would wait for it, so the certificates are issued here instead (the issuer is
 * idempotent: one row, one PDF, one `certificate:issued` whoever gets there).
 */
export const issueMissingCertificates: SweepTask = {
  name: 'issueMissingCertificates',
  async run(ctx) {
    const ids = await enrollmentsLackingCertificates({ em: ctx.orm.em.fork() }, 1000);
    let queueReachable = true;
    let done = 0;
    for (const id of ids) {
      if (queueReachable) {
        try {
          if (await withTimeout(enqueueCertificate(ctx.queues, id), QUEUE_CALL_TIMEOUT_MS, 'enqueueing the certificate')) done++;
          continue;
        } catch (error) {
          if (!isUnavailableError(error)) throw error;
          queueReachable = false;
          ctx.logger.warn({ err: error }, 'certificate queue unreachable; the sweep issues missing certificates itself');
        }
      }
      const outcome = await issueCertificate(ctx.deps(), id);
      if (outcome.status === 'issued') done++;
    }
    return done;
  },
};

/** In this order: recalculations may complete enrollments whose certificates the last task issues. */
export const sweepTasks: SweepTask[] = [purgeExpiredRefreshTokens, purgeProgressClientKeys, gradeOverdueAttempts, recalculateStaleEnrollments, issueMissingCertificates];

/** Id of the BullMQ job scheduler that older versions ran the sweep with; removed at start. */
export const SWEEP_SCHEDULER_ID = 'maintenance-sweep';

/** Arbitrary but fixed (beside the migrations' key): every process of a deployment contends for it. */
export const SWEEP_LOCK_KEY = 724_311_902;

export interface SweepRun {
  /** False when another process held the sweep lock: nothing was done. */
  ran: boolean;
  result: SweepResult;
  /** Tasks that threw (the others ran anyway). */
  failed: string[];
  errors: unknown[];
}

/**
 * One sweep: every task in turn, inside a transaction that holds the sweep's advisory lock, so
 * that of the processes running workers one sweeps at a time and the others skip (or, with
 * `wait`, sweep after it). A task that throws does not stop the others. Rejects when the lock
 * cannot be taken (PostgreSQL unreachable).
 */
export async function runSweep(ctx: WorkerContext, tasks: SweepTask[] = sweepTasks, options: { wait?: boolean } = {}): Promise<SweepRun> {
  return ctx.orm.em.fork().transactional(async (em) => {
    const [lock] = await em.execute<Array<{ locked: boolean }>>(
      options.wait ? 'SELECT pg_advisory_xact_lock(?) IS NOT NULL AS locked' : 'SELECT pg_try_advisory_xact_lock(?) AS locked',
      [SWEEP_LOCK_KEY],
    );
    const run: SweepRun = { ran: !!lock?.locked, result: {}, failed: [], errors: [] };
    if (!run.ran) return run;
    for (const task of tasks) {
      try {
        run.result[task.name] = await task.run(ctx);
      } catch (error) {
        run.failed.push(task.name);
        run.errors.push(error);
      }
    }
    return run;
  });
}

export interface SweeperOptions {
  /** Period between sweeps (`SWEEP_INTERVAL_MS`). */
  intervalMs: number;
  /** Delay before the next try after a sweep failed (PostgreSQL or Redis away). */
  retryMs: number;
  tasks?: SweepTask[];
}

/**
 * Runs the sweep on a timer of this process: at start, then every `intervalMs`; after a failed
 * sweep every `retryMs` until one succeeds, so that what waited on PostgreSQL is repaired soon
 * after it returns. It depends on Redis for nothing: a Redis restarted empty (every delayed job
 * lost) still sees overdue attempts graded within a period. Every process that runs workers has
 * one; the advisory lock in `runSweep` keeps them from sweeping together.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private failing = false;

  constructor(
    private readonly ctx: WorkerContext,
    private readonly options: SweeperOptions,
  ) {}

  start(): void {
    this.schedule(0);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.sweep().finally(() => (this.running = null));
    }, delayMs);
    this.timer.unref();
  }

  private async sweep(): Promise<void> {
    const { logger } = this.ctx;
    let ok = false;
    try {
      const run = await runSweep(this.ctx, this.options.tasks);
      ok = run.failed.length === 0;
      if (!ok) {
        if (!this.failing) logger.warn({ failed: run.failed, err: run.errors[0] }, `sweep tasks failed; retrying every ${this.options.retryMs} ms`);
      } else if (run.ran && Object.values(run.result).some((count) => count > 0)) {
        logger.info({ result: run.result }, 'sweep repaired what was missed');
      }
    } catch (error) {
      if (!this.failing) logger.warn({ err: error }, `sweep failed; retrying every ${this.options.retryMs} ms`);
    }
    if (ok && this.failing) logger.info('sweep succeeded again');
    this.failing = !ok;
    this.schedule(ok ? this.options.intervalMs : this.options.retryMs);
  }
}

/**
 * The `maintenance` queue: a sweep on demand (`queues.add('maintenance', {reason: 'manual'})`),
 * run by whichever worker takes it, under the same lock. The periodic sweep is each process's
 * `Sweeper`, not a BullMQ scheduler: a scheduler lives in Redis and is lost with it.
 */
export const maintenanceProcessor: Processor<'maintenance', SweepResult> = {
  queue: 'maintenance',
  // Sweeps are cheap and idempotent; one at a time per process is plenty.
  concurrency: () => 1,
  async process(_job: Job<MaintenancePayload, SweepResult>, ctx) {
    // Asked for explicitly: wait for a sweep running elsewhere rather than skip.
    const run = await runSweep(ctx, sweepTasks, { wait: true });
    if (run.errors.length) throw run.errors[0];
    return run.result;
  },
};
