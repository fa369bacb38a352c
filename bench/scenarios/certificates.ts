/**
 * Scenario 8, certificates.
 *
 * (a) PDFs/s of the real certificate template through the real worker path: the worker process
 *     (bench/servers/cert-worker.ts, set up as workers/main.ts) runs the `certificates` BullMQ
 *     queue (the row, the PDF rendered in its render thread and renamed into storage, the claim,
 *     `certificate:issued`) for `pdfs` completed enrollments, enqueued the way the product does
 *     when an enrollment completes (`Jobs.issueCertificate`). The queue is
 *     paused while they are enqueued; the clock starts when it is resumed and stops when the
 *     worker saw the last job end `issued`. Baseline: a bare process calling the same template
 *     (`writeCertificatePdf`, what the render thread runs) in a loop (bench/servers/cert-direct.ts).
 *
 *     Pinning: neither process is pinned (no load client runs in this part), so each may use the
 *     machine's two cores. That is what the worker's design is for (pdfkit in a thread of its own,
 *     the queue and database bookkeeping on the event loop beside it); the baseline renders on one
 *     thread whatever it is given. Pinning both to one core would instead charge the worker's
 *     bookkeeping (and its PostgreSQL/Redis round trips) against render time.
 *     Concurrency: the same number of renders in flight on both sides. The judged row uses
 *     `concurrency` (8): enough jobs in flight that the render thread never waits for a job whose
 *     commits are still on their way. A second row, no goal, shows the product's default
 *     (CERTIFICATE_CONCURRENCY=2), where a job spends most of its time waiting on PostgreSQL
 *     commits and Redis and the render thread idles in between: that figure is latency, not cost.
 *
 * (b) A certificate burst the room should not feel: scenario 1(a)'s paced broadcast (`pacedRun`,
 *     same sizes, same measurement) against the app composed as `npm start` composes it (the API
 *     on its event loop, the workers in their thread, `workers/thread.ts`, with every default:
 *     CERTIFICATE_CONCURRENCY, CERTIFICATE_RATE_PER_SECOND, WORKER_THREAD_NICE) while a burst of
 *     `burst` certificate jobs (500), enqueued paused as a launch's close or a regrade would
 *     complete their courses, is released as the window opens; vs the same app and room without
 *     certificates, alternated in the same run. The app is on core 0 like every server, so all its
 *     threads (API, workers, render) share that core: the worst case. After each window the rest of
 *     the burst is issued before the next measurement; the rate over the whole burst (release →
 *     last `certificate_issued_at`) is reported, no goal, with how many were issued in the window.
 *     Goal: p99 ratio ≤ 1.3.
 */
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../../server/config/config.js';
import type { BenchEnv } from '../lib/env.js';
import { startChild } from '../lib/proc.js';
import type { Row } from '../lib/report.js';
import { alternate, ratioRow, valueRow, type Scenario } from '../lib/scenario.js';
import { seedStudents } from '../lib/seed.js';
import { closeRedis, createQueueRedis } from '../../server/platform/redis.js';
import { QueueJobs } from '../../server/platform/queues/jobs.js';
import { Queues } from '../../server/platform/queues/queues.js';
import { classroomScenario, connectClassroom, pacedRun, type PacedMeasured } from './classroom.js';

interface Sizes {
  pairs: number;
  /** Certificates per measured run of (a). */
  pdfs: number;
  /** Jobs (worker) and renders (baseline) in flight in the judged run of (a). */
  concurrency: number;
  /** (b): certificate jobs released at once per measurement. */
  burst: number;
  /** (b): scenario 1(a)'s sizes. */
  sockets: number;
  pacedMessages: number;
  pacedPerSecond: number;
}

const { sockets, pacedMessages, pacedPerSecond } = classroomScenario.full;
export const certificatesScenario: Scenario<Omit<Sizes, 'pairs'>> = {
  full: { pdfs: 150, concurrency: 8, burst: 500, sockets, pacedMessages, pacedPerSecond },
  smoke: { pdfs: 4, concurrency: 8, burst: 10, sockets: 20, pacedMessages: 5, pacedPerSecond: 100 },
  run: runCertificates,
};

/** Students enrolled (active) in the bench course, `count` of them; returns their enrollment ids. */
async function seedEnrollments(databaseUrl: string, count: number): Promise<string[]> {
  const { courseId, studentIds } = await seedStudents(databaseUrl, count);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>('SELECT id FROM enrollments WHERE course_id = $1 AND student_id = ANY($2::uuid[])', [
      courseId,
      studentIds,
    ]);
    return rows.map((row) => row.id);
  } finally {
    await client.end();
  }
}

/**
 * Completes the enrollments (as the progress service does when the last lesson is done) and
 * enqueues their certificates the way the product does, with the queue paused, so that nothing
 * renders before the caller resumes it. Completing them only now keeps the workers' sweep (which
 * enqueues certificates that completed enrollments lack) from starting them early.
 */
