/**
 * Scenario 1, classroom fan-out: `sockets` authenticated students in one course room.
 *
 * (a) Course-room broadcast, paced: `pacedMessages` `progress:updated` at `pacedPerSecond` (100 at
 *     20/s in full mode: a lesson's worth of live updates, not a burst) through the app's event
 *     path (`app.realtime.emit` to `course:<id>`; sockets signed in and joined with `course:join`)
 *     against bare Socket.IO with the same options and the same Redis streams adapter doing the
 *     same emits (bench/servers/classroom-bare.ts, set up as io-bare.ts). A bare `ws` WebSocketServer writing the same JSON to
 *     as many plain `ws` clients is reported as the floor (no goal). Each message carries its
 *     hrtime `sentAt`; clients take latency on arrival; server CPU covers the whole run.
 *
 * (b) Quiz countdowns: `tickSockets` students, each with one open timed attempt (same deadline,
 *     an hour away). The app ticks them itself: a connecting student's open attempts are loaded
 *     and ticked by `QuizTickScheduler` (volatile `quiz:tick` to `user:<id>`). Baseline: bare
 *     Socket.IO, same options and adapter, ticking the same user rooms from one 1-s timer with the
 *     same payload shape. `quiz:tick` has no send stamp, so both bench servers add `sentAt` in the
 *     namespace adapter's `broadcast` (bench/servers/ticks-common.ts; no product change). Clients
 *     measure, after the ticking is steady: ticks delivered vs expected, the interval between
 *     consecutive ticks of one attempt (p99 of |interval − 1 s|, goal ≤ 50 ms), latency and
 *     server CPU per delivered tick over `ticksPerWindow` ticks of every attempt. Since the app
 *     ticks whenever its students are connected, its sockets connect for each of its runs and
 *     leave after; the baseline's stay connected and tick only in their runs (IPC start/stop).
 *
 * Servers run on core 0, load clients on core 1; the pairs alternate which side goes first.
 * `pacedRun` and `connectClassroom` are exported for scenario 8(b), which repeats (a) while
 * certificates render.
 */
import type { BenchEnv } from '../lib/env.js';
import { seedTimedAttempts } from '../lib/classroom-seed.js';
import { startChild, type Child } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { alternate, ratioRow, type Scenario } from '../lib/scenario.js';
import { seedStudents } from '../lib/seed.js';

interface Sizes {
  pairs: number;
  sockets: number;
  pacedMessages: number;
  pacedPerSecond: number;
  tickSockets: number;
  /** Ticks of every attempt in a measured window (≈ seconds). */
  ticksPerWindow: number;
  /** Extra steady ticks before a window opens (JIT warm-up). */
  tickWarmup: number;
}

export const classroomScenario: Scenario<Omit<Sizes, 'pairs'>> = {
  full: { sockets: 2000, pacedMessages: 100, pacedPerSecond: 20, tickSockets: 2000, ticksPerWindow: 10, tickWarmup: 1 },
  smoke: { sockets: 20, pacedMessages: 5, pacedPerSecond: 100, tickSockets: 10, ticksPerWindow: 1, tickWarmup: 0 },
  run: runClassroom,
};

const EVENT = 'progress:updated';

export interface PacedMeasured {
  delivered: number;
  expected: number;
  deliveredPct: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerDelivery: number;
}

/**
 * One paced run: `messages` broadcasts to `room` at `perSecond`, received by every socket of
 * `client`. Server CPU is read once the clients have everything (or gave up).
 */
export async function pacedRun(server: Child, client: Child, room: string, messages: number, perSecond: number): Promise<PacedMeasured> {
  const timeoutMs = Math.ceil((messages / perSecond) * 1000) + 15_000;
  client.send({ type: 'expect', event: EVENT, count: messages, timeoutMs });
  await client.next('listening');
  server.send({ type: 'paced', room, count: messages, event: EVENT, perSecond });
  const received = await client.next<{ delivered: number; expected: number; p50Ms: number; p99Ms: number }>('received', timeoutMs + 10_000);
  await server.next('paced-sent', 10_000);
  server.send({ type: 'cpu' });
  const { cpuUs } = await server.next<{ cpuUs: number }>('cpu');
  return {
    delivered: received.delivered,
    expected: received.expected,
    deliveredPct: (100 * received.delivered) / received.expected,
    p50Ms: received.p50Ms,
    p99Ms: received.p99Ms,
    cpuUsPerDelivery: cpuUs / Math.max(1, received.delivered),
  };
}

/** Signs the students' tokens in the app and connects them (`course:join`); returns the room. */
export async function connectClassroom(app: Child, client: Child, port: number, courseId: string, studentIds: string[]): Promise<string> {
  app.send({ type: 'sign', ids: studentIds });
  const { tokens } = await app.next<{ tokens: string[] }>('tokens');
  client.send({ type: 'connect', url: `http://127.0.0.1:${port}`, sockets: tokens.map((token) => ({ token, join: courseId })) });
  await client.next('connected', 180_000);
  return `course:${courseId}`;
}

