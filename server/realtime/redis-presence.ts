import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InMemoryPresence, type Presence, type PresenceBatch, type PresenceSnapshot } from './presence.js';

export interface RedisPresenceOptions {
  redis: Redis;
  redisPrefix: string;
  /** How often the heartbeat is renewed and dead instances are looked for. */
  heartbeatMs: number;
  /** Lifetime of the heartbeat; an instance silent this long is dead. */
  ttlMs: number;
  /**
   * A course's net changes, flushed by this instance (each change is in exactly one batch, of
   * whichever instance flushes first). At most one batch per `flushIntervalMs` per course across
   * every instance sharing this Redis.
   */
  onBatch(batch: PresenceBatch): void;
  onError(error: unknown): void;
  /** A course's batches are at least this far apart, across instances. @defaultValue 250 */
  flushIntervalMs?: number;
  /** This instance's id. @defaultValue a random UUID */
  instanceId?: string;
}

// Keys, under `<prefix>:presence` (`base`):
//   instances, alive:<inst> (heartbeat, PX ttl), inst:<inst>:courses   the instances and their courses
//   course:<c>:instances, course:<c>:inst:<inst>                        per instance, its users in the course
//   course:<c>:online      users online anywhere: the union of the per-instance sets of the instances
//                          not reaped yet (kept by the scripts, so a count is SCARD)
//   course:<c>:pending     user → '1' (came online) / '0' (went offline): changes since the last
//                          flush, latest state wins
//   course:<c>:flushed     set (PX flushIntervalMs) by a flush: the next one waits for it to expire
//   course:<c>:seq         the number of the course's last batch
//   dirty                  courses with pending changes (looked at on every heartbeat: a change
//                          whose instance died before flushing it is flushed by another one)
// Shared by the scripts: `onlineAnywhere(prefix, user)`, is `user` in a per-instance set of the course?
// And `record(base, course, user, state)`, a change for the next batch.
const HELPERS = `
local function onlineAnywhere(prefix, user)
  for _, inst in ipairs(redis.call('SMEMBERS', prefix .. ':instances')) do
    if redis.call('SISMEMBER', prefix .. ':inst:' .. inst, user) == 1 then return true end
  end
  return false
end
local function record(base, course, user, state)
  redis.call('HSET', base .. ':course:' .. course .. ':pending', user, state)
  redis.call('SADD', base .. ':dirty', course)
end
`;

/** ARGV base, inst, course, user → 1 when the user just came online in the course (on any instance). */
const JOIN = `${HELPERS}
local base, inst, course, user = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local prefix = base .. ':course:' .. course
redis.call('SADD', prefix .. ':inst:' .. inst, user)
redis.call('SADD', prefix .. ':instances', inst)
redis.call('SADD', base .. ':inst:' .. inst .. ':courses', course)
if redis.call('SADD', prefix .. ':online', user) == 1 then
  record(base, course, user, '1')
  return 1
end
return 0`;

/** ARGV base, inst, course, user → 1 when the user just went offline in the course (everywhere). */
const LEAVE = `${HELPERS}
local base, inst, course, user = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local prefix = base .. ':course:' .. course
local key = prefix .. ':inst:' .. inst
redis.call('SREM', key, user)
if redis.call('SCARD', key) == 0 then
  redis.call('SREM', prefix .. ':instances', inst)
  redis.call('SREM', base .. ':inst:' .. inst .. ':courses', course)
end
if not onlineAnywhere(prefix, user) and redis.call('SREM', prefix .. ':online', user) == 1 then
  record(base, course, user, '0')
  return 1
end
return 0`;

/**
 * ARGV base, course, members ('1'/'0') → [seq, count, users?]: one atomic read, so the batches
 * numbered above `seq` are exactly the changes the snapshot does not show.
 */
const SNAPSHOT = `
local base, course = ARGV[1], ARGV[2]
local prefix = base .. ':course:' .. course
local seq = redis.call('GET', prefix .. ':seq') or '0'
local count = redis.call('SCARD', prefix .. ':online')
if ARGV[3] == '1' then return {seq, count, redis.call('SMEMBERS', prefix .. ':online')} end
return {seq, count}`;

/**
 * ARGV base, course, intervalMs → {waitMs} when the course's last batch is younger than the
 * interval; {0} when there is nothing to send; else {0, seq, count, {user, state, …}}: the pending
 * changes, taken (deleted) in the same step as the sequence is incremented. A sequence that is
 * missing (a first batch, or Redis restarted empty) starts from Redis's clock in milliseconds, so
 * it stays above any number handed out before (batches are far fewer than one per millisecond).
 */
