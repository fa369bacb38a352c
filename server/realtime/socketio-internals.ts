/**
 * Everything that reaches into Socket.IO's, socket.io-adapter's and the Redis streams adapter's
 * private parts, in one place. Each piece mends or observes something the public API does not
 * offer (see its comment); each relies on members that are private or undocumented, so an
 * upgrade of any of these packages must come with a review of this file. The versions it was
 * written for are below, and test/realtime/socketio-internals.test.ts fails when the installed
 * ones differ or when a member used here is gone.
 *
 * What it touches:
 * - the streams adapter's entry format (`uid`, `nsp`, `type`, `data` as JSON) and socket.io-adapter's
 *   `EMITTER_UID`, for publishing without a server (`streamEntry`);
 * - `adapter.broadcast`, `adapter.disconnectSockets` (wrapped), `adapter.onMessage` and
 *   `adapter.uid` (ClusterAdapter, protected), `adapter.restoreSession` (wrapped);
 * - socket.io-adapter's `MessageType` numbers and socket.io-parser's `PacketType.EVENT`, copied
 *   (transitive dependencies, so not imported);
 * - `Socket#packet` (private in the types), `Socket#recovered` and `Socket#pid` (read-only);
 * - ioredis `duplicate()` of the adapter's connection and the subscriptions the adapter makes on it.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RealtimeServer, RealtimeSocket } from './types.js';

/** The package versions this module was written and tested for. */
export const WRITTEN_FOR = {
  'socket.io': '4.8.4',
  'socket.io-adapter': '2.5.8',
  'socket.io-parser': '4.2.7',
  '@socket.io/redis-streams-adapter': '0.3.1',
} as const;

/** socket.io-adapter's `MessageType` values used here. */
export const MESSAGE_TYPE = { BROADCAST: 3, DISCONNECT_SOCKETS: 6, SERVER_SIDE_EMIT: 9 } as const;
/** socket.io-parser's `PacketType.EVENT`. */
export const EVENT_PACKET = 2;
/**
 * socket.io-adapter's `EMITTER_UID`: the sender of messages from a process that is not a node of
 * the cluster (an emitter). Instances deliver them, do not count it as a server, and ask it nothing.
 */
export const EMITTER_UID = 'emitter';
const { BROADCAST, DISCONNECT_SOCKETS, SERVER_SIDE_EMIT } = MESSAGE_TYPE;
const EVENT = EVENT_PACKET;

interface Opts {
  rooms: Iterable<string>;
  except?: Iterable<string>;
  flags?: { local?: boolean; volatile?: boolean };
}
interface Packet {
  type: number;
  data?: unknown[];
}
/** The adapter members used here (a ClusterAdapter's, with the streams adapter's session store). */
interface AdapterInternals {
  uid?: string;
  broadcast(packet: Packet, opts: Opts): unknown;
  disconnectSockets(opts: Opts, close: boolean): unknown;
  onMessage?(
    message: { uid: string; nsp: string; type: number; data?: { packet?: Packet; opts?: Opts; requestId?: unknown; close?: boolean } },
    offset?: string,
  ): unknown;
  restoreSession(pid: string, offset: string): Promise<{ sid: string; missedPackets: unknown[][] } | null>;
}

/** Socket.IO's `Socket#packet`, private in its types: what its constructor writes a replay with. */
interface SocketInternals {
  packet(packet: Packet): void;
}

// --- Publishing without a server (for workers) ----------------------------------------------

/** What a process that serves no clients publishes: a broadcast of one event, or a server-side emit. */
export type StreamMessage = { broadcast: { rooms: string[]; event: string; payload: unknown } } | { serverSideEmit: unknown[] };

/**
 * The fields of a stream entry (`XADD … * <fields>`) as `@socket.io/redis-streams-adapter` writes
 * a message of the default namespace (its `encode` in plaintext: `data` as JSON), sent by
 * `EMITTER_UID`: every instance's adapter reads it as a broadcast (delivered to its clients in the
 * rooms, and kept for recovery under the entry's offset) or as a server-side emit.
 */
export function streamEntry(message: StreamMessage): string[] {
  const [type, data] =
    'broadcast' in message
      ? [
          BROADCAST,
          {
            packet: { type: EVENT, data: [message.broadcast.event, message.broadcast.payload] },
            opts: { rooms: message.broadcast.rooms, except: [], flags: {} },
          },
        ]
      : [SERVER_SIDE_EMIT, { packet: message.serverSideEmit }];
  return ['uid', EMITTER_UID, 'nsp', '/', 'type', String(type), 'data', JSON.stringify(data)];
}

