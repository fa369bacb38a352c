import { randomUUID } from 'node:crypto';
import type { ServiceDeps } from '../modules/deps.js';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { AppError, isUnavailableError } from '../platform/errors.js';
import type { AuthUser } from '../modules/auth/auth-user.js';
import { runGatedClientEvent, type ClientEventHandlers, type ClientEventName } from './ack.js';
import type { EventGate } from './event-gate.js';
import type { DeliveredPacket } from './socketio-internals.js';
import { joinedCourseIds } from './course-rooms.js';
import type { CourseMembership } from './course-membership.js';
import { rooms, WS_CLOSE, WS_FRAME_EVENTS, type Ack, type WsAckFrame, type WsAuthAckData, type WsFrameType } from './contract.js';
import type { TokenBucket } from './rate-limit.js';
import type { ClientConnection, SocketData } from './types.js';

/** Close code for a connection without a valid token (no auth, bad token, expired, revoked). */
export const WS_UNAUTHORIZED: number = WS_CLOSE.UNAUTHORIZED;
/** Close code for a connection over a limit: connections per IP, or per user on this instance. */
export const WS_RATE_LIMITED = WS_CLOSE.RATE_LIMITED;
/** The standard close code for a server that cannot serve now (PostgreSQL away during authentication). */
export const WS_TRY_AGAIN_LATER = WS_CLOSE.TRY_AGAIN_LATER;
/** Frames kept while the token is being checked; more is a misbehaving client. */
const MAX_PENDING_FRAMES = 16;
/** A volatile event (tick) is dropped for a client this far behind rather than queued. */
const VOLATILE_BUFFER_LIMIT = 64 * 1024;

export interface WsHubDeps {
  forkDeps: () => ServiceDeps;
  log: FastifyBaseLogger;
  membership: CourseMembership;
  /** The same handler functions the Socket.IO sockets run. */
  handlers: ClientEventHandlers<ClientEventName>;
  verifyAccessToken(token: string): Promise<AuthUser & { expiresAt: number }>;
  authTimeoutMs: number;
  /**
   * A connection of this user authenticated on this instance: counts it (ticks, the per-user cap)
   * and answers false, counting nothing, when the user already holds the maximum here.
   */
  onOpen(userId: string): boolean;
  /** A connection counted by `onOpen` closed. */
  onClose(userId: string): void;
  /** The user's event budget on this instance, shared with its Socket.IO sockets. */
  bucketFor(userId: string): TokenBucket;
  /** The instance's client-event gate (shared with Socket.IO), closed at shutdown. */
  gate?: EventGate;
}

/** A `/ws` client as the handlers see it: a connection with an id, a user and rooms. */
class WsConnection implements ClientConnection {
  readonly id = `ws-${randomUUID()}`;
  data!: SocketData;
  readonly rooms = new Set<string>();
  connected = true;

  constructor(
    readonly ws: WebSocket,
    private readonly hub: WsHub,
  ) {}

  join(names: string | string[]): void {
    for (const room of Array.isArray(names) ? names : [names]) {
      this.rooms.add(room);
      this.hub.index(room).add(this);
    }
  }

  leave(room: string): void {
    this.rooms.delete(room);
    this.hub.unindex(room, this);
  }

  send(frame: string): void {
    if (this.connected && this.ws.readyState === this.ws.OPEN) this.ws.send(frame);
  }
}

function ackFrame(id: string | number | null | undefined, response: Ack<unknown>): string {
  const frame: WsAckFrame = { type: 'ack', id: id ?? null, ...response };
  return JSON.stringify(frame);
}

/**
 * The plain WebSocket endpoint (contract.ts): authenticates by `?token=` or a first `auth` frame,
 * runs client frames through the Socket.IO handlers, and hands this instance's broadcasts to the
 * connections whose rooms they address. Connections live in the same rooms as sockets do
 * (`user:<id>`, `course:<id>`, `course:<id>:instructors`), tracked here, since they are not
 * Socket.IO sockets the adapter knows about.
 */
export class WsHub {
  private readonly byRoom = new Map<string, Set<WsConnection>>();
  private readonly connections = new Set<WsConnection>();

