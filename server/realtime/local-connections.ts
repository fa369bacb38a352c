import { TokenBucket } from './rate-limit.js';

export interface LocalConnectionsOptions {
  /** Connections (Socket.IO sockets and `/ws` together) one user may hold on this instance. */
  maxPerUser: number;
  eventsPerSecond: number;
  eventsBurst: number;
  /** The user's last connection here went away. */
  onLastGone?(userId: string): void;
  now?: () => number;
}

interface UserEntry {
  connections: number;
  bucket: TokenBucket;
}

/**
 * The users with a Socket.IO socket or a `/ws` connection on this instance: how many each holds
 * (capped), and one event budget per user shared by all of them, so that opening more sockets
 * does not multiply what an account may write. An entry lives from the user's first connection
 * to its last; a user who comes back starts with a full budget (the per-IP handshake limit
 * bounds how often that can be done).
 */
export class LocalConnections {
  private readonly users = new Map<string, UserEntry>();
  private readonly arrivals = new Map<string, number>();

  constructor(private readonly options: LocalConnectionsOptions) {}

  /** Counts one more connection of `userId`; false (and nothing counted) when it holds the maximum. */
  open(userId: string): boolean {
    const entry = this.users.get(userId);
    if (entry) {
      if (entry.connections >= this.options.maxPerUser) return false;
      entry.connections++;
      return true;
    }
    this.users.set(userId, { connections: 1, bucket: new TokenBucket(this.options.eventsPerSecond, this.options.eventsBurst, this.options.now) });
    return true;
  }

  /** One connection of `userId` went away. */
  close(userId: string): void {
    const entry = this.users.get(userId);
    if (!entry) return;
    if (--entry.connections > 0) return;
    this.users.delete(userId);
    this.options.onLastGone?.(userId);
  }

  has(userId: string): boolean {
    return this.users.has(userId);
  }

  /**
   * A handshake of `userId` has read what the connection starts from (its running attempts) and
   * is not admitted yet: until the returned function is called (once is enough, more do nothing),
   * `expects(userId)` is true, so that what reaches the user in between (a quiz started) is not
   * dropped as if nobody were here.
   */
  arrive(userId: string): () => void {
    this.arrivals.set(userId, (this.arrivals.get(userId) ?? 0) + 1);
    let pending = true;
    return () => {
      if (!pending) return;
      pending = false;
      const left = this.arrivals.get(userId)! - 1;
      if (left > 0) this.arrivals.set(userId, left);
      else this.arrivals.delete(userId);
    };
  }

  /** `userId` has a connection here, or one on its way (`arrive`). */
  expects(userId: string): boolean {
    return this.users.has(userId) || this.arrivals.has(userId);
  }

  count(userId: string): number {
    return this.users.get(userId)?.connections ?? 0;
  }

  /** The user's event budget on this instance; it must hold a connection here. */
  bucket(userId: string): TokenBucket {
    const entry = this.users.get(userId);
    if (!entry) throw new Error(`no connection of user ${userId} on this instance`);
    return entry.bucket;
  }
}
