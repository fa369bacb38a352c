import type { EventData, RealtimeEmitter, ServerEventName, ServerEventPayload } from './events.js';
import type { RealtimeServer } from './types.js';

/**
 * The `RealtimeEmitter` over a Socket.IO server: stamps `serverNow` and broadcasts through the
 * adapter, so the event reaches every subscribed socket once (of this process now, of every
 * instance once the Redis streams adapter is in) and is kept for connection state recovery.
 * `volatile` events (ticks) go to this instance's sockets only, are dropped when a socket cannot
 * take them at once, and are never stored for recovery.
 */
export function createSocketEmitter(io: RealtimeServer): RealtimeEmitter {
  return {
    emit<E extends ServerEventName>(to: string | string[], event: E, data: EventData<E>, options: { volatile?: boolean } = {}) {
      const payload = { ...data, serverNow: new Date().toISOString() } as ServerEventPayload<E>;
      const target = options.volatile ? io.local.volatile.to(to) : io.to(to);
      // The generic event name defeats Socket.IO's overloads; the contract types `payload`.
      (target.emit as (event: string, payload: unknown) => boolean)(event, payload);
    },
  };
}
