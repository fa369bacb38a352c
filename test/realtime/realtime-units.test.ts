import type { IncomingMessage } from 'node:http';
import t from '../helpers/tap.js';
import { clientIpResolver } from '../../server/realtime/client-ip.js';
import { trustProxyOption } from '../../server/platform/trust-proxy.js';
import { EventGate } from '../../server/realtime/event-gate.js';
import { LocalConnections } from '../../server/realtime/local-connections.js';
import { KeyedThrottle } from '../../server/realtime/keyed-throttle.js';
import { InMemoryPresence } from '../../server/realtime/presence.js';
import { JoinGrants } from '../../server/realtime/join-grants.js';
import { QuizTickScheduler, type TimedAttempt } from '../../server/realtime/quiz-ticks.js';
import { TokenBucket } from '../../server/realtime/rate-limit.js';
import { createStreamEmitter, type RealtimeEmitter } from '../../server/realtime/emitter.js';
import type { StreamMessage } from '../../server/realtime/socketio-internals.js';
import { RealtimePublisher } from '../../server/realtime/publisher.js';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Redis } from 'ioredis';
import type { Logger } from '../../server/platform/logger.js';
import { waitFor } from '../helpers/wait.js';

t.test('token bucket: a burst, then the refill rate', async (t) => {
  let now = 0;
  const bucket = new TokenBucket(20, 40, () => now);
  let taken = 0;
  while (bucket.take()) taken++;
  t.equal(taken, 40, 'the burst');
  now += 500;
  taken = 0;
  while (bucket.take()) taken++;
  t.equal(taken, 10, 'half a second refills 10');
  now += 60_000;
  taken = 0;
  while (bucket.take()) taken++;
  t.equal(taken, 40, 'never more than the burst');
});

t.test('keyed throttle: leading and trailing edges, per key', async (t) => {
  const runs: Array<[string, number]> = [];
  const started = Date.now();
  const throttle = new KeyedThrottle(
    100,
    async (key) => void runs.push([key, Date.now() - started]),
    () => t.fail('no errors'),
  );
  t.teardown(() => throttle.close());
  for (let i = 0; i < 10; i++) throttle.request('a');
  throttle.request('b');
  t.same(
    runs.map(([key]) => key),
    ['a', 'b'],
    'the first request of each key runs at once',
  );
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.same(
    runs.map(([key]) => key),
    ['a', 'b', 'a'],
    'the burst collapses into one trailing run',
  );
  t.ok(runs[2]![1] >= 95, 'after the interval');
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.equal(runs.length, 3, 'nothing more without requests');
  throttle.request('a');
  t.equal(runs.length, 4, 'a quiet key runs at once again');
});

t.test('presence counts sockets per user and course', async (t) => {
  const presence = new InMemoryPresence();
  t.same(await presence.join('c', 'u', 's1'), { first: true });
  t.same(await presence.join('c', 'u', 's2'), { first: false });
  t.same(await presence.join('c', 'v', 's3'), { first: true });
  t.same(await presence.online('c'), ['u', 'v']);
  t.same(await presence.leave('c', 'u', 's1'), { last: false });
  t.same(await presence.leave('c', 'u', 's1'), { last: false }, 'leaving twice is harmless');
  t.same(await presence.leave('c', 'u', 's2'), { last: true });
  t.same(await presence.leave('c', 'v', 's3'), { last: true });
  t.same(await presence.online('c'), []);
  t.same(await presence.leave('x', 'u', 's1'), { last: false });
});

