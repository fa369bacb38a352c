/**
 * Scenario 6, answer → grade → push: `gradeStudents` students submit a quiz of `gradeQuestions`
 * questions within `gradeSpreadMs` over Socket.IO (`quiz:submit {attemptId}` with an ack, paced
 * evenly over the window by `gradeClients` load client processes on core 1 sharing one
 * schedule). Each submit's `process.hrtime.bigint()` stamp is taken by the client just before
 * the emit; the latency is measured until that student's socket receives its `quiz:graded`, and
 * until one instructor socket (the course's owner, joined with `course:join`, so in the
 * instructors room; a client process of its own) receives that student's `quiz:graded`.
 *
 * Ours is the app from `buildApp` (handshake auth, the quiz handler → `submitAttempt`, which
 * announces `quiz:graded` through the publisher once the grade is committed, then completes the
 * quiz's lesson on a pass and acks the attempt JSON); the baseline is bare Socket.IO with the
 * same options and streams adapter whose handler runs one raw `pg` transaction
 * (servers/grade-bare.ts). Before each measurement, unmeasured, every student gets a fresh
 * `in_progress` attempt (the quiz allows unlimited attempts; numbered per measurement) with all
 * answers saved, written with SQL (lib/seed-class.ts); about 60% of the students pass. A result
 * that never arrives within the timeout, or a refused submit, is lost: counted, and judged
 * against zero; a submit the load client never sent (its schedule ran out) is not the server's
 * loss and is reported apart, marking the measurement incomplete. Each server's CPU time per
 * submit is reported beside the latencies, and how far the load clients fell behind their
 * schedule in a note (one client process keeps up with 250 submits/s; `gradeClients` splits the
 * sockets over more).
 */
import type { BenchEnv } from '../lib/env.js';
import { startChild, quantile, type Child } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { alternate, ratioRow, valueRow, type Scenario } from '../lib/scenario.js';
import { seedAttempts, seedClass, type ClassSeed } from '../lib/seed-class.js';

interface Sizes {
  pairs: number;
  gradeStudents: number;
  gradeQuestions: number;
  gradeSpreadMs: number;
  /** Load client processes sending the submits (all on core 1). */
  gradeClients: number;
  gradeTimeoutMs: number;
}

export const gradeScenario: Scenario<Omit<Sizes, 'pairs'>> = {
  full: { gradeStudents: 500, gradeQuestions: 20, gradeSpreadMs: 2000, gradeClients: 1, gradeTimeoutMs: 30_000 },
  smoke: { gradeStudents: 20, gradeQuestions: 20, gradeSpreadMs: 300, gradeClients: 1, gradeTimeoutMs: 10_000 },
  run: runGrade,
};

interface Measured {
  studentP50Ms: number;
  studentP99Ms: number;
  instructorP50Ms: number;
  instructorP99Ms: number;
  /** Submits whose result never reached the student, and the instructor; refused submits count in both. */
  lostStudent: number;
  lostInstructor: number;
  /** Submits the load clients never sent (their schedule ran out of time): the measurement is incomplete. */
  unsent: number;
  failures: string[];
  maxLagMs: number;
  /** The server process's CPU time over the measurement, per submit. */
  cpuUsPerSubmit: number;
}

/** One server with its load clients: student sockets split over `students`, one instructor socket. */
interface Side {
  server: Child;
  students: Child[];
  instructor: Child;
}

type Stamps = Array<[string, string]>;

