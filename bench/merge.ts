/**
 * `npx tsx bench/merge.ts OUT_DIR RUN_DIR...`: one `latest.json` / `latest.md` from several runs
 * of `npm run bench -- --only=N --out=RUN_DIR` (scenarios measured one at a time), each row kept
 * with the date of the run it came from. Rows of a scenario come from the last run given for it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { markdown, writeResults, type Row } from './lib/report.js';
import { SCENARIOS } from './scenarios/index.js';

interface Run {
  mode: string;
  date: string;
  machine: Parameters<typeof markdown>[1]['machine'];
  scenarios: string[];
  rows: Array<Row & { met: boolean | null }>;
}

const [out, ...dirs] = process.argv.slice(2);
if (!out || dirs.length === 0) {
  console.error('usage: tsx bench/merge.ts OUT_DIR RUN_DIR...');
  process.exit(64);
}
const runs = await Promise.all(dirs.map(async (dir) => JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8')) as Run));
const byScenario = new Map<string, Run>();
for (const run of runs) for (const key of run.scenarios) byScenario.set(key, run);
// Every scenario, in the runner's order (a fixed list here once left out the scenarios added after it).
const order = SCENARIOS.map(([key]) => key);
const rows: Row[] = [];
const sources: Array<{ scenario: string; date: string; mode: string }> = [];
for (const key of order) {
  const run = byScenario.get(key);
  if (!run) continue;
  sources.push({ scenario: key, date: run.date, mode: run.mode });
  rows.push(...run.rows.filter((row) => new RegExp(`^${key}\\D`).test(row.scenario)));
}
const missing = order.filter((key) => !byScenario.has(key));
const info = {
  mode: [...new Set(sources.map((s) => s.mode))].join('+'),
  machine: runs[0]!.machine,
  date: sources.map((s) => `${s.scenario}: ${s.date}`).join(', '),
  missing,
};
const md = markdown(rows, info);
await writeResults({ ...info, sources, rows }, md, out);
console.log(md);
