import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis } from 'ioredis';
import type { Config } from '../config/config.js';
import { createQueueRedis, type RedisConfig } from '../platform/redis.js';
import type { RealtimeServer } from './types.js';
import { settleSubscriptions, streamEntry, type StreamMessage } from './socketio-internals.js';

/**
 * The Redis connection of the streams adapter. Its own: the adapter duplicates it for a blocking
 * `XREAD` loop, and publishing must wait out a short Redis outage (offline queue) rather than
 * drop an event that the stream would otherwise replay to every instance.
 */
export function createAdapterRedis(config: RedisConfig & Pick<Config, 'redisPrefix'>, role: string): Redis {
  const redis = createQueueRedis(config, {
    connectionName: `${config.redisPrefix}-sio-${role}`,
    maxRetriesPerRequest: 3,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = (override) => {
    const child = settleSubscriptions(duplicate(override), redis);
    // The adapter ends its blocking reader only once its XREAD returns: up to 5 s after the
    // adapter closed, and never while no Sentinel answers (ioredis then holds the command while it
    // keeps asking them). It ends with the connection it was made from instead.
    redis.once('end', () => child.disconnect());
    return disconnectOnce(child);
  };
  return redis;
}

/**
 * Makes `disconnect()` of an ended connection a no-op. ioredis's `disconnect()` always arms a
 * timer (`disconnectTimeout`, 2 s) that destroys the socket unless it closes first; on a
 * connection already closed it never closes again, so the timer runs out and holds the process
 * 2 s after everything else is closed. The adapter's reader gets two disconnects at shutdown:
 * ours (above) and the adapter's own when its XREAD then fails.
 */
export function disconnectOnce(client: Redis): Redis {
  const disconnect = client.disconnect.bind(client);
  client.disconnect = (reconnect?: boolean) => {
    if (!reconnect && client.status === 'end') return;
    disconnect(reconnect);
  };
  return client;
}

/**
 * Puts `io` on the Redis streams adapter: every broadcast goes through one stream per deployment
 * (named from `redisPrefix`, like the recovery sessions and the pub/sub channels), so API
 * instances and worker processes of one deployment share it and other deployments (and test
 * files) never see it. The stream also backs connection state recovery across instances, which is
 * why `maxLen` must cover the two-minute window (see `socketStreamMaxLen`).
 */
export function useStreamsAdapter(io: RealtimeServer, redis: Redis, config: Pick<Config, 'redisPrefix' | 'socketStreamMaxLen'>): void {
  io.adapter(
    createAdapter(redis, {
      streamName: streamName(config),
      channelPrefix: `${config.redisPrefix}:sio`,
      sessionKeyPrefix: `${config.redisPrefix}:sio:session:`,
      maxLen: config.socketStreamMaxLen,
      // Our payloads are JSON; skipping the binary scan of every packet is cheaper.
      onlyPlaintext: true,
    }),
  );
}

/** The deployment's stream (one per `redisPrefix`). */
const streamName = (config: Pick<Config, 'redisPrefix'>) => `${config.redisPrefix}:sio:stream`;

/**
 * Publishing into the deployment's stream without a Socket.IO server, for processes that serve no
 * clients (workers). A server on the streams adapter would also read the whole stream: every
 * broadcast of every instance, decoded on the worker's core for no client at all (2,000 entries
 * at a launch to 2,000 students, while the instance that launched it shares the core). Entries are
 * written as the adapter writes them (`streamEntry`), one `XADD` each, in order, on `redis` (the
 * adapter's kind of connection: it waits out a short outage rather than dropping the event).
 */
export function createStreamPublisher(
  redis: Redis,
  config: Pick<Config, 'redisPrefix' | 'socketStreamMaxLen'>,
  onError: (error: unknown) => void,
): (message: StreamMessage) => void {
  const stream = streamName(config);
  const maxLen = String(config.socketStreamMaxLen);
  return (message) => {
    redis.call('XADD', stream, 'MAXLEN', '~', maxLen, '*', ...streamEntry(message)).catch(onError);
  };
}
