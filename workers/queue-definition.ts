import type { DefaultJobOptions, Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../server/config/config.js';
import type { RedisConnectionLog } from '../server/platform/redis.js';
import type { Queues } from './queues.js';
import type { GradedAttempt } from '../server/modules/attempts/attempts.service.js';
import type { EnrollmentProgressJson } from '../server/modules/progress/progress.service.js';
import type { IssuedCertificate } from '../server/modules/certificates/certificates.issuer.js';

/** What a processor may use. Built once per process, shared by every job of that process. */
export interface WorkerContext {
  config: Config;
  orm: MikroORM;
  /** Connection for our own keys (not BullMQ's). */
  redis: Redis;
  /** Where the process's Redis connections report lost and restored (the runtime watches its own there). */
  redisConnections?: RedisConnectionLog;
  logger: FastifyBaseLogger;
  /** What processors report for others to act on (the realtime layer pushes events). */
  events?: WorkerEvents;
  /** Producers, for processors that enqueue more jobs; set by `startWorkers`. */
  queues?: Queues;
}

/** Happenings in jobs that clients hear about. */
export interface WorkerEvents {
  /** An attempt graded at its deadline by a job or the sweep. */
  attemptGraded(outcome: GradedAttempt): Promise<void> | void;
  /** A `progress` job recalculated an enrollment (`progress:updated` to the student and instructors). */
  progressUpdated?(progress: EnrollmentProgressJson): Promise<void> | void;
  /** A certificate was issued; called once per certificate across replays (`certificate:issued` to the student). */
  certificateIssued?(certificate: IssuedCertificate): Promise<void> | void;
}

/**
 * Everything about one queue in one place: its name, what a job carries, how its id is made
 * (deterministic ids let BullMQ drop duplicates; they never contain `:`), its retry policy and
 * its processor. Processors must be idempotent: BullMQ delivers at least once.
 */
export interface QueueDefinition<Payload extends object = object, Result = unknown> {
  name: string;
  defaultJobOptions: DefaultJobOptions;
  /**
   * Delay before retry number `attemptsMade` of a failed job, for `backoff: { type }` types that
   * BullMQ does not know (its own are `fixed` and `exponential`, which cannot be capped).
   */
  backoffStrategy?(attemptsMade: number): number;
  /** Jobs of this queue one process runs at once. */
  concurrency(config: Config): number;
  jobId(payload: Payload): string;
  /** Called once when a worker of this queue starts in a process (to warm up what its jobs use). */
  start?(ctx: WorkerContext): void;
  /** `token` is the worker's lock token, for `job.moveToDelayed`. */
  process(job: Job<Payload, Result>, ctx: WorkerContext, token?: string): Promise<Result>;
}

/** Checks the BullMQ rule that a custom job id contains no `:` (it separates key parts). */
export function assertJobId(id: string): string {
  if (id.includes(':')) throw new Error(`job id "${id}" must not contain ":"`);
  return id;
}
