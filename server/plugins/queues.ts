import fp from 'fastify-plugin';
import { closeRedis, createQueueRedis } from '../platform/redis.js';
import { QueueJobs, type Jobs } from '../platform/queues/jobs.js';
import { registerQueueMetrics, type JobMetrics } from '../platform/queues/metrics.js';
import { Queues } from '../platform/queues/queues.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Producers of every queue (the workers run elsewhere: a thread of `npm start`, or `npm run worker`). */
    queues: Queues;
    /** The `Jobs` port services use. */
    jobs: Jobs;
    /** Durations, retries and failures of jobs run in this process (tests and benchmarks run workers in-process). */
    jobMetrics: JobMetrics;
  }
}

export default fp(
  async (app) => {
    const connection = app.redisConnections.watch(createQueueRedis(app.config), 'queues');
    const queues = new Queues(app.config, connection, (queue, error) => app.redisConnections.reportError(`queue:${queue}`, error));
    app.decorate('queues', queues);
    app.decorate('jobs', new QueueJobs(queues, app.log) as Jobs);
    app.decorate('jobMetrics', registerQueueMetrics(app.metrics, queues));
    app.addHook('onClose', async () => {
      await queues.close();
      await closeRedis(connection);
    });
  },
  { name: 'queues', dependencies: ['config', 'redis', 'metrics'] },
);
