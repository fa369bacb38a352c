import { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../server/config/config.js';
import { systemClock, type ServiceDeps } from '../server/modules/deps.js';
import { ormOptions } from '../server/platform/db/orm-options.js';
import type { Logger } from '../server/platform/logger.js';
import { PdfRenderer } from '../server/platform/pdf/pdf-renderer.js';
import { QueueJobs } from '../server/platform/queues/jobs.js';
import type { JobMetrics } from '../server/platform/queues/metrics.js';
import { Queues } from '../server/platform/queues/queues.js';
import { closeRedis, createQueueRedis, createRedis, RedisConnectionLog, waitForRedis } from '../server/platform/redis.js';
import { LocalStorage } from '../server/platform/storage/local-storage.js';
import { RedisPresence } from '../server/realtime/redis-presence.js';
import { createWorkerRealtime } from '../server/realtime/worker-realtime.js';
import type { WorkerContext } from './processor.js';
import { startWorkers, type WorkerRuntime } from './runtime.js';

/** A worker process's connections and running workers. */
export interface WorkerProcess {
  orm: MikroORM;
  queues: Queues;
  runtime: WorkerRuntime;
  /** Stops taking jobs, lets running ones finish, then closes every connection. */
  close(): Promise<void>;
}

/**
 * Everything a process (or thread) that runs jobs sets up, in order: the ORM, our Redis
 * connection, producer queues (jobs enqueue more jobs), storage and the PDF renderer, the realtime
 * publisher (events of jobs reach clients on every API instance through the Socket.IO stream), the
 * service dependencies built from them, and the BullMQ workers with the maintenance sweep.
 * `npm run worker`, the worker thread of `npm start` and the benchmark's worker processes start here.
 */
export async function startWorkerProcess(config: Config, logger: Logger, options: { metrics?: (queues: Queues) => JobMetrics } = {}): Promise<WorkerProcess> {
  const orm = await MikroORM.init(ormOptions(config, {}, logger.child({ component: 'db' })));
  const redisConnections = new RedisConnectionLog(logger.child({ component: 'redis' }));
  const redis = redisConnections.watch(
    createRedis(config, { connectionName: `${config.redisPrefix}-worker`, commandTimeout: config.redisCommandTimeoutMs }),
    'worker',
  );
  await waitForRedis(redis, 3000);
  const queueConnection = redisConnections.watch(createQueueRedis(config), 'queues');
  const queues = new Queues(config, queueConnection, (queue, error) => redisConnections.reportError(`queue:${queue}`, error));
  const jobs = new QueueJobs(queues, logger);
  const storage = await LocalStorage.open(config.storageDir);
  const pdf = new PdfRenderer();
  const realtime = createWorkerRealtime({ config, orm, redis, redisConnections, log: logger });
  // Read-only here: a worker serves no sockets, but services may ask who is online.
  const presence = new RedisPresence({
    redis,
    redisPrefix: config.redisPrefix,
    heartbeatMs: config.presenceHeartbeatMs,
    ttlMs: config.presenceTtlMs,
    onBatch: () => undefined,
    onError: () => undefined,
  });
  const deps = (): ServiceDeps => ({ em: orm.em.fork(), config, clock: systemClock, log: logger, publisher: realtime.publisher, jobs, storage, pdf, presence });
  const ctx: WorkerContext = { config, orm, redis, redisConnections, logger, queues, pdf, deps };
  const runtime = await startWorkers(ctx, { metrics: options.metrics?.(queues) });
  return {
    orm,
    queues,
    runtime,
    async close() {
      await runtime.close();
      await realtime.close();
      await pdf.close();
      await queues.close();
      await Promise.all([closeRedis(queueConnection), closeRedis(redis)]);
      redisConnections.close();
      await orm.close();
    },
  };
}
