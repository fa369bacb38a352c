import type { Job } from 'bullmq';
import type { WorkerContext, QueueDefinition } from './queue-definition.js';
import { assertJobId } from './queue-definition.js';

export interface MaintenancePayload {
  /** Why this sweep runs: the periodic scheduler, process start-up, or an operator. */
  reason: 'schedule' | 'startup' | 'manual';
}

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

export const sweepTasks: SweepTask[] = [purgeExpiredRefreshTokens];

export const SWEEP_SCHEDULER_ID = 'maintenance-sweep';

export const maintenanceQueue: QueueDefinition<MaintenancePayload, SweepResult> = {
  name: 'maintenance',
  defaultJobOptions: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { count: 100 },
    removeOnFail: { count: 1000 },
  },
  // Sweeps are cheap and idempotent; one at a time per process is plenty.
  concurrency: () => 1,
  jobId: (payload) => assertJobId(`sweep-${payload.reason}-${Date.now()}`),
  async process(_job: Job<MaintenancePayload, SweepResult>, ctx) {
    const result: SweepResult = {};
    for (const task of sweepTasks) {
      result[task.name] = await task.run(ctx);
    }
    return result;
  },
};
