import t from '../helpers/tap.js';
import { once } from 'node:events';
import pg from 'pg';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { createTestEnv } from '../helpers/app.js';
import { spawnEntry } from '../helpers/processes.js';
import { kill, startInstance } from '../multi/cluster-helpers.js';
import { waitFor } from '../helpers/wait.js';
import { SWEEP_SCHEDULER_ID } from '../../workers/maintenance.worker.js';
import { queueContracts } from '../../server/platform/queues/contract.js';
import { loadConfig, type Config } from '../../server/config/config.js';

/** A user with one refresh token that expired two days ago (the sweep purges it). */
async function insertExpiredToken(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const user = await client.query(
      `INSERT INTO users (email, password_hash, full_name) VALUES ('sweep-' || gen_random_uuid() || '@example.com', 'x', 'Sweep') RETURNING id`,
    );
    const token = await client.query(
      `INSERT INTO refresh_tokens (user_id, token_jti, expires_at) VALUES ($1, gen_random_uuid()::text, now() - interval '2 days') RETURNING id`,
      [user.rows[0].id],
    );
    return token.rows[0].id as string;
  } finally {
    await client.end();
  }
}

async function tokenExists(databaseUrl: string, id: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return ((await client.query('SELECT 1 FROM refresh_tokens WHERE id = $1', [id])).rowCount ?? 0) > 0;
  } finally {
    await client.end();
  }
}

function queueFor(config: Config) {
  const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('maintenance', { connection, prefix: config.queuePrefix });
  const events = new QueueEvents('maintenance', { connection: { url: config.redisUrl } as never, prefix: config.queuePrefix });
  return {
    queue,
    events,
    async close() {
      await events.close();
      await queue.close();
      connection.disconnect();
    },
  };
}

t.test('job ids contain no ":"', async (t) => {
  for (const contract of Object.values(queueContracts)) {
    t.notMatch(contract.jobId({ reason: 'manual', attemptId: 'a', enrollmentId: 'e' } as never), /:/, contract.name);
  }
  t.throws(() => queueContracts.maintenance.jobId({ reason: 'a:b' as never }), /must not contain ":"/);
});

t.test('`npm start` runs the workers in a thread: the start-up sweep and queued jobs, stopped with the API', async (t) => {
  const env = await createTestEnv(t, 'workers-thread', { WORKERS: 'on', SWEEP_INTERVAL_MS: '600000', LOG_LEVEL: 'info' });
  const { queue, events, close } = queueFor(env.config);
  env.defer(close);
  await events.waitUntilReady();
  // What an older version left in Redis: the sweep as a BullMQ job scheduler.
  await queue.upsertJobScheduler(SWEEP_SCHEDULER_ID, { every: 600000 }, { name: 'sweep', data: { reason: 'schedule' } });
  const startupToken = await insertExpiredToken(env.config.databaseUrl);

  const api = await startInstance({ ...env.env, WORKERS: 'on' });
  env.defer(() => kill(api));
  const { config } = env;
  await waitFor('the start-up sweep', async () => !(await tokenExists(config.databaseUrl, startupToken)), 30_000);
  t.same(await queue.getJobSchedulers(), [], 'the sweep runs on a timer of the worker thread; the old scheduler is gone');
  // The old scheduler may have queued a sweep before it was removed: let it run first, or it
  // could purge the token below before the manual sweep does.
  await waitFor(
    'no sweep queued or running',
    async () => {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(counts).every((n) => n === 0);
    },
    30_000,
  );

  const tokenId = await insertExpiredToken(config.databaseUrl);
  const job = await queue.add('sweep', { reason: 'manual' }, { jobId: 'sweep-manual-thread' });
  const result = await job.waitUntilFinished(events, 10_000);
  t.equal(result.purgeExpiredRefreshTokens, 1, 'the sweep purged the expired token');
  t.notOk(await tokenExists(config.databaseUrl, tokenId));

  api.child.kill('SIGTERM');
  const { code } = await api.exited;
  t.equal(code, 0, 'API and worker thread stopped cleanly');
  t.match(api.output(), /"component":"workers".*workers started/, 'the workers logged from their thread');
});

t.test('`npm run worker` processes jobs, and SIGTERM lets a running job finish', async (t) => {
  const { config, env, defer } = await createTestEnv(t, 'workers-proc', {
    SWEEP_INTERVAL_MS: '600000',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    WORKER_METRICS_PORT: '0',
  });
  const { queue, events, close } = queueFor(config);
  defer(close);
  await events.waitUntilReady();

  // Hold a lock on the row a sweep deletes, so that a sweep job stays running.
  const tokenId = await insertExpiredToken(config.databaseUrl);
  const locker = new pg.Client({ connectionString: config.databaseUrl });
  await locker.connect();
  defer(() => locker.end());
  await locker.query('BEGIN');
  await locker.query('SELECT 1 FROM refresh_tokens WHERE id = $1 FOR UPDATE', [tokenId]);

  const active = once(events, 'active');
  const worker = spawnEntry('workers/main.ts', env);
  defer(() => worker.child.kill('SIGKILL'));
  await queue.add('sweep', { reason: 'manual' }, { jobId: 'sweep-manual-1' });
  const [{ jobId }] = (await active) as [{ jobId: string }];
  t.equal(jobId, 'sweep-manual-1', 'a sweep job is running');

  // The worker's own /metrics: queue depth from Redis, and this process's jobs once they end.
  const metricsUrl = await waitFor(
    'the worker metrics URL in the log',
    () => /worker metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(worker.output())?.[1],
  );
  const scraped = await fetch(metricsUrl);
  t.equal(scraped.status, 200);
  const text = await scraped.text();
  t.match(text, /bullmq_queue_jobs\{queue="maintenance",state="active"\} 1/, 'the running sweep is counted');
  t.match(text, /process_cpu_seconds_total/, 'default process metrics');
  t.equal((await fetch(metricsUrl.replace('/metrics', '/other'))).status, 404);

  const completed = new Promise<{ jobId: string; returnvalue: unknown }>((resolve) =>
    events.on('completed', (event) => {
      if (event.jobId === jobId) resolve(event as never);
    }),
  );
  worker.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.equal(worker.child.exitCode, null, 'the worker waits for its running job');
  t.ok(await tokenExists(config.databaseUrl, tokenId), 'the job is still blocked');

  await locker.query('COMMIT');
  const event = await completed;
  // The process's own start-up sweep, waiting on the same row, may have purged the token first.
  t.match(event.returnvalue, { purgeExpiredRefreshTokens: Number }, 'the job finished after SIGTERM');
  const { code } = await worker.exited;
  t.equal(code, 0, `worker exited cleanly\n${worker.output()}`);
  t.notOk(await tokenExists(config.databaseUrl, tokenId));
  t.match(worker.output(), /worker stopped/);
});

t.test('WORKER_METRICS_PORT is a port or unset', async (t) => {
  const base = { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/x', REDIS_URL: 'redis://127.0.0.1:6379', JWT_SECRET: 'w'.repeat(32) };
  t.equal(loadConfig(base).workerMetricsPort, null, 'unset: no endpoint');
  t.equal(loadConfig({ ...base, WORKER_METRICS_PORT: '9464' }).workerMetricsPort, 9464);
  t.throws(() => loadConfig({ ...base, WORKER_METRICS_PORT: '70000' }), /WORKER_METRICS_PORT/);
});
