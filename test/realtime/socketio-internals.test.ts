/**
 * Pins server/realtime/socketio-internals.ts to the Socket.IO packages it was written for: an
 * upgrade fails here, loudly, until that module has been reviewed against the new versions and
 * `WRITTEN_FOR` moved on.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from '../helpers/tap.js';
import type { Redis } from 'ioredis';
import { Server, Socket } from 'socket.io';
import { io as ioClient } from 'socket.io-client';
import { MessageType } from 'socket.io-adapter';
import { PacketType } from 'socket.io-parser';
import { clearRedisPrefix, closeRedis } from '../../server/platform/redis.js';
import { createAdapterRedis, createStreamPublisher, useStreamsAdapter } from '../../server/realtime/adapter.js';
import { EMITTER_UID, EVENT_PACKET, MESSAGE_TYPE, WRITTEN_FOR } from '../../server/realtime/socketio-internals.js';
import type { RealtimeServer } from '../../server/realtime/types.js';
import { waitFor } from '../helpers/wait.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(root, 'package.json'));

function installed(name: string): { version: string; dir: string } {
  const dir = join(root, 'node_modules', name);
  return { version: (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version, dir };
}

t.test('the installed Socket.IO packages are the ones socketio-internals.ts was written for', async (t) => {
  t.equal(require('socket.io/package.json').version, '4.8.4');
  for (const [name, version] of Object.entries(WRITTEN_FOR)) t.equal(installed(name).version, version, name);
});

t.test("the protocol numbers copied there are the packages' own", async (t) => {
  t.equal(MessageType.BROADCAST, MESSAGE_TYPE.BROADCAST);
  t.equal(MessageType.DISCONNECT_SOCKETS, MESSAGE_TYPE.DISCONNECT_SOCKETS);
  t.equal(MessageType.SERVER_SIDE_EMIT, MESSAGE_TYPE.SERVER_SIDE_EMIT);
  t.equal(PacketType.EVENT, EVENT_PACKET);
  const clusterSource = readFileSync(join(installed('socket.io-adapter').dir, 'dist/cluster-adapter.js'), 'utf8');
  t.match(clusterSource, new RegExp(`const EMITTER_UID = "${EMITTER_UID}"`), "socket.io-adapter's EMITTER_UID");
});

t.test(
  'entries a stream publisher writes reach an instance: broadcasts to the rooms (with a recovery offset), server-side emits, no extra server',
  async (t) => {
    const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
    const config = { redisUrl, redisSentinel: null, redisPrefix: `test-internals-publisher-${process.pid}`, socketStreamMaxLen: 1000 };
    const io: RealtimeServer = new Server({ connectionStateRecovery: { maxDisconnectionDuration: 10_000 } });
    const adapterRedis = createAdapterRedis(config, 'test');
    const publisherRedis = createAdapterRedis(config, 'test-publisher');
    for (const redis of [adapterRedis, publisherRedis]) redis.on('error', () => undefined);
    useStreamsAdapter(io, adapterRedis, config);
    const errors: unknown[] = [];
    const publish = createStreamPublisher(publisherRedis, config, (error) => errors.push(error));
    io.on('connection', (socket) => void socket.join('room-a'));
    const httpServer = createServer();
    io.attach(httpServer);
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const client = ioClient(`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, { transports: ['websocket'] });
    t.teardown(async () => {
      client.close();
      await new Promise((resolve) => io.close(resolve));
      await closeRedis(publisherRedis);
      await closeRedis(adapterRedis);
      await clearRedisPrefix(config, config.redisPrefix);
    });
    await new Promise((resolve) => client.once('connect', () => resolve(undefined)));
    const heard: string[] = [];
    io.on('account-changed', (userId) => heard.push(userId));
    // The adapter's reader starts at the end of the stream once it runs: probe until it hears.
    await waitFor('the adapter to read the stream', () => (publish({ serverSideEmit: ['account-changed', 'probe'] }), heard.includes('probe')), 5000, 50);

    const packets: unknown[][] = [];
    client.onAny((...packet) => packets.push(packet));
    publish({ broadcast: { rooms: ['room-b'], event: 'not-for-a', payload: {} } });
    publish({ broadcast: { rooms: ['room-a', 'room-b'], event: 'for-a', payload: { n: 1 } } });
    publish({ serverSideEmit: ['account-changed', 'user-1'] });
    await waitFor('the server-side emit', () => heard.includes('user-1'));
    await waitFor('the broadcast', () => packets.length >= 1);
    t.equal(packets.length, 1, 'only the broadcast to a room of the socket');
    t.equal(packets[0]![0], 'for-a');
    t.same(packets[0]![1], { n: 1 });
    t.match(packets[0]![2], /^\d+-\d+$/, 'with the stream offset that recovery resumes from');
    t.equal(await io.of('/').adapter.serverCount(), 1, 'the publisher is not counted as a server');
    t.same(errors, []);
  },
);

t.test('the private members it uses exist', async (t) => {
  t.type((Socket.prototype as unknown as Record<string, unknown>).packet, 'function', 'Socket#packet');
  // Set in the constructor (so not on the prototype): the session id and the recovered flag it resumes.
  const socketSource = readFileSync(join(installed('socket.io').dir, 'dist/socket.js'), 'utf8');
  t.match(socketSource, /this\.pid = previousSession\.pid/, 'Socket#pid from the restored session');
  t.match(socketSource, /this\.recovered = true/, 'Socket#recovered');
  t.match(socketSource, /persistSession\(\{[^}]*pid: this\.pid/s, 'the stored session takes Socket#pid');
  const namespaceSource = readFileSync(join(installed('socket.io').dir, 'dist/namespace.js'), 'utf8');
  t.match(namespaceSource, /await this\.adapter\.restoreSession\(/, 'recovery goes through adapter.restoreSession');
  const utilSource = readFileSync(join(installed('@socket.io/redis-streams-adapter').dir, 'dist/util.js'), 'utf8');
  t.match(utilSource, /redisClient\.duplicate\(\)/, 'the streams adapter duplicates our connection');

  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const config = { redisUrl, redisSentinel: null, redisPrefix: `test-internals-${process.pid}`, socketStreamMaxLen: 1000 };
  const io: RealtimeServer = new Server();
  const redis = createAdapterRedis(config, 'test');
  redis.on('error', () => undefined);
  useStreamsAdapter(io, redis, config);
  t.teardown(async () => {
    await io.of('/').adapter.close();
    await closeRedis(redis);
    await clearRedisPrefix(config, config.redisPrefix);
  });
  const adapter = io.of('/').adapter as unknown as Record<string, unknown>;
  t.type(adapter.uid, 'string', 'adapter.uid');
  for (const member of ['broadcast', 'disconnectSockets', 'onMessage', 'restoreSession']) t.type(adapter[member], 'function', `adapter.${member}`);
});

t.test('closing the adapter and its connection leaves no timer behind: the process can exit at once', async (t) => {
  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const config = { redisUrl, redisSentinel: null, redisPrefix: `test-internals-close-${process.pid}`, socketStreamMaxLen: 1000 };
  t.teardown(() => clearRedisPrefix(config, config.redisPrefix));
  const io: RealtimeServer = new Server();
  const redis = createAdapterRedis(config, 'test');
  redis.on('error', () => undefined);
  // The adapter's blocking reader, duplicated from our connection.
  const duplicate = redis.duplicate.bind(redis);
  let reader: Redis | undefined;
  redis.duplicate = (override) => (reader = duplicate(override));
  useStreamsAdapter(io, redis, config);
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.ok(reader, 'the adapter reads through a duplicate');
  const timers = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
  const before = timers();

  const readerEnded = new Promise((resolve) => reader!.once('end', resolve));
  await io.of('/').adapter.close();
  await closeRedis(redis);
  await readerEnded;
  // The adapter's loop sees its XREAD fail and disconnects the reader a second time.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(reader!.status, 'end');
  // ioredis arms a 2 s timer on every disconnect(); on a socket already closed nothing clears it.
  t.ok(timers() <= before, `no timer is left armed (${timers()} now, ${before} before closing)`);
});
