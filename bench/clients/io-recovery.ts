/**
 * Scenario 4's load client (real `socket.io-client`, websocket transport, reconnection on after
 * the given delay ± 50 %). Each socket authenticates with its token and joins the course; on reconnection
 * it checks `socket.recovered` and joins again only when the session was not recovered.
 *
 * IPC in → out:
 * - `{type:'connect', url, sockets: [{token, join}], event, reconnectDelayMs}` → `{type:'connected'}`;
 * - `{type:'listen', run, count}` → `{type:'listening'}`: records, per socket and `seq` of that
 *   run's `event`s, when it first arrived (hrtime, CLOCK_MONOTONIC like the server's `sentAt` stamps);
 * - `{type:'drop', fraction}` → `{type:'dropped', sockets}`: every (1/fraction)-th socket loses
 *   its transport (`socket.io.engine.close()`), as on a network cut; it reconnects after the delay;
 * - `{type:'finish', sentAt, idleMs, maxMs}` → `{type:'result', ...}` once every socket has every
 *   `seq`, or nothing arrived (and no socket came back) for `idleMs`, or `maxMs` passed
 *   (`sentAt[seq]` is the server's stamp of each broadcast).
 *
 * For a dropped socket, the events it missed are the seqs it had not received before the drop
 * and that were sent before it was connected again; those that arrive after the drop were
 * replayed by connection state recovery. Latency counts live deliveries only (not replays).
 */
import { io as connect, type Socket } from 'socket.io-client';
import { nearestRank } from '../lib/proc.js';
import { inBatches, joinCourse } from './connecting.js';

interface Spec {
  token: string;
  join: string;
}

interface Tracked {
  socket: Socket;
  spec: Spec;
  /** Arrival (ms after the run's base) of each seq; NaN until it arrives. */
  arrivedMs: Float64Array;
  droppedAtMs: number | null;
  /** First connection after the drop. */
  backAtMs: number | null;
  recovered: boolean | null;
  /** Disconnections nobody asked for (ping timeouts and the like). */
  unplanned: number;
}

/**
 * socket.io-client's default: each reconnection waits the delay ± 50 %, so sockets cut at once do
 * not all come back in the same millisecond (real clients do not either).
 */
const RECONNECT_JITTER = 0.5;

let tracked: Tracked[] = [];
let base = process.hrtime.bigint();
let current: { run: number; count: number } | null = null;
let missing = 0;
let duplicates = 0;
/** `performance.now()` of the last arrival or reconnection: progress, for `finish`. */
let progressAt = performance.now();

const sinceBaseMs = (at: bigint) => Number(at - base) / 1e6;

function onEvent(entry: Tracked, payload: { run?: number; seq?: number }) {
  const now = process.hrtime.bigint();
  if (!current || payload.run !== current.run || typeof payload.seq !== 'number' || payload.seq < 0 || payload.seq >= current.count) return;
  if (!Number.isNaN(entry.arrivedMs[payload.seq]!)) {
    duplicates++;
    return;
  }
  entry.arrivedMs[payload.seq] = sinceBaseMs(now);
  missing--;
  progressAt = performance.now();
}

async function open(url: string, specs: Spec[], event: string, reconnectDelayMs: number) {
  await inBatches(
    specs,
    (spec) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect(url, {
          transports: ['websocket'],
          auth: { token: spec.token },
          timeout: 20_000,
          reconnection: true,
          reconnectionDelay: reconnectDelayMs,
          // Above the jitter, which `reconnectionDelayMax` would otherwise cut off.
          reconnectionDelayMax: reconnectDelayMs * (1 + RECONNECT_JITTER),
          randomizationFactor: RECONNECT_JITTER,
        });
        const entry: Tracked = { socket, spec, arrivedMs: new Float64Array(0), droppedAtMs: null, backAtMs: null, recovered: null, unplanned: 0 };
        tracked.push(entry);
        socket.once('connect_error', (error) => {
          socket.disconnect();
          reject(error);
        });
        socket.once('connect', () => {
          joinCourse(socket, spec.join).then(resolve, reject);
          socket.on('connect', () => reconnected(entry));
          socket.on('disconnect', () => {
            if (entry.droppedAtMs === null) entry.unplanned++;
          });
        });
        socket.on(event, (payload) => onEvent(entry, payload));
      }),
  );
}

