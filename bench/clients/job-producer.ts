/**
 * Scenario 7 producer, in the load client process: on a shared schedule (see pace.ts) either
 * adds `progress` jobs the way the product does — `Queues.add('progress', …)` with
 * the contract's add options (deduplication per enrollment, keeping the last if active) — whose data
 * carries a `process.hrtime.bigint()` stamp taken just before the add, or, for the baseline,
 * `LPUSH`es such a stamp onto a bare list. IPC in: `{type:'run', mode:'bullmq'|'raw', startAt,
 * offsetsMs, enrollmentIds, key, timeoutMs}` (job i recalculates `enrollmentIds[i]`) → `{type:'done',
 * added, failed, maxLagMs, addP50Ms}` once every add was answered or timed out (`addP50Ms`: how long
 * an add took to be acknowledged, the producer's share of add→start).
 */
import { loadConfig } from '../../server/config/config.js';
import { createQueueRedis } from '../../server/platform/redis.js';
import type { ProgressPayload } from '../../server/platform/queues/contract.js';
import { Queues } from '../../server/platform/queues/queues.js';
import { quantile } from '../lib/proc.js';
import { pace } from './pace.js';

const config = loadConfig(process.env);
const connection = createQueueRedis(config);
const queues = new Queues(config, connection);

interface Run {
  mode: 'bullmq' | 'raw';
  startAt: string;
  offsetsMs: number[];
  enrollmentIds: string[];
  key: string;
  timeoutMs: number;
}

/** Resolves true once `promise` fulfils (recording how long that took), false on rejection or timeout. */
function withTimeout(promise: Promise<unknown>, ms: number, sentAt: bigint, addMs: number[]): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => {
        addMs.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
        return true;
      },
      () => false,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function run(options: Run) {
  const adds: Array<Promise<boolean>> = [];
  const addMs: number[] = [];
  const { maxLagMs } = await pace(
    BigInt(options.startAt),
    options.offsetsMs,
    (index) => {
      const stamp = process.hrtime.bigint();
      const sentAt = stamp.toString();
      if (options.mode === 'raw') {
        adds.push(withTimeout(connection.lpush(options.key, sentAt), options.timeoutMs, stamp, addMs));
        return;
      }
      // The product's payload plus the stamp (the processor ignores what it does not know).
      const data = { enrollmentId: options.enrollmentIds[index]!, sentAt } as ProgressPayload;
      adds.push(withTimeout(queues.add('progress', data), options.timeoutMs, stamp, addMs));
    },
    options.timeoutMs,
  );
  const results = await Promise.all(adds);
  const added = results.filter(Boolean).length;
  return { type: 'done', added, failed: options.offsetsMs.length - added, maxLagMs, addP50Ms: quantile(addMs, 0.5) };
}

process.on('message', (message: Run & { type: string }) => {
  if (message.type !== 'run') return;
  run(message).then(
    (result) => process.send!(result),
    (error: Error) => process.send!({ type: 'error', message: error.stack }),
  );
});
process.on('disconnect', () => {
  void queues.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
process.send!({ type: 'ready' });
