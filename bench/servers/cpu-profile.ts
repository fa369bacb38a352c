/**
 * `node --cpu-prof` for a benchmark server, which `startChild` cannot pass (and NODE_OPTIONS does
 * not allow): with `BENCH_CPU_PROF_DIR` set, profiles the process through the inspector from the
 * start until `stop()` and writes `<dir>/<name>-<pid>.cpuprofile` (open it in Chrome DevTools or
 * speedscope). Without it, does nothing.
 */
import { Session } from 'node:inspector/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function startCpuProfile(name: string): Promise<{ stop(): Promise<void> } | null> {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  if (!dir) return null;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    },
  };
}
