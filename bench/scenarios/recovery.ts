/**
 * Scenario 4, the production adapter against the in-memory one. Ours: the app from `buildApp` on
 * its Redis streams adapter with connection state recovery (`servers/io-recovery.ts streams`).
 * Baseline: the same app, same options and process layout, on Socket.IO's in-memory adapter
 * (`servers/io-recovery.ts memory`), which recovers connections too, from memory. The baseline
 * has its own Redis prefix, so neither server sees the other's presence or stream.
 *
 * `recoverySockets` authenticated students join one course room. Each measurement is:
 * - a burst: `recoveryBurst` broadcasts back to back through `app.realtime` → deliveries/s, from
 *   the first emit to the last delivery;
 * - a paced run: `recoveryMessages` broadcasts, one every `recoveryIntervalMs`, each with an
 *   hrtime `sentAt` and its `seq`. `recoveryDropAtMs` into it, every tenth socket loses its
 *   transport (client-side `engine.close()`) and reconnects `recoveryReconnectMs` ± 50 % later
 *   (socket.io-client's default jitter), passing the handshake auth again with its token.
 *   Latency p50/p99 are of live deliveries. For each dropped socket the client counts the events
 *   it missed (not received before the drop, sent before it was back) and how many of them
 *   arrived after it reconnected, and whether it came back recovered (`socket.recovered`) or as
 *   a fresh session that joins again.
 */
import type { BenchEnv } from '../lib/env.js';
import { raiseFileLimit } from '../lib/limits.js';
import { startChild, type Child } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { alternate, ratioRow, type Scenario } from '../lib/scenario.js';
import { seedStudents } from '../lib/seed.js';

interface Sizes {
  pairs: number;
  recoverySockets: number;
  recoveryBurst: number;
  recoveryMessages: number;
  recoveryIntervalMs: number;
  recoveryDropAtMs: number;
  recoveryReconnectMs: number;
  /** After the last broadcast, a client waits for what is missing until nothing arrived for this long. */
  recoveryIdleMs: number;
  /** …and at most this long. */
  recoveryMaxWaitMs: number;
}

export const recoveryScenario: Scenario<Omit<Sizes, 'pairs'>> = {
  full: {
    recoverySockets: 2000,
    recoveryBurst: 50,
    recoveryMessages: 120,
    recoveryIntervalMs: 100,
    recoveryDropAtMs: 4000,
    recoveryReconnectMs: 2000,
    recoveryIdleMs: 3000,
    recoveryMaxWaitMs: 60_000,
  },
  smoke: {
    recoverySockets: 30,
    recoveryBurst: 5,
    recoveryMessages: 12,
    recoveryIntervalMs: 40,
    recoveryDropAtMs: 120,
    recoveryReconnectMs: 250,
    recoveryIdleMs: 600,
    recoveryMaxWaitMs: 10_000,
  },
  run: runRecovery,
};

const EVENT = 'progress:updated';
/** Share of the sockets that lose their transport mid-run. */
const DROP_FRACTION = 0.1;

interface Result {
  delivered: number;
  expected: number;
  duplicates: number;
  lastAt: string;
  p50Ms: number;
  p99Ms: number;
  dropped: number;
  back: number;
  recovered: number;
  missed: number;
  replayed: number;
  lostLive: number;
  unplanned: number;
}

interface Measured {
  deliveriesPerS: number;
  p50Ms: number;
  p99Ms: number;
  replayedPct: number;
  recoveredPct: number;
  dropped: number;
  fresh: number;
  missed: number;
  duplicates: number;
  /** The server's longest event-loop stall during the paced run. */
  loopDelayMaxMs: number;
}

interface Side {
  server: Child;
  client: Child;
  room: string;
}

let runs = 0;

/** One broadcast run: the client listens, the server sends, the client reports once it has everything (or waited long enough). */
async function broadcast(
  side: Side,
  count: number,
  intervalMs: number,
  sizes: Sizes,
  dropAtMs: number | null,
): Promise<Result & { startedAt: string; loopDelayMaxMs: number }> {
  const run = ++runs;
  side.client.send({ type: 'listen', run, count });
  await side.client.next('listening');
  side.server.send({ type: 'send', room: side.room, event: EVENT, run, count, intervalMs });
  let dropTimer: NodeJS.Timeout | undefined;
  if (dropAtMs !== null) dropTimer = setTimeout(() => side.client.send({ type: 'drop', fraction: DROP_FRACTION }), dropAtMs);
  try {
    const sent = await side.server.next<{ startedAt: string; sentAt: string[]; loopDelayMaxMs: number }>('sent', count * intervalMs + 30_000);
    if (dropAtMs !== null) await side.client.next('dropped');
    side.client.send({ type: 'finish', sentAt: sent.sentAt, idleMs: sizes.recoveryIdleMs, maxMs: sizes.recoveryMaxWaitMs });
    const result = await side.client.next<Result>('result', sizes.recoveryMaxWaitMs + 30_000);
    return { ...result, startedAt: sent.startedAt, loopDelayMaxMs: sent.loopDelayMaxMs };
  } finally {
    clearTimeout(dropTimer);
  }
}

