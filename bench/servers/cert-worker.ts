/**
 * Scenario 8(a), system under test: the worker process of `npm run worker`, set up as
 * workers/main.ts does (ORM, Redis, producer queues, the progress → certificate hook, worker
 * realtime so `certificate:issued` enters the deployment's stream, `startWorkers` over every
 * queue), minus the migration (the bench database is migrated) and with IPC. It counts the
 * certificate jobs that end `issued` (BullMQ's `completed` event, which it emits anyway):
 * `{type:'expect', count}` → `{type:'issued', at, cpuUs}` once `count` more have (`at`: hrtime;
 * `cpuUs`: this process's CPU time since `expect`, every thread, the render thread included).
 * `{type:'concurrency', n}` sets the certificates worker's concurrency (BullMQ's setter: what
 * CERTIFICATE_CONCURRENCY sets at start) → `{type:'concurrency'}`.
 */
import { pino } from 'pino';
import { MikroORM } from '@mikro-orm/postgresql';
import { loadConfig } from '../../server/config.js';
import { ormOptions } from '../../server/db/orm-options.js';
import { closeRedis, createQueueRedis, createRedis, waitForRedis } from '../../server/redis.js';
import { createWorkerRealtime } from '../../server/realtime/worker-realtime.js';
import { useProgressJobs } from '../../server/routes/progress/progress-jobs.js';
import type { CertificateResult } from '../../workers/certificates.js';
import { queueProgressJobs } from '../../workers/progress.js';
import { Queues } from '../../workers/queues.js';
import { startWorkers } from '../../workers/runtime.js';
import { serve } from './serve.js';

await serve(async () => {
  const config = loadConfig(process.env);
  const logger = pino({ level: config.logLevel, base: { component: 'worker', pid: process.pid } });
  const orm = await MikroORM.init(ormOptions(config));
  const redis = createRedis(config.redisUrl, { connectionName: `${config.redisPrefix}-worker` });
  redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  await waitForRedis(redis, 3000);
  const queueConnection = createQueueRedis(config.redisUrl);
  const queues = new Queues(config, queueConnection);
  useProgressJobs(orm, queueProgressJobs(queues, logger));
  const realtime = createWorkerRealtime({ config, orm, redis, log: logger });
  const runtime = await startWorkers({ config, orm, redis, logger, events: realtime.events }, queues);

  let issued = 0;
  let target = Infinity;
  let cpuStart = process.cpuUsage();
  const certificates = runtime.workers.find((worker) => worker.name === 'certificates')!;
  certificates.on('completed', (_job, result: CertificateResult) => {
    if (result.status !== 'issued') return;
    if (++issued !== target) return;
    const cpu = process.cpuUsage(cpuStart);
    process.send!({ type: 'issued', at: process.hrtime.bigint().toString(), cpuUs: cpu.user + cpu.system });
  });
  process.on('message', (message: { type?: string; count: number; n: number }) => {
    if (message.type === 'concurrency') {
      certificates.concurrency = message.n;
      process.send!({ type: 'concurrency' });
    }
    if (message.type !== 'expect') return;
    issued = 0;
    target = message.count;
    cpuStart = process.cpuUsage();
  });

  return {
    close: async () => {
      await runtime.close();
      await realtime.close();
      await queues.close();
      await Promise.all([closeRedis(queueConnection), closeRedis(redis)]);
      await orm.close();
    },
  };
});
