import type { Server, Socket } from 'socket.io';
import type { UserRole } from '../../entities/enums.js';
import type { ClientToServerEvents, ServerToClientEvents } from './contract.js';

/**
 * Who must leave a course's rooms: these users, or everyone but its managers (the sockets
 * outside `course:<id>:instructors`).
 */
export type CourseAccessRevoked = { courseId: string; userIds: string[] } | { courseId: string; nonManagers: true };

/** Events between Socket.IO servers (`serverSideEmit`, through the adapter; never stored for recovery). */
export interface InterServerEvents {
  /** Users lost access to a course: every instance takes their connections out of its rooms and presence. */
  'course-access-revoked': (revoked: CourseAccessRevoked) => void;
  /** A user was deactivated or its role changed: every instance disconnects its sockets. */
  'account-changed': (userId: string) => void;
  /** Attempts' deadlines moved: every instance ticking one of them follows the new deadline. */
  'attempt-deadlines-moved': (moved: MovedAttemptDeadline[]) => void;
}

/** A moved deadline, as the instances tell each other (ISO-8601 deadline). */
export interface MovedAttemptDeadline {
  attemptId: string;
  studentId: string;
  deadline: string;
}

/**
 * What a socket carries about its user. Plain JSON on purpose: connection state recovery keeps
 * it in the session (in the Redis stream, shared by the instances).
 */
export interface SocketData {
  userId: string;
  role: UserRole;
  /** When the access token of this socket expires (epoch ms); `auth:refresh` moves it. */
  expiresAt: number;
}

export type RealtimeServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/**
 * What the client event handlers need of a connection, so that Socket.IO sockets and `/ws`
 * connections run the same handlers: its id, its user, its rooms.
 */
export interface ClientConnection {
  readonly id: string;
  data: SocketData;
  readonly rooms: Set<string>;
  readonly connected: boolean;
  join(rooms: string | string[]): unknown;
  leave(room: string): unknown;
}
