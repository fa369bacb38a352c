import { readFile } from 'node:fs/promises';
import t from '../helpers/tap.js';
import { allTestFiles, GROUPS, groupFiles, runFiles, SOLO_FOLDERS } from '../groups/groups.js';
import { events } from './fixtures/record.js';

// A test file that no group and no `.taprc` include names would silently never run.

const files = await allTestFiles();
const runners = files.filter((file) => file.startsWith('test/groups/'));
const tests = files.filter((file) => !file.startsWith('test/groups/'));

t.test('every test file runs exactly once: in one group, or alone from a solo folder', async (t) => {
  const runs = new Map<string, string[]>(tests.map((file) => [file, []]));
  for (const name of Object.keys(GROUPS)) {
    const inGroup = await groupFiles(name, files);
    t.ok(inGroup.length > 0, `group ${name} has files`);
    for (const file of inGroup) runs.get(file)!.push(`group ${name}`);
  }
  for (const file of tests) {
    const folder = SOLO_FOLDERS.find((solo) => file.startsWith(`test/${solo}/`));
    if (folder) runs.get(file)!.push(`solo ${folder}`);
  }
  const wrong = [...runs].filter(([, by]) => by.length !== 1);
  t.same(wrong, [], 'each file has one way to run');
});

t.test('solo folders hold their test files directly (the include globs are not recursive)', async (t) => {
  const nested = tests.filter((file) => SOLO_FOLDERS.some((folder) => file.startsWith(`test/${folder}/`) && file.split('/').length > 3));
  t.same(nested, []);
});

t.test('each group has its runner file, and each runner runs its own group', async (t) => {
  const expected = Object.keys(GROUPS)
    .map((name) => `test/groups/${name}.test.ts`)
    .sort();
  t.same(runners, expected);
  for (const runner of runners) {
    const name = /test\/groups\/(.+)\.test\.ts$/.exec(runner)![1]!;
    t.match(await readFile(runner, 'utf8'), `runGroup(t, '${name}')`, runner);
  }
});

t.test('.taprc runs the group runners and the solo folders, nothing else', async (t) => {
  const taprc = await readFile('.taprc', 'utf8');
  const include = /^include:\n((?: {2}- .+\n)+)/m.exec(taprc)?.[1];
  t.ok(include, '.taprc has an include list');
  const globs = include!
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/^ {2}- /, ''));
  t.same(globs, ['test/groups/*.test.ts', ...SOLO_FOLDERS.map((folder) => `test/${folder}/*.test.ts`)]);
});

t.test('shards of a folder split its files between them', async (t) => {
  const byFolders = new Map<string, string[][]>();
  for (const [name, group] of Object.entries(GROUPS)) {
    if (!group.shard) continue;
    const key = group.folders.join(',');
    byFolders.set(key, [...(byFolders.get(key) ?? []), await groupFiles(name, files)]);
  }
  for (const [folders, shards] of byFolders) {
    const all = tests.filter((file) => folders.split(',').some((folder) => file.startsWith(`test/${folder}/`)));
    t.same(shards.flat().sort(), all, `${folders}: each file in one shard`);
  }
});

t.test('a group runs its files one after another, each in its own subtest with its own teardowns', async (t) => {
  await runFiles(t, ['test/suite/fixtures/first.ts', 'test/suite/fixtures/second.ts']);
  t.same(events, [
    'first loads in test/suite/fixtures/first.ts',
    "first's subtest runs in first, a subtest",
    'first tears down',
    'second loads in test/suite/fixtures/second.ts',
    "second's subtest runs in second, a subtest",
    'second tears down',
  ]);
});
