import type { RealtimeServer, RealtimeSocket } from './types.js';

// socket.io-adapter's `MessageType.BROADCAST` and socket.io-parser's EVENT (see adapter.ts).
const BROADCAST = 3;
const EVENT = 2;
/** A recording nobody claimed (cannot happen while `track` runs first) is dropped after this. */
const MAX_RECORDING_MS = 60_000;

interface Opts {
  rooms: Iterable<string>;
  except?: Iterable<string>;
  flags?: { local?: boolean; volatile?: boolean };
}
interface Packet {
  type: number;
  data?: unknown[];
}
interface GapAdapter {
  uid?: string;
  broadcast(packet: Packet, opts: Opts): unknown;
  onMessage?(message: { uid: string; nsp: string; type: number; data?: { packet?: Packet; opts?: Opts; requestId?: unknown } }, offset?: string): unknown;
  restoreSession(pid: string, offset: string): Promise<{ sid: string; missedPackets: unknown[][] } | null>;
}

/** Socket.IO's `Socket#packet`, private in its types: what its constructor writes a replay with. */
interface SocketInternals {
  packet(packet: Packet): void;
}

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
 *   the socket connected reached neither the replay nor the socket (bench scenario 4: about one
 *   missed event in ten was lost). So, from the moment a session starts to be restored, this
 *   records what the adapter delivers on this instance (emitted here or read from the stream)
 *   and, once the socket is connected, sends it what the replay did not contain and would have
 *   reached it, checked against its rooms after their re-authorisation. Volatile broadcasts are
 *   not kept, as they are not replayed either. Each kept packet carries its recovery offset, like
 *   any broadcast.
 */
export function bridgeRecoveryGap(io: RealtimeServer): RecoveryGap {
  const adapter = io.of('/').adapter as unknown as GapAdapter;
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
      // again, under a second offset, for every instance to read back (bench scenario 4).
      const send = (data: unknown[]) => (socket as unknown as SocketInternals).packet({ type: EVENT, data });
      // Its rooms are those the replay was read for (re-authorisation took none away).
      for (const data of recording.missed) send(data);
      for (const { data, opts } of recording.kept) {
        if (!recording.replayed.has(data[data.length - 1]) && reaches(opts, socket.rooms)) send(data);
      }
    },
  };
}