const FLUSH = `
local base, course, interval = ARGV[1], ARGV[2], ARGV[3]
local prefix = base .. ':course:' .. course
local wait = redis.call('PTTL', prefix .. ':flushed')
if wait > 0 then return {wait} end
local pending = redis.call('HGETALL', prefix .. ':pending')
redis.call('SREM', base .. ':dirty', course)
if #pending == 0 then return {0} end
redis.call('DEL', prefix .. ':pending')
redis.call('SET', prefix .. ':flushed', '1', 'PX', interval)
if redis.call('EXISTS', prefix .. ':seq') == 0 then
  local now = redis.call('TIME')
  redis.call('SET', prefix .. ':seq', now[1] .. string.format('%03d', math.floor(tonumber(now[2]) / 1000)))
end
local seq = redis.call('INCR', prefix .. ':seq')
return {0, seq, redis.call('SCARD', prefix .. ':online'), pending}`;

/**
 * ARGV base, inst → forgets a dead instance (no heartbeat); its users not online on another
 * instance go offline (recorded for the next batch). Returns the courses with such departures.
 * Atomic, and it deletes what it read, so when several instances notice the same death only the
 * first records the departures.
 */
const REAP = `${HELPERS}
local base, dead = ARGV[1], ARGV[2]
if redis.call('EXISTS', base .. ':alive:' .. dead) == 1 then return {} end
local out = {}
for _, course in ipairs(redis.call('SMEMBERS', base .. ':inst:' .. dead .. ':courses')) do
  local prefix = base .. ':course:' .. course
  local key = prefix .. ':inst:' .. dead
  local users = redis.call('SMEMBERS', key)
  redis.call('DEL', key)
  redis.call('SREM', prefix .. ':instances', dead)
  local departed = false
  for _, user in ipairs(users) do
    if not onlineAnywhere(prefix, user) and redis.call('SREM', prefix .. ':online', user) == 1 then
      record(base, course, user, '0')
      departed = true
    end
  end
  if departed then table.insert(out, course) end
end
redis.call('DEL', base .. ':inst:' .. dead .. ':courses')
redis.call('SREM', base .. ':instances', dead)
return out`;

function noop(): void {}

/** The flushing of one course on this instance: due (a timer), running, or asked for again meanwhile. */
interface FlushState {
  timer: NodeJS.Timeout | null;
  running: Promise<void> | null;
  /** A change was recorded after the running flush took the pending ones. */
  again: boolean;
}

/**
 * Presence shared by every API instance through Redis (contract.ts). Each instance keeps, per
 * course, the set of its users with a socket there, and renews an expiring heartbeat; the scripts
 * keep beside them the set of users online anywhere, so a count is O(1) and a snapshot one read.
 * When an instance dies its heartbeat expires: the others see it within `ttlMs + heartbeatMs`
 * and remove its sets, and its users not online elsewhere go offline. Sockets of one user on one
 * instance are counted here in memory; Redis sees a user once per instance, so a user with
 * sockets on two instances stays online until both are gone.
 *
 * Changes are not announced one by one (a class of N joining would send the instructors N
 * events, O(N²) in all with the lists): each is recorded in the course's pending hash (the latest
 * state per user), and the instance that recorded it asks for a flush. A flush is one script that
 * takes the pending changes and numbers the batch, refused while the course's previous batch is
 * younger than `flushIntervalMs`, on whichever instance sent it; refused, the instance tries again
 * when the interval is over. So a course gets at most one batch per interval across instances, the
 * first change after a quiet spell goes out at once, and each change is in exactly one batch.
 *
 * The scripts build key names at run time, which a single Redis (or a primary with replicas)
 * allows; Redis Cluster would need the keys hash-tagged to one slot.
 */
export class RedisPresence implements Presence {
  readonly instanceId: string;
  private readonly local = new InMemoryPresence();
  private readonly base: string;
  private readonly flushIntervalMs: number;
  private timer: NodeJS.Timeout | null = null;
  private registered = false;
  /** A join or leave did not reach Redis: what Redis holds for this instance is stale until restored. */
  private stale = false;
  /** `course\nuser` of leaves that did not reach Redis. */
  private readonly pendingLeaves = new Set<string>();
  private readonly onReconnect = () => {
    this.beat().catch((error) => this.options.onError(error));
  };
  /** Per course and kind of snapshot: the read callers arriving now will share (not started yet), and the one running. */
  private readonly reads = new Map<string, { queued: Promise<PresenceSnapshot> | null; running: Promise<unknown> | null }>();
  /** Courses whose changes this instance is flushing. */
  private readonly flushes = new Map<string, FlushState>();

