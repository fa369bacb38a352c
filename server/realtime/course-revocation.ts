import type { FastifyBaseLogger } from 'fastify';
import type { CourseMembership } from './course-membership.js';
import { rooms } from './contract.js';
import type { ClientConnection, CourseAccessRevoked, RealtimeServer } from './types.js';
import type { WsHub } from './ws.js';

export interface CourseRevocationDeps {
  io: RealtimeServer;
  ws: WsHub;
  membership: CourseMembership;
  log: FastifyBaseLogger;
}

/**
 * Takes this instance's Socket.IO sockets and `/ws` connections of the users who lost access to a
 * course out of `course:<id>` and `course:<id>:instructors`, and out of presence (the instructors
 * hear `left` once the user's last connection anywhere is gone). The connections stay open: the
 * user keeps its other courses. Runs on every instance for one revocation (see `AccessRevocations` in plugins/io.ts).
 */
export function leaveRevokedRooms(deps: CourseRevocationDeps, revoked: CourseAccessRevoked): void {
  const { courseId } = revoked;
  const courseRoom = rooms.course(courseId);
  const instructorsRoom = rooms.instructors(courseId);
  const users = 'userIds' in revoked ? new Set(revoked.userIds) : null;
  const nsp = deps.io.of('/');
  const present: ClientConnection[] = deps.ws.inRoom(courseRoom);
  for (const id of nsp.adapter.rooms.get(courseRoom) ?? []) {
    const socket = nsp.sockets.get(id);
    if (socket) present.push(socket);
  }
  for (const conn of present) {
    // Without a list of users, everyone goes but the managers, who are in the instructors' room.
    if (users ? !users.has(conn.data.userId) : conn.rooms.has(instructorsRoom)) continue;
    conn.leave(courseRoom);
    conn.leave(instructorsRoom);
    deps.membership.left(conn, courseId).catch((error) => deps.log.error({ err: error, courseId }, 'presence leave failed'));
  }
}
