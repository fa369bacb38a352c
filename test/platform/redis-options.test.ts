import t from '../helpers/tap.js';
import { isUnavailableError } from '../../server/platform/errors.js';
import { createQueueRedis, createRedis, reconnectOnDemotion, reconnectOnReadonly, redisConnectionOptions } from '../../server/platform/redis.js';
import { createAdapterRedis } from '../../server/realtime/adapter.js';

const sentinel = {
  sentinels: [
    { host: '10.0.0.5', port: 26379 },
    { host: '::1', port: 26380 },
  ],
  name: 'classroom-main',
  password: 'sentinel secret',
};

t.test('REDIS_URL alone: its host, port, database, user and password', async (t) => {
  t.match(redisConnectionOptions({ redisUrl: 'redis://127.0.0.1:6379', redisSentinel: null }), { host: '127.0.0.1', port: 6379 });
  const options = redisConnectionOptions({ redisUrl: 'redis://app:p%40ss@redis.internal:6380/3', redisSentinel: null });
  t.match(options, { host: 'redis.internal', port: 6380, db: 3, username: 'app', password: 'p@ss' });
  t.notOk('sentinels' in options || 'tls' in options);
  t.equal(options.reconnectOnError, reconnectOnReadonly, 'READONLY reconnects (an address that moved) but fails the command');
  t.match(redisConnectionOptions({ redisUrl: 'redis://:secret@[::1]', redisSentinel: null }), { host: '::1', port: 6379, password: 'secret' });
  t.notOk('username' in redisConnectionOptions({ redisUrl: 'redis://:secret@[::1]', redisSentinel: null }), 'AUTH with the password alone');
  t.same(redisConnectionOptions({ redisUrl: 'rediss://redis.internal', redisSentinel: null }).tls, {}, 'rediss: is TLS');
});

t.test('with Sentinels: the primary they name, REDIS_URL for the database and the password only', async (t) => {
  const options = redisConnectionOptions({ redisUrl: 'redis://:secret@ignored:1234/2', redisSentinel: sentinel });
  t.same(options.sentinels, sentinel.sentinels);
  t.match(options, { name: 'classroom-main', role: 'master', sentinelPassword: 'sentinel secret', password: 'secret', db: 2, failoverDetector: false });
  t.notOk('host' in options || 'port' in options, 'REDIS_URL’s address is not used');
  t.equal(options.reconnectOnError, reconnectOnDemotion);
  const noPassword = redisConnectionOptions({ redisUrl: 'rediss://redis', redisSentinel: { ...sentinel, password: null } });
  t.notOk('sentinelPassword' in noPassword);
  t.match(noPassword, { tls: {}, enableTLSForSentinelMode: true }, 'rediss: encrypts the connection to the primary');
});

t.test('every client starts from the factory and adds what its role needs', async (t) => {
  const config = { redisUrl: 'redis://:secret@ignored:1234/2', redisSentinel: sentinel, redisPrefix: 'test-options' };
  // lazyConnect: nothing dials the made-up Sentinels.
  const command = createRedis(config, { lazyConnect: true, commandTimeout: 250 });
  const queue = createQueueRedis(config, { lazyConnect: true });
  const adapter = createAdapterRedis(config, 'test');
  adapter.disconnect();
  for (const [name, client] of [
    ['command', command],
    ['queue', queue],
    ['adapter', adapter],
  ] as const) {
    t.match(client.options, { sentinels: sentinel.sentinels, name: 'classroom-main', role: 'master', db: 2, password: 'secret' }, name);
    t.equal(client.options.reconnectOnError, reconnectOnDemotion, `${name} reconnects after a demotion`);
  }
  t.match(command.options, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 250 }, 'commands fail fast');
  t.match(queue.options, { enableOfflineQueue: true, maxRetriesPerRequest: null }, 'BullMQ waits for Redis (its workers require null)');
  t.match(adapter.options, { enableOfflineQueue: true, maxRetriesPerRequest: 3, connectionName: 'test-options-sio-test' });
  const reader = adapter.duplicate();
  reader.disconnect();
  t.match(reader.options, { sentinels: sentinel.sentinels, name: 'classroom-main' }, 'the adapter’s blocking reader follows the Sentinels too');
});

t.test('a demoted primary’s errors reconnect and resend; other errors do not; both count as Redis unavailable', async (t) => {
  const readonly = new Error("READONLY You can't write against a read only replica.");
  const unblocked = new Error('UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)');
  t.equal(reconnectOnDemotion(readonly), 2, 'with Sentinels: reconnect to the primary they name and resend');
  t.equal(reconnectOnDemotion(unblocked), 2);
  t.equal(reconnectOnReadonly(readonly), 1, 'without: reconnect and fail the command, never resend to a replica forever');
  t.equal(reconnectOnReadonly(unblocked), 1);
  t.equal(reconnectOnReadonly(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')), false);
  t.equal(reconnectOnDemotion(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')), false);
  t.equal(reconnectOnDemotion(new Error('ERR READONLY in a message')), false);
  t.ok(isUnavailableError(readonly));
  t.ok(isUnavailableError(unblocked));
  t.ok(isUnavailableError(new Error('All sentinels are unreachable. Retrying from scratch after 10ms.')));
  t.notOk(isUnavailableError(new Error('WRONGTYPE Operation against a key holding the wrong kind of value')));
});
