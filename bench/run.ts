/**
 * `npm run bench [-- --smoke] [--only=5,2] [--out=DIR]`: runs each scenario against its baseline in the
 * same run (alternated pairs, median of the pairwise ratios), prints a table and writes
 * `bench/results/latest.json` and `latest.md`. Servers run on core 0 and load clients on core 1
 * (`taskset`, where available). Everything listens on 127.0.0.1; every loop is bounded.
 *
 * Latency stamps are `process.hrtime.bigint()`: on Linux that is CLOCK_MONOTONIC, one clock for
 * every process of the machine, so a stamp taken in the server can be subtracted from one taken
 * in a load client (unlike `Date.now()`, which NTP may step).
 */
import { createBenchEnv } from './lib/env.js';
import { machine, markdown, met, writeResults, type Row } from './lib/report.js';
import { runHttp } from './scenarios/http.js';
import { runFanout } from './scenarios/fanout.js';

export interface Sizes {
  pairs: number;
  httpConnections: number;
  httpDurationMs: number;
  httpWarmupMs: number;
  httpMaxRequests: number;
  fanoutSockets: number;
  fanoutBroadcasts: number;
  fanoutTimeoutMs: number;
}

const FULL: Sizes = {
  pairs: 3,
  httpConnections: 20,
  httpDurationMs: 5000,
  httpWarmupMs: 1000,
  httpMaxRequests: 1_000_000,
  fanoutSockets: 2000,
  fanoutBroadcasts: 100,
  fanoutTimeoutMs: 30_000,
};

const SMOKE: Sizes = {
  pairs: 3,
  httpConnections: 4,
  httpDurationMs: 300,
  httpWarmupMs: 100,
  httpMaxRequests: 2000,
  fanoutSockets: 20,
  fanoutBroadcasts: 10,
  fanoutTimeoutMs: 10_000,
};

const SCENARIOS: Record<string, { name: string; run?: (bench: Awaited<ReturnType<typeof createBenchEnv>>, sizes: Sizes) => Promise<Row[]> }> = {
  '1': { name: '1 classroom fan-out' },
  '2': { name: '2 fan-out ceiling', run: runFanout },
  '3': { name: '3 memory per socket' },
  '4': { name: '4 Redis streams adapter + recovery' },
  '5': { name: '5 HTTP', run: runHttp },
  '6': { name: '6 answer → grade → push' },
  '7': { name: '7 progress pipeline' },
  '8': { name: '8 certificates' },
};

const smoke = process.argv.includes('--smoke');
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
// The smoke test writes elsewhere, so it never overwrites the committed latest.md.
const out = process.argv.find((arg) => arg.startsWith('--out='))?.slice('--out='.length);
const sizes = smoke ? SMOKE : FULL;
// A hard ceiling on the whole run, so a hung child never leaves the bench (or CI's smoke test) stuck.
const deadline = setTimeout(() => {
  console.error('bench: overall time limit reached');
  process.exit(2);
}, smoke ? 100_000 : 20 * 60_000);
deadline.unref();

const bench = await createBenchEnv();
const rows: Row[] = [];
const ran: string[] = [];
const missing: string[] = [];
let failed = false;
try {
  // Scenario 5 first: it seeds the data the others do not touch.
  for (const key of ['5', '2', '1', '3', '4', '6', '7', '8']) {
    const scenario = SCENARIOS[key]!;
    if (only && !only.includes(key)) continue;
    if (!scenario.run) {
      missing.push(scenario.name);
      continue;
    }
    console.error(`bench: scenario ${scenario.name}…`);
    try {
      rows.push(...(await scenario.run(bench, sizes)));
      ran.push(key);
    } catch (error) {
      failed = true;
      console.error(`bench: scenario ${scenario.name} failed:`, error);
    }
  }
} finally {
  await bench.cleanup();
}

const info = { mode: smoke ? 'smoke' : 'full', machine: machine(), date: new Date().toISOString(), missing };
const md = markdown(rows, info);
console.log(md);
const dir = await writeResults({ ...info, scenarios: ran, rows: rows.map((row) => ({ ...row, met: met(row) })) }, md, out);
console.error(`bench: wrote ${dir}latest.json and latest.md`);
process.exit(failed ? 1 : 0);
