import t from '../helpers/tap.js';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import type { Job } from 'bullmq';
import { buildTestApp } from '../helpers/app.js';
import { QueueJobs } from '../../server/platform/queues/jobs.js';
import { startInProcessWorkers } from '../../workers/in-process.js';

/** Starts the certificates worker of `app`, enqueues `count` jobs and resolves with their jobs once all completed. */
async function runJobs(app: Awaited<ReturnType<typeof buildTestApp>>['app'], count: number) {
  const runtime = await startInProcessWorkers(app, { only: ['certificates'] });
  try {
    const worker = runtime.workers[0]!;
    const completed: Job[] = [];
    const done = new Promise<void>((resolve) =>
      worker.on('completed', (job) => {
        completed.push(job);
        if (completed.length === count) resolve();
      }),
    );
    // Enrollments that do not exist: each job ends `missing` at once, so the limiter alone paces them.
    const jobs = new QueueJobs(app.queues, pino({ level: 'silent' }));
    for (let i = 0; i < count; i++) await jobs.issueCertificate(randomUUID());
    await done;
    return { worker, completed };
  } finally {
    await runtime.close();
  }
}

t.test('CERTIFICATE_RATE_PER_SECOND paces certificate jobs through BullMQ’s rate limiter', async (t) => {
  const { app } = await buildTestApp(t, 'cert-limiter', { CERTIFICATE_RATE_PER_SECOND: '2', CERTIFICATE_CONCURRENCY: '8', SWEEP_INTERVAL_MS: '600000' });
  const { worker, completed } = await runJobs(app, 6);
  t.same(worker.opts.limiter, { max: 2, duration: 1000 });
  t.same(
    completed.map((job) => job.returnvalue),
    Array.from({ length: 6 }, () => ({ status: 'missing' })),
  );
  // 2 per second: 6 jobs start in at least three windows, so the last starts ≥ 2 s after the first.
  const starts = completed.map((job) => job.processedOn!).sort((a, b) => a - b);
  const span = starts.at(-1)! - starts[0]!;
  t.ok(span >= 1900, `6 jobs at 2/s started over ${span} ms (≥ 2 windows)`);
});

t.test('no rate limit by default', async (t) => {
  const { app } = await buildTestApp(t, 'cert-no-limiter', { SWEEP_INTERVAL_MS: '600000' });
  t.equal(app.config.certificateRatePerSecond, 0);
  const { worker, completed } = await runJobs(app, 3);
  t.equal(worker.opts.limiter, undefined);
  t.equal(completed.length, 3);
});
