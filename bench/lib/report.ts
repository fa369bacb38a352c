import { cpus, totalmem } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** One measured figure: ours against its baseline over alternated pairs. */
export interface Row {
  scenario: string;
  metric: string;
  /** `higher` when more is better (throughput), `lower` for latency and cost. */
  better: 'higher' | 'lower';
  /** Median of ours / median of baseline over the pairs, for reading; the ratio below is the judged one. */
  ours: number;
  baseline: number;
  unit: string;
  /** Median of the pairwise ratios ours/baseline. */
  ratio: number;
  /** The issue's goal on `ratio` (≥ for higher-is-better, ≤ for lower). */
  goal: number | null;
  /** The issue's goal on `ours` itself, in `unit` (e.g. p99 ≤ 250 ms); judged together with `goal`. */
  absoluteGoal?: number;
  pairs: Array<{ ours: number; baseline: number; ratio: number }>;
  note?: string;
}

export function met(row: Row): boolean | null {
  const checks: boolean[] = [];
  const holds = (value: number, limit: number) => (row.better === 'higher' ? value >= limit : value <= limit);
  if (row.goal !== null) checks.push(Number.isFinite(row.ratio) && holds(row.ratio, row.goal));
  if (row.absoluteGoal !== undefined) checks.push(Number.isFinite(row.ours) && holds(row.ours, row.absoluteGoal));
  return checks.length ? checks.every(Boolean) : null;
}

function goalText(row: Row): string {
  const sign = row.better === 'higher' ? '≥' : '≤';
  const parts: string[] = [];
  if (row.goal !== null) parts.push(`${sign} ${row.goal}×`);
  if (row.absoluteGoal !== undefined) parts.push(`${sign} ${row.absoluteGoal} ${row.unit}`);
  return parts.length ? parts.join(', ') : '–';
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
}

export function machine() {
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: process.platform,
  };
}

export function markdown(rows: Row[], info: { mode: string; machine: ReturnType<typeof machine>; date: string; missing: string[] }): string {
  const head =
    `Benchmarks (${info.mode} mode, ${info.date}) on ${info.machine.cpus}× ${info.machine.model}, ${info.machine.memGiB} GiB, Node ${info.machine.node}. ` +
    'Ratio = median of pairwise ours/baseline over alternated pairs.\n\n';
  const lines = ['| Scenario | Metric | Ours | Baseline | Ratio | Goal | Met |', '|---|---|---:|---:|---:|---:|:-:|'];
  for (const row of rows) {
    const verdict = met(row);
    lines.push(
      `| ${row.scenario} | ${row.metric} | ${fmt(row.ours)} ${row.unit} | ${Number.isFinite(row.baseline) ? `${fmt(row.baseline)} ${row.unit}` : '–'} | ${Number.isFinite(row.ratio) ? `${fmt(row.ratio)}×` : '–'} | ${goalText(row)} | ${verdict === null ? '–' : verdict ? 'yes' : 'no'} |`,
    );
  }
  const notes = rows.filter((row) => row.note).map((row) => `- ${row.scenario}, ${row.metric}: ${row.note}`);
  const noteText = notes.length ? `\n\n${notes.join('\n')}` : '';
  const missing = info.missing.length ? `\n\nNot measured in this run: ${info.missing.join(', ')}.\n` : '\n';
  return head + lines.join('\n') + noteText + missing;
}

/** Writes `latest.json` and `latest.md` into `dir` (default `bench/results/`); returns the folder. */
export async function writeResults(json: unknown, md: string, dir = fileURLToPath(new URL('../results/', import.meta.url))): Promise<string> {
  dir = dir.endsWith('/') ? dir : `${dir}/`;
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}latest.json`, `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(`${dir}latest.md`, md);
  return dir;
}