async function completeAndEnqueue(bench: BenchEnv, queues: Queues, enrollmentIds: string[]): Promise<void> {
  await queues.get('certificates').pause();
  const client = new pg.Client({ connectionString: bench.config.databaseUrl });
  await client.connect();
  try {
    await client.query(`UPDATE enrollments SET status = 'completed', completed_at = now(), progress_percentage = 100 WHERE id = ANY($1::uuid[])`, [
      enrollmentIds,
    ]);
  } finally {
    await client.end();
  }
  const jobs = new QueueJobs(queues, pino({ level: 'silent' }));
  for (const id of enrollmentIds) await jobs.issueCertificate(id);
}

async function runCertificates(bench: BenchEnv, sizes: Sizes): Promise<Row[]> {
  const connection = createQueueRedis(bench.config);
  const queues = new Queues(bench.config, connection);
  try {
    const throughput = await runThroughput(bench, sizes, queues);
    return [...throughput, ...(await runDuringBurst(bench, sizes, queues))];
  } finally {
    await queues.close();
    await closeRedis(connection);
  }
}

async function runThroughput(bench: BenchEnv, sizes: Sizes, queues: Queues): Promise<Row[]> {
  const settings = [sizes.concurrency, bench.config.certificateConcurrency];
  const warmCount = Math.max(2, Math.round(sizes.pdfs / 4));
  const perSetting = warmCount + sizes.pairs * sizes.pdfs;
  // Seeded active, completed batch by batch just before each run (see completeAndEnqueue).
  const all = await seedEnrollments(bench.config.databaseUrl, settings.length * perSetting);
  let taken = 0;
  const batch = (count: number) => all.slice(taken, (taken += count));
  // Unpinned: the worker renders in its own thread beside its event loop, which is what the
  // product's design is for; the baseline renders on one thread either way (see the header).
  const worker = startChild('servers/cert-worker.ts', 'all', bench.env);
  const direct = startChild('servers/cert-direct.ts', 'all', bench.env);
  try {
    await Promise.all([worker.next('ready'), direct.next('ready')]);
    const timeoutMs = 120_000;
    const ours = async (enrollmentIds: string[]) => {
      await completeAndEnqueue(bench, queues, enrollmentIds);
      worker.send({ type: 'expect', count: enrollmentIds.length });
      const startedAt = process.hrtime.bigint();
      await queues.get('certificates').resume();
      const { at, cpuUs } = await worker.next<{ at: string; cpuUs: number }>('issued', timeoutMs);
      return { pdfsPerS: enrollmentIds.length / (Number(BigInt(at) - startedAt) / 1e9), cpuMsPerPdf: cpuUs / 1000 / enrollmentIds.length };
    };
    const baseline = async (count: number, concurrency: number) => {
      direct.send({ type: 'render', count, concurrency });
      const { startedAt, at, cpuUs } = await direct.next<{ startedAt: string; at: string; cpuUs: number }>('rendered', timeoutMs);
      return { pdfsPerS: count / (Number(BigInt(at) - BigInt(startedAt)) / 1e9), cpuMsPerPdf: cpuUs / 1000 / count };
    };
    const rows: Row[] = [];
    for (const concurrency of settings) {
      worker.send({ type: 'concurrency', n: concurrency });
      await worker.next('concurrency');
      // One unmeasured run each: the JIT, pdfkit's font metrics, the ORM's and BullMQ's scripts.
      await ours(batch(warmCount));
      await baseline(warmCount, concurrency);
      const pairs = await alternate(
        sizes.pairs,
        () => ours(batch(sizes.pdfs)),
        () => baseline(sizes.pdfs, concurrency),
      );
      const judged = concurrency === sizes.concurrency;
      const of = `(${sizes.pdfs} PDFs, ${concurrency} in flight${judged ? '' : ', the default CERTIFICATE_CONCURRENCY'})`;
      rows.push(
        ratioRow(pairs, {
          scenario: '8(a) certificates',
          metric: `PDFs/s, worker path vs direct render ${of}`,
          pick: (x) => x.pdfsPerS,
          better: 'higher',
          unit: '/s',
          goal: judged ? 0.8 : null,
          ...(judged
            ? {}
            : {
                note: 'no goal: at the default concurrency a job waits on PostgreSQL commits and Redis most of its time and the render thread idles; the judged row keeps it busy (same concurrency both sides)',
              }),
        }),
      );
      if (judged) {
        rows.push(
          ratioRow(pairs, {
            scenario: '8(a) certificates',
            metric: `CPU per PDF, worker process vs direct render ${of}`,
            pick: (x) => x.cpuMsPerPdf,
            better: 'lower',
            unit: 'ms',
            note: 'no goal: CPU time of the process (every thread) per PDF; the worker path also spends PostgreSQL and Redis time, not counted here',
          }),
        );
      }
      if (settings[0] === settings[1]) break;
    }
    return rows;
  } finally {
    await Promise.all([worker.stop(), direct.stop()]);
  }
}

