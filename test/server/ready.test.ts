import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { buildTestApp } from '../helpers/app.js';
import { waitForRedis } from '../../server/redis.js';
import { waitFor } from '../helpers/wait.js';
import { READY_CACHE_MS } from '../../server/plugins/health.js';

/** A port nobody listens on yet. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
  });
  return child;
}

// A Redis of this test's own, so that it can be killed without touching the shared one.
const port = await freePort();
let redis = await startRedis(port);
t.teardown(() => {
  redis.kill('SIGKILL');
});

const { app } = await buildTestApp(t, 'ready', { REDIS_URL: `redis://127.0.0.1:${port}` });

t.test('/ready is 200 while Redis answers', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/ready' });
  t.equal(res.statusCode, 200);
});

t.test('/ready turns 503 within a second once Redis is gone, and recovers', async (t) => {
  // The answer of the last probe is reused for up to READY_CACHE_MS: let it expire first, so
  // that Redis stays down only briefly (a longer outage is another test's subject).
  await new Promise((resolve) => setTimeout(resolve, READY_CACHE_MS));
  redis.kill('SIGKILL');
  await once(redis, 'exit');
  const killed = performance.now();
  let slowest = 0;
  const res = await waitFor('/ready to answer 503', async () => {
    const started = performance.now();
    const answer = await app.inject({ method: 'GET', url: '/ready' });
    slowest = Math.max(slowest, performance.now() - started);
    return answer.statusCode === 503 && answer;
  }, 3000, 50);
  t.ok(performance.now() - killed < 1000, `503 within ${Math.round(performance.now() - killed)} ms`);
  t.match(res.json(), { status: 'unavailable', checks: { postgres: { ok: true }, redis: { ok: false, error: 'Redis did not answer' } } });
  t.ok(slowest < 1000, `every answer within a second (slowest ${Math.round(slowest)} ms)`);

  const health = await app.inject({ method: 'GET', url: '/health' });
  t.equal(health.statusCode, 200, 'liveness does not depend on Redis');

  redis = await startRedis(port);
  // ioredis reconnects with backoff (at most 2 s apart); readiness follows.
  t.ok(await waitForRedis(app.redis, 10_000), 'reconnected');
  // /ready reuses its answer for up to a second (READY_CACHE_MS).
  const again = await waitFor('/ready to answer 200', async () => {
    const res = await app.inject({ method: 'GET', url: '/ready' });
    return res.statusCode === 200 && res;
  }, 3000, 100);
  t.equal(again.statusCode, 200, 'ready again after Redis returns');
});
