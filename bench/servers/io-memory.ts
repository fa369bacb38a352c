/**
 * Scenario 3's server: `io-app.ts` (argument `app`) or `io-bare.ts` (`bare`), unchanged, plus a
 * memory probe. Started with `--expose-gc`. IPC in: `{type:'memory', settleMs}` → out
 * `{type:'memory', rss, heapUsed, heapTotal, external}` in bytes, read once the number of open
 * TCP sockets has stopped changing (connections still closing hold memory) and after full GCs
 * with pauses between them (finalisers, freed pages), so what is left is what is still referenced.
 * With `BENCH_HEAP_SNAPSHOT_DIR`, a heap snapshot of each reading is written there (`bench/heap-diff.ts`).
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeHeapSnapshot } from 'node:v8';

const gc = (globalThis as { gc?: () => void }).gc;
const which = process.argv[2];
let readings = 0;

const openSockets = () => process.getActiveResourcesInfo().filter((name) => name === 'TCPSocketWrap').length;

/** Waits until the count of open TCP sockets is the same twice in a row, 100 ms apart (at most `maxMs`). */
async function socketsSettled(maxMs: number): Promise<void> {
  const until = performance.now() + maxMs;
  let last = openSockets();
  while (performance.now() < until) {
    await sleep(100);
    const now = openSockets();
    if (now === last) return;
    last = now;
  }
}

process.on('message', (message: { type?: string; settleMs?: number }) => {
  if (message.type !== 'memory') return;
  void (async () => {
    if (!gc) throw new Error('io-memory.ts needs node --expose-gc');
    await socketsSettled(10_000);
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      gc();
      await sleep((message.settleMs ?? 300) / rounds);
    }
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    // Read before the snapshot, which allocates; snapshots of the readings show what each socket keeps.
    const snapshots = process.env.BENCH_HEAP_SNAPSHOT_DIR;
    if (snapshots) writeHeapSnapshot(join(snapshots, `${which}-${process.pid}-${++readings}.heapsnapshot`));
    process.send!({ type: 'memory', rss, heapUsed, heapTotal, external });
  })().catch((error: Error) => process.send!({ type: 'error', message: error.stack ?? String(error) }));
});

// Imported after the probe's listener is in place; each module runs its server on import.
if (which === 'app') await import('./io-app.js');
else if (which === 'bare') await import('./io-bare.js');
else throw new Error(`io-memory.ts: expected "app" or "bare", got ${String(which)}`);
