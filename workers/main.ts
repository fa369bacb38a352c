import { pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { loadConfig, ConfigError } from '../server/config/config.js';
import { migrateUp } from '../server/platform/db/database.js';
import { exitUnlessDependenciesAnswer } from '../server/platform/startup-check.js';
import { errSerializer } from '../server/platform/db/query-errors.js';
import { registerQueueMetrics } from '../server/platform/queues/metrics.js';
import { serveMetrics } from '../server/platform/metrics-server.js';
import { startWorkerProcess } from './process.js';

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
  const logger = pino({ level: config.logLevel, base: { component: 'worker', pid: process.pid }, serializers: { err: errSerializer } });

  // One clear line, not a stack trace, when PostgreSQL or Redis is not there at all.
  await exitUnlessDependenciesAnswer(config);
  await migrateUp(config);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const worker = await startWorkerProcess(config, logger, { metrics: (queues) => registerQueueMetrics(registry, queues) });
  const metricsServer = config.workerMetricsPort === null ? null : await serveMetrics(registry, config.host, config.workerMetricsPort, config.metricsToken);
  if (metricsServer) logger.info({ url: metricsServer.url }, `worker metrics at ${metricsServer.url}`);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'worker shutting down: taking no new jobs, finishing running ones');
    try {
      metricsServer?.server.close();
      await worker.close();
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
