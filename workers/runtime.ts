import { Worker } from 'bullmq';
import { closeRedis, createQueueRedis } from '../server/redis.js';
import { withoutQueryValues } from '../server/query-errors.js';
import { SWEEP_SCHEDULER_ID } from './maintenance.js';
import type { QueueDefinition, WorkerContext } from './queue-definition.js';
import type { JobMetrics } from './metrics.js';
import type { Queues } from './queues.js';
import { queueDefinitions, type QueueKey } from './registry.js';

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

/** Starts one BullMQ worker per queue and registers the periodic sweep. */
export async function startWorkers(ctx: WorkerContext, queues: Queues, options: StartWorkersOptions = {}): Promise<WorkerRuntime> {
  const keys = options.only ?? (Object.keys(queueDefinitions) as QueueKey[]);
  const connection = createQueueRedis(ctx.config.redisUrl);
  connection.on('error', (error) => ctx.logger.warn({ err: error }, 'worker redis connection error'));
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
    });
    options.metrics?.observe(worker, definition.name);
    definition.start?.(jobCtx);
    worker.on('failed', (job, error) =>
      ctx.logger.error({ err: error, queue: definition.name, jobId: job?.id, attemptsMade: job?.attemptsMade }, 'job failed'),
    );
    worker.on('error', (error) => ctx.logger.error({ err: error, queue: definition.name }, 'worker error'));
    return worker;
  });

  if (keys.includes('maintenance')) {
    const maintenance = queues.get('maintenance');
    await maintenance.upsertJobScheduler(
      SWEEP_SCHEDULER_ID,
      { every: ctx.config.sweepIntervalMs },
      { name: 'sweep', data: { reason: 'schedule' } },
    );
    // Repair what happened while no worker ran, without waiting for the first period.
    await queues.add('maintenance', { reason: 'startup' });
  }

  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  ctx.logger.info({ queues: keys }, 'workers started');

  return {
    workers,
    async close() {
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
