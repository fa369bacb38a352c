import t from '../helpers/tap.js';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { clearRedisPrefix, createRedis, waitForRedis } from '../../server/platform/redis.js';
import { waitFor } from '../helpers/wait.js';
import { RedisPresence } from '../../server/realtime/redis-presence.js';
import type { PresenceBatch } from '../../server/realtime/presence.js';
import { testRedisPrefix } from '../helpers/database.js';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisConfig = { redisUrl, redisSentinel: null };
const redisPrefix = testRedisPrefix('redis-presence');
const redis = new Redis(redisUrl);
/** Every batch any presence of this file handed on, with when. */
const batches: Array<PresenceBatch & { at: number; instanceId: string }> = [];
function instance(options: { redis?: Redis; instanceId?: string; onError?: (error: unknown) => void } = {}): RedisPresence {
  const created: RedisPresence = new RedisPresence({
    redis: options.redis ?? redis,
    redisPrefix,
    heartbeatMs: 60_000,
    ttlMs: 180_000,
    onBatch: (batch) => void batches.push({ ...batch, at: Date.now(), instanceId: created.instanceId }),
    onError: options.onError ?? (() => undefined),
    instanceId: options.instanceId,
  });
  return created;
}
const batchesOf = (courseId: string) => batches.filter((batch) => batch.courseId === courseId);
const presence = instance();
await presence.start();
t.teardown(async () => {
  await presence.stop();
  redis.disconnect();
  await clearRedisPrefix(redisConfig, redisPrefix);
});

/** Counts the scripts sent to Redis while `work` runs. */
async function countEvals<T>(work: () => Promise<T>): Promise<{ result: T; evals: number }> {
  let evals = 0;
  const evalScript = redis.eval.bind(redis);
  redis.eval = ((...args: Parameters<typeof redis.eval>) => {
    evals++;
    return evalScript(...args);
  }) as typeof redis.eval;
  try {
    return { result: await work(), evals };
  } finally {
    redis.eval = evalScript;
  }
}

t.test('concurrent reads of a course share one script, each caller with its own copy', async (t) => {
  for (const user of ['a', 'b', 'c']) await presence.join('course-1', user, `${user}-socket`);
  const { result, evals } = await countEvals(() => Promise.all(Array.from({ length: 20 }, () => presence.online('course-1'))));
  t.ok(evals <= 2, `20 concurrent reads, ${evals} script runs`);
  for (const online of result) t.same([...online].sort(), ['a', 'b', 'c']);
  result[0]!.push('changed');
  t.same([...result[1]!].sort(), ['a', 'b', 'c'], 'the copies are independent');
});

t.test('a read never answers with a snapshot taken before the call', async (t) => {
  await presence.join('course-2', 'a', 'a-socket');
  const early = presence.online('course-2');
  // `early` has started its read; this join and the read after it must see each other.
  await presence.join('course-2', 'b', 'b-socket');
  const late = await presence.online('course-2');
  t.same([...late].sort(), ['a', 'b'], 'the later read sees the join before it');
  t.ok((await early).includes('a'));
  t.same([...(await presence.online('course-2'))].sort(), ['a', 'b'], 'and so does a read once all is quiet');
});

t.test('joins and leaves while Redis does not answer are kept, then written back and announced once it does', async (t) => {
  const own = createRedis(redisConfig);
  t.teardown(() => own.disconnect());
  await waitForRedis(own, 5000);
  const errors: unknown[] = [];
  const offline = instance({ redis: own, onError: (error) => void errors.push(error) });
  await offline.start();
  t.teardown(() => offline.stop());
  t.same(await offline.join('course-3', 'stays', 'stays-socket'), { first: true });
  t.same(await offline.join('course-3', 'goes', 'goes-socket'), { first: true });
  await waitFor('the first batches', () => batchesOf('course-3').flatMap((batch) => batch.joined).length === 2, 5000);
  const before = batchesOf('course-3').length;

  const ended = once(own, 'end');
  own.disconnect();
  await ended;
  t.same(await offline.join('course-3', 'arrives', 'arrives-socket'), { first: false }, 'a join without Redis does not fail');
  t.same(await offline.leave('course-3', 'goes', 'goes-socket'), { last: false }, 'nor does a leave');
  t.same([...(await offline.online('course-3'))].sort(), ['arrives', 'stays'], "a read without Redis answers with this instance's users");
  t.match(await offline.snapshot('course-3', { members: false }), { onlineCount: 2, seq: 0 }, 'and so does a count');
  t.ok(errors.length >= 3, 'each failure is reported');
  t.same([...(await presence.online('course-3'))].sort(), ['goes', 'stays'], 'other instances see what Redis held');

  await own.connect();
  await waitFor(
    'the write-back',
    () => {
      const after = batchesOf('course-3').slice(before);
      return after.some((batch) => batch.joined.includes('arrives')) && after.some((batch) => batch.left.includes('goes'));
    },
    5000,
  );
  const after = batchesOf('course-3').slice(before);
  t.same(
    after.flatMap((batch) => batch.joined),
    ['arrives'],
    'presence:updated joined for the user Redis missed',
  );
  t.same(
    after.flatMap((batch) => batch.left),
    ['goes'],
    'and left for the one whose leave it missed',
  );
  t.equal(after.at(-1)!.onlineCount, 2);
  t.same([...(await presence.online('course-3'))].sort(), ['arrives', 'stays'], 'every instance sees it now');
});

