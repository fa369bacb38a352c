/**
 * Scenario 7, progress pipeline, in two parts.
 *
 * Write → event: `progressRate` lesson-progress writes per second for `progressDurationMs`,
 * over `progressStudents` enrolled students (each writes a different lesson each time, every
 * `progressStudents / progressRate` s) through the socket event `lesson:progress` with an ack,
 * paced by a load client process on core 1. Each write's `process.hrtime.bigint()` stamp is taken
 * just before its emit; the latency runs until the course instructor's socket (joined with
 * `course:join`, a client process of its own) receives that student's `progress:updated` — the
 * n-th for a student answers its n-th write (its writes are seconds apart, so they never overlap);
 * the server's CPU time per write is reported beside it. A sent write whose event never arrives
 * is lost (judged against zero); a write the load client never sent (its schedule ran out) is
 * reported apart, marking the measurement incomplete.
 * Ours is the app (`recordLessonProgress`: lesson and enrollment lookup, upsert, the locked
 * recalculation, two events); the baseline, for ratio context, a bare Socket.IO/pg handler doing
 * one upsert, one recalculating statement and the emit (servers/progress-bare.ts). Lessons of
 * the first half are written `completed`, the others `in_progress`, so no enrollment ever
 * completes (no certificate work leaks in).
 *
 * Add → start: `jobRate` jobs per second (the pipeline's rate) for `jobDurationMs` on the real
 * `progress` queue, added by a producer on core 1 the way the product adds them (`Queues.add` with
 * `progressJobOptions`: deduplicated per enrollment, keep-last-if-active), each carrying the
 * producer's hrtime stamp, and run by a worker process on core 0 built like `workers/main.ts`
 * whose processor records its start stamp (servers/progress-worker.ts explains the thin wrapper).
 * Job i recalculates enrollment i mod `progressStudents`: the same enrollment comes back only
 * seconds later, long after its previous job finished, so deduplication merges nothing — and a
 * merged or lost job would show as a missing start, which is counted. The baseline is a raw
 * `LPUSH` → `BRPOP` round trip with bare ioredis in the same layout (producer on core 1, consumer
 * process on core 0), on the same schedule, in the same run. The goal (p50 ≤ 5× the raw round
 * trip) is judged at `jobRate`, where the worker also does the jobs' work (BullMQ's scripts, the
 * recalculation, `progress:updated`) between starts; the same measured at `jobLightRate`, with
 * a mostly idle worker, is reported beside it as context, with each consumer's CPU per job and
 * how long an add took to be acknowledged.
 */
import type { BenchEnv } from '../lib/env.js';
import { median, startChild, quantile, type Child } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { alternate, ratioRow, valueRow, type Scenario } from '../lib/scenario.js';
import { seedClass, type ClassSeed } from '../lib/seed-class.js';

interface Sizes {
  pairs: number;
  progressStudents: number;
  progressLessons: number;
  progressRate: number;
  progressDurationMs: number;
  jobRate: number;
  /** A light rate at which the same is measured for context: dispatch with a mostly idle worker. */
  jobLightRate: number;
  jobDurationMs: number;
  progressTimeoutMs: number;
}

export const progressScenario: Scenario<Omit<Sizes, 'pairs'>> = {
  full: {
    progressStudents: 400,
    progressLessons: 20,
    progressRate: 200,
    progressDurationMs: 10_000,
    jobRate: 200,
    jobLightRate: 20,
    jobDurationMs: 3000,
    progressTimeoutMs: 30_000,
  },
  smoke: {
    progressStudents: 20,
    progressLessons: 20,
    progressRate: 40,
    progressDurationMs: 250,
    jobRate: 40,
    jobLightRate: 20,
    jobDurationMs: 250,
    progressTimeoutMs: 10_000,
  },
  run: runProgress,
};

const SCENARIO = '7 progress pipeline';

type Stamps = Array<[string, string]>;

interface WriteMeasured {
  /** Writes the load client never sent (its schedule ran out of time): the measurement is incomplete. */
  unsent: number;
  p50Ms: number;
  p99Ms: number;
  lost: number;
  failures: string[];
  maxLagMs: number;
  /** The server process's CPU time over the measurement, per write. */
  cpuUsPerWrite: number;
}

interface JobMeasured {
  p50Ms: number;
  p99Ms: number;
  lost: number;
  maxLagMs: number;
  /** The consumer process's CPU time (worker: the whole job, not only its start), per job. */
  cpuUsPerJob: number;
  /** How long the producer waited for an add (or LPUSH) to be acknowledged, p50. */
  addP50Ms: number;
}

