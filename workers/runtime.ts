import { Worker } from 'bullmq';
import { closeRedis, createQueueRedis, QUEUE_CALL_TIMEOUT_MS, withTimeout } from '../server/platform/redis.js';
import { withoutQueryValues } from '../server/platform/db/query-errors.js';
import { Sweeper, SWEEP_SCHEDULER_ID } from './maintenance.worker.js';
import { queueContracts, type QueueKey } from '../server/platform/queues/contract.js';
import type { JobMetrics } from '../server/platform/queues/metrics.js';
import type { Processor, WorkerContext } from './processor.js';
import { processors } from './registry.js';

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
export async function startWorkers(ctx: WorkerContext, options: StartWorkersOptions = {}): Promise<WorkerRuntime> {
  const keys = options.only ?? (Object.keys(processors) as QueueKey[]);
  const { queues } = ctx;
  const connection = createQueueRedis(ctx.config);
  const connections = ctx.redisConnections;
  connections.watch(connection, 'workers');
  const jobCtx = ctx;
  const workers = keys.map((key) => {
    const definition = processors[key] as Processor;
    const contract = queueContracts[key];
    // BullMQ keeps a failed job's message and stack in Redis: no query values there either.
    const processor = (job: Parameters<Processor['process']>[0], token?: string) =>
      definition.process(job, jobCtx, token).catch((error: unknown) => {
        throw withoutQueryValues(error);
      });
    const limiter = definition.limiter?.(ctx.config) ?? null;
    const worker = new Worker(contract.name, processor, {
      connection,
      prefix: ctx.config.queuePrefix,
      concurrency: definition.concurrency(ctx.config),
      ...(limiter ? { limiter } : {}),
      // A dead worker's jobs go back to the queue once its lock lapses and a stalled check runs.
      lockDuration: ctx.config.jobLockMs,
      stalledInterval: ctx.config.jobLockMs,
      ...(contract.backoffStrategy ? { settings: { backoffStrategy: (attemptsMade: number) => contract.backoffStrategy!(attemptsMade) } } : {}),
    });
    options.metrics?.observe(worker, contract.name);
    definition.start?.(jobCtx);
    worker.on('failed', (job, error) => ctx.logger.error({ err: error, queue: contract.name, jobId: job?.id, attemptsMade: job?.attemptsMade }, 'job failed'));
    // Each worker's blocking connection is its own; its reconnect errors are reported once per outage.
    worker.on('error', (error) => connections.reportError(`worker:${contract.name}`, error));
    return worker;
  });

  let sweeper: Sweeper | null = null;
  if (keys.includes('maintenance')) {
    // At once (repairing what happened while no worker ran), then every period, whatever Redis does.
    sweeper = new Sweeper(jobCtx, { intervalMs: ctx.config.sweepIntervalMs, retryMs: Math.min(SWEEP_RETRY_MS, ctx.config.sweepIntervalMs) });
    sweeper.start();
    // Older versions swept through a BullMQ job scheduler; one left in Redis would sweep twice as often.
    await withTimeout(queues.get('maintenance').removeJobScheduler(SWEEP_SCHEDULER_ID), QUEUE_CALL_TIMEOUT_MS, 'removing the old sweep scheduler').catch(
      () => undefined,
    );
  }

  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  ctx.logger.info({ queues: keys }, 'workers started');

  return {
    workers,
    async close() {
      // A sweep still running at the deadline is abandoned like a job: every task is idempotent.
      if (sweeper)
        await withTimeout(sweeper.close(), ctx.config.shutdownTimeoutMs, 'the running sweep').catch(() =>
          ctx.logger.warn('sweep still running at shutdown timeout; abandoned'),
        );
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
