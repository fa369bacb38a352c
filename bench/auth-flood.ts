/**
 * Is argon2 a CPU lever? Floods `POST /api/auth/login` with unknown emails (one argon2
 * verification each) and measures what the rest of the server gets meanwhile.
 *
 *   npx tsx bench/auth-flood.ts [--seconds=15] [--connections=200] [--addresses=10000] [KEY=VALUE ...]
 *
 * KEY=VALUE pairs are configuration for the server (e.g. ARGON2_MAX_CONCURRENCY=1). The server
 * (the real app, `buildApp`) runs pinned to core 0 and the flood client to core 1 (`taskset`);
 * this process probes `GET /health` and `GET /api/courses` one after the other, each every
 * 100 ms, before and during the flood, and signs a real user in every 500 ms during it (from an
 * address of its own, which signed in once before the flood). Prints one JSON object: flood answers by status, probe latencies, the
 * server's CPU use and event-loop delay (prom-client's, reset by the scrape before the flood).
 * Not part of the suite; a measurement, run on an otherwise quiet machine.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createBenchEnv } from './lib/env.js';
import { startChild, nearestRank } from './lib/proc.js';
import { hashPassword } from '../server/modules/auth/passwords.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => Number(args.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const seconds = option('seconds', 15);
const connections = option('connections', 200);
const addresses = option('addresses', 10_000);
const overrides = Object.fromEntries(
  args.filter((arg) => !arg.startsWith('--') && arg.includes('=')).map((arg) => [arg.split('=')[0]!, arg.slice(arg.indexOf('=') + 1)]),
);

const bench = await createBenchEnv();
const password = 'bench-password-1';
const db = new pg.Client({ connectionString: bench.config.databaseUrl });
await db.connect();
await db.query(`INSERT INTO users (email, password_hash, full_name, role) VALUES ('real-user@example.com', $1, 'Real User', 'student')`, [
  await hashPassword(password),
]);
await db.end();

const server = startChild('servers/http-app.ts', 0, {
  ...bench.env,
  // The flood and the probes say who they are in X-Forwarded-For; only loopback may say so.
  TRUST_PROXY: 'loopback',
  // The real user signs in every 500 ms: more than the per-(email, IP) limit allows.
  LOGIN_RATE_LIMIT_MAX: '1000',
  BENCH_INSTRUCTOR_ID: randomUUID(),
  ...overrides,
});
const flood = startChild('clients/login-flood.ts', 1);

try {
  const { port } = await server.next<{ port: number }>('ready');
  await flood.next('ready');
  const base = `http://127.0.0.1:${port}`;

  const scrape = async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return {
      cpuSeconds: value('process_cpu_seconds_total'),
      lagP99Ms: value('nodejs_eventloop_lag_p99_seconds') * 1000,
      lagMaxMs: value('nodejs_eventloop_lag_max_seconds') * 1000,
      rssMiB: value('process_resident_memory_bytes') / 2 ** 20,
    };
  };

  /** Sequential GETs of `path` every `everyMs` until `stop` resolves; latencies in ms, failures counted. */
  const probe = async (path: string, everyMs: number, stop: Promise<unknown>, headers: Record<string, string> = {}) => {
    let done = false;
    void stop.then(() => (done = true));
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    while (!done) {
      const started = performance.now();
      try {
        const res = await fetch(`${base}${path}`, { headers: { 'x-forwarded-for': '192.0.2.10', ...headers }, signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      } catch {
        statuses.error = (statuses.error ?? 0) + 1;
      }
      const elapsed = performance.now() - started;
      latencies.push(elapsed);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, everyMs - elapsed)));
    }
    latencies.sort((a, b) => a - b);
    const round = (n: number) => Math.round(n * 10) / 10;
    return {
      count: latencies.length,
      statuses,
      p50Ms: round(nearestRank(latencies, 0.5)),
      p99Ms: round(nearestRank(latencies, 0.99)),
      maxMs: round(latencies.at(-1) ?? NaN),
    };
  };

  const realLogins = async (stop: Promise<unknown>) => {
    let done = false;
    void stop.then(() => (done = true));
    const statuses: Record<string, number> = {};
    const latencies: number[] = [];
    while (!done) {
      const started = performance.now();
      try {
        const res = await fetch(`${base}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.20' },
          body: JSON.stringify({ email: 'real-user@example.com', password }),
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      } catch {
        statuses.error = (statuses.error ?? 0) + 1;
      }
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    latencies.sort((a, b) => a - b);
    return { count: latencies.length, statuses, p50Ms: Math.round(nearestRank(latencies, 0.5)), maxMs: Math.round(latencies.at(-1) ?? NaN) };
  };

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  // The real user has signed in from its address before (as students do every day).
  const first = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.20' },
    body: JSON.stringify({ email: 'real-user@example.com', password }),
  });
  if (first.status !== 200) throw new Error(`the real user cannot sign in: ${first.status}`);
  const quiet = sleep(3000);
  const [healthQuiet, coursesQuiet] = await Promise.all([probe('/health', 100, quiet), probe('/api/courses', 100, quiet)]);

  const before = await scrape();
  const started = performance.now();
  flood.send({ type: 'run', url: base, connections, durationMs: seconds * 1000, addresses });
  const floodDone = flood.next<Record<string, unknown>>('result', (seconds + 60) * 1000);
  const [floodResult, health, courses, logins] = await Promise.all([
    floodDone,
    probe('/health', 100, floodDone),
    probe('/api/courses', 100, floodDone),
    realLogins(floodDone),
  ]);
  const wallSeconds = (performance.now() - started) / 1000;
  const after = await scrape();

  console.log(
    JSON.stringify(
      {
        settings: { seconds, connections, addresses, overrides },
        flood: floodResult,
        probes: { quiet: { health: healthQuiet, courses: coursesQuiet }, duringFlood: { health, courses, realUserLogin: logins } },
        server: {
          cpuPercentOfOneCore: Math.round(((after.cpuSeconds - before.cpuSeconds) / wallSeconds) * 100),
          eventLoopLagP99Ms: Math.round(after.lagP99Ms * 10) / 10,
          eventLoopLagMaxMs: Math.round(after.lagMaxMs * 10) / 10,
          rssMiB: Math.round(after.rssMiB),
        },
      },
      null,
      2,
    ),
  );
} finally {
  await flood.stop();
  await server.stop();
  await bench.cleanup();
}
