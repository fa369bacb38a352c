import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InMemoryPresence, type Presence } from './presence.js';

export interface RedisPresenceOptions {
  redis: Redis;
  redisPrefix: string;
  /** How often the heartbeat is renewed and dead instances are looked for. */
  heartbeatMs: number;
  /** Lifetime of the heartbeat; an instance silent this long is dead. */
  ttlMs: number;
  /** Users of a dead instance that are now offline in a course (reported by exactly one instance). */
  onDeparted(courseId: string, userIds: string[]): void;
  /** Users of this instance back online after it was taken for dead (a stall longer than `ttlMs`). */
  onReturned(courseId: string, userIds: string[]): void;
  onError(error: unknown): void;
  /** This instance's id. @defaultValue a random UUID */
  instanceId?: string;
}

// Shared by the scripts: is `user` in `course` on a live instance other than `inst`?
const ONLINE_ELSEWHERE = `
local function onlineElsewhere(base, course, user, inst)
  for _, other in ipairs(redis.call('SMEMBERS', base .. ':course:' .. course .. ':instances')) do
    if other ~= inst and redis.call('EXISTS', base .. ':alive:' .. other) == 1
      and redis.call('SISMEMBER', base .. ':course:' .. course .. ':inst:' .. other, user) == 1 then
      return true
    end
  end
  return false
end
`;

/** ARGV base, inst, course, user → 1 when the user just came online in the course (on any instance). */
const JOIN = `${ONLINE_ELSEWHERE}
local base, inst, course, user = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local added = redis.call('SADD', base .. ':course:' .. course .. ':inst:' .. inst, user)
redis.call('SADD', base .. ':course:' .. course .. ':instances', inst)
redis.call('SADD', base .. ':inst:' .. inst .. ':courses', course)
if added == 1 and not onlineElsewhere(base, course, user, inst) then return 1 end
return 0`;

/** ARGV base, inst, course, user → 1 when the user just went offline in the course (everywhere). */
const LEAVE = `${ONLINE_ELSEWHERE}
local base, inst, course, user = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = base .. ':course:' .. course .. ':inst:' .. inst
local removed = redis.call('SREM', key, user)
if redis.call('SCARD', key) == 0 then
  redis.call('SREM', base .. ':course:' .. course .. ':instances', inst)
  redis.call('SREM', base .. ':inst:' .. inst .. ':courses', course)
end
if removed == 1 and not onlineElsewhere(base, course, user, inst) then return 1 end
return 0`;

/** ARGV base, course → the users online on live instances. */
const ONLINE = `
local base, course = ARGV[1], ARGV[2]
local seen, out = {}, {}
for _, inst in ipairs(redis.call('SMEMBERS', base .. ':course:' .. course .. ':instances')) do
  if redis.call('EXISTS', base .. ':alive:' .. inst) == 1 then
    for _, user in ipairs(redis.call('SMEMBERS', base .. ':course:' .. course .. ':inst:' .. inst)) do
      if not seen[user] then seen[user] = true; table.insert(out, user) end
    end
  end
end
return out`;

/**
 * ARGV base, inst → forgets a dead instance (no heartbeat) and returns [course, user, …] for
 * each of its users not online elsewhere. Atomic, and it deletes what it read, so when several
 * instances notice the same death only the first gets the departures.
 */
const REAP = `${ONLINE_ELSEWHERE}
local base, dead = ARGV[1], ARGV[2]
if redis.call('EXISTS', base .. ':alive:' .. dead) == 1 then return {} end
local out = {}
for _, course in ipairs(redis.call('SMEMBERS', base .. ':inst:' .. dead .. ':courses')) do
  local key = base .. ':course:' .. course .. ':inst:' .. dead
  for _, user in ipairs(redis.call('SMEMBERS', key)) do
    if not onlineElsewhere(base, course, user, dead) then
      table.insert(out, course)
      table.insert(out, user)
    end
  end
  redis.call('DEL', key)
  redis.call('SREM', base .. ':course:' .. course .. ':instances', dead)
end
redis.call('DEL', base .. ':inst:' .. dead .. ':courses')
redis.call('SREM', base .. ':instances', dead)
return out`;

