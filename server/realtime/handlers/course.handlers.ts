import { recordAttendance } from '../../modules/live-sessions/sessions.service.js';
import { AppError } from '../../platform/errors.js';
import type { ClientEventHandlers } from '../ack.js';
import { authorizeCourseRooms } from '../course-rooms.js';
import type { CourseMembership } from '../course-membership.js';
import { rooms } from '../contract.js';

/** `course:join` and `course:leave`: room membership, authorised against the database every time. */
export function createCourseHandlers(deps: { membership: CourseMembership }): ClientEventHandlers<'course:join' | 'course:leave'> {
  return {
    async 'course:join'({ socket, em, deps: serviceDeps }, { courseId }) {
      const allowed = await authorizeCourseRooms(em, socket.data.userId, courseId);
      if (!socket.connected) throw new AppError('CONFLICT', 'The socket disconnected');
      const wasIn = socket.rooms.has(rooms.course(courseId));
      socket.join(allowed.rooms);
      // A former manager rejoining as a student loses the instructors' room.
      if (!allowed.isManager) socket.leave(rooms.instructors(courseId));
      // A student in the room during a live session attended it; written beside the presence
      // bookkeeping, and never failing the join (recordAttendance logs and returns). Without a
      // live session (the access read says) there is no statement to run.
      const attendance =
        allowed.isManager || !allowed.liveSessionId ? Promise.resolve() : recordAttendance(serviceDeps, allowed.liveSessionId, socket.data.userId);
      if (!wasIn) await deps.membership.entered(socket, courseId);
      // Students get the count: the list is O(N) per join, O(N²) for a class filling up.
      const { onlineCount, seq, online } = await deps.membership.snapshot(courseId, allowed.isManager);
      await attendance;
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
