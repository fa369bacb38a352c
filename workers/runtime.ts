import { Worker } from 'bullmq';
import { closeRedis, createQueueRedis, QUEUE_CALL_TIMEOUT_MS, RedisConnectionLog, withTimeout } from '../server/platform/redis.js';
import { withoutQueryValues } from '../server/platform/db/query-errors.js';
import { Sweeper, SWEEP_SCHEDULER_ID } from './maintenance.js';
import type { QueueDefinition, WorkerContext } from './queue-definition.js';
import type { JobMetrics } from './metrics.js';
import type { Queues } from './queues.js';
import { queueDefinitions, type QueueKey } from './registry.js';

/** After a failed sweep (PostgreSQL away), the next try comes this soon rather than a period later. */
export const SWEEP_RETRY_MS = 1000;

export interface WorkerRuntime {
  workers: Worker[];
  /**
   * Stops taking jobs and waits for running ones to finish, up to `config.shutdownTimeoutMs`;
   * jobs still running then are abandoned to BullMQ's stalled-job recovery (another worker
   * picks them up), which is safe because processors are idempotent.
   */
  close(): Promise<void>;
}

export interface StartWorkersOptions {
  /** Run only these queues (default: all). */
  only?: QueueKey[];
  /** Where job durations, retries and failures are counted. */
  metrics?: JobMetrics;
}

/** Starts one BullMQ worker per queue, and the periodic sweep of this process. */
export async function startWorkers(ctx: WorkerContext, queues: Queues, options: StartWorkersOptions = {}): Promise<WorkerRuntime> {
  const keys = options.only ?? (Object.keys(queueDefinitions) as QueueKey[]);
  const connection = createQueueRedis(ctx.config.redisUrl);
  const connections = ctx.redisConnections ?? new RedisConnectionLog(ctx.logger);
  connections.watch(connection, 'workers');
  const jobCtx: WorkerContext = { ...ctx, queues };
  const workers = keys.map((key) => {
    const definition = queueDefinitions[key] as QueueDefinition;
    // BullMQ keeps a failed job's message and stack in Redis: no query values there either.
    const processor = (job: Parameters<QueueDefinition['process']>[0], token?: string) =>
      definition.process(job, jobCtx, token).catch((error: unknown) => {
        throw withoutQueryValues(error);
      });
    const worker = new Worker(definition.name, processor, {
      connection,
      prefix: ctx.config.queuePrefix,
      concurrency: definition.concurrency(ctx.config),
      // A dead worker's jobs go back to the queue once its lock lapses and a stalled check runs.
      lockDuration: ctx.config.jobLockMs,
      stalledInterval: ctx.config.jobLockMs,
      ...(definition.backoffStrategy ? { settings: { backoffStrategy: (attemptsMade: number) => definition.backoffStrategy!(attemptsMade) } } : {}),
    });
    options.metrics?.observe(worker, definition.name);
    definition.start?.(jobCtx);
    worker.on('failed', (job, error) =>
      ctx.logger.error({ err: error, queue: definition.name, jobId: job?.id, attemptsMade: job?.attemptsMade }, 'job failed'),
    );
    // Each worker's blocking connection is its own; its reconnect errors are reported once per outage.
    worker.on('error', (error) => connections.reportError(`worker:${definition.name}`, error));
    return worker;
  });

  let sweeper: Sweeper | null = null;
  if (keys.includes('maintenance')) {
    // At once (repairing what happened while no worker ran), then every period, whatever Redis does.
    sweeper = new Sweeper(jobCtx, { intervalMs: ctx.config.sweepIntervalMs, retryMs: Math.min(SWEEP_RETRY_MS, ctx.config.sweepIntervalMs) });
    sweeper.start();
    // Older versions swept through a BullMQ job scheduler; one left in Redis would sweep twice as often.
    await withTimeout(queues.get('maintenance').removeJobScheduler(SWEEP_SCHEDULER_ID), QUEUE_CALL_TIMEOUT_MS, 'removing the old sweep scheduler').catch(() => undefined);
  }

  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  ctx.logger.info({ queues: keys }, 'workers started');

  return {
    workers,
    async close() {
      // A sweep still running at the deadline is abandoned like a job: every task is idempotent.
      if (sweeper) await withTimeout(sweeper.close(), ctx.config.shutdownTimeoutMs, 'the running sweep').catch(() => ctx.logger.warn('sweep still running at shutdown timeout; abandoned'));
      let timer: NodeJS.Timeout | undefined;
      const graceful = Promise.all(workers.map((worker) => worker.close())).then(() => true);
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), ctx.config.shutdownTimeoutMs);
      });
      const finished = await Promise.race([graceful, timeout]);
      clearTimeout(timer);
      if (!finished) {
        ctx.logger.warn('jobs still running at shutdown timeout; leaving them to stalled-job recovery');
        await Promise.all(workers.map((worker) => worker.close(true)));
      }
      await closeRedis(connection);
    },
  };
}
