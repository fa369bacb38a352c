/**
 * `npm run bench [-- --smoke] [--only=5,2] [--out=DIR] [--set=NAME=NUMBER…]`: runs each scenario against its baseline in the
 * same run (alternated pairs, median of the pairwise ratios), prints a table and writes
 * `latest.json` and `latest.md` into DIR: by default `bench/results/` for a full run (the committed
 * figures) and a new temporary folder for `--smoke`, whose tiny sizes must never replace them. Servers run on core 0 and load clients on core 1
 * (`taskset`, where available). Everything listens on 127.0.0.1; every loop is bounded.
 * `--set=joinStudents=2000` overrides one of a scenario's sizes (an unknown name is an error):
 * for a run at another size than the full or smoke one, reported as such.
 *
 * Latency stamps are `process.hrtime.bigint()`: on Linux that is CLOCK_MONOTONIC, one clock for
 * every process of the machine, so a stamp taken in the server can be subtracted from one taken
 * in a load client (unlike `Date.now()`, which NTP may step).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBenchEnv } from './lib/env.js';
import { machine, markdown, met, writeResults, type Row } from './lib/report.js';
import { SCENARIOS } from './scenarios/index.js';

const smoke = process.argv.includes('--smoke');
/**
 * Alternated pairs per scenario: a full run measures at least 3 (the figures are their medians).
 * A smoke run only checks that every scenario still runs, which one pair does in a third of the
 * time (the suite runs the smoke runs). `BENCH_PAIRS` overrides it for a profile (one pair is
 * no figure to report).
 */
const PAIRS = Number(process.env.BENCH_PAIRS) || (smoke ? 1 : 3);
if (smoke) process.env.BENCH_PIN = 'off';
const only = process.argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const overrides = Object.fromEntries(
  process.argv
    .filter((arg) => arg.startsWith('--set='))
    .map((arg) => {
      const [name, value] = arg.slice('--set='.length).split('=');
      if (!name || !value || !Number.isFinite(Number(value))) throw new Error(`bench: --set wants NAME=NUMBER, got ${arg}`);
      return [name, Number(value)];
    }),
);
// A smoke run never writes into bench/results/ (the committed latest.md) unless told to.
const out =
  process.argv.find((arg) => arg.startsWith('--out='))?.slice('--out='.length) ?? (smoke ? await mkdtemp(join(tmpdir(), 'classroom-bench-smoke-')) : undefined);
// A hard ceiling on the whole run, so a hung child never leaves the bench (or CI's smoke test) stuck.
const deadline = setTimeout(
  () => {
    console.error('bench: overall time limit reached');
    process.exit(2);
  },
  smoke ? 150_000 : 45 * 60_000,
);
deadline.unref();

const bench = await createBenchEnv();
const rows: Row[] = [];
const ran: string[] = [];
const missing: string[] = [];
let failed = false;
try {
  for (const [key, name, scenario] of SCENARIOS) {
    if (only && !only.includes(key)) continue;
    if (!scenario) {
      missing.push(name);
      continue;
    }
    console.error(`bench: scenario ${name}…`);
    try {
      const sizes = smoke ? scenario.smoke : scenario.full;
      const unknown = Object.keys(overrides).filter((size) => !(size in sizes));
      if (unknown.length && only?.length === 1) throw new Error(`no size named ${unknown.join(', ')} (sizes: ${Object.keys(sizes).join(', ')})`);
      const own = Object.fromEntries(Object.entries(overrides).filter(([size]) => size in sizes));
      rows.push(...(await scenario.run(bench, { ...sizes, ...own, pairs: PAIRS })));
      ran.push(key);
    } catch (error) {
      failed = true;
      console.error(`bench: scenario ${name} failed:`, error);
    }
  }
} finally {
  await bench.cleanup();
}

const info = {
  mode: `${smoke ? 'smoke' : 'full'}${
    Object.keys(overrides).length
      ? `, ${Object.entries(overrides)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`
      : ''
  }`,
  machine: machine(),
  pairs: PAIRS,
  date: new Date().toISOString(),
  missing,
};
const md = markdown(rows, info);
console.log(md);
const dir = await writeResults({ ...info, scenarios: ran, rows: rows.map((row) => ({ ...row, met: met(row) })) }, md, out);
console.error(`bench: wrote ${dir}latest.json and latest.md`);
process.exit(failed ? 1 : 0);