/** Client events, then results, for `attemptIds[i]` submitted by `seed.students[i]`. */
async function measure(side: Side, seed: ClassSeed, attemptIds: string[], sizes: Sizes): Promise<Measured> {
  const n = seed.students.length;
  const waitMs = sizes.gradeSpreadMs + sizes.gradeTimeoutMs;
  const perClient = side.students.map((_, c) => seed.students.map((_, i) => i).filter((i) => i % side.students.length === c));
  side.students.forEach((client, c) =>
    client.send({ type: 'listen', event: 'quiz:graded', field: 'attemptId', expect: perClient[c]!.length, timeoutMs: waitMs }),
  );
  side.instructor.send({ type: 'listen', event: 'quiz:graded', field: 'attemptId', expect: n, timeoutMs: waitMs });
  await Promise.all([...side.students, side.instructor].map((client) => client.next('listening')));
  side.server.send({ type: 'cpu' }); // starts the server's CPU count
  await side.server.next('cpu');

  // One schedule for every client process: evenly over the window, from a shared start.
  const startAt = (process.hrtime.bigint() + 100_000_000n).toString();
  side.students.forEach((client, c) =>
    client.send({
      type: 'send',
      startAt,
      timeoutMs: sizes.gradeTimeoutMs,
      items: perClient[c]!.map((i) => ({
        socket: seed.students[i]!.id,
        event: 'quiz:submit',
        data: { attemptId: attemptIds[i] },
        key: `${attemptIds[i]}#0`,
        atMs: (i * sizes.gradeSpreadMs) / n,
      })),
    }),
  );
  const sent = await Promise.all(
    side.students.map((client) => client.next<{ sent: Stamps; failures: string[]; failed: number; unsent: number; maxLagMs: number }>('sent', waitMs + 10_000)),
  );
  const studentArrivals = await Promise.all(side.students.map((client) => client.next<{ arrivals: Stamps }>('arrivals', waitMs + 10_000)));
  const instructorArrivals = await side.instructor.next<{ arrivals: Stamps }>('arrivals', waitMs + 10_000);
  side.server.send({ type: 'cpu' });
  const { cpuUs } = await side.server.next<{ cpuUs: number }>('cpu');

  const sentAt = new Map(sent.flatMap((s) => s.sent));
  const latencies = (arrivals: Stamps) =>
    arrivals.flatMap(([key, at]) => {
      const from = sentAt.get(key);
      return from ? [Number(BigInt(at) - BigInt(from)) / 1e6] : [];
    });
  const unsent = sent.reduce((sum, s) => sum + s.unsent, 0);
  const student = latencies(studentArrivals.flatMap((a) => a.arrivals));
  const instructor = latencies(instructorArrivals.arrivals);
  return {
    studentP50Ms: quantile(student, 0.5),
    studentP99Ms: quantile(student, 0.99),
    instructorP50Ms: quantile(instructor, 0.5),
    instructorP99Ms: quantile(instructor, 0.99),
    // A submit never sent has no result to lose: it is reported apart, as the load client's failure.
    lostStudent: n - unsent - student.length,
    lostInstructor: n - unsent - instructor.length,
    unsent,
    failures: sent.flatMap((s) => s.failures),
    maxLagMs: Math.max(...sent.map((s) => s.maxLagMs)),
    cpuUsPerSubmit: cpuUs / n,
  };
}

