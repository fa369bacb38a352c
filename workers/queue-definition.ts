import type { DefaultJobOptions, Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../server/config.js';

/** What a processor may use. Built once per process, shared by every job of that process. */
export interface WorkerContext {
  config: Config;
  orm: MikroORM;
  /** Connection for our own keys (not BullMQ's). */
  redis: Redis;
  logger: FastifyBaseLogger;
}

/**
 * Everything about one queue in one place: its name, what a job carries, how its id is made
 * (deterministic ids let BullMQ drop duplicates; they never contain `:`), its retry policy and
 * its processor. Processors must be idempotent: BullMQ delivers at least once.
 */
export interface QueueDefinition<Payload extends object = object, Result = unknown> {
  name: string;
  defaultJobOptions: DefaultJobOptions;
  /** Jobs of this queue one process runs at once. */
  concurrency(config: Config): number;
  jobId(payload: Payload): string;
  process(job: Job<Payload, Result>, ctx: WorkerContext): Promise<Result>;
}

/** Checks the BullMQ rule that a custom job id contains no `:` (it separates key parts). */
export function assertJobId(id: string): string {
  if (id.includes(':')) throw new Error(`job id "${id}" must not contain ":"`);
  return id;
}
