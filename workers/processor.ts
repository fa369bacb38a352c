import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../server/config/config.js';
import type { ServiceDeps } from '../server/modules/deps.js';
import type { Logger } from '../server/platform/logger.js';
import type { PdfRenderer } from '../server/platform/pdf/pdf-renderer.js';
import type { QueueKey, QueuePayloads } from '../server/platform/queues/contract.js';
import type { Queues } from '../server/platform/queues/queues.js';
import type { RedisConnectionLog } from '../server/platform/redis.js';

/** What a processor may use. Built once per process, shared by every job of that process. */
export interface WorkerContext {
  config: Config;
  orm: MikroORM;
  /** Connection for our own keys (not BullMQ's). */
  redis: Redis;
  /** Where the process's Redis connections report lost and restored. */
  redisConnections: RedisConnectionLog;
  logger: Logger;
  /** Producers, for processors that enqueue more jobs. */
  queues: Queues;
  /** This process's PDF renderer (the same one `deps().pdf` renders with). */
  pdf: PdfRenderer;
  /** Service dependencies with an EntityManager of their own: one call per job. */
  deps(): ServiceDeps;
}

/**
 * A queue's entry point: how many of its jobs one process runs at once and what a job does (adapt
 * the payload, call a service, return a result). The queue's name, payload, job ids and retry
 * policy are its contract (server/platform/queues/contract.ts). Processors must be idempotent:
 * BullMQ delivers at least once.
 */
export interface Processor<K extends QueueKey = QueueKey, Result = unknown> {
  queue: K;
  concurrency(config: Config): number;
  /** BullMQ's rate limiter of the queue (shared by every worker of the deployment), or none. */
  limiter?(config: Config): { max: number; duration: number } | null;
  /** Called once when a worker of this queue starts in a process (to warm up what its jobs use). */
  start?(ctx: WorkerContext): void;
  /** `token` is the worker's lock token, for `job.moveToDelayed`. */
  process(job: Job<QueuePayloads[K], Result>, ctx: WorkerContext, token?: string): Promise<Result>;
}
