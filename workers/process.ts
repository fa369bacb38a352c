import type { Logger } from 'pino';
import { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../server/config/config.js';
import { ormOptions } from '../server/platform/db/orm-options.js';
import { closeRedis, createQueueRedis, createRedis, RedisConnectionLog, waitForRedis } from '../server/platform/redis.js';
import { createWorkerRealtime } from '../server/realtime/worker-realtime.js';
import { useProgressJobs } from '../server/modules/progress/progress-jobs.js';
import { queueProgressJobs } from './progress.js';
import { Queues } from './queues.js';
import type { JobMetrics } from './metrics.js';
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
 * Everything a process that runs jobs sets up, in order: the ORM, our Redis connection, producer
 * queues (jobs enqueue more jobs), the progress → certificate hook, the realtime bridge (events of
 * jobs reach clients on every API instance through the Socket.IO stream) and the BullMQ workers.
 * `npm run worker` (workers/main.ts) and the benchmark's worker processes both start here.
 */
export async function startWorkerProcess(config: Config, logger: Logger, options: { metrics?: (queues: Queues) => JobMetrics } = {}): Promise<WorkerProcess> {
  const orm = await MikroORM.init(ormOptions(config, {}, logger.child({ component: 'db' })));
  const redisConnections = new RedisConnectionLog(logger.child({ component: 'redis' }));
  const redis = redisConnections.watch(
    createRedis(config.redisUrl, { connectionName: `${config.redisPrefix}-worker`, commandTimeout: config.redisCommandTimeoutMs }),
    'worker',
  );
  await waitForRedis(redis, 3000);
  const queueConnection = redisConnections.watch(createQueueRedis(config.redisUrl), 'queues');
  const queues = new Queues(config, queueConnection, (queue, error) => redisConnections.reportError(`queue:${queue}`, error));
  useProgressJobs(orm, queueProgressJobs(queues, logger));
  const realtime = createWorkerRealtime({ config, orm, redis, redisConnections, log: logger });
  const runtime = await startWorkers({ config, orm, redis, redisConnections, logger, events: realtime.events }, queues, { metrics: options.metrics?.(queues) });
  return {
    orm,
    queues,
    runtime,
    async close() {
      await runtime.close();
      await realtime.close();
      await queues.close();
      await Promise.all([closeRedis(queueConnection), closeRedis(redis)]);
      redisConnections.close();
      await orm.close();
    },
  };
}