t.test('tick scheduler: ticks aligned to whole seconds before the deadline, then the deadline once', async (t) => {
  let now = 10_000;
  const emitted: Array<{ to: string | string[]; event: string; data: any; volatile?: boolean }> = [];
  const emitter: RealtimeEmitter = { emit: (to, event, data, options) => void emitted.push({ to, event, data, volatile: options?.volatile }) };
  const deadlines: TimedAttempt[] = [];
  // Through the publisher, as the realtime plugin wires it: the scheduler says which tick is due, the publisher emits it.
  const publisher = new RealtimePublisher({
    emitter,
    orm: {} as MikroORM,
    redis: {} as Redis,
    redisPrefix: 'test',
    log: { error: () => undefined, warn: () => undefined } as unknown as Logger,
    disconnectUser: () => undefined,
    revokeCourseAccess: () => undefined,
    broadcastDeadlinesMoved: () => undefined,
  });
  t.teardown(() => publisher.close());
  const scheduler = new QuizTickScheduler({
    onTick: (tick) => publisher.attemptTicked(tick),
    onDeadline: (attempt) => deadlines.push(attempt),
    now: () => now,
    resolutionMs: 1_000_000,
  });
  t.teardown(() => scheduler.close());
  scheduler.track({ attemptId: 'a1', studentId: 's1', deadline: new Date(12_500) });
  scheduler.track({ attemptId: 'a1', studentId: 's1', deadline: new Date(12_500) });
  scheduler.track({ attemptId: 'a2', studentId: 's2', deadline: new Date(20_000) });
  const ticksOf = (attemptId: string) => emitted.filter((e) => e.data.attemptId === attemptId).map((e) => e.data.remainingMs);
  for (; now <= 13_000; now += 100) scheduler.run();
  t.same(ticksOf('a1'), [2500, 2000, 1000], 'at once, then at 2 s and 1 s before the deadline');
  t.same(
    deadlines.map((d) => d.attemptId),
    ['a1'],
    'the deadline is reported once',
  );
  t.notOk(scheduler.isTracking('a1'));
  t.ok(
    emitted.every((e) => e.event === 'quiz:tick' && e.volatile === true && e.to === `user:${e.data.attemptId === 'a1' ? 's1' : 's2'}`),
    'volatile ticks to the student',
  );
  scheduler.untrackStudent('s2');
  const before = emitted.length;
  now += 1000;
  scheduler.run();
  t.equal(emitted.length, before, 'an untracked student gets no ticks');
});

t.test('tick scheduler: a launch ticks once per pass per deadline for all its students; a personal deadline apart', async (t) => {
  let now = 10_000;
  const emitted: Array<{ to: string | string[]; event: string; data: any; volatile?: boolean }> = [];
  const emitter: RealtimeEmitter = { emit: (to, event, data, options) => void emitted.push({ to, event, data, volatile: options?.volatile }) };
  const publisher = new RealtimePublisher({
    emitter,
    orm: {} as MikroORM,
    redis: {} as Redis,
    redisPrefix: 'test',
    log: { error: () => undefined, warn: () => undefined } as unknown as Logger,
    disconnectUser: () => undefined,
    revokeCourseAccess: () => undefined,
    broadcastDeadlinesMoved: () => undefined,
  });
  const scheduler = new QuizTickScheduler({
    onTick: (tick) => publisher.attemptTicked(tick),
    onLaunchTick: (tick) => publisher.launchTicked(tick),
    onDeadline: () => undefined,
    now: () => now,
    resolutionMs: 1_000_000,
  });
  t.teardown(() => {
    scheduler.close();
    publisher.close();
  });
  // Launch ticks go out after the pass's personal ones: compared in no particular order.
  const sent = () => emitted.map((e) => JSON.stringify([e.to, e.data])).sort();
  const expect = (ticks: Array<[string | string[], Record<string, unknown>]>) => ticks.map((tick) => JSON.stringify(tick)).sort();
  const close = new Date(13_000);
  for (const i of [1, 2, 3]) scheduler.track({ attemptId: `a${i}`, studentId: `s${i}`, deadline: close, launchId: 'L' });
  // Extra time: same launch, a personal deadline; and a self-paced attempt.
  scheduler.track({ attemptId: 'a4', studentId: 's4', deadline: new Date(15_000), launchId: 'L' });
  scheduler.track({ attemptId: 'a5', studentId: 's5', deadline: new Date(16_000) });
  scheduler.run();
  t.same(
    sent(),
    expect([
      [['user:s1', 'user:s2', 'user:s3'], { launchId: 'L', remainingMs: 3000 }],
      [['user:s4'], { launchId: 'L', remainingMs: 5000 }],
      ['user:s5', { attemptId: 'a5', remainingMs: 6000 }],
    ]),
    'one quiz:tick {launchId} to every student of the shared close, one apart for the personal deadline, {attemptId} for a self-paced attempt',
  );
  t.ok(
    emitted.every((e) => e.event === 'quiz:tick' && e.volatile === true),
    'volatile ticks',
  );

  // One student's deadline moves alone (an offset): it ticks on its own from then on.
  scheduler.track({ attemptId: 'a2', studentId: 's2', deadline: new Date(14_000), launchId: 'L' });
  emitted.length = 0;
  now = 10_100;
  scheduler.run();
  t.same(sent(), expect([[['user:s2'], { launchId: 'L', remainingMs: 3900 }]]), 'the moved attempt ticks at once, apart');
  emitted.length = 0;
  now = 11_000;
  scheduler.run();
  t.same(
    sent(),
    expect([
      [['user:s1', 'user:s3'], { launchId: 'L', remainingMs: 2000 }],
      [['user:s4'], { launchId: 'L', remainingMs: 4000 }],
      [['user:s2'], { launchId: 'L', remainingMs: 3000 }],
      ['user:s5', { attemptId: 'a5', remainingMs: 5000 }],
    ]),
    'each deadline of the launch ticks to its own students',
  );
  scheduler.untrackStudent('s1');
  scheduler.untrackStudent('s3');
  emitted.length = 0;
  now = 12_000;
  scheduler.run();
  t.notOk(
    emitted.some((e) => JSON.stringify(e.to).includes('user:s1') || JSON.stringify(e.to).includes('user:s3')),
    'students gone from here get no tick',
  );
});

