import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { serveMetrics } from '../server/platform/metrics-server.js';
import { registerQueueMetrics } from '../server/platform/queues/metrics.js';
import { errSerializer } from '../server/platform/db/query-errors.js';
import type { WorkerThreadData, WorkerThreadMessage } from '../server/platform/worker-thread.js';
import { lowerThreadPriority } from '../server/platform/thread-priority.js';
import { startWorkerProcess } from './process.js';

/**
 * Entry of the worker thread of `npm start` (server/platform/worker-thread.ts): the workers of
 * `npm run worker`, configured by the API process, stopped when it asks.
 */
const { config } = workerData as WorkerThreadData;
const logger = pino({ level: config.logLevel, base: { component: 'workers', thread: 'workers', pid: process.pid }, serializers: { err: errSerializer } });
const port = parentPort!;
// Before anything starts a thread of its own (the render thread inherits the value).
if (lowerThreadPriority(config.workerThreadNice)) logger.info({ nice: config.workerThreadNice }, 'worker thread runs at a lower OS priority than the API');

const registry = new Registry();
const worker = await startWorkerProcess(config, logger, { metrics: (queues) => registerQueueMetrics(registry, queues) });
// The API's /metrics reports the queues' depth; the jobs this thread runs are measured here.
const metricsServer = config.workerMetricsPort === null ? null : await serveMetrics(registry, config.host, config.workerMetricsPort, config.metricsToken);
if (metricsServer) logger.info({ url: metricsServer.url }, `worker metrics at ${metricsServer.url}`);
port.postMessage({ type: 'ready' } satisfies WorkerThreadMessage);
port.on('message', (message: WorkerThreadMessage) => {
  if (message.type !== 'close') return;
  logger.info('workers shutting down: taking no new jobs, finishing running ones');
  metricsServer?.server.close();
  worker.close().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'error during worker shutdown');
      process.exit(1);
    },
  );
});
