import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const runner = fileURLToPath(new URL('../../bench/run.ts', import.meta.url));

// The benchmark is not a test, but its smoke mode runs every implemented scenario end to end
// (servers, load clients, pinning, results) at tiny sizes, so the harness cannot rot.
t.test('npm run bench -- --smoke runs its scenarios and writes the results', { timeout: 120_000 }, async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'classroom-bench-smoke-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['--import', 'tsx', runner, '--smoke', `--out=${out}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // tap's processinfo follows child processes; their coverage of a file would replace the
    // in-process coverage of the same file, so the benchmark's processes report none.
    env: { ...process.env, _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./' },
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  if (code !== 0) t.comment(output);
  t.equal(code, 0, 'bench --smoke exits 0');

  const results = JSON.parse(await readFile(join(out, 'latest.json'), 'utf8')) as {
    mode: string;
    scenarios: string[];
    rows: Array<{ scenario: string; ratio: number; pairs: unknown[] }>;
  };
  t.equal(results.mode, 'smoke');
  t.same(results.scenarios.sort(), ['2', '5']);
  t.ok(results.rows.length > 0);
  for (const row of results.rows) {
    t.ok(Number.isFinite(row.ratio) && row.ratio > 0, `${row.scenario}: a positive ratio`);
    t.ok(row.pairs.length >= 3, `${row.scenario}: at least 3 pairs`);
  }
  t.match(await readFile(join(out, 'latest.md'), 'utf8'), /\| Scenario \| Metric \|/);
});
