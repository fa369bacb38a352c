/**
 * Scenario 13, join storm: `joinStudents` authenticated students (all enrolled) connect and
 * `course:join` one course as fast as the server takes them, while the course's instructor (its
 * owner, one socket in a client process of its own, joined first) watches `presence:updated`.
 *
 * Students arrive at `joinPerSecond` (socket i starts connecting at i / rate) with at most
 * `joinInFlight` sockets connecting or awaiting their ack at once, from one load-client process
 * (bench/clients/join-storm.ts). Measured: the time from the first connection's start to the last
 * join's ack (goal ≤ 20 s and ≤ 1.5× the baseline); at the instructor, the `presence:updated`
 * events from the storm's start until they name every student as joined: the most in any
 * second after the start (goal ≤ 4), their count, and the JSON bytes of those events plus the
 * instructor's own join ack (reported); the JSON bytes of a student's join ack (mean, reported);
 * and the server's CPU per join. The client reads `joined` and `left` lists and an optional
 * `onlineCount`, so one event per change and batched events measure alike.
 *
 * Ours is the app from `buildApp` (servers/class-app.ts: handshake auth with its user lookup,
 * `course:join` authorised against the database, attendance, Redis presence and the instructor's
 * `presence:updated`). The baseline (servers/join-bare.ts) does what a join needs and no more:
 * verifies the JWT, one SELECT, `socket.join`, one Redis round trip (`SADD` + `SCARD`), and acks
 * `{courseId, onlineCount}`; it sends no presence events. Between measurements the students
 * disconnect and the next measurement waits until the server has them all gone (the instructor
 * hears every departure, within `joinSettleMs`, reported as a row; the baseline reports its
 * sockets and `SREM`s done).
 *
 * The server runs on core 0, the clients on core 1; both may hold `joinStudents` sockets, so
 * their open-file limits are raised (`prlimit`).
 */
import pg from 'pg';
import type { BenchEnv } from '../lib/env.js';
import { raiseFileLimit } from '../lib/limits.js';
import { startChild, type Child } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { alternate, ratioRow, valueRow, type Scenario } from '../lib/scenario.js';
import { seedStudents } from '../lib/seed.js';

interface Sizes {
  pairs: number;
  joinStudents: number;
  /** Arrival rate of new connections (0: as fast as `joinInFlight` allows). */
  joinPerSecond: number;
  /** Sockets connecting or awaiting their join's ack at once. */
  joinInFlight: number;
  joinTimeoutMs: number;
  /** How long the instructor waits to hear every student leave after they disconnect. */
  joinSettleMs: number;
}

export const joinStormScenario: Scenario<Omit<Sizes, 'pairs'>> = {
  full: { joinStudents: 10_000, joinPerSecond: 2000, joinInFlight: 500, joinTimeoutMs: 180_000, joinSettleMs: 30_000 },
  smoke: { joinStudents: 40, joinPerSecond: 0, joinInFlight: 20, joinTimeoutMs: 20_000, joinSettleMs: 10_000 },
  run: runJoinStorm,
};

interface Measured {
  allJoinedMs: number;
  failed: number;
  ackBytesPerJoin: number;
  cpuUsPerJoin: number;
  /** At the instructor, from the storm's start until every student was named as joined (ours only). */
  presenceEvents: number;
  presencePeakPerSecond: number;
  instructorBytes: number;
  presenceComplete: boolean;
  /** Of the students, those the instructor heard leave (or 100 once `onlineCount` fell to 1) within `joinSettleMs` (ours only). */
  departuresHeardPct: number;
  failures: string[];
}

interface Side {
  name: 'app' | 'bare';
  server: Child;
  port: number;
  students: Child;
  instructor: Child;
  /** The app, which signs the tokens (the baseline verifies them with the same secret). */
  signer: Child;
  studentIds: string[];
  instructorId: string;
}

