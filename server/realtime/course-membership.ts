import type { Presence, PresenceSnapshot } from './presence.js';
import type { ClientConnection } from './types.js';

/**
 * Presence bookkeeping for a connection (Socket.IO or `/ws`) entering or leaving a course room.
 * The instructors hear of the changes from the presence itself, in batches (`presence:updated`
 * through the publisher), not one event per connection.
 */
export class CourseMembership {
  constructor(private readonly deps: { presence: Presence }) {}

  /** Call after the socket joined `course:<id>`. */
  async entered(socket: ClientConnection, courseId: string): Promise<void> {
    await this.deps.presence.join(courseId, socket.data.userId, socket.id);
    // Gone while presence was being written: its `disconnecting` may have run before the join.
    if (!socket.connected) await this.left(socket, courseId);
  }

  /** Call when the socket left `course:<id>` or is disconnecting. */
  async left(socket: ClientConnection, courseId: string): Promise<void> {
    await this.deps.presence.leave(courseId, socket.data.userId, socket.id);
  }

  /** The count and sequence; with `members` (instructors only: O(online users)) who is online. */
  snapshot(courseId: string, members: boolean): Promise<PresenceSnapshot> {
    return this.deps.presence.snapshot(courseId, { members });
  }
}
