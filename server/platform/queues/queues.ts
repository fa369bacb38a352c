import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../config/config.js';
import { queueContracts, type QueueKey, type QueuePayloads } from './contract.js';

/**
 * The producer side of every queue, for API instances, workers and scripts alike. Queues are
 * created on first use with the contract's default job options and the configured prefix.
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

  get<K extends QueueKey>(key: K): Queue<QueuePayloads[K]> {
    let queue = this.queues.get(key);
    if (!queue) {
      const contract = queueContracts[key];
      queue = new Queue(contract.name, { connection: this.connection, prefix: this.config.queuePrefix, defaultJobOptions: contract.defaultJobOptions });
      queue.on('error', (error) => this.onError(contract.name, error));
      this.queues.set(key, queue);
    }
    return queue as unknown as Queue<QueuePayloads[K]>;
  }

  /** Adds a job under the contract's id and options (a duplicate add is a no-op while the job exists). */
  async add<K extends QueueKey>(key: K, payload: QueuePayloads[K], options: JobsOptions = {}) {
    const contract = queueContracts[key];
    const queue = this.get(key);
    return queue.add(contract.name as never, payload as never, { jobId: contract.jobId(payload), ...contract.addOptions?.(payload), ...options });
  }

  /** Adds many jobs of one queue in one round trip, each under the contract's id and options. */
  async addBulk<K extends QueueKey>(key: K, jobs: Array<{ payload: QueuePayloads[K]; options?: JobsOptions }>) {
    const contract = queueContracts[key];
    const queue = this.get(key);
    return queue.addBulk(
      jobs.map(({ payload, options }) => ({
        name: contract.name as never,
        data: payload as never,
        opts: { jobId: contract.jobId(payload), ...contract.addOptions?.(payload), ...options },
      })),
    );
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}
