import { AppError } from '../../platform/errors.js';
import type { ClientEventHandlers } from '../ack.js';
import { authorizeCourseRooms, enrolleeRooms } from '../course-rooms.js';
import type { CourseMembership } from '../course-membership.js';
import type { JoinGrants } from '../join-grants.js';
import { rooms } from '../contract.js';

/**
 * `course:join` and `course:leave`: room membership, authorised against the database, or by what
 * the student's handshake read a moment ago (`grants`). Attendance of a live session follows from
 * presence (the batches record it), not from the join.
 */
export function createCourseHandlers(deps: { membership: CourseMembership; grants: JoinGrants }): ClientEventHandlers<'course:join' | 'course:leave'> {
  return {
    async 'course:join'({ socket, em }, { courseId }) {
      const allowed = deps.grants.allows(socket, courseId) ? enrolleeRooms(courseId) : await authorizeCourseRooms(em, socket.data.userId, courseId);
      if (!socket.connected) throw new AppError('CONFLICT', 'The socket disconnected');
      const wasIn = socket.rooms.has(rooms.course(courseId));
      socket.join(allowed.rooms);
      // A former manager rejoining as a student loses the instructors' room.
      if (!allowed.isManager) socket.leave(rooms.instructors(courseId));
      if (!wasIn) await deps.membership.entered(socket, courseId);
      // Students get the count: the list is O(N) per join, O(N²) for a class filling up.
      const { onlineCount, seq, online } = await deps.membership.snapshot(courseId, allowed.isManager);
      return allowed.isManager ? { courseId, onlineCount, seq, online: online ?? [] } : { courseId, onlineCount, seq };
    },

    async 'course:leave'({ socket }, { courseId }) {
      const wasIn = socket.rooms.has(rooms.course(courseId));
      socket.leave(rooms.course(courseId));
      socket.leave(rooms.instructors(courseId));
      if (wasIn) await deps.membership.left(socket, courseId);
      return { courseId };
    },
  };
}
