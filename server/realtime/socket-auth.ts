import type { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyBaseLogger } from 'fastify';
import { AppError, isUnavailableError, type ErrorCode } from '../platform/errors.js';
import { ThrottledWarning } from '../plugins/errors.js';
import type { AuthUser } from '../modules/auth/auth-user.js';
import { authorizeCourseRooms, joinedCourseIds } from './course-rooms.js';
import { rooms } from './contract.js';
import type { RealtimeSocket } from './types.js';
import { resumeAsFreshSession } from './socketio-internals.js';

type Next = (error?: Error) => void;

const unavailableWarning = new ThrottledWarning('a dependency cannot be reached; refusing socket handshakes as unavailable');

const HANDSHAKE_CODES = {
  unauthorized: 'UNAUTHORIZED',
  unavailable: 'UNAVAILABLE',
  rate_limited: 'RATE_LIMITED',
  too_many_connections: 'RATE_LIMITED',
} as const satisfies Record<string, ErrorCode>;

/** What a refused handshake looks like to the client: `connect_error` with `message` as given. */
export function handshakeError(message: keyof typeof HANDSHAKE_CODES): Error {
  return Object.assign(new Error(message), { data: { code: HANDSHAKE_CODES[message] } });
}

/**
 * `io.use()` middleware: `auth.token` must be an access token of an active user whose role is
 * unchanged (checked against the database). A missing, expired, forged or revoked token fails
 * with `connect_error` "unauthorized". Runs for recovered sockets too (`skipMiddlewares:
 * false`), so a deactivated user cannot slip back in through connection state recovery.
 */
export function authenticateHandshake(
  verifyAccessToken: (token: string, socket: RealtimeSocket) => Promise<AuthUser & { expiresAt: number }>,
  log: FastifyBaseLogger,
) {
  return async (socket: RealtimeSocket, next: Next) => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) return next(handshakeError('unauthorized'));
    try {
      const user = await verifyAccessToken(token, socket);
      // A recovered session belongs to the user it was made for.
      if (socket.recovered && socket.data.userId !== undefined && socket.data.userId !== user.id) return next(handshakeError('unauthorized'));
      socket.data.userId = user.id;
      socket.data.role = user.role;
      socket.data.expiresAt = user.expiresAt;
      next();
    } catch (error) {
      if (error instanceof AppError && error.code === 'UNAUTHORIZED') return next(handshakeError('unauthorized'));
      // Every client retries its handshake during an outage: one line per outage, not per attempt.
      if (isUnavailableError(error)) unavailableWarning.noticed(error, log);
      else log.error({ err: error }, 'socket handshake failed');
      next(handshakeError('unavailable'));
    }
  };
}

/**
 * `io.use()` middleware for recovered sockets: their rooms come back from the session, so each
 * course room is authorised again against the database. If the user may no longer be in one of
 * them (unenrolled, the course changed hands, or it went back to draft while they were offline),
 * the socket is resumed as a fresh session instead: it leaves every room, gets a new private
 * session id and `recovered` false, so the missed events (held back until now, see
 * socketio-internals.ts) are not sent and the client re-joins and resyncs, as after any reconnect that
 * was not recovered. Which missed events went to which room is not kept, so they cannot be
 * filtered per room.
 */
export function reauthorizeRecoveredRooms(orm: MikroORM, log: FastifyBaseLogger) {
  return async (socket: RealtimeSocket, next: Next) => {
    if (!socket.recovered) return next();
    try {
      const em = orm.em.fork();
      const allowedRooms = new Set([socket.id, rooms.user(socket.data.userId)]);
      for (const courseId of joinedCourseIds(socket.rooms)) {
        const allowed = await authorizeCourseRooms(em, socket.data.userId, courseId).catch((error: unknown) => {
          if (error instanceof AppError) return null;
          throw error;
        });
        for (const room of allowed?.rooms ?? []) allowedRooms.add(room);
      }
      if ([...socket.rooms].some((room) => !allowedRooms.has(room))) resumeAsFreshSession(socket);
      next();
    } catch (error) {
      log.error({ err: error }, 'recovered socket re-authorisation failed');
      next(handshakeError('unavailable'));
    }
  };
}
