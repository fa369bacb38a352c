import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import type { Config } from '../config/config.js';
import type { RealtimeServer } from './types.js';

/**
 * The Redis connection of the streams adapter. Its own: the adapter duplicates it for a blocking
 * `XREAD` loop, and publishing must wait out a short Redis outage (offline queue) rather than
 * drop an event that the stream would otherwise replay to every instance.
 */
export function createAdapterRedis(config: Pick<Config, 'redisUrl' | 'redisPrefix'>, role: string): Redis {
  const redis = new Redis(config.redisUrl, {
    connectionName: `${config.redisPrefix}-sio-${role}`,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 3,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = (override) => settleSubscriptions(duplicate(override), redis);
  return redis;
}

/**
 * The adapter subscribes its duplicate of our connection without waiting for the reply, and
 * ioredis subscribes again by itself after every reconnect, the same way. When that subscription
 * fails (Redis unreachable beyond `maxRetriesPerRequest`, or the connection closed while it was in
 * flight), its promise rejected with no handler: an unhandled rejection, which ends the process —
 * an API started while Redis was down died after a second. The failure goes to the parent
 * connection's `error` listeners instead; a connection closed on purpose reports nothing.
 */
function settleSubscriptions(client: Redis, parent: Redis): Redis {
  for (const name of ['subscribe', 'psubscribe', 'ssubscribe'] as const) {
    const original = client[name] as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(client, name, {
      configurable: true,
      value(...args: unknown[]) {
        const reply = original.apply(client, args);
        reply.catch((error: unknown) => {
          if (client.status !== 'end') parent.emit('error', error);
        });
        return reply;
      },
    });
  }
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
      streamName: `${config.redisPrefix}:sio:stream`,
      channelPrefix: `${config.redisPrefix}:sio`,
      sessionKeyPrefix: `${config.redisPrefix}:sio:session:`,
      maxLen: config.socketStreamMaxLen,
      // Our payloads are JSON; skipping the binary scan of every packet is cheaper.
      onlyPlaintext: true,
    }),
  );
}

/** A broadcast as this instance delivers it to its own clients. */
export interface DeliveredPacket {
  event: string;
  payload: unknown;
  /** Empty means everyone. */
  rooms: ReadonlySet<string>;
  except: ReadonlySet<string>;
  volatile: boolean;
}

export interface AdapterTap {
  /** Each broadcast this instance delivers locally, once: emitted here or received from the stream. */
  delivered(packet: DeliveredPacket): void;
  /** `disconnectSockets` for these rooms reached this instance (from here or another process). */
  disconnect(rooms: ReadonlySet<string>): void;
}

// socket.io-adapter's `MessageType` (a transitive dependency, so not imported).
const BROADCAST = 3;
const DISCONNECT_SOCKETS = 6;
/** socket.io-parser's EVENT packet type. */
const EVENT = 2;

interface Opts {
  rooms: Set<string> | string[];
  except?: Set<string> | string[];
  flags?: { local?: boolean; volatile?: boolean };
}
interface TappableAdapter {
  uid?: string;
  broadcast(packet: { type: number; data?: unknown[] }, opts: Opts): unknown;
  disconnectSockets(opts: Opts, close: boolean): unknown;
  onMessage?(message: { uid: string; nsp: string; type: number; data?: { packet?: { type: number; data?: unknown[] }; opts?: Opts; requestId?: unknown; close?: boolean } }, offset?: string): unknown;
}

/**
 * Observes what the default namespace's adapter delivers on this instance, for clients that are
 * not Socket.IO sockets (`/ws`) and for state that follows events (ticks stop at `quiz:graded`).
 * A cluster adapter delivers a packet locally from two places — `broadcast()` for what this
 * process emits (after publishing it), `onMessage()` for what the stream brings from others (its
 * own messages are skipped there) — so wrapping both sees every packet exactly once.
 */
export function tapAdapter(io: RealtimeServer, tap: AdapterTap): void {
  const adapter = io.of('/').adapter as unknown as TappableAdapter;
  const toPacket = (packet: { type: number; data?: unknown[] } | undefined, opts: Opts | undefined): DeliveredPacket | null => {
    if (!packet || packet.type !== EVENT || !Array.isArray(packet.data) || typeof packet.data[0] !== 'string') return null;
    return {
      event: packet.data[0],
      // Read before the adapter appends the recovery offset to `data`.
      payload: packet.data[1],
      rooms: new Set(opts?.rooms ?? []),
      except: new Set(opts?.except ?? []),
      volatile: opts?.flags?.volatile === true,
    };
  };

  const broadcast = adapter.broadcast.bind(adapter);
  adapter.broadcast = (packet, opts) => {
    const delivered = toPacket(packet, opts);
    if (delivered) tap.delivered(delivered);
    return broadcast(packet, opts);
  };
  const disconnectSockets = adapter.disconnectSockets.bind(adapter);
  adapter.disconnectSockets = (opts, close) => {
    tap.disconnect(new Set(opts.rooms));
    return disconnectSockets(opts, close);
  };
  if (adapter.onMessage) {
    const onMessage = adapter.onMessage.bind(adapter);
    adapter.onMessage = (message, offset) => {
      if (message.uid !== adapter.uid && message.nsp === '/') {
        if (message.type === BROADCAST && message.data?.requestId === undefined) {
          const delivered = toPacket(message.data?.packet, message.data?.opts);
          if (delivered) tap.delivered(delivered);
        } else if (message.type === DISCONNECT_SOCKETS && message.data?.opts) {
          tap.disconnect(new Set(message.data.opts.rooms));
        }
      }
      return onMessage(message, offset);
    };
  }
}