t.test('tick scheduler: a launch’s attempt ticks first on a whole second of its deadline; a self-paced one at once', async (t) => {
  let now = 10_300;
  const launchTicks: number[] = [];
  const ticks: number[] = [];
  const scheduler = new QuizTickScheduler({
    onTick: (tick) => ticks.push(tick.remainingMs),
    onLaunchTick: (tick) => launchTicks.push(tick.remainingMs),
    onDeadline: () => undefined,
    now: () => now,
    resolutionMs: 1_000_000,
  });
  t.teardown(() => scheduler.close());
  scheduler.track({ attemptId: 'launched', studentId: 's1', deadline: new Date(13_000), launchId: 'L' });
  scheduler.track({ attemptId: 'own', studentId: 's2', deadline: new Date(13_000) });
  scheduler.run();
  t.same(launchTicks, [], 'nothing for the launch 2.7 s before its deadline');
  t.same(ticks, [2700], 'the self-paced attempt ticks at once');
  for (now = 10_400; now <= 11_000; now += 100) scheduler.run();
  t.same(launchTicks, [2000], 'the launch ticks on the next whole second');
  now = 12_000;
  scheduler.track({ attemptId: 'late', studentId: 's3', deadline: new Date(13_000), launchId: 'L' });
  scheduler.run();
  t.same(launchTicks, [2000, 1000], 'an attempt tracked on a whole second ticks at once, with the others');
});

t.test('local connections: a cap per user, one budget per user, dropped with the last connection', async (t) => {
  const now = 0;
  const gone: string[] = [];
  const connections = new LocalConnections({ maxPerUser: 2, eventsPerSecond: 1, eventsBurst: 3, onLastGone: (userId) => gone.push(userId), now: () => now });
  t.ok(connections.open('u'));
  t.ok(connections.open('u'));
  t.notOk(connections.open('u'), 'the third is refused');
  t.equal(connections.count('u'), 2, 'and not counted');
  t.ok(connections.open('v'), 'another user is not affected');
  t.equal(connections.bucket('u'), connections.bucket('u'), 'one bucket per user');
  const budget = connections.bucket('u');
  let taken = 0;
  while (budget.take()) taken++;
  t.equal(taken, 3);
  connections.close('u');
  t.same(gone, [], 'one connection left');
  t.notOk(connections.bucket('u').take(), 'the remaining connection shares the spent budget');
  connections.close('u');
  t.same(gone, ['u'], 'the last one went');
  t.notOk(connections.has('u'));
  t.throws(() => connections.bucket('u'), 'no budget without a connection');
  connections.close('u');
  t.same(gone, ['u'], 'closing again is harmless');
  t.ok(connections.open('u'));
  t.ok(connections.bucket('u').take(), 'a fresh budget');
});