async function runClassroom(bench: BenchEnv, sizes: Sizes): Promise<Row[]> {
  const classroom = await seedStudents(bench.config.databaseUrl, sizes.sockets);
  const timed = await seedStudents(bench.config.databaseUrl, sizes.tickSockets);
  const attempts = await seedTimedAttempts(bench.config.databaseUrl, timed.courseId, timed.studentIds);
  if (attempts.length !== sizes.tickSockets) throw new Error(`seeded ${attempts.length} attempts, wanted ${sizes.tickSockets}`);
  // One app and one bare server serve both parts (starting the app is most of a smoke run's time).
  const children = {
    app: startChild('servers/classroom-app.ts', 0, bench.env),
    bare: startChild('servers/classroom-bare.ts', 0, bench.env),
    ws: startChild('servers/ws-bare.ts', 0, bench.env),
    appClient: startChild('clients/io-sockets.ts', 1),
    bareClient: startChild('clients/io-sockets.ts', 1),
    wsClient: startChild('clients/ws-sockets.ts', 1),
    appTicks: startChild('clients/tick-sockets.ts', 1),
    bareTicks: startChild('clients/tick-sockets.ts', 1),
  };
  try {
    const [app, bare, ws] = await Promise.all([
      children.app.next<{ port: number }>('ready'),
      children.bare.next<{ port: number }>('ready'),
      children.ws.next<{ port: number }>('ready'),
      ...[children.appClient, children.bareClient, children.wsClient, children.appTicks, children.bareTicks].map((child) => child.next('ready')),
    ]);
    const broadcast = await runBroadcast(sizes, children, { app: app.port, bare: bare.port, ws: ws.port }, classroom.courseId, classroom.studentIds);
    // Part (a)'s sockets leave, and the ws floor stops, before the ticks are measured.
    await Promise.all([children.ws.stop(), children.wsClient.stop()]);
    for (const client of [children.appClient, children.bareClient]) client.send({ type: 'close' });
    await Promise.all([children.appClient.next('closed'), children.bareClient.next('closed')]);
    const ticks = await runTicks(sizes, children, { app: app.port, bare: bare.port }, attempts);
    return [...broadcast, ...ticks];
  } finally {
    await Promise.all(Object.values(children).map((child) => child.stop()));
  }
}

type Children = Record<'app' | 'bare' | 'ws' | 'appClient' | 'bareClient' | 'wsClient' | 'appTicks' | 'bareTicks', Child>;

async function runBroadcast(sizes: Sizes, c: Children, ports: Record<'app' | 'bare' | 'ws', number>, courseId: string, studentIds: string[]): Promise<Row[]> {
  const room = await connectClassroom(c.app, c.appClient, ports.app, courseId, studentIds);
  c.bareClient.send({ type: 'connect', url: `http://127.0.0.1:${ports.bare}`, sockets: studentIds.map(() => ({ room })) });
  c.wsClient.send({ type: 'connect', url: `ws://127.0.0.1:${ports.ws}`, sockets: studentIds.map(() => ({})) });
  await Promise.all([c.bareClient.next('connected', 120_000), c.wsClient.next('connected', 120_000)]);

  const run = (server: Child, client: Child, messages = sizes.pacedMessages) => pacedRun(server, client, room, messages, sizes.pacedPerSecond);
  // A short unmeasured run each (at most a second) warms the JIT and the adapter's stream.
  const warm = Math.min(sizes.pacedMessages, sizes.pacedPerSecond);
  await run(c.app, c.appClient, warm);
  await run(c.bare, c.bareClient, warm);
  await run(c.ws, c.wsClient, warm);

  // ws runs right after the Socket.IO baseline in every pair, so all three share the drift.
  type Sides = Partial<Record<'app' | 'bare' | 'ws', PacedMeasured>>;
  const pairs = await alternate<Sides>(
    sizes.pairs,
    async () => ({ app: await run(c.app, c.appClient) }),
    async () => ({ bare: await run(c.bare, c.bareClient), ws: await run(c.ws, c.wsClient) }),
  );
  const vsBare = pairs.map((p) => ({ ours: p.ours.app!, baseline: p.baseline.bare! }));
  const vsWs = pairs.map((p) => ({ ours: p.ours.app!, baseline: p.baseline.ws! }));
  const of = `(${sizes.pacedMessages} at ${sizes.pacedPerSecond}/s × ${sizes.sockets} sockets)`;
  const rows = (scenario: string, list: typeof vsBare, goals: boolean): Row[] => [
    ratioRow(list, { scenario, metric: `delivered ${of}`, pick: (m) => m.deliveredPct, better: 'higher', unit: '%', ...(goals ? { absoluteGoal: 100 } : {}) }),
    ratioRow(list, { scenario, metric: `latency p50 ${of}`, pick: (m) => m.p50Ms, better: 'lower', unit: 'ms', goal: goals ? 1.15 : null }),
    ratioRow(list, { scenario, metric: `latency p99 ${of}`, pick: (m) => m.p99Ms, better: 'lower', unit: 'ms', goal: goals ? 1.3 : null }),
    ratioRow(list, {
      scenario,
      metric: `server CPU per delivery ${of}`,
      pick: (m) => m.cpuUsPerDelivery,
      better: 'lower',
      unit: 'µs',
      goal: goals ? 1.2 : null,
    }),
  ];
  const floor = rows('1(a) vs plain ws (floor)', vsWs, false);
  floor[0]!.note = 'baseline column: a bare ws server and ws clients (no Socket.IO framing, rooms, adapter or recovery); no goal, the floor for reading';
  return [...rows('1(a) classroom broadcast', vsBare, true), ...floor];
}