t.test('a crowd joining over two instances: batches at most one per interval, numbered in order, their union is the crowd', async (t) => {
  const other = instance();
  await other.start();
  t.teardown(() => other.stop());
  const course = 'course-crowd';
  const first = await presence.snapshot(course, { members: true });
  t.same(first, { onlineCount: 0, seq: 0, online: [] }, 'an empty course');
  const users = Array.from({ length: 400 }, (_, i) => `user-${i}`);
  // Spread over 1.2 s, half on each instance.
  for (const [i, user] of users.entries()) {
    const on = i % 2 === 0 ? presence : other;
    void on.join(course, user, `${user}-socket`);
    if (i % 40 === 39) await new Promise((resolve) => setTimeout(resolve, 120));
  }
  await waitFor('every join in a batch', () => batchesOf(course).flatMap((batch) => batch.joined).length === users.length, 5000);
  const sent = batchesOf(course);
  t.same(new Set(sent.flatMap((batch) => batch.joined)), new Set(users), 'each user in exactly one batch');
  t.equal(sent.flatMap((batch) => batch.joined).length, users.length);
  for (let i = 1; i < sent.length; i++) {
    t.ok(sent[i]!.seq > sent[i - 1]!.seq, 'seq increases strictly');
    // 250 ms in Redis; a reply may reach Node a little late or early, hence the margin.
    t.ok(sent[i]!.at - sent[i - 1]!.at >= 200, `batches ${sent[i]!.at - sent[i - 1]!.at} ms apart`);
  }
  t.ok(sent.length <= 8, `${sent.length} batches for ${users.length} joins over about 1.2 s`);
  t.equal(sent.at(-1)!.onlineCount, users.length, 'the last batch counts everyone');
  const now = await other.snapshot(course, { members: false });
  t.same(now, { onlineCount: users.length, seq: sent.at(-1)!.seq }, 'a count-only snapshot: no list, the seq of the last batch');
});

t.test('a user who comes and goes between two batches is in the next one as left (the latest state wins)', async (t) => {
  const course = 'course-flicker';
  await presence.join(course, 'steady', 'steady-socket');
  await waitFor('the first batch', () => batchesOf(course).length === 1, 5000);
  const snapshot = await presence.snapshot(course, { members: true });
  // Within the interval after the first batch: both changes wait for the next one.
  await presence.join(course, 'flicker', 'flicker-socket');
  const mid = await presence.snapshot(course, { members: true });
  await presence.leave(course, 'flicker', 'flicker-socket');
  await waitFor('the second batch', () => batchesOf(course).length === 2, 5000);
  const second = batchesOf(course)[1]!;
  t.same([second.joined, second.left, second.onlineCount], [[], ['flicker'], 1]);
  t.equal(mid.seq, snapshot.seq, 'a snapshot between the changes has the same seq');
  t.same([...mid.online!].sort(), ['flicker', 'steady'], 'and shows the user');
  // Applying the batches above each snapshot's seq gives the true state from either.
  for (const start of [snapshot, mid]) {
    const online = new Set(start.online);
    for (const batch of batchesOf(course).filter((b) => b.seq > start.seq)) {
      batch.joined.forEach((user) => online.add(user));
      batch.left.forEach((user) => online.delete(user));
    }
    t.same([...online], ['steady']);
  }
});

t.test("a dead instance's users go offline in a batch from a live instance; a user also online elsewhere stays", async (t) => {
  const course = 'course-dead';
  const doomed = instance({ instanceId: `doomed-${Date.now()}` });
  await doomed.start();
  await doomed.join(course, 'only-there', 'socket-1');
  await doomed.join(course, 'both', 'socket-2');
  await presence.join(course, 'both', 'socket-3');
  await waitFor('the joins', () => batchesOf(course).flatMap((batch) => batch.joined).length === 2, 5000);
  const before = batchesOf(course).length;
  // Dies without a word: its heartbeat is gone.
  await redis.del(`${redisPrefix}:presence:alive:${doomed.instanceId}`);
  await presence.reapDead();
  await waitFor('the departure', () => batchesOf(course).length > before, 5000);
  const departure = batchesOf(course).at(-1)!;
  t.same([departure.joined, departure.left, departure.onlineCount, departure.instanceId], [[], ['only-there'], 1, presence.instanceId]);
  t.same(await presence.online(course), ['both']);
});
