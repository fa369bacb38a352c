import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { endWithThisProcess } from './processes.js';

const runner = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));
const committedResults = fileURLToPath(new URL('../../bench/results/', import.meta.url));

/** The committed result files, by name; a missing one reads as null. */
async function snapshot(dir: string): Promise<Record<string, string | null>> {
  const names = ['latest.md', 'latest.json'];
  const texts = await Promise.all(names.map((name) => readFile(join(dir, name), 'utf8').catch(() => null)));
  return Object.fromEntries(names.map((name, i) => [name, texts[i] ?? null]));
}

interface Results {
  mode: string;
  /** Alternated pairs per figure. */
  pairs: number;
  scenarios: string[];
  missing: string[];
  rows: Array<{ scenario: string; metric: string; ratio: number; baseline: number; ours: number; met: boolean | null; pairs: unknown[] }>;
}

/**
 * Runs `npm run bench -- --smoke --only=<keys>` (servers, load clients, pinning, results at tiny
 * sizes) and checks what it wrote: the benchmark is not a test, but this keeps it from rotting.
 * It also checks that the run left the committed results in `bench/results/` as they were.
 * One test file per group of scenarios, so that the groups run in parallel. Nothing of `bench/` is
 * imported here: it runs only in the child, so it stays out of the suite's coverage.
 */
export async function benchSmoke(t: Test, keys: string[], timeoutMs = 150_000): Promise<Results> {
  const committed = await snapshot(committedResults);
  // No --out: the runner picks the folder of a smoke run itself (a temporary one), and says which.
  const child = spawn(process.execPath, ['--import', 'tsx', runner, '--smoke', `--only=${keys.join(',')}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // tap's processinfo follows child processes; their coverage of a file would replace the
    // in-process coverage of the same file, so the benchmark's processes report none.
    env: { ...process.env, _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./' },
  });
  endWithThisProcess(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  if (code !== 0) t.comment(output);
  t.equal(code, 0, `bench --smoke --only=${keys.join(',')} exits 0`);
  const out = /bench: wrote (.+)latest\.json and latest\.md/.exec(output)?.[1];
  if (out === undefined) throw new Error(`bench --smoke did not say where it wrote:\n${output}`);
  t.teardown(() => rm(out, { recursive: true, force: true }));
  t.ok(out.startsWith(tmpdir()), `a smoke run writes into a temporary folder (${out})`);

  const results = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as Results;
  t.equal(results.mode, 'smoke');
  t.equal(results.pairs, 1, 'a smoke run measures one pair (a full run, 3)');
  t.same(results.scenarios.sort(), [...keys].sort(), 'each scenario ran');
  t.same(results.missing, [], 'every scenario asked for is implemented');
  for (const key of keys)
    t.ok(
      results.rows.some((row) => new RegExp(`^${key}\\D`).test(row.scenario)),
      `scenario ${key} reported rows`,
    );
  for (const row of results.rows) {
    const name = `${row.scenario}, ${row.metric}`;
    t.ok(Number.isFinite(row.ours), `${name}: a figure`);
    // Rows with a baseline carry a ratio over the run's alternated pairs (one in a smoke run, at
    // least 3 in a full one); the others are absolute figures.
    if (Number.isFinite(row.baseline)) {
      // Finite, not necessarily positive: at smoke sizes a memory delta can sit within page noise.
      t.ok(Number.isFinite(row.ratio), `${name}: a ratio`);
      t.equal(row.pairs.length, results.pairs, `${name}: one ratio per pair`);
    }
  }
  t.match(await readFile(join(out, 'latest.md'), 'utf8'), /\| Scenario \| Metric \|/);
  t.same(await snapshot(committedResults), committed, 'bench/results/ (the committed figures) is unchanged');
  return results;
}