interface TickMeasured {
  delivered: number;
  expected: number;
  deliveredPct: number;
  p50Ms: number;
  p99Ms: number;
  jitterP99Ms: number;
  cpuUsPerDelivery: number;
}

/** One window on a side whose sockets are connected and ticking. */
async function tickWindow(server: Child, client: Child, warmTicks: number, sizes: Sizes): Promise<TickMeasured> {
  const timeoutMs = (warmTicks + sizes.ticksPerWindow + 5) * 1000;
  client.send({ type: 'measure', warmTicks, ticks: sizes.ticksPerWindow, timeoutMs });
  await client.next('window', timeoutMs);
  server.send({ type: 'cpu-window-start' });
  const result = await client.next<{ inWindow: boolean; delivered: number; expected: number; p50Ms: number; p99Ms: number; jitterP99Ms: number }>(
    'ticks',
    timeoutMs + 10_000,
  );
  server.send({ type: 'cpu-window' });
  const { cpuUs } = await server.next<{ cpuUs: number }>('cpu-window');
  return {
    delivered: result.delivered,
    expected: result.expected,
    deliveredPct: (100 * result.delivered) / Math.max(1, result.expected),
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    jitterP99Ms: result.jitterP99Ms,
    cpuUsPerDelivery: cpuUs / Math.max(1, result.delivered),
  };
}

async function runTicks(
  sizes: Sizes,
  c: Children,
  ports: Record<'app' | 'bare', number>,
  attempts: Array<{ studentId: string; attemptId: string; deadline: string }>,
): Promise<Row[]> {
  c.app.send({ type: 'sign', ids: attempts.map((a) => a.studentId) });
  const { tokens } = await c.app.next<{ tokens: string[] }>('tokens');
  const appSockets = attempts.map((a, i) => ({ attemptId: a.attemptId, token: tokens[i] }));
  c.bareTicks.send({
    type: 'connect',
    url: `http://127.0.0.1:${ports.bare}`,
    sockets: attempts.map((a) => ({ attemptId: a.attemptId, room: `user:${a.studentId}`, deadline: a.deadline })),
  });
  await c.bareTicks.next('connected', 120_000);

  // The app ticks from the moment its students connect: the first tick at once, the next ones on
  // the deadline's whole seconds, hence two ticks before it is steady; the baseline's timer is
  // steady from its first tick.
  const ours = async () => {
    c.appTicks.send({ type: 'connect', url: `http://127.0.0.1:${ports.app}`, sockets: appSockets });
    await c.appTicks.next('connected', 180_000);
    try {
      return await tickWindow(c.app, c.appTicks, 2 + sizes.tickWarmup, sizes);
    } finally {
      c.appTicks.send({ type: 'close' });
      await c.appTicks.next('closed');
    }
  };
  const baseline = async () => {
    c.bare.send({ type: 'tick-start' });
    try {
      return await tickWindow(c.bare, c.bareTicks, 1 + sizes.tickWarmup, sizes);
    } finally {
      c.bare.send({ type: 'tick-stop' });
    }
  };
  const pairs = await alternate(sizes.pairs, ours, baseline);
  const of = `(${sizes.tickSockets} attempts × ${sizes.ticksPerWindow} s)`;
  const scenario = '1(b) quiz ticks';
  return [
    ratioRow(pairs, { scenario, metric: `ticks delivered ${of}`, pick: (m) => m.deliveredPct, better: 'higher', unit: '%' }),
    ratioRow(pairs, {
      scenario,
      metric: `tick interval p99 |Δ − 1 s| ${of}`,
      pick: (m) => m.jitterP99Ms,
      better: 'lower',
      unit: 'ms',
      absoluteGoal: 50,
      note: 'per attempt, between consecutive ticks at the client; a lost tick counts in delivered and its gap is judged against 2 s',
    }),
    ratioRow(pairs, { scenario, metric: `latency p50 ${of}`, pick: (m) => m.p50Ms, better: 'lower', unit: 'ms', goal: 1.15 }),
    ratioRow(pairs, { scenario, metric: `latency p99 ${of}`, pick: (m) => m.p99Ms, better: 'lower', unit: 'ms', goal: 1.3 }),
    ratioRow(pairs, { scenario, metric: `server CPU per tick ${of}`, pick: (m) => m.cpuUsPerDelivery, better: 'lower', unit: 'µs', goal: 1.2 }),
  ];
}
