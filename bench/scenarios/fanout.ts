/**
 * Scenario 2, fan-out ceiling: `fanoutBroadcasts` back-to-back broadcasts to `fanoutSockets`
 * sockets in one course room, through `app.realtime` (authenticated sockets that joined with
 * `course:join`) against bare Socket.IO with the same options and the same Redis streams
 * adapter. Deliveries/s runs from the first emit to the last delivery (hrtime, one clock).
 */
import type { BenchEnv } from '../lib/env.js';
import { startChild, type Child } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { alternate, ratioRow, type Scenario } from '../lib/scenario.js';
import { seedStudents } from '../lib/seed.js';

interface Sizes {
  pairs: number;
  fanoutSockets: number;
  fanoutBroadcasts: number;
  fanoutTimeoutMs: number;
}

export const fanoutCeilingScenario: Scenario<Omit<Sizes, 'pairs'>> = {
  full: { fanoutSockets: 2000, fanoutBroadcasts: 100, fanoutTimeoutMs: 30_000 },
  smoke: { fanoutSockets: 20, fanoutBroadcasts: 10, fanoutTimeoutMs: 10_000 },
  run: runFanout,
};

interface Received {
  delivered: number;
  expected: number;
  lastAt: string;
  p50Ms: number;
  p99Ms: number;
}

interface Measured {
  deliveriesPerS: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerDelivery: number;
  lost: number;
}

const EVENT = 'progress:updated';

async function burst(server: Child, client: Child, room: string, sizes: Sizes): Promise<Measured> {
  client.send({ type: 'expect', event: EVENT, count: sizes.fanoutBroadcasts, timeoutMs: sizes.fanoutTimeoutMs });
  await client.next('listening');
  server.send({ type: 'burst', room, count: sizes.fanoutBroadcasts, event: EVENT });
  const sent = await server.next<{ startedAt: string }>('burst-sent');
  const received = await client.next<Received>('received', sizes.fanoutTimeoutMs + 10_000);
  server.send({ type: 'cpu' });
  const { cpuUs } = await server.next<{ cpuUs: number }>('cpu');
  const seconds = Number(BigInt(received.lastAt) - BigInt(sent.startedAt)) / 1e9;
  return {
    deliveriesPerS: received.delivered / seconds,
    p50Ms: received.p50Ms,
    p99Ms: received.p99Ms,
    cpuUsPerDelivery: cpuUs / Math.max(1, received.delivered),
    lost: received.expected - received.delivered,
  };
}

async function runFanout(bench: BenchEnv, sizes: Sizes): Promise<Row[]> {
  const { courseId, studentIds } = await seedStudents(bench.config.databaseUrl, sizes.fanoutSockets);
  const room = `course:${courseId}`;
  const app = startChild('servers/io-app.ts', 0, bench.env);
  const bare = startChild('servers/io-bare.ts', 0, bench.env);
  const appClient = startChild('clients/io-sockets.ts', 1);
  const bareClient = startChild('clients/io-sockets.ts', 1);
  try {
    const [appInfo, bareInfo] = await Promise.all([
      app.next<{ port: number }>('ready'),
      bare.next<{ port: number }>('ready'),
      appClient.next('ready'),
      bareClient.next('ready'),
    ]);
    app.send({ type: 'sign', ids: studentIds });
    const { tokens } = await app.next<{ tokens: string[] }>('tokens');
    appClient.send({ type: 'connect', url: `http://127.0.0.1:${appInfo.port}`, sockets: tokens.map((token) => ({ token, join: courseId })) });
    bareClient.send({ type: 'connect', url: `http://127.0.0.1:${bareInfo.port}`, sockets: tokens.map(() => ({ room })) });
    await Promise.all([appClient.next('connected', 120_000), bareClient.next('connected', 120_000)]);
    // One unmeasured burst each warms the JIT and the adapter's stream.
    await burst(app, appClient, room, sizes);
    await burst(bare, bareClient, room, sizes);

    const pairs = await alternate(
      sizes.pairs,
      () => burst(app, appClient, room, sizes),
      () => burst(bare, bareClient, room, sizes),
    );
    const lost = pairs.reduce((sum, p) => sum + p.ours.lost + p.baseline.lost, 0);
    if (lost) throw new Error(`fan-out lost ${lost} deliveries`);
    const of = `(${sizes.fanoutBroadcasts} × ${sizes.fanoutSockets} sockets)`;
    const row = (metric: string, pick: (m: Measured) => number, better: Row['better'], unit: string, goal: number | null = null) =>
      ratioRow(pairs, { scenario: '2 fan-out ceiling', metric: `${metric} ${of}`, pick, better, unit, goal });
    return [
      row('deliveries/s', (m) => m.deliveriesPerS, 'higher', '/s', 0.85),
      row('latency p50', (m) => m.p50Ms, 'lower', 'ms'),
      row('latency p99', (m) => m.p99Ms, 'lower', 'ms'),
      row('server CPU per delivery', (m) => m.cpuUsPerDelivery, 'lower', 'µs'),
    ];
  } finally {
    await Promise.all([appClient.stop(), bareClient.stop(), app.stop(), bare.stop()]);
  }
}
