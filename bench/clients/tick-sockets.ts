/**
 * Scenario 1(b) load client (real `socket.io-client`, websocket transport). It listens to
 * `quiz:tick` on every socket from the moment it connects and keeps, per attempt, the hrtime of
 * its last tick, so the first tick of a window has a predecessor.
 *
 * IPC in / out:
 * - `{type:'connect', url, sockets: [{attemptId, token?, room?, deadline?}]}` → `{type:'connected'}`
 *   (bounded batches; `token` for the app, `room`/`attemptId`/`deadline` in `auth` for the baseline).
 * - `{type:'measure', warmTicks, ticks, timeoutMs}`: waits until every attempt had `warmTicks`
 *   ticks (steady ticking), sends `{type:'window'}` and counts until every attempt had `ticks`
 *   more (or the timeout) → `{type:'ticks', delivered, expected, p50Ms, p99Ms, jitterP50Ms,
 *   jitterP99Ms, intervals}`. A lost tick shows as a gap of about two seconds: it counts as
 *   expected-but-missing, and the interval is judged against the two seconds it spans, so the
 *   loss is reported once (in delivered), not again as jitter.
 * - `{type:'close'}` → disconnects every socket → `{type:'closed'}`.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { nearestRank } from '../lib/proc.js';
import { inBatches } from './connecting.js';

interface Spec {
  attemptId: string;
  token?: string;
  room?: string;
  deadline?: string;
}

let sockets: Socket[] = [];
let attemptIds: string[] = [];
/** attemptId → hrtime (ns) of its last tick. */
const last = new Map<string, bigint>();
let onTick: ((attemptId: string, now: bigint, sentAt: bigint) => void) | null = null;

function tick(payload: { attemptId: string; sentAt?: string }) {
  const now = process.hrtime.bigint();
  onTick?.(payload.attemptId, now, payload.sentAt ? BigInt(payload.sentAt) : now);
  last.set(payload.attemptId, now);
}

async function open(url: string, specs: Spec[]) {
  attemptIds = specs.map((spec) => spec.attemptId);
  await inBatches(
    specs,
    (spec) =>
      new Promise<void>((resolve, reject) => {
        const auth = spec.token ? { token: spec.token } : { room: spec.room, attemptId: spec.attemptId, deadline: spec.deadline };
        const socket = connect(url, { transports: ['websocket'], reconnection: false, auth, timeout: 20_000 });
        sockets.push(socket);
        socket.on('quiz:tick', tick);
        socket.once('connect_error', (error) => reject(error));
        socket.once('connect', () => resolve());
      }),
  );
}

function measure(warmTicks: number, ticks: number, timeoutMs: number) {
  return new Promise<Record<string, unknown>>((resolve) => {
    const deadline = setTimeout(() => finish(), timeoutMs);
    const counts = new Map<string, number>();
    let reached = 0;
    let inWindow = false;
    let windowStart = 0n;
    const latencies: number[] = [];
    const jitters: number[] = [];
    let delivered = 0;
    let missed = 0;
    const first = new Map<string, bigint>();
    const lastInWindow = new Map<string, bigint>();

    onTick = (attemptId, now, sentAt) => {
      const count = (counts.get(attemptId) ?? 0) + 1;
      counts.set(attemptId, count);
      if (!inWindow) {
        if (count === warmTicks && ++reached === attemptIds.length) {
          inWindow = true;
          windowStart = process.hrtime.bigint();
          counts.clear();
          reached = 0;
          process.send!({ type: 'window' });
        }
        return;
      }
      delivered++;
      latencies.push(Number(now - sentAt) / 1e6);
      if (!first.has(attemptId)) first.set(attemptId, now);
      lastInWindow.set(attemptId, now);
      const previous = last.get(attemptId);
      if (previous !== undefined) {
        const interval = Number(now - previous) / 1e6;
        const periods = Math.max(1, Math.round(interval / 1000));
        missed += periods - 1;
        jitters.push(Math.abs(interval - 1000 * periods));
      }
      if (count === ticks && ++reached === attemptIds.length) finish();
    };

    function finish() {
      clearTimeout(deadline);
      onTick = null;
      const windowEnd = process.hrtime.bigint();
      if (!inWindow) windowStart = windowEnd;
      const windowMs = Number(windowEnd - windowStart) / 1e6;
      for (const attemptId of attemptIds) {
        const start = first.get(attemptId);
        // An attempt that never ticked in the window missed all of it. The head of the window is
        // covered by the interval from the warm-up's last tick; a tail longer than a second (plus
        // 100 ms of lateness) means ticks went missing there (the window only ends that way on timeout).
        if (start === undefined) missed += Math.max(1, Math.floor(windowMs / 1000));
        else missed += Math.floor(Math.max(0, Number(windowEnd - lastInWindow.get(attemptId)!) / 1e6 - 100) / 1000);
      }
      latencies.sort((a, b) => a - b);
      jitters.sort((a, b) => a - b);
      resolve({
        type: 'ticks',
        inWindow,
        windowMs,
        delivered,
        expected: delivered + missed,
        p50Ms: nearestRank(latencies, 0.5),
        p99Ms: nearestRank(latencies, 0.99),
        jitterP50Ms: nearestRank(jitters, 0.5),
        jitterP99Ms: nearestRank(jitters, 0.99),
        jitterMaxMs: jitters.at(-1) ?? NaN,
        intervals: jitters.length,
      });
    }
  });
}

process.on('message', (message: { type: string; url: string; sockets: Spec[]; warmTicks: number; ticks: number; timeoutMs: number }) => {
  const fail = (error: Error) => process.send!({ type: 'error', message: error.stack ?? String(error) });
  if (message.type === 'connect') open(message.url, message.sockets).then(() => process.send!({ type: 'connected' }), fail);
  if (message.type === 'measure') measure(message.warmTicks, message.ticks, message.timeoutMs).then((result) => process.send!(result), fail);
  if (message.type === 'close') {
    for (const socket of sockets) socket.disconnect();
    sockets = [];
    last.clear();
    process.send!({ type: 'closed' });
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
