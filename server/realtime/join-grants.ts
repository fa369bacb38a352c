/**
 * The course rooms a student's socket may join without another database read: the courses the
 * handshake's read found it enrolled in (published, enrollment active or completed). A join storm
 * (a class opening the lecture page at once) then costs one statement per socket, at the
 * handshake, instead of two.
 *
 * A grant is only a shortcut for saying yes, never for saying no (a course it does not name is
 * read from the database as before), and it is short-lived and conservative:
 * - it lasts `ttlMs` from the handshake (the joins a page sends right after connecting);
 * - any revocation this instance hears of (a student dropped, a course unpublished, an account
 *   deactivated or its role changed), for any course or user, voids every grant whose read began
 *   before it: `begin()` is called before the read and `grant()` keeps that generation, so a
 *   revocation that commits while the read runs is not missed. Revocations are rare; a join after
 *   one costs a read, as every join did before.
 * A join that a grant allowed is as current as one that read the database at the handshake: a
 * revocation committed later takes the socket out of the room again (course-revocation.ts).
 */
export class JoinGrants {
  private generation = 0;
  private grants = new WeakMap<object, Grant>();
  /**
   * The connections granted, in the order their grants end (one lifetime for all), each dropped
   * once its grant has ended: a connected socket keeps no grant past its lifetime (its course ids,
   * ~0.4 KiB, bench/scenarios/memory.ts), and a closed one is held for at most that long.
   */
  private expiring: Array<{ connection: object; grant: Grant }> = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The generation a read starting now belongs to. */
  begin(): number {
    return this.generation;
  }

  /** Keeps what a read that began at `generation` found for `connection` (nothing when disabled or empty). */
  grant(connection: object, generation: number, courseIds: readonly string[]): void {
    if (this.ttlMs <= 0 || courseIds.length === 0 || generation !== this.generation) return;
    const grant: Grant = { generation, until: this.now() + this.ttlMs, courseIds: new Set(courseIds) };
    this.grants.set(connection, grant);
    this.expiring.push({ connection, grant });
    this.timer ??= this.sweepIn(this.ttlMs + 1);
  }

  /** Whether `connection` may join `courseId`'s room as a student without a read. */
  allows(connection: object, courseId: string): boolean {
    const grant = this.grants.get(connection);
    if (!grant) return false;
    if (grant.generation !== this.generation || this.now() > grant.until) {
      this.grants.delete(connection);
      return false;
    }
    return grant.courseIds.has(courseId);
  }

  /** Access was taken from someone: every grant read before now is void. */
  revoked(): void {
    this.generation++;
    this.grants = new WeakMap();
    this.expiring = [];
    this.head = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Grants not ended yet (those of connections still referenced). */
  get pending(): number {
    return this.expiring.length - this.head;
  }

  private sweepIn(ms: number): NodeJS.Timeout {
    return setTimeout(() => this.sweep(), ms).unref();
  }

  private sweep(): void {
    this.timer = undefined;
    const now = this.now();
    while (this.head < this.expiring.length && this.expiring[this.head].grant.until < now) {
      const { connection, grant } = this.expiring[this.head];
      if (this.grants.get(connection) === grant) this.grants.delete(connection);
      this.head++;
    }
    if (this.head === this.expiring.length) {
      this.expiring = [];
      this.head = 0;
    } else {
      if (this.head > 1024 && this.head * 2 > this.expiring.length) {
        this.expiring = this.expiring.slice(this.head);
        this.head = 0;
      }
      this.timer = this.sweepIn(Math.max(1, this.expiring[this.head].grant.until - now + 1));
    }
  }
}

interface Grant {
  generation: number;
  until: number;
  courseIds: ReadonlySet<string>;
}
