import type { FastifyInstance } from 'fastify';
import type { WorkerContext } from './processor.js';
import type { StartWorkersOptions } from './runtime.js';
import { startWorkers, type WorkerRuntime } from './runtime.js';

/**
 * The workers on the app's own event loop and connections, with the app's publisher: for tests
 * and benchmarks that want jobs and their events in one process. `npm start` runs them in a
 * thread instead (server/main.ts); `npm run worker` in a process of their own.
 */
export function startInProcessWorkers(app: FastifyInstance, options: StartWorkersOptions = {}): Promise<WorkerRuntime> {
  return startWorkers(workerContextOf(app), { metrics: app.jobMetrics, ...options });
}

/** A worker context over the app's connections and services (`overrides` for tests). */
export function workerContextOf(app: FastifyInstance, overrides: Partial<WorkerContext> = {}): WorkerContext {
  return {
    config: app.config,
    orm: app.orm,
    redis: app.redis,
    redisConnections: app.redisConnections,
    logger: app.log.child({ component: 'workers' }),
    queues: app.queues,
    pdf: app.pdf,
    deps: () => app.forkDeps(),
    ...overrides,
  };
}
