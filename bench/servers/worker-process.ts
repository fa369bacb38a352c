/**
 * Scenario 9, system under test beside the app: the worker process of `npm run worker`, started
 * by the same `startWorkerProcess` as workers/main.ts (ORM, Redis, queues, worker realtime, so its
 * events reach the app's sockets through the deployment's stream, and BullMQ workers over every
 * queue), minus the migration (the bench database is migrated), with IPC. A launch's close ends
 * here: its deadline job (`quiz-deadlines`, `{launchId}`) finishes the attempts by their overdue
 * policy. `{type:'cpu'}` → `{type:'cpu', cpuUs}`: this process's CPU time (every thread) since the
 * previous ask. With `BENCH_CPU_PROF_DIR` set, it writes a CPU profile of its main thread there.
 */
import { pino } from 'pino';
import { loadConfig } from '../../server/config/config.js';
import { startWorkerProcess } from '../../workers/process.js';
import { serve } from './serve.js';

await serve({ cpuProfile: 'worker' }, async () => {
  const config = loadConfig(process.env);
  const logger = pino({ level: config.logLevel, base: { component: 'worker', pid: process.pid } });
  const worker = await startWorkerProcess(config, logger);
  let cpuStart = process.cpuUsage();
  process.on('message', (message: { type?: string }) => {
    if (message.type !== 'cpu') return;
    const cpu = process.cpuUsage(cpuStart);
    cpuStart = process.cpuUsage();
    process.send!({ type: 'cpu', cpuUs: cpu.user + cpu.system });
  });
  return {
    close: () => worker.close(),
  };
});