function noop(): void {}

/**
 * Presence shared by every API instance through Redis (contract.ts). Each instance keeps, per course,
 * the set of its users with a socket there, and renews an expiring heartbeat; a course's online
 * users are those in the sets of live instances. When an instance dies its heartbeat expires: the
 * others see it within `ttlMs + heartbeatMs`, remove its sets and tell the instructors who left.
 * Sockets of one user on one instance are counted here in memory; Redis sees a user once per
 * instance, so a user with sockets on two instances stays online until both are gone.
 *
 * The scripts build key names at run time, which a single Redis (or a primary with replicas)
 * allows; Redis Cluster would need the keys hash-tagged to one slot.
 */
export class RedisPresence implements Presence {
  readonly instanceId: string;
  private readonly local = new InMemoryPresence();
  private readonly base: string;
  private timer: NodeJS.Timeout | null = null;
  private registered = false;
  /** A join or leave did not reach Redis: what Redis holds for this instance is stale until restored. */
  private stale = false;
  /** `course\nuser` of leaves that did not reach Redis. */
  private readonly pendingLeaves = new Set<string>();
  private readonly onReconnect = () => {
    this.beat().catch((error) => this.options.onError(error));
  };
  /** Per course: the read callers arriving now will share (not started yet), and the one running. */
  private readonly reads = new Map<string, { queued: Promise<string[]> | null; running: Promise<unknown> | null }>();

  constructor(private readonly options: RedisPresenceOptions) {
    this.instanceId = options.instanceId ?? randomUUID();
    this.base = `${options.redisPrefix}:presence`;
  }

  /**
   * Writes the first heartbeat and starts renewing it (and reaping dead instances). Each time the
   * connection is ready again after a loss, the heartbeat is written at once and, if Redis lost
   * this instance's users (restarted empty, or took the instance for dead), they are written back
   * and announced as `joined`: instructors do not wait for the next heartbeat to see them again.
   */
  async start(): Promise<void> {
    this.options.redis.on('ready', this.onReconnect);
    this.timer = setInterval(() => {
      this.beat()
        .then(() => this.reapDead())
        .catch((error) => this.options.onError(error));
    }, this.options.heartbeatMs);
    this.timer.unref();
    await this.beat();
  }

  /** Stops the heartbeat and removes this instance's users, reporting those now offline. */
  async stop(): Promise<void> {
    this.options.redis.off('ready', this.onReconnect);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.options.redis.del(this.aliveKey(this.instanceId));
    await this.reap(this.instanceId);
  }

  /**
   * Joins and leaves never fail the caller: when Redis does not answer (down, or hung past the
   * command timeout) the change is kept here and written, with its `presence:updated`, once Redis
   * answers again (see `restore`).
   */
  async join(courseId: string, userId: string, socketId: string): Promise<{ first: boolean }> {
    const { first } = await this.local.join(courseId, userId, socketId);
    if (!first) return { first: false };
    this.pendingLeaves.delete(`${courseId}\n${userId}`);
    try {
      const result = await this.options.redis.eval(JOIN, 0, this.base, this.instanceId, courseId, userId);
      return { first: result === 1 };
    } catch (error) {
      this.stale = true;
      this.options.onError(error);
      return { first: false };
    }
  }

  async leave(courseId: string, userId: string, socketId: string): Promise<{ last: boolean }> {
    const { last } = await this.local.leave(courseId, userId, socketId);
    if (!last) return { last: false };
    try {
      const result = await this.options.redis.eval(LEAVE, 0, this.base, this.instanceId, courseId, userId);
      return { last: result === 1 };
    } catch (error) {
      this.stale = true;
      this.pendingLeaves.add(`${courseId}\n${userId}`);
      this.options.onError(error);
      return { last: false };
    }
  }

