import type { Job, Worker } from 'bullmq';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Queues } from './queues.js';
import { queueContracts, type QueueKey } from './contract.js';

/** Job states whose depth `/metrics` reports. */
const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** What the worker runtime reports about the jobs it runs. */
export interface JobMetrics {
  /** Observes a worker's completed and failed jobs. */
  observe(worker: Worker, queue: string): void;
}

/**
 * Queue metrics on a Prometheus registry: depth per queue and state (read from Redis on each
 * scrape, so every instance reports the shared queues), and, for the jobs this process runs,
 * durations, retries and final failures.
 */
export function registerQueueMetrics(registry: Registry, queues: Queues): JobMetrics {
  new Gauge({
    name: 'bullmq_queue_jobs',
    help: 'Jobs per queue and state (waiting, active, delayed, failed), read at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        (Object.keys(queueContracts) as QueueKey[]).map(async (key) => {
          const counts = await queues.get(key).getJobCounts(...STATES);
          for (const state of STATES) this.set({ queue: queueContracts[key].name, state }, counts[state] ?? 0);
        }),
      );
    },
  });
  const duration = new Histogram({
    name: 'bullmq_job_duration_seconds',
    help: 'Processing time of jobs run by this process, by queue and outcome',
    labelNames: ['queue', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const retries = new Counter({
    name: 'bullmq_job_retries_total',
    help: 'Failed job attempts that will be retried, by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const failures = new Counter({
    name: 'bullmq_job_failures_total',
    help: 'Jobs that failed for good (attempts used up or unrecoverable), by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
  });

  const elapsed = (job: Job) => (job.finishedOn && job.processedOn ? (job.finishedOn - job.processedOn) / 1000 : null);
  return {
    observe(worker, queue) {
      worker.on('completed', (job) => {
        const seconds = elapsed(job);
        if (seconds !== null) duration.observe({ queue, outcome: 'completed' }, seconds);
      });
      worker.on('failed', (job, error) => {
        if (!job) return;
        const seconds = elapsed(job) ?? (job.processedOn ? (Date.now() - job.processedOn) / 1000 : null);
        if (seconds !== null) duration.observe({ queue, outcome: 'failed' }, seconds);
        const final = error?.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
        (final ? failures : retries).inc({ queue });
      });
    },
  };
}
