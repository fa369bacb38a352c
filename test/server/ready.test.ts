import t from '../helpers/tap.js';
import { Server } from 'socket.io';
import { buildTestApp } from '../helpers/app.js';
import { freePort, startRedisServer } from '../helpers/processes.js';
import { waitForRedis } from '../../server/platform/redis.js';
import { createAdapterRedis, useStreamsAdapter } from '../../server/realtime/adapter.js';
import type { RealtimeServer } from '../../server/realtime/types.js';
import { waitFor } from '../helpers/wait.js';
import { READY_CACHE_MS, ReadyResponse } from '../../server/plugins/health.js';
import { bodyOf, replyOf } from '../helpers/http.js';

// A Redis of this test's own, so that it can be killed without touching the shared one.
const port = await freePort();
let redis = await startRedisServer(port);
t.teardown(() => redis.kill());

const { app } = await buildTestApp(t, 'ready', { REDIS_URL: redis.url });

t.test('/ready is 200 while Redis answers', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/ready' });
  t.equal(res.statusCode, 200);
});

t.test('/ready turns 503 within a second once Redis is gone, and recovers', async (t) => {
  // The answer of the last probe is reused for up to READY_CACHE_MS: let it expire first, so
  // that Redis stays down only briefly (a longer outage is another test's subject).
  await new Promise((resolve) => setTimeout(resolve, READY_CACHE_MS));
  await redis.kill();
  const killed = performance.now();
  let slowest = 0;
  const res = await waitFor(
    '/ready to answer 503',
    async () => {
      const started = performance.now();
      const answer = await app.inject({ method: 'GET', url: '/ready' });
      slowest = Math.max(slowest, performance.now() - started);
      return answer.statusCode === 503 && answer;
    },
    3000,
    50,
  );
  t.ok(performance.now() - killed < 1000, `503 within ${Math.round(performance.now() - killed)} ms`);
  t.match(bodyOf(replyOf(res), 503, ReadyResponse), {
    status: 'unavailable',
    checks: { postgres: { ok: true }, redis: { ok: false, error: 'Redis did not answer' } },
  });
  t.ok(slowest < 1000, `every answer within a second (slowest ${Math.round(slowest)} ms)`);

  const health = await app.inject({ method: 'GET', url: '/health' });
  t.equal(health.statusCode, 200, 'liveness does not depend on Redis');

  redis = await startRedisServer(port);
  // ioredis reconnects with backoff (at most 2 s apart); readiness follows.
  t.ok(await waitForRedis(app.redis, 10_000), 'reconnected');
  // /ready reuses its answer for up to a second (READY_CACHE_MS).
  const again = await waitFor(
    '/ready to answer 200',
    async () => {
      const res = await app.inject({ method: 'GET', url: '/ready' });
      return res.statusCode === 200 && res;
    },
    3000,
    100,
  );
  t.equal(again.statusCode, 200, 'ready again after Redis returns');
});

// The streams adapter subscribes its own duplicate of our connection without handling the reply,
// and ioredis resubscribes after each reconnect the same way. A subscription that fails (Redis
// unreachable past the retries, or the client closed while it was in flight, as at this file's
// teardown after the restart above) rejected with nobody listening: an unhandled rejection, which
// ends a Node process.
t.test('the Socket.IO adapter leaves no rejection unhandled while Redis is unreachable', async (t) => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', record);
  t.teardown(() => void process.off('unhandledRejection', record));

  const closedPort = await freePort();
  const adapterRedis = createAdapterRedis({ redisUrl: `redis://127.0.0.1:${closedPort}`, redisSentinel: null, redisPrefix: 'test-ready-adapter' }, 'test');
  const errors: Error[] = [];
  adapterRedis.on('error', (error) => errors.push(error));
  const io = new Server() as RealtimeServer;
  useStreamsAdapter(io, adapterRedis, { redisPrefix: 'test-ready-adapter', socketStreamMaxLen: 1000 });
  // Four reconnect attempts (100 + 200 + 300 + 400 ms) exhaust maxRetriesPerRequest (3).
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await io.of('/').adapter.close();
  adapterRedis.disconnect();
  await new Promise((resolve) => setImmediate(resolve));
  t.same(
    unhandled.map((reason) => String((reason as Error)?.message ?? reason)),
    [],
    'no unhandled rejection',
  );
  t.ok(errors.length > 0, "the failures reach the connection's error listener");
});

t.test('ports for child processes come from below the kernel’s ephemeral range', async (t) => {
  // Outgoing connections take their local ports from that range: a port picked there could be
  // taken by one before the child listens (EADDRINUSE).
  const { readFile } = await import('node:fs/promises');
  const [low] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/).map(Number);
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  t.ok(
    ports.every((port) => port > 1024 && port < low!),
    `all below ${low}: ${ports.join(', ')}`,
  );
});
