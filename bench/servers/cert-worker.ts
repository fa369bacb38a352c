/**
 * Scenario 8(a), system under test: the worker process of `npm run worker`, started by the same
 * `startWorkerProcess` as workers/main.ts (ORM, Redis, producer queues, the progress → certificate
 * hook, worker realtime so `certificate:issued` enters the deployment's stream, BullMQ workers
 * over every queue), minus the migration (the bench database is migrated) and with IPC. It counts the
 * certificate jobs that end `issued` (BullMQ's `completed` event, which it emits anyway):
 * `{type:'expect', count}` → `{type:'issued', at, cpuUs}` once `count` more have (`at`: hrtime;
 * `cpuUs`: this process's CPU time since `expect`, every thread, the render thread included).
 * `{type:'concurrency', n}` sets the certificates worker's concurrency (BullMQ's setter: what
 * CERTIFICATE_CONCURRENCY sets at start) → `{type:'concurrency'}`. With `BENCH_CPU_PROF_DIR` set,
 * it writes a CPU profile of its main thread's run there.
 */
import { pino } from 'pino';
import { loadConfig } from '../../server/config/config.js';
import type { CertificateResult } from '../../workers/certificates.worker.js';
import { startWorkerProcess } from '../../workers/process.js';
import { serve } from './serve.js';

await serve({ cpuProfile: 'cert-worker' }, async () => {
  const config = loadConfig(process.env);
  const logger = pino({ level: config.logLevel, base: { component: 'worker', pid: process.pid } });
  const worker = await startWorkerProcess(config, logger);

  let issued = 0;
  let target = Infinity;
  let cpuStart = process.cpuUsage();
  const certificates = worker.runtime.workers.find((worker) => worker.name === 'certificates')!;
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
    close: () => worker.close(),
  };
});
