/**
 * `npx tsx bench/heap-diff.ts --per=N BEFORE AFTER [BEFORE2 AFTER2]`: what each of N things added
 * between two heap snapshots of one process keeps, by retaining edge (`lib/heap-diff.ts`); with a
 * second pair (another tree, or the baseline), both side by side, ordered by their difference.
 * Scenario 3 writes snapshots at its readings with `BENCH_HEAP_SNAPSHOT_DIR` (docs/benchmarks.md).
 * `--top=K` rows (40).
 */
import { readFile } from 'node:fs/promises';
import { countRetainingEdges, edgeGrowth, type EdgeGrowth, type HeapSnapshot } from './lib/heap-diff.js';

const option = (name: string) => process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const per = Number(option('per') ?? 1);
const top = Number(option('top') ?? 40);
const files = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
if (!(per > 0) || !(top > 0) || (files.length !== 2 && files.length !== 4)) {
  console.error('usage: tsx bench/heap-diff.ts --per=N [--top=K] BEFORE AFTER [BEFORE2 AFTER2]');
  process.exit(64);
}

const counts = async (file: string) => countRetainingEdges(JSON.parse(await readFile(file, 'utf8')) as HeapSnapshot);
const growth = async (before: string, after: string) => edgeGrowth(await counts(before), await counts(after), per);
const fmt = (row: EdgeGrowth | undefined) => `${(row?.count ?? 0).toFixed(2).padStart(7)} ${(row?.bytes ?? 0).toFixed(0).padStart(6)} B`;
const total = (rows: EdgeGrowth[]) => rows.reduce((sum, row) => sum + row.bytes, 0).toFixed(0);

const first = await growth(files[0]!, files[1]!);
if (files.length === 2) {
  console.log(`per unit: ${total(first)} B in all (edges, bytes)`);
  for (const row of first.slice(0, top)) console.log(`${fmt(row)}  ${row.key}`);
} else {
  const second = new Map((await growth(files[2]!, files[3]!)).map((row) => [row.key, row]));
  const byKey = new Map(first.map((row) => [row.key, row]));
  const keys = [...new Set([...byKey.keys(), ...second.keys()])];
  const change = (key: string) => (second.get(key)?.bytes ?? 0) - (byKey.get(key)?.bytes ?? 0);
  keys.sort((a, b) => Math.abs(change(b)) - Math.abs(change(a)) || a.localeCompare(b));
  console.log(`per unit: first ${total(first)} B, second ${total([...second.values()])} B in all`);
  console.log(`${'first'.padStart(16)} ${'second'.padStart(16)} ${'change'.padStart(8)}`);
  for (const key of keys.slice(0, top)) console.log(`${fmt(byKey.get(key))} ${fmt(second.get(key))} ${change(key).toFixed(0).padStart(6)} B  ${key}`);
}
