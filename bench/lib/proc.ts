import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
// A smoke run (`BENCH_PIN=off`, set by run.ts) measures nothing: pinning would only make its
// processes start one after another on the one core they share.
const pinning = () => hasTaskset && process.env.BENCH_PIN !== 'off';

/**
 * Core 0 for servers, core 1 for load clients (when the machine and `taskset` allow); `'all'`
 * leaves a process unpinned, for scenarios without load clients that compare whole-machine figures.
 */
export type Core = 0 | 1 | 'all';

export interface Child {
  proc: ChildProcess;
  /** Resolves with the next IPC message of `type` (rejects on exit or timeout). */
  next<T = Record<string, unknown>>(type: string, timeoutMs?: number): Promise<T>;
  send(message: unknown): void;
  stop(): Promise<void>;
}

/**
 * The V8 flags `npm start` and `npm run worker` run with (package.json; docs/operations.md says
 * why), given to every benchmark process, ours and the baselines alike, so both sides run on the
 * same runtime settings. `BENCH_NODE_FLAGS` adds more to all of them, for a diagnosis
 * (`--trace-gc`, say).
 */
export const NODE_FLAGS = ['--max-semi-space-size=32', '--no-allocation-site-pretenuring'];
const extraFlags = () => (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

/**
 * Starts `node --import tsx bench/<script>` (with `NODE_FLAGS`) with an IPC channel, pinned to `core` through
 * `taskset` where it exists (the IPC fd survives taskset's exec), silently unpinned otherwise
 * (and with `'all'`).
 */
export function startChild(script: string, core: Core, env: Record<string, string> = {}, args: string[] = []): Child {
  const file = fileURLToPath(new URL(`../${script}`, import.meta.url));
  const nodeArgs = [...NODE_FLAGS, ...extraFlags(), '--import', 'tsx', file, ...args];
  const [command, argv] = pinning() && core !== 'all' ? ['taskset', ['-c', String(core), process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const proc = spawn(command, argv as string[], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } });
  const queue: Array<Record<string, unknown>> = [];
  const waiters: Array<{ type: string; resolve: (m: never) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  let exited: Error | null = null;
  const flush = () => {
    for (let w = 0; w < waiters.length; w++) {
      const waiter = waiters[w]!;
      const index = queue.findIndex((m) => m.type === waiter.type || m.type === 'error');
      if (index >= 0) {
        const [message] = queue.splice(index, 1);
        waiters.splice(w--, 1);
        clearTimeout(waiter.timer);
        if (message!.type === 'error') waiter.reject(new Error(`${script}: ${String(message!.message)}`));
        else waiter.resolve(message as never);
      } else if (exited) {
        waiters.splice(w--, 1);
        clearTimeout(waiter.timer);
        waiter.reject(exited);
      }
    }
  };
  proc.on('message', (message) => {
    queue.push(message as Record<string, unknown>);
    flush();
  });
  proc.on('exit', (code, signal) => {
    exited = new Error(`${script} exited (${code ?? signal})`);
    flush();
  });
  return {
    proc,
    next<T>(type: string, timeoutMs = 60_000) {
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${script}: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ type, resolve: resolve as (m: never) => void, reject, timer });
        flush();
      });
    },
    send(message) {
      proc.send(message as never);
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
    },
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The `q` quantile (0..1) of `values`, nearest rank. */
export function quantile(values: number[], q: number): number {
  return nearestRank(
    [...values].sort((a, b) => a - b),
    q,
  );
}

/** The `q` quantile (0..1) of values already sorted ascending, nearest rank; NaN when empty. */
export function nearestRank(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}
