import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { Config } from '../config/config.js';
import type { Logger } from '../platform/logger.js';
import { closeRedis, type RedisConnectionLog } from '../platform/redis.js';
import { createAdapterRedis, createStreamPublisher } from './adapter.js';
import { createStreamEmitter } from './emitter.js';
import { RealtimePublisher } from './publisher.js';
import type { InterServerEvents } from './types.js';

export interface WorkerRealtime {
  /** The same publisher as the API's, without ticks or presence of its own. */
  publisher: RealtimePublisher;
  close(): Promise<void>;
}

/**
 * Realtime for a process that serves no clients (a worker, a script): what it publishes enters
 * the deployment's stream (`createStreamPublisher`), and every API instance delivers it to its
 * clients (Socket.IO and `/ws`) once and keeps it for recovery. It reads nothing back: it is not a
 * node of the Socket.IO cluster, so no instance counts it or waits for its answer.
 * (`@socket.io/redis-emitter` does not speak the streams adapter's protocol.)
 */
export function createWorkerRealtime(deps: {
  config: Pick<Config, 'redisUrl' | 'redisSentinel' | 'redisPrefix' | 'socketStreamMaxLen'>;
  orm: MikroORM;
  redis: Redis;
  /** Where the adapter's connection reports lost and restored; without it, errors are logged as warnings. */
  redisConnections?: RedisConnectionLog;
  log: Logger;
}): WorkerRealtime {
  const { config, log } = deps;
  const adapterRedis = createAdapterRedis(config, 'worker');
  if (deps.redisConnections) deps.redisConnections.watch(adapterRedis, 'socket.io');
  else adapterRedis.on('error', (error) => log.warn({ err: error }, 'socket.io adapter redis error'));
  const publish = createStreamPublisher(adapterRedis, config, (error) => log.warn({ err: error }, 'an event could not be published to the socket.io stream'));
  const serverSideEmit = <E extends keyof InterServerEvents>(event: E, ...args: Parameters<InterServerEvents[E]>) =>
    publish({ serverSideEmit: [event, ...args] });
  const publisher = new RealtimePublisher({
    emitter: createStreamEmitter(publish),
    orm: deps.orm,
    redis: deps.redis,
    redisPrefix: config.redisPrefix,
    log,
    // Server-side emits: the API instances holding the connections act on them.
    disconnectUser: (userId) => serverSideEmit('account-changed', userId),
    revokeCourseAccess: (revoked) => serverSideEmit('course-access-revoked', revoked),
    broadcastDeadlinesMoved: (moved) => serverSideEmit('attempt-deadlines-moved', moved),
  });
  return {
    publisher,
    async close() {
      publisher.close();
      await closeRedis(adapterRedis);
    },
  };
}