t.test('local connections: a user whose handshake is under way is expected here until it is admitted or gone', async (t) => {
  const connections = new LocalConnections({ maxPerUser: 2, eventsPerSecond: 1, eventsBurst: 3 });
  t.notOk(connections.expects('u'));
  const first = connections.arrive('u');
  const second = connections.arrive('u');
  t.ok(connections.expects('u'), 'arriving');
  t.notOk(connections.has('u'), 'not connected yet');
  first();
  first();
  t.ok(connections.expects('u'), 'the second handshake is still under way (the first one ended twice: counted once)');
  t.ok(connections.open('u'));
  second();
  t.ok(connections.expects('u'), 'admitted');
  connections.close('u');
  t.notOk(connections.expects('u'), 'gone');
});

t.test('client IP of a raw request, as Fastify computes request.ip', async (t) => {
  const raw = (remoteAddress: string, forwarded?: string) =>
    ({ socket: { remoteAddress }, connection: { remoteAddress }, headers: forwarded ? { 'x-forwarded-for': forwarded } : {} }) as unknown as IncomingMessage;
  t.equal(clientIpResolver(false)(raw('10.0.0.1', '203.0.113.9')), '10.0.0.1', 'no proxy trusted: the peer');
  t.equal(clientIpResolver(true)(raw('10.0.0.1', '203.0.113.9, 10.0.0.2')), '203.0.113.9', 'every hop trusted: the first address');
  t.equal(clientIpResolver(true)(raw('10.0.0.1')), '10.0.0.1', 'no header: the peer');
  t.equal(clientIpResolver('10.0.0.0/8')(raw('10.0.0.1', '203.0.113.9, 10.0.0.2')), '203.0.113.9', 'trusted ranges (a string) skip trusted hops');
  t.equal(clientIpResolver(['10.0.0.1'])(raw('10.0.0.1', '203.0.113.9, 10.0.0.2')), '10.0.0.2', 'a list: the first untrusted hop');
  t.equal(clientIpResolver(2)(raw('10.0.0.1', '203.0.113.9')), '10.0.0.1', 'a bare hop count trusts nothing, as in Fastify');
  const oneHop = clientIpResolver(trustProxyOption(1));
  t.equal(oneHop(raw('10.0.0.1', 'spoofed, 203.0.113.9')), '203.0.113.9', 'TRUST_PROXY=1 (on): the address the load balancer appended, as request.ip');
  t.equal(clientIpResolver(trustProxyOption(['10.0.0.0/8']))(raw('10.0.0.1', '203.0.113.9, 10.0.0.2')), '203.0.113.9');
});

t.test('event gate: closing waits for running events, refuses new ones, gives up after its timeout', async (t) => {
  const gate = new EventGate();
  t.ok(gate.enter());
  t.ok(gate.enter());
  let closed: boolean | null = null;
  const closing = gate.close(1000).then((done) => (closed = done));
  t.notOk(gate.isOpen, 'closed at once');
  t.notOk(gate.enter(), 'a new event is refused');
  gate.leave();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(closed, null, 'one still running');
  gate.leave();
  await closing;
  t.equal(closed, true, 'done once both have acked');
  t.equal(await gate.close(1000), true, 'nothing running: done at once');

  const stuck = new EventGate();
  stuck.enter();
  t.equal(await stuck.close(20), false, 'an event that never ends is given up on');
});

