import t from 'tap';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { clearRedisPrefix, createRedis, waitForRedis } from '../../server/platform/redis.js';
import { waitFor } from '../helpers/wait.js';
import { RedisPresence } from '../../server/realtime/redis-presence.js';
import { testRedisPrefix } from '../helpers/database.js';

const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisConfig = { redisUrl, redisSentinel: null };
const redisPrefix = testRedisPrefix('redis-presence');
const redis = new Redis(redisUrl);
const presence = new RedisPresence({
  redis,
  redisPrefix,
  heartbeatMs: 60_000,
  ttlMs: 180_000,
  onDeparted: () => undefined,
  onReturned: () => undefined,
  onError: () => undefined,
});
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
  const returned: Array<[string, string[]]> = [];
  const departed: Array<[string, string[]]> = [];
  const errors: unknown[] = [];
  const offline = new RedisPresence({
    redis: own,
    redisPrefix,
    heartbeatMs: 60_000,
    ttlMs: 180_000,
    onDeparted: (courseId, userIds) => void departed.push([courseId, userIds]),
    onReturned: (courseId, userIds) => void returned.push([courseId, userIds]),
    onError: (error) => void errors.push(error),
  });
  await offline.start();
  t.teardown(() => offline.stop());
  t.same(await offline.join('course-3', 'stays', 'stays-socket'), { first: true });
  t.same(await offline.join('course-3', 'goes', 'goes-socket'), { first: true });

  const ended = once(own, 'end');
  own.disconnect();
  await ended;
  t.same(await offline.join('course-3', 'arrives', 'arrives-socket'), { first: false }, 'a join without Redis does not fail');
  t.same(await offline.leave('course-3', 'goes', 'goes-socket'), { last: false }, 'nor does a leave');
  t.same([...(await offline.online('course-3'))].sort(), ['arrives', 'stays'], "a read without Redis answers with this instance's users");
  t.ok(errors.length >= 3, 'each failure is reported');
  t.same([...(await presence.online('course-3'))].sort(), ['goes', 'stays'], 'other instances see what Redis held');

  await own.connect();
  await waitFor('the write-back', () => returned.length > 0 && departed.length > 0, 5000);
  t.same(returned, [['course-3', ['arrives']]], 'presence:updated joined for the user Redis missed');
  t.same(departed, [['course-3', ['goes']]], 'and left for the one whose leave it missed');
  t.same([...(await presence.online('course-3'))].sort(), ['arrives', 'stays'], 'every instance sees it now');
});
