import t from '../helpers/tap.js';
import { createTestEnv } from '../helpers/app.js';
import { freePort, spawnEntry, startRedisServer } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

// An API process (with its worker thread) on a Redis of this test's own, which is killed for a few
// seconds: what an operator's log collector gets from it.
const redisPort = await freePort();
let redis = await startRedisServer(redisPort);
t.teardown(() => redis.kill());
const { env } = await createTestEnv(t, 'redis-logs');
const port = await freePort();
const api = spawnEntry('server/main.ts', {
  ...env,
  REDIS_URL: redis.url,
  WORKERS: 'on',
  LOG_LEVEL: 'info',
  HOST: '127.0.0.1',
  PORT: String(port),
  SWEEP_INTERVAL_MS: '600000',
});
t.teardown(async () => {
  if (api.child.exitCode === null && api.child.signalCode === null) {
    api.child.kill('SIGKILL');
    await api.exited;
  }
});
const base = `http://127.0.0.1:${port}`;
const ready = async () => (await fetch(`${base}/ready`).catch(() => null))?.status === 200;

t.test('a Redis outage logs JSON lines only: one when it is lost, one when it is back', async (t) => {
  await waitFor('the API to be ready', ready, 30_000, 100);
  // Every queue object exists once the queue depths have been read.
  t.equal((await fetch(`${base}/metrics`)).status, 200);
  const before = api.output().length;

  await redis.kill();
  await new Promise((resolve) => setTimeout(resolve, 5000));
  redis = await startRedisServer(redisPort);
  await waitFor('the API to be ready again', ready, 30_000, 100);
  await waitFor(
    'the restored lines',
    () =>
      (
        api
          .output()
          .slice(before)
          .match(/redis connection restored/g) ?? []
      ).length >= 2,
    10_000,
    100,
  );
  api.child.kill('SIGTERM');
  const { code } = await api.exited;
  t.equal(code, 0, 'clean shutdown');

  const lines = api
    .output()
    .slice(before)
    .split('\n')
    .filter((line) => line.trim() !== '');
  const notJson = lines.filter((line) => {
    try {
      return typeof JSON.parse(line) !== 'object';
    } catch {
      return true;
    }
  });
  t.same(notJson.slice(0, 5), [], `no line that is not JSON (${notJson.length} of ${lines.length})`);

  const entries = lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as { level: number; msg?: string; thread?: string }];
    } catch {
      return [];
    }
  });
  const problems = entries.filter((entry) => entry.level >= 40);
  t.ok(problems.length <= 8, `${problems.length} warning or error lines for the outage: ${JSON.stringify(problems.map((p) => p.msg))}`);
  // Once by the API and once by its worker thread, each watching its own connections.
  const by = (msg: string) =>
    entries
      .filter((entry) => entry.msg === msg)
      .map((entry) => (entry.thread === 'workers' ? 'workers' : 'api'))
      .sort();
  t.same(by('redis connection lost; reconnecting'), ['api', 'workers'], 'lost, once per event loop');
  t.same(by('redis connection restored'), ['api', 'workers'], 'restored, once per event loop');
});
