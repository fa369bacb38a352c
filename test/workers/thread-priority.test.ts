import t from 'tap';
import { readdir, readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { createTestEnv } from '../helpers/app.js';
import { WorkerThread } from '../../server/platform/worker-thread.js';

/** Nice value of each thread of this process, by thread id (Linux `/proc/self/task/<tid>/stat`, field 19). */
async function niceByThread(): Promise<Map<number, number>> {
  const result = new Map<number, number>();
  for (const tid of await readdir('/proc/self/task')) {
    const stat = await readFile(`/proc/self/task/${tid}/stat`, 'utf8').catch(() => null);
    if (!stat) continue; // a thread that ended meanwhile
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    result.set(Number(tid), Number(fields[16]));
  }
  return result;
}

t.test(
  'the worker thread of npm start and its render thread run at WORKER_THREAD_NICE; the API thread does not',
  { skip: process.platform !== 'linux' && 'Linux only' },
  async (t) => {
    const { config } = await createTestEnv(t, 'thread-nice', { WORKER_THREAD_NICE: '7', SWEEP_INTERVAL_MS: '600000' });
    const before = await niceByThread();
    const workers = new WorkerThread(new URL('../../workers/thread.ts', import.meta.url), config, pino({ level: 'silent' }));
    t.teardown(() => workers.close(10_000));
    await workers.ready();
    const after = await niceByThread();
    const started = [...after].filter(([tid]) => !before.has(tid));
    const lowered = started.filter(([, nice]) => nice === 7);
    // The workers' thread, and the render thread it starts at once (certificates warm it up).
    t.ok(lowered.length >= 2, `${lowered.length} new threads at nice 7 (new threads: ${started.map(([, nice]) => nice).join(', ')})`);
    t.equal(after.get(process.pid), before.get(process.pid), 'the main thread keeps its priority');
    t.equal(before.get(process.pid), 0);
  },
);

t.test('WORKER_THREAD_NICE=0 leaves the worker thread alone', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const { config } = await createTestEnv(t, 'thread-nice-0', { WORKER_THREAD_NICE: '0', SWEEP_INTERVAL_MS: '600000' });
  const before = await niceByThread();
  const workers = new WorkerThread(new URL('../../workers/thread.ts', import.meta.url), config, pino({ level: 'silent' }));
  t.teardown(() => workers.close(10_000));
  await workers.ready();
  const started = [...(await niceByThread())].filter(([tid]) => !before.has(tid));
  t.ok(started.length >= 2);
  t.ok(
    started.every(([, nice]) => nice === 0),
    'every new thread at nice 0',
  );
});
