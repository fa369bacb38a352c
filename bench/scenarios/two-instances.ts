/**
 * Scenario 14, two API instances and a worker process on one Redis: `clusterSockets`
 * authenticated students, all joined (`course:join`) to one course, half connected to instance A
 * and half to instance B (two `buildApp` processes, servers/io-app.ts, sharing the database, the
 * Redis prefix and so the streams adapter's stream and the presence), beside a worker process
 * (servers/worker-process.ts, as `npm run worker` starts it, on the same stream). Instance A
 * broadcasts `clusterMessages` `progress:updated` to the course room at `clusterPerSecond`
 * through `app.realtime` (as scenario 1(a)): A's students get them from A, B's through Redis.
 *
 * Baseline, in the same run: the same load on one instance: instance C (the same app) with all
 * `clusterSockets` students, alone under a Redis prefix of its own so the two deployments never
 * see each other's events. Both deployments stay up for the whole run and
 * the pairs alternate which one broadcasts; the idle one only answers heartbeats.
 *
 * Every socket checks that it got every broadcast exactly once (by the payload's `seq`; copies
 * counted until all arrived and for `clusterLingerMs` after); latency is from the server's hrtime
 * stamp to arrival. Goals: p99 ≤ 1.3× the single instance's, every event delivered, no duplicates.
 * Each side's sockets are spread over two load-client processes (one per instance on A+B; two
 * halves on C). Servers on core 0, clients on core 1.
 */
import type { BenchEnv } from '../lib/env.js';
import { raiseFileLimit } from '../lib/limits.js';
import { nearestRank, startChild, type Child } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { alternate, ratioRow, valueRow, type Scenario } from '../lib/scenario.js';
import { seedStudents } from '../lib/seed.js';

interface Sizes {
  pairs: number;
  clusterSockets: number;
  clusterMessages: number;
  clusterPerSecond: number;
  /** After every socket has every event, how long copies are still counted. */
  clusterLingerMs: number;
}

export const twoInstancesScenario: Scenario<Omit<Sizes, 'pairs'>> = {
  full: { clusterSockets: 4000, clusterMessages: 100, clusterPerSecond: 20, clusterLingerMs: 500 },
  smoke: { clusterSockets: 20, clusterMessages: 5, clusterPerSecond: 100, clusterLingerMs: 100 },
  run: runTwoInstances,
};

const EVENT = 'progress:updated';

interface Measured {
  deliveredPct: number;
  lost: number;
  duplicates: number;
  p50Ms: number;
  p99Ms: number;
}

interface Deployment {
  /** The instance that broadcasts. */
  sender: Child;
  clients: Child[];
}

/** One paced run from `side.sender` to `room`, heard by every client of the side. */
async function pacedRun(side: Deployment, room: string, sizes: Sizes, messages = sizes.clusterMessages): Promise<Measured> {
  // Generous: on a loaded machine the clients fall behind (every wait is still bounded).
  const timeoutMs = Math.ceil((messages / sizes.clusterPerSecond) * 1000) + 30_000;
  for (const client of side.clients)
    client.send({ type: 'expect', event: EVENT, count: messages, timeoutMs, lingerMs: sizes.clusterLingerMs, latencies: true });
  await Promise.all(side.clients.map((client) => client.next('listening')));
  side.sender.send({ type: 'paced', room, count: messages, event: EVENT, perSecond: sizes.clusterPerSecond });
  const received = await Promise.all(
    side.clients.map((client) =>
      client.next<{ delivered: number; expected: number; duplicates: number; latenciesMs: number[] }>('received', timeoutMs + sizes.clusterLingerMs + 60_000),
    ),
  );
  await side.sender.next('paced-sent', 10_000);
  const delivered = received.reduce((sum, r) => sum + r.delivered, 0);
  const expected = received.reduce((sum, r) => sum + r.expected, 0);
  const latencies = received.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  return {
    deliveredPct: (100 * delivered) / Math.max(1, expected),
    lost: expected - delivered,
    duplicates: received.reduce((sum, r) => sum + r.duplicates, 0),
    p50Ms: nearestRank(latencies, 0.5),
    p99Ms: nearestRank(latencies, 0.99),
  };
}

/** Connects `tokens` to `port` from `client`, each socket joining `courseId`. */
async function connectStudents(client: Child, port: number, courseId: string, tokens: string[]): Promise<void> {
  client.send({ type: 'connect', url: `http://127.0.0.1:${port}`, sockets: tokens.map((token) => ({ token, join: courseId })) });
  await client.next('connected', 300_000);
}