  constructor(private readonly options: RedisPresenceOptions) {
    this.instanceId = options.instanceId ?? randomUUID();
    this.base = `${options.redisPrefix}:presence`;
    this.flushIntervalMs = options.flushIntervalMs ?? 250;
  }

  /**
   * Writes the first heartbeat and starts renewing it (and reaping dead instances, and flushing
   * changes left unflushed). Each time the connection is ready again after a loss, the heartbeat
   * is written at once and, if Redis lost this instance's users (restarted empty, or took the
   * instance for dead), they are written back and announced as `joined`: instructors do not wait
   * for the next heartbeat to see them again.
   */
  async start(): Promise<void> {
    this.options.redis.on('ready', this.onReconnect);
    this.timer = setInterval(() => {
      this.beat()
        .then(() => this.reapDead())
        .then(() => this.flushDirty())
        .catch((error) => this.options.onError(error));
    }, this.options.heartbeatMs);
    this.timer.unref();
    await this.beat();
  }

  /** Stops the heartbeat and removes this instance's users, sending the batches of those now offline. */
  async stop(): Promise<void> {
    this.options.redis.off('ready', this.onReconnect);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.options.redis.del(this.aliveKey(this.instanceId));
    const reaped = (await this.options.redis.eval(REAP, 0, this.base, this.instanceId)) as string[];
    // What this instance still has to flush goes out now, rather than at another's heartbeat.
    const courses = new Set([...reaped, ...this.flushes.keys()]);
    const states = [...this.flushes.values()];
    this.flushes.clear();
    for (const state of states) if (state.timer) clearTimeout(state.timer);
    await Promise.all(states.flatMap((state) => (state.running ? [state.running] : [])));
    await Promise.all([...courses].map((courseId) => this.flushUntilSent(courseId)));
  }

  /**
   * Joins and leaves never fail the caller: when Redis does not answer (down, or hung past the
   * command timeout) the change is kept here and written, with its batch, once Redis answers
   * again (see `restore`).
   */
  async join(courseId: string, userId: string, socketId: string): Promise<{ first: boolean }> {
    const { first } = await this.local.join(courseId, userId, socketId);
    if (!first) return { first: false };
    this.pendingLeaves.delete(`${courseId}\n${userId}`);
    try {
      const result = await this.options.redis.eval(JOIN, 0, this.base, this.instanceId, courseId, userId);
      if (result === 1) this.changed(courseId);
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
      if (result === 1) this.changed(courseId);
      return { last: result === 1 };
    } catch (error) {
      this.stale = true;
      this.pendingLeaves.add(`${courseId}\n${userId}`);
      this.options.onError(error);
      return { last: false };
    }
  }

  /**
   * Concurrent calls for a course (and kind) share one read: a call waits for the read that
   * starts next (never one already running, which may predate the caller's own join), so while a
   * read runs the calls arriving meanwhile queue for a single next one. With `members` the script
   * costs O(online users) of Redis time, blocking Redis meanwhile, and its reply as much to decode;
   * one read per instructor's join is fine, one per join of a class filling up was O(N²)
   * (benchmark bench/scenarios/memory.ts). Without `members` it is O(1).
   */
  async snapshot(courseId: string, options: { members: boolean }): Promise<PresenceSnapshot> {
    const key = `${options.members ? 'members' : 'count'}\n${courseId}`;
    let state = this.reads.get(key);
    if (!state) this.reads.set(key, (state = { queued: null, running: null }));
    if (!state.queued) {
      const entry = state;
      const started = (entry.running ?? Promise.resolve()).then(noop, noop).then(() => {
        entry.queued = null;
        const read = this.readSnapshot(courseId, options.members);
        entry.running = read;
        void read.then(noop, noop).then(() => {
          if (entry.running !== read) return;
          entry.running = null;
          if (!entry.queued && this.reads.get(key) === entry) this.reads.delete(key);
        });
        return read;
      });
      entry.queued = started;
    }
    try {
      const snapshot = await state.queued!;
      // A copy each: callers may keep or change theirs.
      return snapshot.online ? { ...snapshot, online: snapshot.online.slice() } : { ...snapshot };
    } catch (error) {
      // Without Redis, this instance's own users are what can be known.
      this.options.onError(error);
      const online = await this.local.online(courseId);
      return options.members ? { onlineCount: online.length, seq: 0, online } : { onlineCount: online.length, seq: 0 };
    }
  }