t.test('join grants: the courses read at the handshake, for a while, until any revocation', async (t) => {
  let now = 1000;
  const grants = new JoinGrants(500, () => now);
  const socket = {};
  const other = {};
  grants.grant(socket, grants.begin(), ['a', 'b']);
  t.ok(grants.allows(socket, 'a'));
  t.notOk(grants.allows(socket, 'c'), 'a course not read is not granted');
  t.notOk(grants.allows(other, 'a'), 'another connection has no grant');
  now += 500;
  t.ok(grants.allows(socket, 'b'), 'until the end of its lifetime');
  now += 1;
  t.notOk(grants.allows(socket, 'b'), 'then gone');

  grants.grant(socket, grants.begin(), ['a']);
  grants.revoked();
  t.notOk(grants.allows(socket, 'a'), 'a revocation voids the grants read before it');
  const generation = grants.begin();
  grants.revoked(); // while the handshake's read runs
  grants.grant(other, generation, ['a']);
  t.notOk(grants.allows(other, 'a'), 'and those whose read was running then');
  grants.grant(other, grants.begin(), ['a']);
  t.ok(grants.allows(other, 'a'), 'a read after it counts');

  const off = new JoinGrants(0, () => now);
  off.grant(socket, off.begin(), ['a']);
  t.notOk(off.allows(socket, 'a'), 'a lifetime of 0 turns grants off');
});

t.test('join grants are dropped once their lifetime ends, so a connected socket keeps none', async (t) => {
  const grants = new JoinGrants(30);
  const first = {};
  grants.grant(first, grants.begin(), ['a']);
  grants.grant({}, grants.begin(), ['a', 'b']);
  t.equal(grants.pending, 2, 'both held for their lifetime');
  t.ok(grants.allows(first, 'a'));
  await waitFor('the first grants to end', () => grants.pending === 0, 2000, 5);
  t.notOk(grants.allows(first, 'a'), 'gone with them');

  const later = {};
  grants.grant(later, grants.begin(), ['c']);
  t.ok(grants.allows(later, 'c'), 'a grant after a sweep is kept for its own lifetime');
  t.equal(grants.pending, 1);
  grants.revoked();
  t.equal(grants.pending, 0, 'a revocation drops every grant at once');
  t.notOk(grants.allows(later, 'c'));
});

t.test('join grants end in the order given: each sweep drops the ended ones and waits for the next', async (t) => {
  let now = 0;
  const grants = new JoinGrants(30, () => now);
  const early = Array.from({ length: 1100 }, () => ({}));
  for (const connection of early) grants.grant(connection, grants.begin(), ['a']);
  now = 20;
  const late = {};
  grants.grant(late, grants.begin(), ['a']);
  now = 40;
  await waitFor('the early grants to end', () => grants.pending === 1, 2000, 5);
  t.notOk(grants.allows(early[0]!, 'a'));
  t.ok(grants.allows(late, 'a'), 'the later one is still held');
  now = 60;
  await waitFor('the later grant to end', () => grants.pending === 0, 2000, 5);
});

t.test('a stream emitter (workers) publishes each event as a broadcast to its rooms, stamped with serverNow; volatile events are dropped', async (t) => {
  const published: StreamMessage[] = [];
  const emitter = createStreamEmitter((message) => published.push(message));
  emitter.emit('user:u1', 'quiz:abandoned', { attemptId: 'a', quizId: 'q', studentId: 'u1', courseId: 'c' });
  emitter.emit(['user:u1', 'course:c:instructors'], 'quiz:abandoned', { attemptId: 'b', quizId: 'q', studentId: 'u1', courseId: 'c' });
  emitter.emit('user:u1', 'quiz:tick', { attemptId: 'a', remainingMs: 1000 }, { volatile: true });
  t.equal(published.length, 2, 'a volatile event is for the clients of the process that sends it, and a worker has none');
  t.match(published[0], { broadcast: { rooms: ['user:u1'], event: 'quiz:abandoned', payload: { attemptId: 'a', serverNow: String } } });
  t.match(published[1], { broadcast: { rooms: ['user:u1', 'course:c:instructors'], payload: { attemptId: 'b' } } });
});
