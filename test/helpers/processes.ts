import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr), for failure messages. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs an entry file of this project the way its npm script does (`node --import tsx <file>`),
 * without npm in between, so that signals reach the process itself.
 */
export function spawnEntry(file: string, env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: projectRoot,
    // tap's processinfo follows child processes; their coverage of a file would replace the
    // in-process coverage of the same file, so children report none.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}