  constructor(private readonly deps: WsHubDeps) {}

  index(room: string): Set<WsConnection> {
    let set = this.byRoom.get(room);
    if (!set) this.byRoom.set(room, (set = new Set()));
    return set;
  }

  unindex(room: string, conn: WsConnection): void {
    const set = this.byRoom.get(room);
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) this.byRoom.delete(room);
  }

  /**
   * A new `/ws` connection; `token` from the query string, if any. `admitted` is the per-IP
   * connection limit's verdict, started as the connection arrived.
   */
  accept(ws: WebSocket, token: string | undefined, admitted: Promise<boolean> = Promise.resolve(true)): void {
    const { deps } = this;
    const conn = new WsConnection(ws, this);
    let bucket: TokenBucket | null = null;
    let state: 'waiting' | 'checking' | 'open' | 'closed' = 'waiting';
    const pending: string[] = [];

    const refuse = (message: string, code = WS_UNAUTHORIZED) => {
      if (state === 'closed') return;
      state = 'closed';
      ws.close(code, message);
    };
    // Refused over the limit whatever it sends; a connection is never served before the verdict.
    const admission = admitted.then(
      (ok) => {
        if (!ok) refuse('rate_limited: too many connections from this address', WS_RATE_LIMITED);
        return ok;
      },
      () => true,
    );
    const timer = setTimeout(() => refuse('unauthorized: no auth frame in time'), deps.authTimeoutMs);
    timer.unref();

    const authenticate = async (candidate: unknown, frameId: string | number | null | undefined) => {
      state = 'checking';
      if (typeof candidate !== 'string' || candidate.length === 0 || candidate.length > 4096) return refuse('unauthorized');
      let user: AuthUser & { expiresAt: number };
      try {
        if (!(await admission)) return;
        user = await deps.verifyAccessToken(candidate);
      } catch (error) {
        if (isUnavailableError(error)) {
          // Not the token's fault: 1013 "try again later", so that the client keeps its session and retries.
          if ((state as string) === 'closed') return;
          state = 'closed';
          clearTimeout(timer);
          return ws.close(WS_TRY_AGAIN_LATER, 'unavailable');
        }
        if (!(error instanceof AppError)) deps.log.error({ err: error }, '/ws authentication failed');
        return refuse('unauthorized');
      }
      if ((state as string) === 'closed') return;
      clearTimeout(timer);
      if (!deps.onOpen(user.id)) return refuse('too_many_connections: this account holds too many connections here', WS_RATE_LIMITED);
      state = 'open';
      bucket = deps.bucketFor(user.id);
      conn.data = { userId: user.id, role: user.role, expiresAt: user.expiresAt };
      this.connections.add(conn);
      conn.join(rooms.user(user.id));
      if (frameId !== undefined) {
        const data: WsAuthAckData = { userId: user.id, expiresAt: new Date(user.expiresAt).toISOString() };
        conn.send(ackFrame(frameId, { ok: true, data }));
      }
      for (const frame of pending.splice(0)) void handle(frame);
    };

    const handle = async (raw: string) => {
      let frame: { type?: unknown; id?: unknown; data?: unknown };
      try {
        frame = JSON.parse(raw) as typeof frame;
      } catch {
        return conn.send(ackFrame(null, { ok: false, error: { code: 'VALIDATION_ERROR', message: 'A frame must be JSON' } }));
      }
      if (!frame || typeof frame !== 'object' || Array.isArray(frame) || typeof frame.type !== 'string') {
        return conn.send(ackFrame(null, { ok: false, error: { code: 'VALIDATION_ERROR', message: 'A frame is {type, id?, data}' } }));
      }
      const id = typeof frame.id === 'string' || typeof frame.id === 'number' ? frame.id : null;
      // Own properties only: a frame type is client text, and `constructor` is in every object.
      const event = Object.hasOwn(WS_FRAME_EVENTS, frame.type) ? WS_FRAME_EVENTS[frame.type as WsFrameType] : undefined;
      if (!event)
        return conn.send(ackFrame(id, { ok: false, error: { code: 'VALIDATION_ERROR', message: `Unknown frame type "${frame.type.slice(0, 64)}"` } }));
      await runGatedClientEvent(
        conn,
        event,
        frame.data,
        deps.handlers[event],
        { forkDeps: deps.forkDeps, log: deps.log, bucket: bucket!, gate: deps.gate },
        (response) => conn.send(ackFrame(id, response)),
      );
    };

    ws.on('message', (data, isBinary) => {
      if (state === 'closed') return;
      const raw = isBinary ? '' : Buffer.isBuffer(data) ? data.toString() : Array.isArray(data) ? Buffer.concat(data).toString() : Buffer.from(data).toString();
      if (state === 'open') return void handle(raw);
      if (state === 'checking') {
        if (pending.length >= MAX_PENDING_FRAMES) return refuse('unauthorized: too many frames before auth');
        return void pending.push(raw);
      }
      // The first frame of a connection without `?token=` must be `{"type":"auth","data":{"token":…}}`.
      type AuthFrame = { type?: unknown; id?: unknown; data?: { token?: unknown } } | null;
      let frame: AuthFrame = null;
      try {
        frame = JSON.parse(raw) as AuthFrame;
      } catch {
        // refused below
      }
      if (frame?.type !== 'auth') return refuse('unauthorized: the first frame must be auth');
      void authenticate(frame.data?.token, typeof frame.id === 'string' || typeof frame.id === 'number' ? frame.id : null);
    });
    ws.on('error', (error) => deps.log.debug({ err: error }, '/ws connection error'));
    ws.on('close', () => {
      clearTimeout(timer);
      const wasOpen = state === 'open';
      state = 'closed';
      conn.connected = false;
      if (!wasOpen) return;
      this.connections.delete(conn);
      for (const courseId of joinedCourseIds(conn.rooms)) {
        deps.membership.left(conn, courseId).catch((error) => deps.log.error({ err: error, courseId }, 'presence leave failed'));
      }
      for (const room of [...conn.rooms]) this.unindex(room, conn);
      deps.onClose(conn.data.userId);
    });

    if (token !== undefined) void authenticate(token, undefined);
  }

  /** The connections in `room` now (a copy). */
  inRoom(room: string): ClientConnection[] {
    return [...(this.byRoom.get(room) ?? [])];
  }

  /** Forwards a broadcast delivered on this instance to the connections it addresses, once each. */
  deliver(packet: DeliveredPacket): void {
    if (this.connections.size === 0) return;
    const targets = new Set<WsConnection>();
    if (packet.rooms.size === 0) for (const conn of this.connections) targets.add(conn);
    else for (const room of packet.rooms) for (const conn of this.byRoom.get(room) ?? []) targets.add(conn);
    if (targets.size === 0) return;
    const frame = JSON.stringify({ type: packet.event, data: packet.payload });
    for (const conn of targets) {
      if (packet.except.size > 0 && [...packet.except].some((room) => conn.rooms.has(room))) continue;
      if (packet.volatile && conn.ws.bufferedAmount > VOLATILE_BUFFER_LIMIT) continue;
      conn.send(frame);
    }
  }

  /** Closes the connections in any of `names` (deactivation, role change: they must authenticate again). */
  disconnect(names: ReadonlySet<string>): void {
    const targets = new Set<WsConnection>();
    if (names.size === 0) for (const conn of this.connections) targets.add(conn);
    for (const room of names) for (const conn of this.byRoom.get(room) ?? []) targets.add(conn);
    for (const conn of targets) conn.ws.close(WS_UNAUTHORIZED, 'unauthorized: session ended');
  }

  /** Closes connections whose token expired before `cutoff` (epoch ms) without `auth`/`auth:refresh`. */
  closeExpired(cutoff: number): void {
    for (const conn of this.connections) if (conn.data.expiresAt <= cutoff) conn.ws.close(WS_UNAUTHORIZED, 'unauthorized: token expired');
  }

  /** Shutdown: 1012 (service restart) tells clients to reconnect, to another instance. */
  closeAll(): void {
    for (const conn of this.connections) conn.ws.close(WS_CLOSE.SERVICE_RESTART, 'server restarting');
  }
}
