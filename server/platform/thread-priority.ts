import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers the OS scheduling priority of the calling thread only (Linux: a thread's nice value is
 * its own, and threads it starts later inherit it), so that when the machine's cores are busy the
 * kernel runs the process's other threads (the API's event loop) first. Returns false where it
 * cannot (not Linux, no `/proc`); raising the nice value needs no privilege.
 */
export function lowerThreadPriority(nice: number): boolean {
  if (nice === 0 || process.platform !== 'linux') return false;
  let tid: number;
  try {
    // `/proc/thread-self` → `<pid>/task/<tid>`: the kernel id of this thread, which `setpriority` takes.
    tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return false;
  }
  setPriority(tid, nice);
  return true;
}
