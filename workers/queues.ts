import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../server/config/config.js';
import type { QueueDefinition } from './queue-definition.js';
import { queueDefinitions, type QueueKey } from './registry.js';

type PayloadOf<D> = D extends QueueDefinition<infer P, unknown> ? P : never;
export type QueuePayload<K extends QueueKey> = PayloadOf<(typeof queueDefinitions)[K]>;

/**
 * The producer side of every queue, for API instances, workers and scripts alike. Queues are
 * created on first use with the definition's default job options and the configured prefix.
 */
export class Queues {
  private readonly queues = new Map<QueueKey, Queue>();

  constructor(
    private readonly config: Pick<Config, 'queuePrefix'>,
    private readonly connection: Redis,
    /**
     * Where each queue's `error` events go. A BullMQ `Queue` without a listener prints every
     * connection error as a raw stack trace (hundreds per Redis outage), so one is always attached;
     * the connection's own listener reports the outage itself.
     */
    private readonly onError: (queue: string, error: Error) => void = () => undefined,
  ) {}

  get<K extends QueueKey>(key: K): Queue<QueuePayload<K>> {
    let queue = this.queues.get(key);
    if (!queue) {
      const definition = queueDefinitions[key];
      queue = new Queue(definition.name, {
        connection: this.connection,
        prefix: this.config.queuePrefix,
        defaultJobOptions: definition.defaultJobOptions,
      });
      queue.on('error', (error) => this.onError(definition.name, error));
      this.queues.set(key, queue);
    }
    return queue as unknown as Queue<QueuePayload<K>>;
  }

  /** Adds a job under the definition's deterministic id (so a duplicate add is a no-op while the job exists). */
  async add<K extends QueueKey>(key: K, payload: QueuePayload<K>, options: JobsOptions = {}) {
    const definition = queueDefinitions[key] as QueueDefinition<QueuePayload<K>>;
    const queue = this.get(key) as unknown as Queue<QueuePayload<K>>;
    return queue.add(definition.name as never, payload as never, { jobId: definition.jobId(payload), ...options });
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}