/** Certificates issued among `enrollmentIds`, and when the last of them was (epoch ms, PostgreSQL's clock). */
async function issuedSoFar(bench: BenchEnv, enrollmentIds: string[]): Promise<{ n: number; lastAtMs: number | null }> {
  const client = new pg.Client({ connectionString: bench.config.databaseUrl });
  await client.connect();
  try {
    const {
      rows: [row],
    } = await client.query<{ n: number; last: number | null }>(
      'SELECT count(*)::int AS n, (extract(epoch FROM max(certificate_issued_at)) * 1000)::float8 AS last FROM enrollments WHERE id = ANY($1::uuid[]) AND certificate_issued_at IS NOT NULL',
      [enrollmentIds],
    );
    return { n: row!.n, lastAtMs: row!.last };
  } finally {
    await client.end();
  }
}

interface Burst {
  /** Certificates of the burst issued while the broadcasts were measured. */
  inWindow: number;
  /** Release → last certificate of the burst issued. */
  burstMs: number;
}

async function runDuringBurst(bench: BenchEnv, sizes: Sizes, queues: Queues): Promise<Row[]> {
  const { courseId, studentIds } = await seedStudents(bench.config.databaseUrl, sizes.sockets);
  const bursts = await seedEnrollments(bench.config.databaseUrl, sizes.burst * sizes.pairs);
  // The composition of `npm start` with its defaults: the API on its event loop, the workers in a
  // thread of the same process (CERTIFICATE_CONCURRENCY and the certificate rate limit as shipped).
  const appEnv = { ...bench.env, WORKERS: 'on' };
  // What the app runs with: the defaults, or what this bench's environment sets (e.g. to compare).
  const appConfig = loadConfig({ ...process.env, ...appEnv });
  const app = startChild('servers/classroom-app.ts', 0, appEnv);
  const client = startChild('clients/io-sockets.ts', 1);
  try {
    const [{ port }] = await Promise.all([app.next<{ port: number }>('ready'), client.next('ready')]);
    const room = await connectClassroom(app, client, port, courseId, studentIds);
    const certificates = queues.get('certificates');
    const run = (messages = sizes.pacedMessages) => pacedRun(app, client, room, messages, sizes.pacedPerSecond);
    await run(Math.min(sizes.pacedMessages, sizes.pacedPerSecond));

    let taken = 0;
    const measuredBursts: Burst[] = [];
    const withBurst = async (): Promise<PacedMeasured> => {
      const burst = bursts.slice(taken, (taken += sizes.burst));
      // Enqueued paused (as a launch's close or a regrade would complete them), released at once.
      await completeAndEnqueue(bench, queues, burst);
      const resumedAtMs = Date.now();
      await certificates.resume();
      const measured = await run();
      const inWindow = (await issuedSoFar(bench, burst)).n;
      // The rest of the burst is issued before the next measurement (bounded).
      const deadline = Date.now() + 300_000;
      let issued = await issuedSoFar(bench, burst);
      while (issued.n < burst.length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        issued = await issuedSoFar(bench, burst);
      }
      if (issued.n < burst.length) throw new Error(`8(b): ${issued.n} of ${burst.length} certificates issued after 300 s`);
      measuredBursts.push({ inWindow, burstMs: issued.lastAtMs! - resumedAtMs });
      return measured;
    };
    const pairs = await alternate(sizes.pairs, withBurst, () => run());
    const of = `(${sizes.pacedMessages} at ${sizes.pacedPerSecond}/s × ${sizes.sockets} sockets)`;
    const windows = measuredBursts.map(
      (b) => `${b.inWindow} in ${(sizes.pacedMessages / sizes.pacedPerSecond).toFixed(1)} s, all ${sizes.burst} in ${(b.burstMs / 1000).toFixed(1)} s`,
    );
    const note = `a burst of ${sizes.burst} certificate jobs released as the window opens, with the workers in the API's thread (npm start's composition: CERTIFICATE_CONCURRENCY=${appConfig.certificateConcurrency}, CERTIFICATE_RATE_PER_SECOND=${appConfig.certificateRatePerSecond || 'off'}, WORKER_THREAD_NICE=${appConfig.workerThreadNice}); baseline: the same app and room without certificates, same run; certificates: ${windows.join('; ')}`;
    const scenario = '8(b) broadcast during a certificate burst';
    return [
      ratioRow(pairs, { scenario, metric: `latency p99 ${of}`, pick: (m) => m.p99Ms, better: 'lower', unit: 'ms', goal: 1.3, note }),
      ratioRow(pairs, { scenario, metric: `latency p50 ${of}`, pick: (m) => m.p50Ms, better: 'lower', unit: 'ms' }),
      ratioRow(pairs, { scenario, metric: `delivered ${of}`, pick: (m) => m.deliveredPct, better: 'higher', unit: '%', absoluteGoal: 100 }),
      valueRow({
        scenario,
        metric: `certificates/s over the burst of ${sizes.burst} (release → last issued)`,
        values: measuredBursts.map((b) => sizes.burst / (b.burstMs / 1000)),
        better: 'higher',
        unit: '/s',
        note: 'no goal: the rate at which the API process issues a burst while it serves the room',
      }),
    ];
  } finally {
    await Promise.all([client.stop(), app.stop()]);
  }
}