async function runTwoInstances(bench: BenchEnv, sizes: Sizes): Promise<Row[]> {
  const { courseId, studentIds } = await seedStudents(bench.config.databaseUrl, sizes.clusterSockets);
  const single = { ...bench.env, REDIS_PREFIX: `${bench.env.REDIS_PREFIX}-single` };
  const children = {
    a: startChild('servers/io-app.ts', 0, bench.env),
    b: startChild('servers/io-app.ts', 0, bench.env),
    worker: startChild('servers/worker-process.ts', 0, bench.env),
    c: startChild('servers/io-app.ts', 0, single),
    clientA: startChild('clients/io-sockets.ts', 1),
    clientB: startChild('clients/io-sockets.ts', 1),
    clientC1: startChild('clients/io-sockets.ts', 1),
    clientC2: startChild('clients/io-sockets.ts', 1),
  };
  for (const child of Object.values(children)) raiseFileLimit(child);
  // Four server processes start on one core: on a loaded machine that takes a while.
  const readyMs = 150_000;
  try {
    const [a, b, , c] = await Promise.all([
      children.a.next<{ port: number }>('ready', readyMs),
      children.b.next<{ port: number }>('ready', readyMs),
      children.worker.next('ready', readyMs),
      children.c.next<{ port: number }>('ready', readyMs),
      ...[children.clientA, children.clientB, children.clientC1, children.clientC2].map((child) => child.next('ready')),
    ]);
    // Both deployments share JWT_SECRET: tokens signed by A are good on C.
    children.a.send({ type: 'sign', ids: studentIds });
    const { tokens } = await children.a.next<{ tokens: string[] }>('tokens');
    const half = Math.ceil(tokens.length / 2);
    const [first, second] = [tokens.slice(0, half), tokens.slice(half)];
    // One deployment at a time, so the joins of one do not slow the other's.
    await Promise.all([connectStudents(children.clientA, a.port, courseId, first), connectStudents(children.clientB, b.port, courseId, second)]);
    await Promise.all([connectStudents(children.clientC1, c.port, courseId, first), connectStudents(children.clientC2, c.port, courseId, second)]);

    const room = `course:${courseId}`;
    const cluster: Deployment = { sender: children.a, clients: [children.clientA, children.clientB] };
    const one: Deployment = { sender: children.c, clients: [children.clientC1, children.clientC2] };
    // A short unmeasured run each (at most a second) warms the JIT and the stream.
    const warm = Math.min(sizes.clusterMessages, sizes.clusterPerSecond);
    await pacedRun(cluster, room, sizes, warm);
    await pacedRun(one, room, sizes, warm);

    const pairs = await alternate(
      sizes.pairs,
      () => pacedRun(cluster, room, sizes),
      () => pacedRun(one, room, sizes),
    );
    const scenario = '14 two instances + worker';
    const of = `(${sizes.clusterMessages} at ${sizes.clusterPerSecond}/s × ${sizes.clusterSockets} sockets)`;
    const sum = (pick: (m: Measured) => number) => pairs.reduce((total, p) => total + pick(p.ours), 0);
    return [
      ratioRow(pairs, { scenario, metric: `delivered ${of}`, pick: (m) => m.deliveredPct, better: 'higher', unit: '%', absoluteGoal: 100 }),
      valueRow({ scenario, metric: `lost deliveries, all measurements ${of}`, values: [sum((m) => m.lost)], better: 'lower', unit: '', absoluteGoal: 0 }),
      valueRow({
        scenario,
        metric: `duplicate deliveries, all measurements ${of}`,
        values: [sum((m) => m.duplicates)],
        better: 'lower',
        unit: '',
        absoluteGoal: 0,
        note: `a second copy of a seq at the same socket, counted until every socket had every event and ${sizes.clusterLingerMs} ms after`,
      }),
      ratioRow(pairs, { scenario, metric: `latency p50 ${of}`, pick: (m) => m.p50Ms, better: 'lower', unit: 'ms' }),
      ratioRow(pairs, {
        scenario,
        metric: `latency p99 ${of}`,
        pick: (m) => m.p99Ms,
        better: 'lower',
        unit: 'ms',
        goal: 1.3,
        note: 'ours: half the sockets on instance A (the sender), half on B (through the Redis stream), a worker process on the same stream; baseline: all on one instance, alone on another Redis prefix',
      }),
    ];
  } finally {
    await Promise.all(Object.values(children).map((child) => child.stop()));
  }
}