async function runGrade(bench: BenchEnv, sizes: Sizes): Promise<Row[]> {
  const seed = await seedClass(bench.config.databaseUrl, { students: sizes.gradeStudents, lessons: 4, quizQuestions: sizes.gradeQuestions });
  const quiz = seed.quiz!;
  const enrollmentIds = seed.students.map((s) => s.enrollmentId);
  const app = startChild('servers/class-app.ts', 0, bench.env);
  const bare = startChild('servers/grade-bare.ts', 0, bench.env);
  const clients = (count: number) => Array.from({ length: count }, () => startChild('clients/io-paced.ts', 1));
  const ours: Side = { server: app, students: clients(sizes.gradeClients), instructor: clients(1)[0]! };
  const base: Side = { server: bare, students: clients(sizes.gradeClients), instructor: clients(1)[0]! };
  const all = [...ours.students, ours.instructor, ...base.students, base.instructor];
  try {
    const [appInfo, bareInfo] = await Promise.all([
      app.next<{ port: number }>('ready'),
      bare.next<{ port: number }>('ready'),
      ...all.map((c) => c.next('ready')),
    ]);
    app.send({ type: 'sign', users: [...seed.students.map((s) => ({ id: s.id, role: 'student' })), { id: seed.instructorId, role: 'instructor' }] });
    const { tokens } = await app.next<{ tokens: string[] }>('tokens');
    const connect = (side: Side, url: string, auth: (i: number) => Record<string, unknown>, instructorAuth: Record<string, unknown>, join?: string) => {
      side.students.forEach((client, c) =>
        client.send({
          type: 'connect',
          url,
          sockets: seed.students.flatMap((s, i) => (i % side.students.length === c ? [{ key: s.id, auth: auth(i), join }] : [])),
        }),
      );
      side.instructor.send({ type: 'connect', url, sockets: [{ key: seed.instructorId, auth: instructorAuth, join }] });
    };
    // The app authorises `course:join`; the bare server puts sockets in the same rooms from `auth`.
    connect(ours, `http://127.0.0.1:${appInfo.port}`, (i) => ({ token: tokens[i] }), { token: tokens[seed.students.length] }, seed.courseId);
    connect(base, `http://127.0.0.1:${bareInfo.port}`, (i) => ({ rooms: [`user:${seed.students[i]!.id}`, `course:${seed.courseId}`] }), {
      rooms: [`course:${seed.courseId}`, `course:${seed.courseId}:instructors`],
    });
    await Promise.all(all.map((client) => client.next('connected', 120_000)));

    let attemptNumber = 0;
    const run = async (side: Side) => measure(side, seed, await seedAttempts(bench.config.databaseUrl, quiz, enrollmentIds, ++attemptNumber), sizes);
    // One unmeasured round each warms the JIT, the pools and the adapter's stream.
    await run(ours);
    await run(base);
    const pairs = await alternate(
      sizes.pairs,
      () => run(ours),
      () => run(base),
    );

    const of = `(${sizes.gradeStudents} submits in ${sizes.gradeSpreadMs / 1000} s)`;
    const row = (metric: string, pick: (m: Measured) => number, goal: number | null = null, absoluteGoal?: number, unit = 'ms') =>
      ratioRow(pairs, {
        scenario: '6 answer → grade → push',
        metric: `${metric} ${of}`,
        pick,
        better: 'lower',
        unit,
        goal,
        ...(absoluteGoal !== undefined ? { absoluteGoal } : {}),
      });
    const lost = (m: Measured) => m.lostStudent + m.lostInstructor;
    const failures = pairs.flatMap((p) => [...p.ours.failures, ...p.baseline.failures]);
    const lags = pairs.flatMap((p) => [p.ours.maxLagMs, p.baseline.maxLagMs]);
    const unsent = pairs.reduce((sum, p) => sum + p.ours.unsent + p.baseline.unsent, 0);
    return [
      row('submit → student quiz:graded p99', (m) => m.studentP99Ms, 2, 250),
      row('submit → instructor quiz:graded p99', (m) => m.instructorP99Ms, 2, 250),
      row('submit → student quiz:graded p50', (m) => m.studentP50Ms),
      row('submit → instructor quiz:graded p50', (m) => m.instructorP50Ms),
      row('server CPU per submit', (m) => m.cpuUsPerSubmit, null, undefined, 'µs'),
      // Judged on the total over the measurements, not their median: one loss is one too many.
      {
        ...valueRow({ scenario: '6 answer → grade → push', metric: '', values: pairs.map((p) => lost(p.ours)), better: 'lower', unit: 'results' }),
        metric: `lost results, student + instructor, all ${sizes.pairs} measurements ${of}`,
        ours: pairs.reduce((sum, p) => sum + lost(p.ours), 0),
        absoluteGoal: 0,
        note:
          `baseline lost ${pairs.reduce((sum, p) => sum + lost(p.baseline), 0)}; ` +
          `the load clients sent at most ${Math.max(...lags).toFixed(1)} ms behind schedule` +
          (unsent ? `; INCOMPLETE: the load clients did not send ${unsent} submits` : '') +
          (failures.length ? `; refused submits, e.g. ${failures.slice(0, 3).join('; ')}` : ''),
      },
    ];
  } finally {
    await Promise.all([...all.map((c) => c.stop()), app.stop(), bare.stop()]);
  }
}
