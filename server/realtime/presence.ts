/**
 * Who is online in a course: the users with at least one socket in `course:<id>`.
 *
 * Kept behind this interface so that many instances can share it (the Redis version, with
 * per-instance heartbeats that expire, so a dead instance takes its users offline). Changes are
 * not answered to the caller for it to announce: the implementation collects them per course and
 * hands them on in batches (`PresenceBatch`), at most a few per second per course, each numbered
 * by the course's presence sequence, which a snapshot names too.
 */
export interface Presence {
  /** Records `socketId` of `userId` in the course; `first` when the user was not online there (anywhere). */
  join(courseId: string, userId: string, socketId: string): Promise<{ first: boolean }>;
  /** Forgets that socket; `last` when it was the user's last one in the course (everywhere). */
  leave(courseId: string, userId: string, socketId: string): Promise<{ last: boolean }>;
  /**
   * How many are online, the sequence number of the last batch handed on (the next batches
   * continue from it), and with `members` who they are. Without `members` it costs O(1).
   */
  snapshot(courseId: string, options: { members: boolean }): Promise<PresenceSnapshot>;
  /** The users online in the course now. */
  online(courseId: string): Promise<string[]>;
}

export interface PresenceSnapshot {
  onlineCount: number;
  /** The batches with a greater `seq` are the changes after this snapshot. */
  seq: number;
  /** Only when asked for (`members`). */
  online?: string[];
}

/**
 * The net changes of a course since the previous batch: each user's latest state only (a user
 * who came and went in between is in `left`), the count after them and the batch's number.
 */
export interface PresenceBatch {
  courseId: string;
  joined: string[];
  left: string[];
  onlineCount: number;
  seq: number;
}

/**
 * The sockets of one process: course → user → socket ids. Not a `Presence` of its own: the Redis
 * presence counts an instance's sockets of a user here, so Redis sees a user once per instance,
 * and falls back on it when Redis does not answer.
 */
export class InMemoryPresence {
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
