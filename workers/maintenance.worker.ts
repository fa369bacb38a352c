import type { Job } from 'bullmq';
import type { Processor, WorkerContext } from './processor.js';
import { gradeOverdueAttempts as gradeOverdue } from '../server/modules/attempts/attempts.service.js';
import { purgeIdempotencyKeys as purgeStoredReplies } from '../server/platform/db/idempotency.js';
import { purgeExpiredRefreshTokens as purgeRefreshTokens } from '../server/modules/auth/auth.service.js';
import { finishDueLaunches as finishLaunches } from '../server/modules/live-sessions/launches.service.js';
import { issueMissingCertificates as issueMissing } from '../server/modules/certificates/certificates.service.js';
import { endIdleLiveSessions as endIdleSessions } from '../server/modules/live-sessions/sessions.service.js';
import { purgeProgressClientKeys as purgeClientKeys, repairStaleEnrollments } from '../server/modules/progress/progress.service.js';
import { withAdvisoryLock } from '../server/platform/db/sql.js';
import type { MaintenancePayload } from '../server/platform/queues/contract.js';

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
  run: (ctx) => purgeRefreshTokens(ctx.deps()),
};

/** Progress `clientKey`s are kept a day, then deleted in batches. */
export const purgeProgressClientKeys: SweepTask = {
  name: 'purgeProgressClientKeys',
  run: (ctx) => purgeClientKeys(ctx.deps()),
};

/** Stored replies of `Idempotency-Key` requests are kept a day, then deleted. */
export const purgeIdempotencyKeys: SweepTask = {
  name: 'purgeIdempotencyKeys',
  run: (ctx) => purgeStoredReplies(ctx.deps().em),
};

/** Finishes (by their overdue policy) timed attempts whose submit window (plus grace) passed without their job running. */
export const gradeOverdueAttempts: SweepTask = {
  name: 'gradeOverdueAttempts',
  run: (ctx) => gradeOverdue(ctx.deps()),
};

/** Ends the launches whose window passed without their job running: their due attempts finished, the launch settled. */
export const finishDueLaunches: SweepTask = {
  name: 'finishDueLaunches',
  run: (ctx) => finishLaunches(ctx.deps()),
};

/** Recalculates enrollments whose stored progress disagrees with their lessons and lesson progress. */
export const recalculateStaleEnrollments: SweepTask = {
  name: 'recalculateStaleEnrollments',
  run: (ctx) => repairStaleEnrollments(ctx.deps()),
};

/** Queues (or, with Redis away, issues) the certificates completed enrollments lack. */
export const issueMissingCertificates: SweepTask = {
  name: 'issueMissingCertificates',
  run: (ctx) => issueMissing(ctx.deps()),
};

/** Ends live sessions without activity for `LIVE_SESSION_IDLE_MS` (12 h by default), announcing `session:ended`. */
export const endIdleLiveSessions: SweepTask = {
  name: 'endIdleLiveSessions',
  run: (ctx) => endIdleSessions(ctx.deps()),
};

/** In this order: recalculations may complete enrollments whose certificates the last task issues. */
export const sweepTasks: SweepTask[] = [
  purgeExpiredRefreshTokens,
  purgeProgressClientKeys,
  purgeIdempotencyKeys,
  gradeOverdueAttempts,
  finishDueLaunches,
  recalculateStaleEnrollments,
  issueMissingCertificates,
  endIdleLiveSessions,
];

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
  const run: SweepRun = { ran: false, result: {}, failed: [], errors: [] };
  const locked = await withAdvisoryLock(ctx.orm.em, SWEEP_LOCK_KEY, options, async () => {
    for (const task of tasks) {
      try {
        run.result[task.name] = await task.run(ctx);
      } catch (error) {
        run.failed.push(task.name);
        run.errors.push(error);
      }
    }
  });
  run.ran = locked.locked;
  return run;
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
