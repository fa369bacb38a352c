/**
 * Who is online in a course: the users with at least one socket in `course:<id>`.
 *
 * Kept behind this interface so that many instances can share it: the in-memory version below
 * serves one process; the Redis version (per-instance heartbeats that expire, so a dead
 * instance takes its users offline) implements the same three calls.
 */
export interface Presence {
  /** Records `socketId` of `userId` in the course; `first` when the user was not online there. */
  join(courseId: string, userId: string, socketId: string): Promise<{ first: boolean }>;
  /** Forgets that socket; `last` when it was the user's last one in the course. */
  leave(courseId: string, userId: string, socketId: string): Promise<{ last: boolean }>;
  /** The users online in the course now. */
  online(courseId: string): Promise<string[]>;
}

/** Presence of one process: course → user → socket ids. */
export class InMemoryPresence implements Presence {
  private readonly courses = new Map<string, Map<string, Set<string>>>();

  async join(courseId: string, userId: string, socketId: string): Promise<{ first: boolean }> {
    let users = this.courses.get(courseId);
    if (!users) this.courses.set(courseId, (users = new Map<string, Set<string>>()));
    let sockets = users.get(userId);
    const first = !sockets;
    if (!sockets) users.set(userId, (sockets = new Set()));
    sockets.add(socketId);
    return { first };
  }

  async leave(courseId: string, userId: string, socketId: string): Promise<{ last: boolean }> {
    const users = this.courses.get(courseId);
    const sockets = users?.get(userId);
    if (!users || !sockets || !sockets.delete(socketId)) return { last: false };
    if (sockets.size > 0) return { last: false };
    users.delete(userId);
    if (users.size === 0) this.courses.delete(courseId);
    return { last: true };
  }

  async online(courseId: string): Promise<string[]> {
    return [...(this.courses.get(courseId)?.keys() ?? [])];
  }

  /** Every course → its users, as held now. */
  entries(): Array<[courseId: string, userIds: string[]]> {
    return [...this.courses].map(([courseId, users]) => [courseId, [...users.keys()]]);
  }
}