// --- Observing what the adapter delivers (for /ws and ticks) ---------------------------------

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

/**
 * Observes what the default namespace's adapter delivers on this instance, for clients that are
 * not Socket.IO sockets (`/ws`) and for state that follows events (ticks stop at `quiz:graded`).
 * A cluster adapter delivers a packet locally from two places — `broadcast()` for what this
 * process emits (after publishing it), `onMessage()` for what the stream brings from others (its
 * own messages are skipped there) — so wrapping both sees every packet exactly once.
 */
export function tapAdapter(io: RealtimeServer, tap: AdapterTap): void {
  const adapter = io.of('/').adapter as unknown as AdapterInternals;
  const toPacket = (packet: Packet | undefined, opts: Opts | undefined): DeliveredPacket | null => {
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

// --- Connection state recovery: holding the replay back, bridging the gap --------------------

/** A recording nobody claimed (cannot happen while `track` runs first) is dropped after this. */
const MAX_RECORDING_MS = 60_000;

/** What was broadcast on this instance since a session began to be restored. */
interface Recording {
  startedAt: number;
  /** The restore's replay, held back until the handshake middlewares have run. */
  missed: unknown[][];
  kept: Array<{ data: unknown[]; opts: Opts }>;
  /** Offsets of the packets the restore already replays (each packet's last element). */
  replayed: Set<unknown>;
  /** Once its middlewares run. */
  socket: RealtimeSocket | null;
}

/** Whether a broadcast to `opts` reaches a socket in `rooms` (as the in-memory adapter decides). */
function reaches(opts: Opts, rooms: ReadonlySet<string>): boolean {
  const targets = [...opts.rooms];
  if (targets.length > 0 && !targets.some((room) => rooms.has(room))) return false;
  for (const room of opts.except ?? []) if (rooms.has(room)) return false;
  return true;
}

export interface RecoveryGap {
  /** `io.use()` middleware, before the others: ties a recovered socket to its recording. */
  track(socket: RealtimeSocket, next: (error?: Error) => void): void;
  /**
   * On `connection`: sends the replay and then what was kept, in order, for the rooms the socket
   * is still in; nothing when re-authorisation resumed it as a fresh session (`recovered` false).
   */
  flush(socket: RealtimeSocket): void;
}

/**
 * Connection state recovery reads what a socket missed, puts it back in its rooms and sends it
 * that, then runs the `io.use()` middlewares (`skipMiddlewares: false`); a broadcast reaches a
 * socket only once it is connected, after them. Two things follow, and this module mends both:
 * - The replay went out before the middlewares could refuse the socket: a user deactivated or
 *   unenrolled while offline got up to two minutes of a course's events. The replay is now held
 *   back and sent on `connection`, after authentication and the re-authorisation of its rooms
 *   (which resumes the socket as a fresh session if any room was taken away, see socket-auth.ts).
 * - Our middlewares read the database, so whatever was broadcast to its rooms from the read until
 *   the socket connected reached neither the replay nor the socket (benchmark bench/scenarios/recovery.ts: about one
 *   missed event in ten was lost). So, from the moment a session starts to be restored, this
 *   records what the adapter delivers on this instance (emitted here or read from the stream)
 *   and, once the socket is connected, sends it what the replay did not contain and would have
 *   reached it, checked against its rooms after their re-authorisation. Volatile broadcasts are
 *   not kept, as they are not replayed either. Each kept packet carries its recovery offset, like
 *   any broadcast.
 */
export function bridgeRecoveryGap(io: RealtimeServer): RecoveryGap {
  const adapter = io.of('/').adapter as unknown as AdapterInternals;
  const recordings = new Set<Recording>();
  const bySid = new Map<string, Recording>();
  const forget = (recording: Recording, sid?: string) => {
    recordings.delete(recording);
    if (sid !== undefined && bySid.get(sid) === recording) bySid.delete(sid);
  };

  const restoreSession = adapter.restoreSession.bind(adapter);
  adapter.restoreSession = async (pid, offset) => {
    const recording: Recording = { startedAt: Date.now(), missed: [], kept: [], replayed: new Set(), socket: null };
    recordings.add(recording);
    try {
      const session = await restoreSession(pid, offset);
      if (!session) {
        forget(recording);
        return session;
      }
      recording.missed = session.missedPackets;
      for (const data of session.missedPackets) recording.replayed.add(data[data.length - 1]);
      bySid.set(session.sid, recording);
      // Socket.IO would send these as it builds the socket, before any middleware.
      return { ...session, missedPackets: [] };
    } catch (error) {
      forget(recording);
      throw error;
    }
  };

  const keep = (packet: Packet | undefined, opts: Opts | undefined) => {
    if (!recordings.size || !packet || !opts || packet.type !== EVENT || !Array.isArray(packet.data) || opts.flags?.volatile) return;
    const now = Date.now();
    for (const recording of recordings) {
      const { socket } = recording;
      // No room left: refused by a middleware (Socket.IO cleaned it up).
      if ((socket && socket.rooms.size === 0) || now - recording.startedAt > MAX_RECORDING_MS) forget(recording, socket?.id);
      else if (!socket || reaches(opts, socket.rooms)) recording.kept.push({ data: packet.data, opts });
    }
  };
  // Kept once the adapter delivered locally (and appended the offset): a cluster adapter's
  // `broadcast()` does so after publishing, asynchronously; `onMessage()` at once.
  const broadcast = adapter.broadcast.bind(adapter);
  adapter.broadcast = (packet, opts) => {
    const delivered = broadcast(packet, opts);
    if (delivered instanceof Promise) void delivered.then(() => keep(packet, opts));
    else keep(packet, opts);
    return delivered;
  };
  if (adapter.onMessage) {
    const onMessage = adapter.onMessage.bind(adapter);
    adapter.onMessage = (message, offset) => {
      const result = onMessage(message, offset);
      if (message.uid !== adapter.uid && message.nsp === '/' && message.type === BROADCAST && message.data?.requestId === undefined) {
        keep(message.data?.packet, message.data?.opts);
      }
      return result;
    };
  }

  return {
    track(socket, next) {
      const recording = socket.recovered ? bySid.get(socket.id) : undefined;
      if (recording) {
        recording.socket = socket;
        // Refused by a later middleware, or gone: nothing to send.
        socket.conn.once('close', () => forget(recording, socket.id));
      }
      next();
    },
    flush(socket) {
      const recording = bySid.get(socket.id);
      if (!recording || recording.socket !== socket) return;
      forget(recording, socket.id);
      if (!socket.recovered) return;
      // Written to the connection as Socket.IO writes a replay. Not `socket.emit`: with recovery
      // on, that broadcasts to the socket's own room, which appends each packet to the stream
      // again, under a second offset, for every instance to read back (bench/scenarios/recovery.ts).
      const send = (data: unknown[]) => (socket as unknown as SocketInternals).packet({ type: EVENT, data });
      // Its rooms are those the replay was read for (re-authorisation took none away).
      for (const data of recording.missed) send(data);
      for (const { data, opts } of recording.kept) {
        if (!recording.replayed.has(data[data.length - 1]) && reaches(opts, socket.rooms)) send(data);
      }
    },
  };
}

// --- Re-authorised recovery -------------------------------------------------------------------

/** What a new connection would be: in no room yet, not recovered, with its own private session id. */
export function resumeAsFreshSession(socket: RealtimeSocket): void {
  for (const room of [...socket.rooms]) if (room !== socket.id) void socket.leave(room);
  // Socket.IO declares both read-only; they are only read later, when the socket connects (the
  // CONNECT packet carries the pid) and when its session is stored on disconnect.
  Object.assign(socket, { recovered: false, pid: randomBytes(15).toString('base64url') });
}

// --- The adapter's Redis subscriptions -------------------------------------------------------

/**
 * The adapter subscribes its duplicate of our connection without waiting for the reply, and
 * ioredis subscribes again by itself after every reconnect, the same way. When that subscription
 * fails (Redis unreachable beyond `maxRetriesPerRequest`, or the connection closed while it was in
 * flight), its promise rejected with no handler: an unhandled rejection, which ends the process —
 * an API started while Redis was down died after a second. The failure goes to the parent
 * connection's `error` listeners instead; a connection closed on purpose reports nothing.
 */
export function settleSubscriptions(client: Redis, parent: Redis): Redis {
  for (const name of ['subscribe', 'psubscribe', 'ssubscribe'] as const) {
    // Called with `apply(client, …)` below: `this` is kept.
    // eslint-disable-next-line @typescript-eslint/unbound-method
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
