import type { Presence } from './presence.js';
import type { PresenceChange } from './publisher.js';
import type { ClientConnection } from './types.js';

/**
 * Presence bookkeeping for a connection (Socket.IO or `/ws`) entering or leaving a course room; the
 * publisher hears of the change (and sends `presence:updated` to the course's instructors) when
 * the user's first socket arrives or its last one goes.
 */
export class CourseMembership {
  constructor(private readonly deps: { presence: Presence; publisher: { presenceChanged(change: PresenceChange): void } }) {}

  /** Call after the socket joined `course:<id>`. */
  async entered(socket: ClientConnection, courseId: string): Promise<void> {
    const { userId } = socket.data;
    const { first } = await this.deps.presence.join(courseId, userId, socket.id);
    if (first) this.delta(courseId, [userId], []);
    // Gone while presence was being written: its `disconnecting` may have run before the join.
    if (!socket.connected) await this.left(socket, courseId);
  }

  /** Call when the socket left `course:<id>` or is disconnecting. */
  async left(socket: ClientConnection, courseId: string): Promise<void> {
    const { userId } = socket.data;
    const { last } = await this.deps.presence.leave(courseId, userId, socket.id);
    if (last) this.delta(courseId, [], [userId]);
  }

  online(courseId: string): Promise<string[]> {
    return this.deps.presence.online(courseId);
  }

  private delta(courseId: string, joined: string[], left: string[]) {
    this.deps.publisher.presenceChanged({ courseId, joined, left });
  }
}
