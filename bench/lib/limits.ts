import { spawnSync } from 'node:child_process';
import type { Child } from './proc.js';

/** This process's hard limit on open files (what a child may raise its soft limit to), or null. */
function hardFileLimit(): number | null {
  const result = spawnSync('prlimit', ['--pid', String(process.pid), '--nofile', '--output=HARD', '--noheadings', '--raw'], { encoding: 'utf8' });
  const hard = result.status === 0 ? result.stdout.trim() : '';
  return /^\d+$/.test(hard) ? Number(hard) : null;
}

/**
 * Raises a child's soft limit on open files to the hard one, so thousands of sockets fit in one
 * server or client process. Done from outside with `prlimit --pid` right after the spawn, which
 * leaves `startChild`'s `taskset` pinning and IPC channel as they are (an rlimit survives the
 * exec of taskset into node, and the child opens no sockets before it reports `ready`).
 * Returns the limit set, or null where `prlimit` is missing (the inherited limit stays).
 */
export function raiseFileLimit(child: Child): number | null {
  const hard = hardFileLimit();
  if (hard === null || child.proc.pid === undefined) return null;
  const result = spawnSync('prlimit', ['--pid', String(child.proc.pid), `--nofile=${hard}:${hard}`]);
  return result.status === 0 ? hard : null;
}
