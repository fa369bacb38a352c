import { pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { MikroORM } from '@mikro-orm/postgresql';
import { loadConfig, ConfigError } from '../server/config.js';
import { migrateUp } from '../server/db/database.js';
import { ormOptions } from '../server/db/orm-options.js';
import { closeRedis, createQueueRedis, createRedis, waitForRedis } from '../server/redis.js';
import { createWorkerRealtime } from '../server/realtime/worker-realtime.js';
import { Queues } from './queues.js';
import { startWorkers } from './runtime.js';
import { registerQueueMetrics } from './metrics.js';
import { serveMetrics } from './metrics-server.js';
import { queueProgressJobs } from './progress.js';
import { useProgressJobs } from '../server/routes/progress/progress-jobs.js';

/** Process entry for `npm run worker`: the BullMQ workers alone, for scaling out. */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78);
    }
    throw error;
  }
  const logger = pino({ level: config.logLevel, base: { component: 'worker', pid: process.pid } });

  await migrateUp(config);
  const orm = await MikroORM.init(ormOptions(config));
  const redis = createRedis(config.redisUrl, { connectionName: `${config.redisPrefix}-worker` });
  redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  await waitForRedis(redis, 3000);
  const queueConnection = createQueueRedis(config.redisUrl);
  const queues = new Queues(config, queueConnection);
  useProgressJobs(orm, queueProgressJobs(queues, logger));
  // Events of jobs (quiz:graded at a deadline, certificate:issued, …) reach clients on every API instance.
  const realtime = createWorkerRealtime({ config, orm, redis, log: logger });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = registerQueueMetrics(registry, queues);
  const runtime = await startWorkers({ config, orm, redis, logger, events: realtime.events }, queues, { metrics });
  const metricsServer = config.workerMetricsPort === null ? null : await serveMetrics(registry, config.host, config.workerMetricsPort);
  if (metricsServer) logger.info({ url: metricsServer.url }, `worker metrics at ${metricsServer.url}`);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'worker shutting down: taking no new jobs, finishing running ones');
    try {
      metricsServer?.server.close();
      await runtime.close();
      await realtime.close();
      await queues.close();
      await Promise.all([closeRedis(queueConnection), closeRedis(redis)]);
      await orm.close();
      logger.info('worker stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'error during worker shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
