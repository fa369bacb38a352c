import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from '../helpers/tap.js';
import { countRetainingEdges, edgeGrowth, type HeapSnapshot } from '../../bench/lib/heap-diff.js';

// The heap-snapshot diff that found what each socket kept (bench/heap-diff.ts): what N added
// objects keep shows per object, under the edge that holds it.

// A bare Node process (not this one, whose heap under tap's loader and coverage takes a minute to
// snapshot) holds 200 objects more in its second snapshot than in its first, each with a closure.
const PROGRAM = `
  const { writeHeapSnapshot } = require('node:v8');
  class HeldThing { constructor(id, onClose) { this.id = id; this.onClose = onClose; } }
  const held = [];
  writeHeapSnapshot(process.argv[1] + '/before.heapsnapshot');
  for (let id = 0; id < 200; id++) held.push(new HeldThing(id, () => id));
  writeHeapSnapshot(process.argv[1] + '/after.heapsnapshot');
`;

const counts = async (file: string) => countRetainingEdges(JSON.parse(await readFile(file, 'utf8')) as HeapSnapshot);

t.test('two snapshots of one process: what each added object keeps, by retaining edge', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'heap-diff-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await promisify(execFile)(process.execPath, ['-e', PROGRAM, dir]);
  const [before, after] = await Promise.all([counts(join(dir, 'before.heapsnapshot')), counts(join(dir, 'after.heapsnapshot'))]);
  const growth = edgeGrowth(before, after, 200);
  const row = (key: string) => growth.find((candidate) => candidate.key === key);

  t.match(row('object:HeldThing .onClose → closure:'), { count: 1 }, 'a closure per object, under its property');
  t.ok(row('object:HeldThing .onClose → closure:')!.bytes >= 32, 'with its size');
  t.match(row('object:Array .[] → object:HeldThing'), { count: 1 }, 'each object, under the array holding it');
  t.equal(row('object:HeldThing .id → number:'), undefined, 'small integers are no objects');
  t.same(edgeGrowth(after, after, 1), [], 'nothing added, nothing shown');
});

t.test('growth is per unit and signed, largest change first', async (t) => {
  const before = new Map<string, [number, number]>([
    ['a .x → object:A', [10, 400]],
    ['b .y → object:B', [5, 100]],
  ]);
  const after = new Map<string, [number, number]>([
    ['a .x → object:A', [20, 800]],
    ['c .z → object:C', [2, 2000]],
  ]);
  t.same(edgeGrowth(before, after, 10), [
    { key: 'c .z → object:C', count: 0.2, bytes: 200 },
    { key: 'a .x → object:A', count: 1, bytes: 40 },
    { key: 'b .y → object:B', count: -0.5, bytes: -10 },
  ]);
});