async function measure(side: Side, sizes: Sizes): Promise<Measured> {
  const burst = await broadcast(side, sizes.recoveryBurst, 0, sizes, null);
  if (burst.delivered !== burst.expected)
    throw new Error(`burst lost ${burst.expected - burst.delivered} deliveries (${burst.unplanned} unplanned disconnections)`);
  const paced = await broadcast(side, sizes.recoveryMessages, sizes.recoveryIntervalMs, sizes, sizes.recoveryDropAtMs);
  if (paced.lostLive) throw new Error(`paced run lost ${paced.lostLive} live deliveries (${paced.unplanned} unplanned disconnections)`);
  return {
    deliveriesPerS: burst.delivered / (Number(BigInt(burst.lastAt) - BigInt(burst.startedAt)) / 1e9),
    p50Ms: paced.p50Ms,
    p99Ms: paced.p99Ms,
    replayedPct: paced.missed ? (100 * paced.replayed) / paced.missed : 100,
    recoveredPct: paced.dropped ? (100 * paced.recovered) / paced.dropped : NaN,
    dropped: paced.dropped,
    fresh: paced.back - paced.recovered,
    missed: paced.missed,
    duplicates: burst.duplicates + paced.duplicates,
    loopDelayMaxMs: paced.loopDelayMaxMs,
  };
}

async function runRecovery(bench: BenchEnv, sizes: Sizes): Promise<Row[]> {
  const { courseId, studentIds } = await seedStudents(bench.config.databaseUrl, sizes.recoverySockets);
  const room = `course:${courseId}`;
  const ours: Side = { server: startChild('servers/io-recovery.ts', 0, bench.env, ['streams']), client: startChild('clients/io-recovery.ts', 1), room };
  const baseline: Side = {
    server: startChild('servers/io-recovery.ts', 0, { ...bench.env, REDIS_PREFIX: `${bench.env.REDIS_PREFIX}-mem` }, ['memory']),
    client: startChild('clients/io-recovery.ts', 1),
    room,
  };
  const children = [ours.server, ours.client, baseline.server, baseline.client];
  for (const child of children) raiseFileLimit(child);
  try {
    const [oursInfo, baselineInfo] = await Promise.all([
      ours.server.next<{ port: number }>('ready', 120_000),
      baseline.server.next<{ port: number }>('ready', 120_000),
      ours.client.next('ready'),
      baseline.client.next('ready'),
    ]);
    // One JWT secret for the whole run: tokens signed by one server pass the other's handshake.
    ours.server.send({ type: 'sign', ids: studentIds });
    const { tokens } = await ours.server.next<{ tokens: string[] }>('tokens');
    const sockets = tokens.map((token) => ({ token, join: courseId }));
    for (const [side, info] of [
      [ours, oursInfo],
      [baseline, baselineInfo],
    ] as const) {
      side.client.send({ type: 'connect', url: `http://127.0.0.1:${info.port}`, sockets, event: EVENT, reconnectDelayMs: sizes.recoveryReconnectMs });
    }
    await Promise.all([ours.client.next('connected', 180_000), baseline.client.next('connected', 180_000)]);
    // One unmeasured burst each warms the JIT and the adapter's stream.
    await broadcast(ours, sizes.recoveryBurst, 0, sizes, null);
    await broadcast(baseline, sizes.recoveryBurst, 0, sizes, null);

    const pairs = await alternate(
      sizes.pairs,
      () => measure(ours, sizes),
      () => measure(baseline, sizes),
    );
    const scenario = '4 Redis streams adapter + recovery';
    const n = sizes.recoverySockets;
    const perSide = (pick: (m: Measured) => number) =>
      `${pairs.map((p) => pick(p.ours)).join('/')} ours, ${pairs.map((p) => pick(p.baseline)).join('/')} baseline`;
    const row = (
      metric: string,
      pick: (m: Measured) => number,
      better: Row['better'],
      unit: string,
      goals: { goal?: number; absoluteGoal?: number; note?: string } = {},
    ) => ratioRow(pairs, { scenario, metric, pick, better, unit, ...goals });
    return [
      row(`deliveries/s (burst ${sizes.recoveryBurst} × ${n} sockets)`, (m) => m.deliveriesPerS, 'higher', '/s', { goal: 0.85 }),
      row(`latency p50 (paced ${sizes.recoveryMessages} × ${n}, 1 per ${sizes.recoveryIntervalMs} ms)`, (m) => m.p50Ms, 'lower', 'ms'),
      row(`latency p99 (paced ${sizes.recoveryMessages} × ${n}, 1 per ${sizes.recoveryIntervalMs} ms)`, (m) => m.p99Ms, 'lower', 'ms', {
        goal: 1.2,
        note: `server's longest event-loop stall during the paced run (ms) ${perSide((m) => Math.round(m.loopDelayMaxMs))}`,
      }),
      row(`missed events replayed (10 % dropped ~${sizes.recoveryReconnectMs} ms)`, (m) => m.replayedPct, 'higher', '%', {
        absoluteGoal: 99.9,
        note: `missed events per run ${perSide((m) => m.missed)}; deliveries received twice ${perSide((m) => m.duplicates)}`,
      }),
      row('dropped sockets recovered', (m) => m.recoveredPct, 'higher', '%', {
        note: `dropped ${perSide((m) => m.dropped)}; came back as fresh sessions (joined again) ${perSide((m) => m.fresh)}`,
      }),
    ];
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}
