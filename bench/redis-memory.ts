/**
 * How much Redis memory a lecture costs: a private `redis-server` (no persistence, on a free
 * port), and `INFO memory`'s `used_memory` before and after each of
 * - presence: `--users` students joining one course, spread over `--instances` API instances
 *   (the real `RedisPresence` and its scripts);
 * - deadline jobs: `--users` delayed `quiz-deadlines` jobs (the real `Queues` and job options),
 *   as one timed quiz started by every student queues;
 * - the Socket.IO stream: `--events` broadcasts of a `quiz:graded` to a course room through the
 *   real streams adapter (`useStreamsAdapter`), below its MAXLEN.
 *
 *   npx tsx bench/redis-memory.ts [--users=10000] [--instances=4] [--events=10000]
 *
 * Prints one JSON object: bytes and keys per item of each. Not part of the suite; docs/operations.md
 * ("Sizing Redis for a lecture") quotes it.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Server } from 'socket.io';
import { closeRedis, createQueueRedis, createRedis, waitForRedis } from '../server/platform/redis.js';
import { Queues } from '../server/platform/queues/queues.js';
import { createAdapterRedis, useStreamsAdapter } from '../server/realtime/adapter.js';
import { rooms } from '../server/realtime/contract.js';
import { RedisPresence } from '../server/realtime/redis-presence.js';
import type { RealtimeServer } from '../server/realtime/types.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => Number(args.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const users = option('users', 10_000);
const instances = option('instances', 4);
const events = option('events', 10_000);

const port = await new Promise<number>((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    server.close(() => resolve(port));
  });
});
const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const config = { redisUrl: `redis://127.0.0.1:${port}`, redisSentinel: null, redisPrefix: 'sizing', queuePrefix: 'sizing-bull', socketStreamMaxLen: 100_000 };
const redis = createRedis(config, { enableOfflineQueue: true });
// Refused until redis-server listens; `waitForRedis` below waits for that.
redis.on('error', () => undefined);
try {
  if (!(await waitForRedis(redis, 10_000))) throw new Error('redis-server did not start');
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  /** Memory and keys `work` adds, per item. */
  const measure = async (items: number, work: () => Promise<void>) => {
    const [memoryBefore, keysBefore] = [await usedMemory(), await redis.dbsize()];
    await work();
    const [memoryAfter, keysAfter] = [await usedMemory(), await redis.dbsize()];
    return {
      items,
      bytesPerItem: Math.round((memoryAfter - memoryBefore) / items),
      totalMiB: Number(((memoryAfter - memoryBefore) / 2 ** 20).toFixed(1)),
      keysAdded: keysAfter - keysBefore,
    };
  };

  const courseId = randomUUID();
  const presences = Array.from(
    { length: instances },
    () =>
      new RedisPresence({
        redis,
        redisPrefix: config.redisPrefix,
        heartbeatMs: 60_000,
        ttlMs: 180_000,
        onBatch: () => undefined,
        onError: (error) => console.error(error),
      }),
  );
  for (const presence of presences) await presence.start();
  const presence = await measure(users, async () => {
    for (let i = 0; i < users; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, users - i) }, (_, j) => presences[(i + j) % instances]!.join(courseId, randomUUID(), `socket-${i + j}`)),
      );
    }
  });

  const queueConnection = createQueueRedis(config);
  const queues = new Queues(config, queueConnection);
  const deadlineJobs = await measure(users, async () => {
    for (let i = 0; i < users; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, users - i) }, () => queues.add('quiz-deadlines', { attemptId: randomUUID() }, { delay: 3_600_000 })),
      );
    }
  });
  await queues.close();
  await closeRedis(queueConnection);

  const io: RealtimeServer = new Server();
  const adapterRedis = createAdapterRedis(config, 'sizing');
  useStreamsAdapter(io, adapterRedis, config);
  const room = rooms.course(courseId);
  const stream = await measure(events, async () => {
    for (let i = 0; i < events; i++) {
      io.to(room).emit('quiz:graded', {
        attemptId: randomUUID(),
        quizId: randomUUID(),
        studentId: randomUUID(),
        score: 7,
        maxScore: 10,
        percentage: 70,
        isPassed: true,
        autoSubmitted: false,
        serverNow: new Date().toISOString(),
      } as never);
      if (i % 500 === 499) await adapterRedis.ping();
    }
    await adapterRedis.ping();
  });
  await io.of('/').adapter.close();
  await closeRedis(adapterRedis);
  for (const presence of presences) await presence.stop();

  console.log(
    JSON.stringify({ redis: (await redis.info('server')).match(/redis_version:(\S+)/)![1], users, instances, events, presence, deadlineJobs, stream }, null, 2),
  );
} finally {
  await closeRedis(redis);
  child.kill('SIGKILL');
}
