import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import { Server } from 'socket.io';
import type { Config } from '../config/config.js';
import type { Logger } from '../platform/logger.js';
import { closeRedis, type RedisConnectionLog } from '../platform/redis.js';
import { createAdapterRedis, useStreamsAdapter } from './adapter.js';
import { createSocketEmitter } from './emitter.js';
import { RealtimePublisher } from './publisher.js';
import type { RealtimeServer } from './types.js';

export interface WorkerRealtime {
  /** The same publisher as the API's, without ticks or presence of its own. */
  publisher: RealtimePublisher;
  close(): Promise<void>;
}

/**
 * Realtime for a process that serves no clients (a worker, a script). `@socket.io/redis-emitter`
 * does not speak the streams adapter's protocol, so the process gets a Socket.IO server that never
 * listens, on the same adapter: what it emits enters the deployment's stream and every API
 * instance delivers it to its clients (Socket.IO and `/ws`) once, and keeps it for recovery.
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
  const io: RealtimeServer = new Server();
  const adapterRedis = createAdapterRedis(config, 'worker');
  if (deps.redisConnections) deps.redisConnections.watch(adapterRedis, 'socket.io');
  else adapterRedis.on('error', (error) => log.warn({ err: error }, 'socket.io adapter redis error'));
  useStreamsAdapter(io, adapterRedis, config);
  const publisher = new RealtimePublisher({
    emitter: createSocketEmitter(io),
    orm: deps.orm,
    redis: deps.redis,
    redisPrefix: config.redisPrefix,
    log,
    // Through the adapter: the API instances holding the connections act on them.
    disconnectUser: (userId) => io.serverSideEmit('account-changed', userId),
    revokeCourseAccess: (revoked) => io.serverSideEmit('course-access-revoked', revoked),
    broadcastDeadlinesMoved: (moved) => io.serverSideEmit('attempt-deadlines-moved', moved),
  });
  return {
    publisher,
    async close() {
      publisher.close();
      // `io.close()` expects an engine, which a server that never listens does not have.
      await io.of('/').adapter.close();
      await closeRedis(adapterRedis);
    },
  };
}
