import type { Job } from 'bullmq';
import type { WorkerContext, QueueDefinition } from './queue-definition.js';
import { assertJobId } from './queue-definition.js';
import { gradeAttemptNow, overdueAttemptIds } from '../server/routes/attempts/attempts.service.js';
import { enqueueCertificate } from './certificates.js';

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
    const em = ctx.orm.em.fork();
    let graded = 0;
    for (const attemptId of await overdueAttemptIds(em, ctx.config.quizGraceMs)) {
      const outcome = await gradeAttemptNow(em.fork(), attemptId, { auto: true }, { config: ctx.config });
      if (outcome?.graded) {
        graded++;
        await ctx.events?.attemptGraded(outcome);
      }
    }
    return graded;
  },
};

/**
 * Enqueues the certificates that completed enrollments lack: no row, no PDF, or never announced
 * (a lost job, Redis down when the enrollment completed, a job that used up its attempts).
 * Enrollments whose job is still waiting or running are left to it.
 */
export const enqueueMissingCertificates: SweepTask = {
  name: 'enqueueMissingCertificates',
  async run(ctx) {
    if (!ctx.queues) return 0;
    const rows = await ctx.orm.em.fork().execute<Array<{ id: string }>>(
      `SELECT e.id FROM enrollments e LEFT JOIN certificates c ON c.enrollment_id = e.id
        WHERE e.status = 'completed' AND (c.id IS NULL OR c.pdf_path IS NULL OR e.certificate_issued_at IS NULL)
        ORDER BY e.completed_at LIMIT 1000`,
    );
    let enqueued = 0;
    for (const { id } of rows) if (await enqueueCertificate(ctx.queues, id)) enqueued++;
    return enqueued;
  },
};

export const sweepTasks: SweepTask[] = [purgeExpiredRefreshTokens, gradeOverdueAttempts, enqueueMissingCertificates, purgeProgressClientKeys];

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
