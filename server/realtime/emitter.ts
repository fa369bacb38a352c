import type { EventData, ServerEventName, ServerEventPayload } from './contract.js';
import type { StreamMessage } from './socketio-internals.js';
import type { RealtimeServer } from './types.js';

/**
 * How the publisher emits without knowing about Socket.IO: the realtime layer implements it
 * (locally for one instance, through the Redis adapter across many). `volatile` events are
 * dropped rather than buffered or replayed (ticks).
 */
export interface RealtimeEmitter {
  emit<E extends ServerEventName>(to: string | string[], event: E, data: EventData<E>, options?: { volatile?: boolean }): void;
}

/**
 * The `RealtimeEmitter` over a Socket.IO server: stamps `serverNow` and broadcasts through the
 * adapter, so the event reaches every subscribed socket once (of every instance, through the
 * Redis streams adapter) and is kept for connection state recovery.
 * `volatile` events (ticks) go to this instance's sockets only, are dropped when a socket cannot
 * take them at once, and are never stored for recovery.
 */
export function createSocketEmitter(io: RealtimeServer): RealtimeEmitter {
  return {
    emit<E extends ServerEventName>(to: string | string[], event: E, data: EventData<E>, options: { volatile?: boolean } = {}) {
      const payload = stamped(data);
      const target = options.volatile ? io.local.volatile.to(to) : io.to(to);
      // The generic event name defeats Socket.IO's overloads; the contract types `payload`.
      (target.emit as (event: string, payload: unknown) => boolean)(event, payload);
    },
  };
}

/**
 * The `RealtimeEmitter` of a process that serves no clients (a worker): every event goes into the
 * deployment's stream (`createStreamPublisher`), and every API instance delivers it to its clients
 * once and keeps it for recovery. `volatile` events are dropped: they are for an instance's own
 * clients, and this process has none.
 */
export function createStreamEmitter(publish: (message: StreamMessage) => void): RealtimeEmitter {
  return {
    emit<E extends ServerEventName>(to: string | string[], event: E, data: EventData<E>, options: { volatile?: boolean } = {}) {
      if (options.volatile) return;
      publish({ broadcast: { rooms: typeof to === 'string' ? [to] : to, event, payload: stamped(data) } });
    },
  };
}

function stamped<E extends ServerEventName>(data: EventData<E>): ServerEventPayload<E> {
  return { ...data, serverNow: new Date().toISOString() } as ServerEventPayload<E>;
}
