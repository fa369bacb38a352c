import t from '../helpers/tap.js';
import { Queue, Worker } from 'bullmq';
import { closeRedis, createQueueRedis, createRedis, waitForRedis } from '../../server/platform/redis.js';
import { waitFor } from '../helpers/wait.js';
import { ask, sentinelGroup, switchMaster } from './sentinel-helpers.js';

// A manual failover (`SENTINEL FAILOVER`): the old primary does not die; the Sentinels make it a
// replica of the one they promoted and close its clients. It still accepts connections, so a
// client that reconnected to the address it knew would land on a replica; ours ask the Sentinels
// again and check the role of what they name. (READONLY/UNBLOCKED, which a connection left open
// to a demoted primary would get, are covered by test/platform/redis-options.test.ts: the
// Sentinels' own reconfiguration closes those connections first.)
const group = sentinelGroup();
t.teardown(() => group.stop());
const redis = await group.started;
const config = {
  // Only the database number of REDIS_URL is used with Sentinels.
  redisUrl: 'redis://127.0.0.1:1/2',
  redisSentinel: { sentinels: redis.sentinels.map(({ port }) => ({ host: '127.0.0.1', port })), name: redis.name, password: null },
};
const prefix = 'test-demotion';

t.test('after a manual failover, writes, BullMQ jobs and blocking reads move to the new primary, not back to the old one', async (t) => {
  const command = createRedis(config, { commandTimeout: 1000 });
  const queueConnection = createQueueRedis(config);
  t.teardown(() => Promise.all([closeRedis(command), closeRedis(queueConnection)]));
  t.ok(await waitForRedis(command, 5000), 'connected through the Sentinels');
  const queue = new Queue<{ n: number }>('demotion', { connection: queueConnection, prefix });
  const processed: number[] = [];
  const worker = new Worker<{ n: number }>(
    'demotion',
    async (job) => {
      processed.push(job.data.n);
    },
    { connection: queueConnection, prefix },
  );
  const workerErrors: string[] = [];
  worker.on('error', (error) => workerErrors.push(error.message));
  t.teardown(async () => {
    await worker.close(true);
    await queue.close();
  });
  await worker.waitUntilReady();
  await queue.add('job', { n: 1 });
  await waitFor('the first job', () => processed.includes(1), 10_000);
  await command.set(`${prefix}:before`, 'old primary');

  const failover = await switchMaster(redis.sentinels[0]!.port, redis.name, 30_000);
  t.teardown(() => failover.close());
  await ask(redis.sentinels[0]!.port, (r) => r.call('SENTINEL', 'FAILOVER', redis.name));
  t.equal(await failover.switched, redis.replica.port, 'the replica is promoted');
  await waitFor(
    'the old primary to be a replica of the new one',
    () => ask(redis.primary.port, (r) => r.info('replication')).then((info) => info.includes('role:slave') && info.includes('master_link_status:up')),
    15_000,
    100,
  );

  // The command connection was closed by the reconfiguration: while it reconnects a write fails
  // at once (no offline queue); then it lands on the new primary, not on the old one that answers.
  const refusals: string[] = [];
  await waitFor(
    'a write to succeed',
    () =>
      command.set(`${prefix}:after`, 'new primary').then(
        () => true,
        (error: Error) => void refusals.push(error.message),
      ),
    10_000,
    100,
  );
  t.ok(refusals.length <= 3, `a write failed ${refusals.length} time(s) before the connection moved: ${refusals.join('; ') || 'none'}`);
  t.equal(await ask(redis.replica.port, (r) => r.select(2).then(() => r.get(`${prefix}:after`))), 'new primary', 'the write is on the new primary');
  t.equal(await command.get(`${prefix}:before`), 'old primary', 'with what was written before');

  // BullMQ's connection and the worker's blocking one (duplicated from it) move too.
  await queue.add('job', { n: 2 });
  await waitFor('a job added after the failover to run', () => processed.includes(2), 15_000, 50);
  t.same(processed, [1, 2]);
  const onNew = await ask(redis.replica.port, (r) => r.client('LIST') as Promise<string>);
  t.ok((onNew.match(/ db=2 /g) ?? []).length >= 3, 'our connections are on the new primary');
  t.notMatch(workerErrors.join('\n'), /READONLY/, 'the worker never wrote to the replica');
  const onOld = await ask(redis.primary.port, (r) => r.client('LIST') as Promise<string>);
  // Its link to its new primary (flags M) replays our writes in database 2: not a client of ours.
  const oursOnOld = onOld.split('\n').filter((line) => line.includes(' db=2 ') && !/ flags=\S*M/.test(line));
  t.same(oursOnOld, [], 'none is left on the old primary');
});
