import t from '../helpers/tap.js';
import { createTestEnv } from '../helpers/app.js';
import { spawnEntry } from '../helpers/processes.js';
import type { Test } from 'tap';

interface Threads {
  pid: number;
  before: Array<[tid: number, nice: number]>;
  after: Array<[tid: number, nice: number]>;
}

/** Starts the worker thread of `npm start` in a child process (test/workers/fixtures/thread-nice.ts) and reads its threads' priorities. */
async function threadsWith(t: Test, name: string, nice: string): Promise<Threads & { started: Array<[number, number]> }> {
  const env = await createTestEnv(t, name, { WORKER_THREAD_NICE: nice, SWEEP_INTERVAL_MS: '600000' });
  const child = spawnEntry('test/workers/fixtures/thread-nice.ts', env.env);
  const { code } = await child.exited;
  if (code !== 0) throw new Error(`thread-nice.ts exited with ${code}:\n${child.output()}`);
  const threads = JSON.parse(child.output().trim().split('\n').at(-1)!) as Threads;
  const known = new Set(threads.before.map(([tid]) => tid));
  return { ...threads, started: threads.after.filter(([tid]) => !known.has(tid)) };
}

t.test(
  'the worker thread of npm start and its render thread run at WORKER_THREAD_NICE; the API thread does not',
  { skip: process.platform !== 'linux' && 'Linux only' },
  async (t) => {
    const { pid, before, after, started } = await threadsWith(t, 'thread-nice', '7');
    const lowered = started.filter(([, nice]) => nice === 7);
    // The workers' thread, and the render thread it starts at once (certificates warm it up).
    t.ok(lowered.length >= 2, `${lowered.length} new threads at nice 7 (new threads: ${started.map(([, nice]) => nice).join(', ')})`);
    const main = (list: Array<[number, number]>) => list.find(([tid]) => tid === pid)?.[1];
    t.equal(main(after), main(before), 'the main thread keeps its priority');
    t.equal(main(before), 0);
  },
);

t.test('WORKER_THREAD_NICE=0 leaves the worker thread alone', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const { started } = await threadsWith(t, 'thread-nice-0', '0');
  t.ok(started.length >= 2);
  t.ok(
    started.every(([, nice]) => nice === 0),
    'every new thread at nice 0',
  );
});
