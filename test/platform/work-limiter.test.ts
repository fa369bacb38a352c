import t from '../helpers/tap.js';
import { BusyError, WorkLimiter } from '../../server/platform/work-limiter.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

t.test('runs at most `concurrency` at once, hands slots over in arrival order, refuses past the queue', async (t) => {
  const limiter = new WorkLimiter({ concurrency: 2, maxQueue: 2, queueTimeoutMs: 10_000, what: 'tests' });
  const gates = Array.from({ length: 4 }, deferred);
  const started: number[] = [];
  let running = 0;
  let peak = 0;
  const runs = gates.map((gate, i) =>
    limiter.run(async () => {
      started.push(i);
      peak = Math.max(peak, ++running);
      await gate.promise;
      running--;
      return i;
    }),
  );
  await new Promise((resolve) => setImmediate(resolve));
  t.same(started, [0, 1]);
  t.same([limiter.active, limiter.queued], [2, 2]);
  const refused = await limiter.run(async () => 'never').catch((error: unknown) => error);
  t.type(refused, BusyError);
  t.match(refused, { code: 'UNAVAILABLE', statusCode: 503, retryAfter: 10 });
  t.equal(limiter.refused, 1);

  gates[1]!.resolve();
  await runs[1];
  // The freed slot went to the first waiter; a newcomer now still waits (the queue has room again).
  const late = limiter.run(async () => 'late');
  await new Promise((resolve) => setImmediate(resolve));
  t.same(started, [0, 1, 2]);
  t.same([limiter.active, limiter.queued], [2, 2]);
  for (const gate of gates) gate.resolve();
  t.same(await Promise.all(runs), [0, 1, 2, 3]);
  t.equal(await late, 'late');
  t.equal(peak, 2, 'never more than two at once');
  t.same([limiter.active, limiter.queued], [0, 0]);
});

t.test('a waiter that times out leaves the queue; a failing run frees its slot', async (t) => {
  const limiter = new WorkLimiter({ concurrency: 1, maxQueue: 5, queueTimeoutMs: 30, what: 'tests' });
  const gate = deferred();
  const holder = limiter.run(() => gate.promise);
  const timedOut = await limiter.run(async () => 'never').catch((error: unknown) => error);
  t.type(timedOut, BusyError);
  t.equal((timedOut as BusyError).retryAfter, 1, 'at least one second');
  t.equal(limiter.queued, 0);
  gate.resolve();
  await holder;
  await t.rejects(
    limiter.run(async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  t.same([limiter.active, limiter.queued], [0, 0]);
  t.equal(await limiter.run(async () => 'after'), 'after');
});

t.test('maxQueue 0: no waiting at all', async (t) => {
  const limiter = new WorkLimiter({ concurrency: 1, maxQueue: 0, queueTimeoutMs: 1000, what: 'tests' });
  const gate = deferred();
  const holder = limiter.run(() => gate.promise);
  await t.rejects(
    limiter.run(async () => 'x'),
    BusyError,
  );
  gate.resolve();
  await holder;
});

t.test('priority runs wait ahead of ordinary ones and, with the queue full, displace the newest ordinary waiter', async (t) => {
  const limiter = new WorkLimiter({ concurrency: 1, maxQueue: 2, queueTimeoutMs: 10_000, what: 'tests' });
  const gate = deferred();
  const order: string[] = [];
  const holder = limiter.run(() => gate.promise);
  const first = limiter.run(async () => void order.push('ordinary 1'));
  const second = limiter.run(async () => void order.push('ordinary 2')).catch((error: unknown) => error);
  const urgent = limiter.run(async () => void order.push('priority'), { priority: true });
  t.type(await second, BusyError, 'the newest ordinary waiter made room');
  t.equal(limiter.queued, 2);
  await t.rejects(
    limiter.run(async () => 'x'),
    BusyError,
    'an ordinary newcomer is still refused',
  );
  gate.resolve();
  await Promise.all([holder, first, urgent]);
  t.same(order, ['priority', 'ordinary 1'], 'priority went first');

  const full = new WorkLimiter({ concurrency: 1, maxQueue: 1, queueTimeoutMs: 10_000, what: 'tests' });
  const held = deferred();
  const h = full.run(() => held.promise);
  const p1 = full.run(async () => 'p1', { priority: true });
  await t.rejects(
    full.run(async () => 'p2', { priority: true }),
    BusyError,
    'with only priority waiters, a priority newcomer is refused too',
  );
  held.resolve();
  await h;
  t.equal(await p1, 'p1');
});