  /**
   * Concurrent calls for a course share one read: a call waits for the read that starts next
   * (never one already running, which may predate the caller's own join), so while a read runs
   * the calls arriving meanwhile queue for a single next one. The script costs O(online users)
   * of Redis time, blocking Redis meanwhile, and its reply as much to decode; when a class joins
   * at once, each join answered with the snapshot, one read per join made that O(N²) (benchmark
   * bench/scenarios/memory.ts: 5,000 students joining one course took twice as long).
   */
  async online(courseId: string): Promise<string[]> {
    let state = this.reads.get(courseId);
    if (!state) this.reads.set(courseId, (state = { queued: null, running: null }));
    if (!state.queued) {
      const entry = state;
      const started = (entry.running ?? Promise.resolve()).then(noop, noop).then(() => {
        entry.queued = null;
        const read = this.options.redis.eval(ONLINE, 0, this.base, courseId) as Promise<string[]>;
        entry.running = read;
        void read.then(noop, noop).then(() => {
          if (entry.running !== read) return;
          entry.running = null;
          if (!entry.queued && this.reads.get(courseId) === entry) this.reads.delete(courseId);
        });
        return read;
      });
      entry.queued = started;
    }
    try {
      // A copy each: callers may keep or change theirs.
      return (await state.queued!).slice();
    } catch (error) {
      // Without Redis, this instance's own users are what can be known.
      this.options.onError(error);
      return this.local.online(courseId);
    }
  }

  /** One pass over the known instances: those without a heartbeat are reaped. */
  async reapDead(): Promise<void> {
    const { redis } = this.options;
    const instances = (await redis.smembers(`${this.base}:instances`)).filter((id) => id !== this.instanceId);
    if (instances.length === 0) return;
    const pipeline = redis.pipeline();
    for (const id of instances) pipeline.exists(this.aliveKey(id));
    const alive = (await pipeline.exec()) ?? [];
    for (const [i, id] of instances.entries()) {
      if (alive[i]?.[1] === 0) await this.reap(id);
    }
  }

  private async beat(): Promise<void> {
    const results = await this.options.redis
      .multi()
      .set(this.aliveKey(this.instanceId), '1', 'PX', this.options.ttlMs)
      .sadd(`${this.base}:instances`, this.instanceId)
      .exec();
    const added = results?.[1]?.[1] === 1;
    // Not in the set although registered before: Redis lost this instance's users (restarted
    // empty), or another instance took this one for dead (an event-loop stall beyond the TTL) and
    // removed them. Write them back; likewise after joins or leaves that did not reach Redis.
    if ((added && this.registered) || this.stale) await this.restore();
    this.registered = true;
  }

  /** Writes this instance's users (and the leaves Redis missed) to Redis, announcing who changed. */
  private async restore(): Promise<void> {
    this.stale = false;
    try {
      for (const [courseId, userIds] of this.local.entries()) {
        const back: string[] = [];
        for (const userId of userIds) {
          if ((await this.options.redis.eval(JOIN, 0, this.base, this.instanceId, courseId, userId)) === 1) back.push(userId);
        }
        if (back.length) this.options.onReturned(courseId, back);
      }
      const gone = new Map<string, string[]>();
      for (const key of [...this.pendingLeaves]) {
        const [courseId, userId] = key.split('\n') as [string, string];
        if ((await this.options.redis.eval(LEAVE, 0, this.base, this.instanceId, courseId, userId)) === 1)
          gone.set(courseId, [...(gone.get(courseId) ?? []), userId]);
        this.pendingLeaves.delete(key);
      }
      for (const [courseId, userIds] of gone) this.options.onDeparted(courseId, userIds);
    } catch (error) {
      this.stale = true;
      throw error;
    }
  }

  private async reap(instanceId: string): Promise<void> {
    const flat = (await this.options.redis.eval(REAP, 0, this.base, instanceId)) as string[];
    const byCourse = new Map<string, string[]>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const users = byCourse.get(flat[i]) ?? [];
      users.push(flat[i + 1]);
      byCourse.set(flat[i], users);
    }
    for (const [courseId, userIds] of byCourse) this.options.onDeparted(courseId, userIds);
  }

  private aliveKey(instanceId: string): string {
    return `${this.base}:alive:${instanceId}`;
  }
}
