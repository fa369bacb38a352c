/**
 * Scenario 7, system under test for add→start: a worker process started by the same
 * `startWorkerProcess` as `workers/main.ts` (its ORM, Redis connections, queues, worker realtime
 * and BullMQ workers over every queue) with one bench-only difference: the `progress` definition's
 * processor is wrapped, before the runtime creates its BullMQ worker, so that its first act is
 * to take a `process.hrtime.bigint()` stamp, subtract the producer's stamp carried in
 * `job.data.sentAt` (CLOCK_MONOTONIC, one clock for every process) and then run the product's
 * processor unchanged. `workers/main.ts` itself offers no hook for this, and BullMQ's own
 * timestamps (`processedOn`) are wall-clock milliseconds. Jobs without `sentAt` are not counted.
 * IPC: `{type:'collect'}` → `{type:'starts', latenciesMs, cpuUs}` (since the last collect; `cpuUs` is
 * this process's CPU time). With `BENCH_CPU_PROF_DIR` set, it writes a CPU profile of its run there.
 */
import { pino } from 'pino';
import { loadConfig } from '../../server/config/config.js';
import { progressProcessor } from '../../workers/progress.worker.js';
import { startWorkerProcess } from '../../workers/process.js';
import { serve } from './serve.js';

await serve({ cpuProfile: 'progress-worker' }, async () => {
  const config = loadConfig(process.env);
  const logger = pino({ level: config.logLevel, base: { component: 'worker', pid: process.pid } });
  let latenciesMs: number[] = [];
  const processor = progressProcessor.process;
  progressProcessor.process = (job, ctx, token) => {
    const startedAt = process.hrtime.bigint();
    const sentAt = (job.data as { sentAt?: unknown }).sentAt;
    if (typeof sentAt === 'string') latenciesMs.push(Number(startedAt - BigInt(sentAt)) / 1e6);
    return processor.call(progressProcessor, job, ctx, token);
  };
  const worker = await startWorkerProcess(config, logger);

  let cpuStart = process.cpuUsage();
  process.on('message', (message: { type?: string }) => {
    if (message.type !== 'collect') return;
    const cpu = process.cpuUsage(cpuStart);
    cpuStart = process.cpuUsage();
    process.send!({ type: 'starts', latenciesMs, cpuUs: cpu.user + cpu.system });
    latenciesMs = [];
  });
  return {
    close: () => worker.close(),
  };
});
