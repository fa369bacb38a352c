/**
 * `node --cpu-prof` for a benchmark server, which `startChild` cannot pass (and NODE_OPTIONS does
 * not allow): with `BENCH_CPU_PROF_DIR` set, profiles the process through the inspector from the
 * call until `stop()` (`serve` calls both for a server started with a `cpuProfile` name) and writes `<dir>/<name>-<pid>.cpuprofile` (open it in Chrome DevTools or
 * speedscope). With `BENCH_HEAP_PROF=1` as well, it also writes `<name>-<pid>.heapprofile`: a
 * sampling heap profile that keeps the objects garbage collection freed, i.e. where the process
 * allocated (what its collections cost), not only what is alive at the end; `BENCH_HEAP_PROF=old`
 * leaves out what young collections freed: what reached the old generation (promoted, or allocated
 * there by pretenuring) and the full collections then had to free. Without `BENCH_CPU_PROF_DIR`,
 * does nothing.
 */
import { Session } from 'node:inspector/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function startCpuProfile(name: string): Promise<{ stop(): Promise<void> } | null> {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  if (!dir) return null;
  const session = new Session();
  session.connect();
  const heapMode = process.env.BENCH_HEAP_PROF;
  const heap = heapMode === '1' || heapMode === 'old';
  if (heap) {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: heapMode === '1',
    });
  }
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(profile));
      if (heap) {
        const { profile: sampled } = await session.post('HeapProfiler.stopSampling');
        await writeFile(join(dir, `${name}-${process.pid}.heapprofile`), JSON.stringify(sampled));
      }
      session.disconnect();
    },
  };
}