/** The most events in one second, counting seconds from `start` (hrtime ns). */
function peakPerSecond(stamps: bigint[], start: bigint): number {
  const perSecond = new Map<number, number>();
  for (const at of stamps) {
    const second = Number((at - start) / 1_000_000_000n);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  return Math.max(0, ...perSecond.values());
}

async function measure(side: Side, courseId: string, sizes: Sizes): Promise<Measured> {
  const url = `http://127.0.0.1:${side.port}`;
  const n = side.studentIds.length;
  // Fresh tokens each time: a whole run outlasts an access token on a loaded machine.
  side.signer.send({ type: 'sign', users: [{ id: side.instructorId, role: 'instructor' }, ...side.studentIds.map((id) => ({ id, role: 'student' }))] });
  const [instructorToken, ...studentTokens] = (await side.signer.next<{ tokens: string[] }>('tokens')).tokens as [string, ...string[]];
  side.instructor.send({ type: 'instructor', url, token: instructorToken, courseId });
  const { ackBytes: instructorAckBytes } = await side.instructor.next<{ ackBytes: number }>('instructor-joined', 30_000);
  side.server.send({ type: 'cpu' }); // starts the server's CPU count
  await side.server.next('cpu');

  side.students.send({
    type: 'storm',
    url,
    sockets: studentTokens.map((token) => ({ token, courseId })),
    perSecond: sizes.joinPerSecond,
    maxInFlight: sizes.joinInFlight,
    timeoutMs: sizes.joinTimeoutMs,
  });
  const storm = await side.students.next<{ startedAt: string; endedAt: string; joined: number; failed: number; failures: string[]; ackBytes: number }>(
    'stormed',
    sizes.joinTimeoutMs + 60_000,
  );
  const start = BigInt(storm.startedAt);
  let presence = { events: [] as Array<[string, number]>, complete: true };
  if (side.name === 'app') {
    // Batched events may trail the last ack by their flush interval: wait for every student to be named.
    side.instructor.send({ type: 'await-presence', joined: n, timeoutMs: 30_000 });
    presence = await side.instructor.next('presence', 40_000);
  }
  side.server.send({ type: 'cpu' });
  const { cpuUs } = await side.server.next<{ cpuUs: number }>('cpu');

  // Everyone leaves, and the server is done with the departures before the next measurement.
  let departuresHeardPct = NaN;
  side.students.send({ type: 'close' });
  await side.students.next('closed');
  if (side.name === 'app') {
    side.instructor.send({ type: 'await-presence', left: n, timeoutMs: sizes.joinSettleMs });
    const gone = await side.instructor.next<{ complete: boolean; left: number; onlineCount: number | null }>('presence', sizes.joinSettleMs + 10_000);
    departuresHeardPct = gone.complete ? 100 : (100 * Math.min(gone.left, n)) / n;
    if (!gone.complete) console.error(`bench: 12 app: the instructor heard ${gone.left} of ${n} departures (onlineCount ${gone.onlineCount})`);
  }
  side.instructor.send({ type: 'close' });
  await side.instructor.next('closed');
  if (side.name === 'bare') {
    side.server.send({ type: 'settle' });
    await side.server.next('settled', sizes.joinTimeoutMs);
  }

  const during = presence.events.filter(([at]) => BigInt(at) >= start);
  // Progress on stderr: a full measurement takes a while.
  console.error(
    `bench: 12 ${side.name}: ${n} joined in ${(Number(BigInt(storm.endedAt) - start) / 1e6).toFixed(0)} ms (${storm.failed} failed), ${during.length} presence events${presence.complete ? '' : ' (incomplete)'}`,
  );
  return {
    allJoinedMs: Number(BigInt(storm.endedAt) - start) / 1e6,
    failed: storm.failed,
    ackBytesPerJoin: storm.ackBytes / Math.max(1, storm.joined),
    cpuUsPerJoin: cpuUs / Math.max(1, storm.joined),
    presenceEvents: during.length,
    presencePeakPerSecond: peakPerSecond(
      during.map(([at]) => BigInt(at)),
      start,
    ),
    instructorBytes: instructorAckBytes + during.reduce((sum, [, bytes]) => sum + bytes, 0),
    presenceComplete: presence.complete,
    departuresHeardPct,
    failures: storm.failures,
  };
}

async function instructorOf(databaseUrl: string, courseId: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ instructor_id: string }>('SELECT instructor_id FROM courses WHERE id = $1', [courseId]);
    return rows[0]!.instructor_id;
  } finally {
    await client.end();
  }
}

