import type { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyBaseLogger } from 'fastify';
import { AppError } from '../errors.js';
import type { AuthUser } from '../plugins/auth.js';
import { authorizeCourseRooms, joinedCourseIds } from './course-rooms.js';
import { rooms } from './events.js';
import type { RealtimeSocket } from './types.js';

type Next = (error?: Error) => void;

/** What a refused handshake looks like to the client: `connect_error` with `message` as given. */
function handshakeError(message: 'unauthorized' | 'unavailable'): Error {
  return Object.assign(new Error(message), { data: { code: message === 'unauthorized' ? 'UNAUTHORIZED' : 'SERVICE_UNAVAILABLE' } });
}

/**
 * `io.use()` middleware: `auth.token` must be an access token of an active user whose role is
 * unchanged (checked against the database). A missing, expired, forged or revoked token fails
 * with `connect_error` "unauthorized". Runs for recovered sockets too (`skipMiddlewares:
 * false`), so a deactivated user cannot slip back in through connection state recovery.
 */
export function authenticateHandshake(verifyAccessToken: (token: string) => Promise<AuthUser & { expiresAt: number }>, log: FastifyBaseLogger) {
  return async (socket: RealtimeSocket, next: Next) => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) return next(handshakeError('unauthorized'));
    try {
      const user = await verifyAccessToken(token);
      // A recovered session belongs to the user it was made for.
      if (socket.recovered && socket.data.userId !== undefined && socket.data.userId !== user.id) return next(handshakeError('unauthorized'));
      socket.data.userId = user.id;
      socket.data.role = user.role;
      socket.data.expiresAt = user.expiresAt;
      next();
    } catch (error) {
      if (error instanceof AppError && error.code === 'UNAUTHORIZED') return next(handshakeError('unauthorized'));
      log.error({ err: error }, 'socket handshake failed');
      next(handshakeError('unavailable'));
    }
  };
}

/**
 * `io.use()` middleware for recovered sockets: their rooms come back from the session, so each
 * course room is authorised again against the database; rooms the user may no longer be in are
 * left before the socket connects.
 */
export function reauthorizeRecoveredRooms(orm: MikroORM, log: FastifyBaseLogger) {
  return async (socket: RealtimeSocket, next: Next) => {
    if (!socket.recovered) return next();
    try {
      const em = orm.em.fork();
      for (const courseId of joinedCourseIds(socket.rooms)) {
        const allowed = await authorizeCourseRooms(em, socket.data.userId, courseId).catch((error: unknown) => {
          if (error instanceof AppError) return null;
          throw error;
        });
        if (!allowed) socket.leave(rooms.course(courseId));
        if (!allowed?.isManager) socket.leave(rooms.instructors(courseId));
      }
      // Instructor rooms whose course room is gone (left above, or never restored) go too.
      for (const room of [...socket.rooms]) {
        const match = /^course:(.+):instructors$/.exec(room);
        if (match && !socket.rooms.has(rooms.course(match[1]!))) socket.leave(room);
      }
      next();
    } catch (error) {
      log.error({ err: error }, 'recovered socket re-authorisation failed');
      next(handshakeError('unavailable'));
    }
  };
}