/** One server with its two load clients: the writing students and the listening instructor. */
interface Side {
  server: Child;
  students: Child;
  instructor: Child;
}

/** Round `round`'s writes: student j mod S writes its k-th lesson of the round at j / rate. */
function writes(seed: ClassSeed, sizes: Sizes, round: number, durationMs: number) {
  const count = Math.round((sizes.progressRate * durationMs) / 1000);
  const students = seed.students.length;
  const lessons = seed.lessonIds.length;
  return Array.from({ length: count }, (_, j) => {
    const s = j % students;
    const k = Math.floor(j / students);
    const lesson = (s + k + round * 7) % lessons;
    const completed = lesson < lessons / 2;
    return {
      socket: seed.students[s]!.id,
      event: 'lesson:progress',
      data: {
        lessonId: seed.lessonIds[lesson],
        status: completed ? 'completed' : 'in_progress',
        completionPercentage: completed ? 100 : 50,
        timeSpentSecondsDelta: 30,
      },
      key: `${seed.students[s]!.id}#${k}`,
      atMs: (j * 1000) / sizes.progressRate,
    };
  });
}

async function measureWrites(side: Side, seed: ClassSeed, sizes: Sizes, round: number, durationMs: number): Promise<WriteMeasured> {
  const items = writes(seed, sizes, round, durationMs);
  const waitMs = durationMs + sizes.progressTimeoutMs;
  side.instructor.send({ type: 'listen', event: 'progress:updated', field: 'studentId', expect: items.length, timeoutMs: waitMs });
  await side.instructor.next('listening');
  side.server.send({ type: 'cpu' }); // starts the server's CPU count
  await side.server.next('cpu');
  side.students.send({ type: 'send', startAt: (process.hrtime.bigint() + 100_000_000n).toString(), items, timeoutMs: sizes.progressTimeoutMs });
  const sent = await side.students.next<{ sent: Stamps; failures: string[]; unsent: number; maxLagMs: number }>('sent', waitMs + 10_000);
  const { arrivals } = await side.instructor.next<{ arrivals: Stamps }>('arrivals', waitMs + 10_000);
  side.server.send({ type: 'cpu' });
  const { cpuUs } = await side.server.next<{ cpuUs: number }>('cpu');
  const sentAt = new Map(sent.sent);
  const latencies = arrivals.flatMap(([key, at]) => {
    const from = sentAt.get(key);
    return from ? [Number(BigInt(at) - BigInt(from)) / 1e6] : [];
  });
  return {
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    // A write never sent has no event to lose: it is reported apart, as the load client's failure.
    lost: sent.sent.length - latencies.length,
    unsent: sent.unsent,
    failures: sent.failures,
    maxLagMs: sent.maxLagMs,
    cpuUsPerWrite: cpuUs / items.length,
  };
}

/** Jobs (or raw pushes) on the schedule, then the consumer's start stamps until all came or the timeout. */
async function measureJobs(
  mode: 'bullmq' | 'raw',
  producer: Child,
  consumer: Child,
  key: string,
  seed: ClassSeed,
  sizes: Sizes,
  rate: number,
  durationMs: number,
): Promise<JobMeasured> {
  const count = Math.max(1, Math.round((rate * durationMs) / 1000));
  const offsetsMs = Array.from({ length: count }, (_, i) => (i * 1000) / rate);
  const enrollmentIds = offsetsMs.map((_, i) => seed.students[i % seed.students.length]!.enrollmentId);
  const reply = mode === 'bullmq' ? 'starts' : 'pops';
  const collect = async () => {
    consumer.send({ type: 'collect' });
    return consumer.next<{ latenciesMs: number[]; cpuUs: number }>(reply, 10_000);
  };
  await collect(); // starts the consumer's CPU count
  producer.send({
    type: 'run',
    mode,
    startAt: (process.hrtime.bigint() + 100_000_000n).toString(),
    offsetsMs,
    enrollmentIds,
    key,
    timeoutMs: sizes.progressTimeoutMs,
  });
  const done = await producer.next<{ added: number; maxLagMs: number; addP50Ms: number }>('done', durationMs + sizes.progressTimeoutMs + 10_000);
  const latencies: number[] = [];
  let cpuUs = 0;
  const until = Date.now() + sizes.progressTimeoutMs;
  // Bounded: every 100 ms until every added job started, or the timeout; then once more after
  // 200 ms, so the CPU count covers the last jobs' work too.
  for (let last = false; ;) {
    await new Promise((resolve) => setTimeout(resolve, last ? 200 : 100));
    const got = await collect();
    latencies.push(...got.latenciesMs);
    cpuUs += got.cpuUs;
    if (last) break;
    last = latencies.length >= done.added || Date.now() >= until;
  }
  return {
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    lost: count - latencies.length,
    maxLagMs: done.maxLagMs,
    cpuUsPerJob: cpuUs / Math.max(1, latencies.length),
    addP50Ms: done.addP50Ms,
  };
}