  async online(courseId: string): Promise<string[]> {
    return (await this.snapshot(courseId, { members: true })).online ?? [];
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
      if (alive[i]?.[1] !== 0) continue;
      const courses = (await redis.eval(REAP, 0, this.base, id)) as string[];
      for (const courseId of courses) this.changed(courseId);
    }
  }

  /** Flushes the courses with changes nobody flushed (their instance died, or its flush failed). */
  async flushDirty(): Promise<void> {
    for (const courseId of await this.options.redis.smembers(`${this.base}:dirty`)) {
      if (!this.flushes.has(courseId)) this.changed(courseId);
    }
  }

  private async readSnapshot(courseId: string, members: boolean): Promise<PresenceSnapshot> {
    const reply = (await this.options.redis.eval(SNAPSHOT, 0, this.base, courseId, members ? '1' : '0')) as [string, number, string[]?];
    const snapshot: PresenceSnapshot = { onlineCount: reply[1], seq: Number(reply[0]) };
    if (members) snapshot.online = reply[2] ?? [];
    return snapshot;
  }

  /** A change of the course is pending in Redis: flush it now, or once the course's interval allows. */
  private changed(courseId: string): void {
    const state = this.flushes.get(courseId);
    if (state) {
      state.again = true;
      return;
    }
    const fresh: FlushState = { timer: null, running: null, again: false };
    this.flushes.set(courseId, fresh);
    this.runFlush(courseId, fresh);
  }

  private runFlush(courseId: string, state: FlushState): void {
    state.timer = null;
    state.again = false;
    state.running = this.flush(courseId).then(
      (waitMs) => {
        state.running = null;
        if (this.flushes.get(courseId) !== state) return;
        if (waitMs > 0) this.flushLater(courseId, state, waitMs);
        else if (state.again) this.flushLater(courseId, state, this.flushIntervalMs);
        else this.flushes.delete(courseId);
      },
      (error) => {
        state.running = null;
        // Still pending in Redis (and listed in `dirty`): the next heartbeat's sweep flushes it.
        if (this.flushes.get(courseId) === state) this.flushes.delete(courseId);
        this.options.onError(error);
      },
    );
  }

  private flushLater(courseId: string, state: FlushState, ms: number): void {
    state.timer = setTimeout(() => this.runFlush(courseId, state), ms);
    state.timer.unref();
  }

  /** Flushes the course, waiting out its interval (a few times at most) when another batch was sent just before. */
  private async flushUntilSent(courseId: string): Promise<void> {
    for (let tries = 0; tries < 5; tries++) {
      const waitMs = await this.flush(courseId);
      if (waitMs <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  /** One flush: the ms to wait when refused, else 0 (after handing on the batch, if there was one). */
  private async flush(courseId: string): Promise<number> {
    const reply = (await this.options.redis.eval(FLUSH, 0, this.base, courseId, String(this.flushIntervalMs))) as [number, number?, number?, string[]?];
    if (reply[0] > 0) return reply[0];
    if (reply.length < 4) return 0;
    const pending = reply[3]!;
    const joined: string[] = [];
    const left: string[] = [];
    for (let i = 0; i + 1 < pending.length; i += 2) (pending[i + 1] === '1' ? joined : left).push(pending[i]);
    this.options.onBatch({ courseId, joined, left, onlineCount: reply[2]!, seq: reply[1]! });
    return 0;
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

  /** Writes this instance's users (and the leaves Redis missed) to Redis; who changed goes out in batches. */
  private async restore(): Promise<void> {
    this.stale = false;
    const changed = new Set<string>();
    try {
      for (const [courseId, userIds] of this.local.entries()) {
        for (const userId of userIds) {
          if ((await this.options.redis.eval(JOIN, 0, this.base, this.instanceId, courseId, userId)) === 1) changed.add(courseId);
        }
      }
      for (const key of [...this.pendingLeaves]) {
        const [courseId, userId] = key.split('\n') as [string, string];
        if ((await this.options.redis.eval(LEAVE, 0, this.base, this.instanceId, courseId, userId)) === 1) changed.add(courseId);
        this.pendingLeaves.delete(key);
      }
    } catch (error) {
      this.stale = true;
      throw error;
    } finally {
      for (const courseId of changed) this.changed(courseId);
    }
  }

  private aliveKey(instanceId: string): string {
    return `${this.base}:alive:${instanceId}`;
  }
}
