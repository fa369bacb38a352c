import fp from 'fastify-plugin';
import { closeRedis, createQueueRedis } from '../platform/redis.js';
import { Queues } from '../../workers/queues.js';
import { startWorkers, type WorkerRuntime } from '../../workers/runtime.js';
import { registerQueueMetrics } from '../../workers/metrics.js';
import { queueProgressJobs } from '../../workers/progress.js';
import { useProgressJobs } from '../modules/progress/progress-jobs.js';

declare module 'fastify' {
  interface FastifyInstance {
    queues: Queues;
    /** The in-process workers, when this instance runs them (`WORKERS` on). */
    workerRuntime: WorkerRuntime | null;
  }
}

export default fp(
  async (app) => {
    const connection = app.redisConnections.watch(createQueueRedis(app.config.redisUrl), 'queues');
    const queues = new Queues(app.config, connection, (queue, error) => app.redisConnections.reportError(`queue:${queue}`, error));
    app.decorate('queues', queues);
    app.decorate('workerRuntime', null);
    // Completions enqueue certificates, lesson changes enqueue recalculations (issue 9).
    const stopProgressJobs = useProgressJobs(app.orm, queueProgressJobs(queues, app.log));
    const metrics = app.hasDecorator('metrics') ? registerQueueMetrics(app.metrics, queues) : undefined;

    if (app.config.workers) {
      // Started once the app is ready, so that every plugin a processor may need is loaded.
      app.addHook('onReady', async () => {
        app.workerRuntime = await startWorkers(
          {
            config: app.config,
            orm: app.orm,
            redis: app.redis,
            redisConnections: app.redisConnections,
            logger: app.log.child({ component: 'workers' }),
            // Jobs that grade attempts tell this instance's clients (realtime plugin, when loaded).
            events: app.hasDecorator('realtimeEvents') ? app.realtimeEvents : undefined,
          },
          queues,
          { metrics },
        );
      });
    }

    // Registered after the ORM and Redis plugins, so this runs before they close: running jobs
    // finish with their connections still open.
    app.addHook('onClose', async () => {
      await app.workerRuntime?.close();
      stopProgressJobs();
      await queues.close();
      await closeRedis(connection);
    });
  },
  { name: 'queues', dependencies: ['config', 'orm', 'redis'] },
);
