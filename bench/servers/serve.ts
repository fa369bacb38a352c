import { startCpuProfile } from './cpu-profile.js';

type Start = () => Promise<{ close(): Promise<unknown> } & Record<string, unknown>>;

/**
 * Shared life cycle of a benchmark server process: start, report `ready` over IPC, close on SIGTERM or IPC `stop`.
 * With `cpuProfile`, the process is profiled (cpu-profile.ts, when `BENCH_CPU_PROF_DIR` is set) from the end of
 * `start` until it closes, and the profile written under that name.
 */
export async function serve(...args: [Start] | [{ cpuProfile: string }, Start]): Promise<void> {
  const [options, start] = args.length === 1 ? [{}, args[0]] : args;
  try {
    const { close, ...info } = await start();
    const profile = 'cpuProfile' in options ? await startCpuProfile(options.cpuProfile) : null;
    let closing = false;
    const stop = async () => {
      if (closing) return;
      closing = true;
      await profile?.stop().catch(() => undefined);
      await close().catch(() => undefined);
      process.disconnect?.();
      process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('message', (message: { type?: string }) => {
      if (message.type === 'stop') void stop();
    });
    process.on('disconnect', stop);
    process.send!({ type: 'ready', ...info });
  } catch (error) {
    process.send?.({ type: 'error', message: (error as Error).stack ?? String(error) });
    process.exit(1);
  }
}