async function runJoinStorm(bench: BenchEnv, sizes: Sizes): Promise<Row[]> {
  const { courseId, studentIds } = await seedStudents(bench.config.databaseUrl, sizes.joinStudents);
  const instructorId = await instructorOf(bench.config.databaseUrl, courseId);
  const children = {
    app: startChild('servers/class-app.ts', 0, bench.env),
    bare: startChild('servers/join-bare.ts', 0, bench.env),
    appStudents: startChild('clients/join-storm.ts', 1),
    bareStudents: startChild('clients/join-storm.ts', 1),
    appInstructor: startChild('clients/join-storm.ts', 1),
    bareInstructor: startChild('clients/join-storm.ts', 1),
  };
  for (const child of [children.app, children.bare, children.appStudents, children.bareStudents]) raiseFileLimit(child);
  try {
    const [app, bare] = await Promise.all([
      children.app.next<{ port: number }>('ready'),
      children.bare.next<{ port: number }>('ready'),
      ...[children.appStudents, children.bareStudents, children.appInstructor, children.bareInstructor].map((child) => child.next('ready')),
    ]);
    const common = { signer: children.app, studentIds, instructorId };
    const sides: Record<'app' | 'bare', Side> = {
      app: { name: 'app', server: children.app, port: app.port, students: children.appStudents, instructor: children.appInstructor, ...common },
      bare: { name: 'bare', server: children.bare, port: bare.port, students: children.bareStudents, instructor: children.bareInstructor, ...common },
    };
    // Unmeasured warm-up of each side with a tenth of the class (JIT, pools, scripts).
    const warm = Math.max(10, Math.floor(sizes.joinStudents / 10));
    for (const side of Object.values(sides)) await measure({ ...side, studentIds: studentIds.slice(0, warm) }, courseId, sizes);

    const pairs = await alternate(
      sizes.pairs,
      () => measure(sides.app, courseId, sizes),
      () => measure(sides.bare, courseId, sizes),
    );
    const scenario = '13 join storm';
    const of = `(${sizes.joinStudents} students${sizes.joinPerSecond ? ` arriving at ${sizes.joinPerSecond}/s` : ''}, ≤ ${sizes.joinInFlight} in flight)`;
    const ours = pairs.map((p) => p.ours);
    const failed = pairs.reduce((sum, p) => sum + p.ours.failed + p.baseline.failed, 0);
    const incomplete = ours.filter((m) => !m.presenceComplete).length;
    const failures = [...new Set(pairs.flatMap((p) => [...p.ours.failures, ...p.baseline.failures]))].slice(0, 3);
    return [
      ratioRow(pairs, {
        scenario,
        metric: `all joined ${of}`,
        pick: (m) => m.allJoinedMs,
        better: 'lower',
        unit: 'ms',
        goal: 1.5,
        absoluteGoal: 20_000,
        note: 'from the first connection to the last ack; baseline: JWT check, one SELECT, socket.join, one Redis SADD+SCARD, ack {courseId, onlineCount}',
      }),
      valueRow({
        scenario,
        metric: `failed joins, all measurements (ours and baseline)`,
        values: [failed],
        better: 'lower',
        unit: '',
        absoluteGoal: 0,
        ...(failures.length ? { note: failures.join('; ') } : {}),
      }),
      valueRow({
        scenario,
        metric: `instructor presence:updated, most in one second ${of}`,
        values: ours.map((m) => m.presencePeakPerSecond),
        better: 'lower',
        unit: '/s',
        absoluteGoal: 4,
        note: `seconds counted from the storm's start, until the events named every student as joined${incomplete ? `; ${incomplete} measurement(s) did not name them all within 30 s` : ''}`,
      }),
      valueRow({
        scenario,
        metric: `students the instructor heard leave after they disconnected ${of}`,
        values: ours.map((m) => m.departuresHeardPct),
        better: 'higher',
        unit: '%',
        absoluteGoal: 100,
        note: `within ${sizes.joinSettleMs / 1000} s of the last disconnect: \`left\` lists, or an \`onlineCount\` back to the instructor alone`,
      }),
      valueRow({ scenario, metric: `instructor presence:updated events ${of}`, values: ours.map((m) => m.presenceEvents), better: 'lower', unit: '' }),
      valueRow({
        scenario,
        metric: `instructor bytes, presence events + its join ack ${of}`,
        values: ours.map((m) => m.instructorBytes / 1024),
        better: 'lower',
        unit: 'KiB',
        note: 'JSON of the payloads as decoded by the client (framing not counted)',
      }),
      ratioRow(pairs, { scenario, metric: `student join ack, JSON bytes (mean) ${of}`, pick: (m) => m.ackBytesPerJoin, better: 'lower', unit: 'B' }),
      ratioRow(pairs, { scenario, metric: `server CPU per join ${of}`, pick: (m) => m.cpuUsPerJoin, better: 'lower', unit: 'µs' }),
    ];
  } finally {
    await Promise.all(Object.values(children).map((child) => child.stop()));
  }
}
