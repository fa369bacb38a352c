import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Test } from 'tap';
import { setFileTest } from '../helpers/tap.js';

/**
 * Which test files share a process. tap runs each file it is given in a process of its own, and
 * a process costs about 3 s of CPU before its first test (tap's loader and coverage, and some
 * 1,650 modules for the app): on the two cores CI has, that was a third of the suite. So the
 * files of most folders run one after another in one process per group
 * (`test/groups/<name>.test.ts`), each in a subtest of its own with its own database and Redis
 * prefix as before; teardowns run at the end of each file's subtest. A file still runs alone with
 * `npx tap <file>`. The README's "Test it" and docs/architecture.md (`test/`) say the same.
 *
 * Folders under `test/` whose files run grouped; `shard: [k, n]` takes every n-th file (sorted),
 * starting at the k-th, so that a long folder spreads over n processes.
 */
export const GROUPS: Record<string, { folders: string[]; shard?: [number, number] }> = {
  unit: { folders: ['domain', 'platform', 'config', 'entities', 'suite'] },
  'modules-1': { folders: ['modules/live-sessions', 'modules/quizzes'] },
  'modules-2': { folders: ['modules/auth', 'modules/courses', 'modules/attempts', 'modules/progress'] },
  'modules-3': { folders: ['modules/regrades', 'modules/certificates', 'modules/users', 'modules/files', 'modules/overrides'] },
  'realtime-1': { folders: ['realtime'], shard: [1, 2] },
  'realtime-2': { folders: ['realtime'], shard: [2, 2] },
  'server-1': { folders: ['server'], shard: [1, 2] },
  'server-2': { folders: ['server'], shard: [2, 2] },
  'workers-1': { folders: ['workers'], shard: [1, 2] },
  'workers-2': { folders: ['workers'], shard: [2, 2] },
};

/**
 * Folders whose files each run in a process of their own, as `.taprc` includes them: the
 * benchmark smoke runs, the multi-process tests (each tens of seconds of child processes) and the
 * web app's (a browser).
 */
export const SOLO_FOLDERS = ['bench', 'multi', 'web'];

const testRoot = fileURLToPath(new URL('../', import.meta.url));

/** Every test file under `test/`, as a path from the repository's root (`test/…`), sorted. */
export async function allTestFiles(): Promise<string[]> {
  const entries = await readdir(testRoot, { recursive: true });
  return entries
    .filter((entry) => entry.endsWith('.test.ts'))
    .map((entry) => `test/${entry.split('\\').join('/')}`)
    .sort();
}

/** The files of group `name`, in the order they run. */
export async function groupFiles(name: string, files?: string[]): Promise<string[]> {
  const group = GROUPS[name];
  if (!group) throw new Error(`no test group ${name}`);
  const inFolders = (files ?? (await allTestFiles())).filter((file) => group.folders.some((folder) => file.startsWith(`test/${folder}/`)));
  if (!group.shard) return inFolders;
  const [k, n] = group.shard;
  return inFolders.filter((_, i) => i % n === k - 1);
}

/**
 * Runs the files of group `name` one after another, each in a subtest named after the file: the
 * file's top-level `t` (test/helpers/tap.ts) is that subtest from its loading to its end, so its
 * subtests and teardowns belong to it.
 */
export async function runGroup(t: Test, name: string): Promise<void> {
  await runFiles(t, await groupFiles(name));
}

/** `runGroup` for any files (paths from the repository's root). */
export async function runFiles(t: Test, files: string[]): Promise<void> {
  for (const file of files) {
    // Until the next file starts: the file's functions may use its top-level `t` in its subtests.
    await t.test(file, async (sub) => {
      setFileTest(sub);
      await import(pathToFileURL(`${testRoot}../${file}`).href);
    });
  }
  setFileTest(undefined);
}