async function runProgress(bench: BenchEnv, sizes: Sizes): Promise<Row[]> {
  const seed = await seedClass(bench.config.databaseUrl, { students: sizes.progressStudents, lessons: sizes.progressLessons });
  const app = startChild('servers/class-app.ts', 0, bench.env);
  const bare = startChild('servers/progress-bare.ts', 0, bench.env);
  const worker = startChild('servers/progress-worker.ts', 0, bench.env);
  const pop = startChild('servers/redis-pop.ts', 0, bench.env);
  const ours: Side = { server: app, students: startChild('clients/io-paced.ts', 1), instructor: startChild('clients/io-paced.ts', 1) };
  const base: Side = { server: bare, students: startChild('clients/io-paced.ts', 1), instructor: startChild('clients/io-paced.ts', 1) };
  const producer = startChild('clients/job-producer.ts', 1, bench.env);
  const clients = [ours.students, ours.instructor, base.students, base.instructor, producer];
  try {
    const [appInfo, bareInfo, , popInfo] = await Promise.all([
      app.next<{ port: number }>('ready'),
      bare.next<{ port: number }>('ready'),
      worker.next('ready'),
      pop.next<{ key: string }>('ready'),
      ...clients.map((c) => c.next('ready')),
    ]);
    app.send({ type: 'sign', users: [...seed.students.map((s) => ({ id: s.id, role: 'student' })), { id: seed.instructorId, role: 'instructor' }] });
    const { tokens } = await app.next<{ tokens: string[] }>('tokens');
    const appUrl = `http://127.0.0.1:${appInfo.port}`;
    const bareUrl = `http://127.0.0.1:${bareInfo.port}`;
    ours.students.send({
      type: 'connect',
      url: appUrl,
      sockets: seed.students.map((s, i) => ({ key: s.id, auth: { token: tokens[i] }, join: seed.courseId })),
    });
    ours.instructor.send({
      type: 'connect',
      url: appUrl,
      sockets: [{ key: seed.instructorId, auth: { token: tokens[seed.students.length] }, join: seed.courseId }],
    });
    // The bare server takes the rooms and the ids its handler needs from `auth`.
    base.students.send({
      type: 'connect',
      url: bareUrl,
      sockets: seed.students.map((s) => ({
        key: s.id,
        auth: { rooms: [`user:${s.id}`, `course:${seed.courseId}`], enrollmentId: s.enrollmentId, studentId: s.id, courseId: seed.courseId },
      })),
    });
    base.instructor.send({
      type: 'connect',
      url: bareUrl,
      sockets: [{ key: seed.instructorId, auth: { rooms: [`course:${seed.courseId}`, `course:${seed.courseId}:instructors`] } }],
    });
    await Promise.all([ours.students, ours.instructor, base.students, base.instructor].map((c) => c.next('connected', 120_000)));

    let round = 0;
    const writesOf = (side: Side, durationMs = sizes.progressDurationMs) => measureWrites(side, seed, sizes, round++, durationMs);
    // Shorter unmeasured rounds first: JIT, pools, the adapter's stream, BullMQ's scripts.
    const warmupOf = (durationMs: number) => Math.max(1, Math.round(durationMs / 5));
    await writesOf(ours, warmupOf(sizes.progressDurationMs));
    await writesOf(base, warmupOf(sizes.progressDurationMs));
    const writePairs = await alternate(
      sizes.pairs,
      () => writesOf(ours),
      () => writesOf(base),
    );
    const jobsOf = (mode: 'bullmq' | 'raw', rate = sizes.jobRate, durationMs = sizes.jobDurationMs) =>
      mode === 'bullmq'
        ? measureJobs(mode, producer, worker, '', seed, sizes, rate, durationMs)
        : measureJobs(mode, producer, pop, popInfo.key, seed, sizes, rate, durationMs);
    await jobsOf('bullmq', sizes.jobRate, warmupOf(sizes.jobDurationMs));
    await jobsOf('raw', sizes.jobRate, warmupOf(sizes.jobDurationMs));
    const jobPairs = await alternate(
      sizes.pairs,
      () => jobsOf('bullmq'),
      () => jobsOf('raw'),
    );
    const lightPairs = await alternate(
      sizes.pairs,
      () => jobsOf('bullmq', sizes.jobLightRate),
      () => jobsOf('raw', sizes.jobLightRate),
    );

    const writeOf = `(${sizes.progressRate}/s for ${sizes.progressDurationMs / 1000} s, ${sizes.progressStudents} students)`;
    const jobOf = `(${sizes.jobRate}/s for ${sizes.jobDurationMs / 1000} s; baseline raw LPUSH → BRPOP)`;
    const lightOf = `(light load: ${sizes.jobLightRate}/s for ${sizes.jobDurationMs / 1000} s; baseline raw LPUSH → BRPOP)`;
    const failures = writePairs.flatMap((p) => [...p.ours.failures, ...p.baseline.failures]);
    const writeLag = Math.max(...writePairs.flatMap((p) => [p.ours.maxLagMs, p.baseline.maxLagMs]));
    const unsent = writePairs.reduce((sum, p) => sum + p.ours.unsent + p.baseline.unsent, 0);
    const jobLag = Math.max(...jobPairs.flatMap((p) => [p.ours.maxLagMs, p.baseline.maxLagMs]));
    return [
      ratioRow(writePairs, {
        scenario: SCENARIO,
        metric: `write → instructor progress:updated p99 ${writeOf}`,
        pick: (m) => m.p99Ms,
        better: 'lower',
        unit: 'ms',
        absoluteGoal: 150,
      }),
      ratioRow(writePairs, {
        scenario: SCENARIO,
        metric: `write → instructor progress:updated p50 ${writeOf}`,
        pick: (m) => m.p50Ms,
        better: 'lower',
        unit: 'ms',
      }),
      ratioRow(writePairs, { scenario: SCENARIO, metric: `server CPU per write ${writeOf}`, pick: (m) => m.cpuUsPerWrite, better: 'lower', unit: 'µs' }),
      // Judged on the total over the measurements, not their median: one loss is one too many.
      {
        ...valueRow({ scenario: SCENARIO, metric: '', values: writePairs.map((p) => p.ours.lost), better: 'lower', unit: 'events' }),
        metric: `lost progress:updated, all ${sizes.pairs} measurements ${writeOf}`,
        ours: writePairs.reduce((sum, p) => sum + p.ours.lost, 0),
        absoluteGoal: 0,
        note:
          `baseline lost ${writePairs.reduce((sum, p) => sum + p.baseline.lost, 0)}; the load client wrote at most ${writeLag.toFixed(1)} ms behind schedule` +
          (unsent ? `; INCOMPLETE: the load client did not send ${unsent} writes` : '') +
          (failures.length ? `; refused writes, e.g. ${failures.slice(0, 3).join('; ')}` : ''),
      },
      ratioRow(jobPairs, {
        scenario: SCENARIO,
        metric: `progress job add → processor start p50 ${jobOf}`,
        pick: (m) => m.p50Ms,
        better: 'lower',
        unit: 'ms',
        goal: 5,
      }),
      ratioRow(jobPairs, {
        scenario: SCENARIO,
        metric: `progress job add → processor start p99 ${jobOf}`,
        pick: (m) => m.p99Ms,
        better: 'lower',
        unit: 'ms',
        note:
          `jobs that never started (merged or lost): ${jobPairs.reduce((sum, p) => sum + p.ours.lost, 0)}, raw pushes never popped: ${jobPairs.reduce((sum, p) => sum + p.baseline.lost, 0)}; ` +
          `the producer added at most ${jobLag.toFixed(1)} ms behind schedule; an add was acknowledged after ` +
          `${median(jobPairs.map((p) => p.ours.addP50Ms)).toFixed(2)} ms (p50; raw LPUSH ${median(jobPairs.map((p) => p.baseline.addP50Ms)).toFixed(2)} ms)`,
      }),
      ratioRow(lightPairs, {
        scenario: SCENARIO,
        metric: `progress job add → processor start p50 ${lightOf}`,
        pick: (m) => m.p50Ms,
        better: 'lower',
        unit: 'ms',
        note: `context for the judged row above: the same at a rate that leaves the worker mostly idle; jobs that never started: ${lightPairs.reduce((sum, p) => sum + p.ours.lost, 0)}`,
      }),
      ratioRow(jobPairs, {
        scenario: SCENARIO,
        metric: `consumer CPU per job ${jobOf}`,
        pick: (m) => m.cpuUsPerJob,
        better: 'lower',
        unit: 'µs',
        note: 'ours: the worker process running the whole job (BullMQ, recalculation, progress:updated); baseline: the bare BRPOP loop',
      }),
    ];
  } finally {
    await Promise.all([...clients.map((c) => c.stop()), app.stop(), bare.stop(), worker.stop(), pop.stop()]);
  }
}