function reconnected(entry: Tracked) {
  // Not recovered: a fresh session, in no room; the student joins the course again.
  if (!entry.socket.recovered) joinCourse(entry.socket, entry.spec.join).catch(() => undefined);
  progressAt = performance.now();
  if (entry.droppedAtMs === null || entry.backAtMs !== null) return;
  entry.backAtMs = sinceBaseMs(process.hrtime.bigint());
  entry.recovered = entry.socket.recovered;
}

function listen(run: number, count: number) {
  base = process.hrtime.bigint();
  current = { run, count };
  missing = count * tracked.length;
  duplicates = 0;
  for (const entry of tracked) {
    entry.arrivedMs = new Float64Array(count).fill(NaN);
    entry.droppedAtMs = null;
    entry.backAtMs = null;
    entry.recovered = null;
    entry.unplanned = 0;
  }
}

function drop(fraction: number): number {
  const every = Math.max(1, Math.round(1 / fraction));
  const now = sinceBaseMs(process.hrtime.bigint());
  let dropped = 0;
  for (let index = 0; index < tracked.length; index += every) {
    const entry = tracked[index]!;
    entry.droppedAtMs = now;
    entry.socket.io.engine.close();
    dropped++;
  }
  return dropped;
}

async function finish(sentAtStamps: string[], idleMs: number, maxMs: number) {
  const deadline = performance.now() + maxMs;
  const settled = () => missing === 0 && tracked.every((entry) => entry.droppedAtMs === null || entry.backAtMs !== null);
  progressAt = Math.max(progressAt, performance.now());
  while (!settled() && performance.now() < deadline && performance.now() - progressAt < idleMs) await new Promise((resolve) => setTimeout(resolve, 25));
  const sentMs = sentAtStamps.map((stamp) => sinceBaseMs(BigInt(stamp)));
  const latencies: number[] = [];
  let delivered = 0;
  let lastMs = -Infinity;
  let missed = 0;
  let replayed = 0;
  let lostLive = 0;
  let dropped = 0;
  let back = 0;
  let recovered = 0;
  let unplanned = 0;
  for (const entry of tracked) {
    unplanned += entry.unplanned;
    const droppedAt = entry.droppedAtMs ?? Infinity;
    const backAt = entry.backAtMs ?? Infinity;
    if (entry.droppedAtMs !== null) {
      dropped++;
      if (entry.backAtMs !== null) back++;
      if (entry.recovered) recovered++;
    }
    for (let seq = 0; seq < sentMs.length; seq++) {
      const arrived = entry.arrivedMs[seq]!;
      const received = !Number.isNaN(arrived);
      if (received) {
        delivered++;
        lastMs = Math.max(lastMs, arrived);
      }
      // Missed: not there before the drop, and sent before the socket was connected again.
      if (!(received && arrived < droppedAt) && sentMs[seq]! < backAt && entry.droppedAtMs !== null) {
        missed++;
        if (received) replayed++;
        continue;
      }
      if (!received) lostLive++;
      else latencies.push(arrived - sentMs[seq]!);
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    type: 'result',
    delivered,
    expected: sentMs.length * tracked.length,
    duplicates,
    lastAt: (base + BigInt(Math.round(Number.isFinite(lastMs) ? lastMs * 1e6 : 0))).toString(),
    p50Ms: nearestRank(latencies, 0.5),
    p99Ms: nearestRank(latencies, 0.99),
    dropped,
    back,
    recovered,
    missed,
    replayed,
    lostLive,
    unplanned,
  };
}

process.on(
  'message',
  (message: {
    type: string;
    url: string;
    sockets: Spec[];
    reconnectDelayMs: number;
    event: string;
    run: number;
    count: number;
    fraction: number;
    sentAt: string[];
    idleMs: number;
    maxMs: number;
  }) => {
    const fail = (error: Error) => process.send!({ type: 'error', message: error.stack ?? String(error) });
    if (message.type === 'connect')
      open(message.url, message.sockets, message.event, message.reconnectDelayMs).then(() => process.send!({ type: 'connected' }), fail);
    if (message.type === 'listen') {
      listen(message.run, message.count);
      process.send!({ type: 'listening' });
    }
    if (message.type === 'drop') process.send!({ type: 'dropped', sockets: drop(message.fraction) });
    if (message.type === 'finish') finish(message.sentAt, message.idleMs, message.maxMs).then((result) => process.send!(result), fail);
    if (message.type === 'close') {
      for (const entry of tracked) entry.socket.disconnect();
      tracked = [];
      process.send!({ type: 'closed' });
    }
  },
);
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
