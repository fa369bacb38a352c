/**
 * Socket.IO load client (real `socket.io-client`, websocket transport). IPC in:
 * `{type:'connect', url, sockets: [{token?, room?, join?}]}` → `{type:'connected'}`;
 * `{type:'expect', event, count, timeoutMs, lingerMs?, latencies?}` → `{type:'received', delivered,
 * expected, duplicates, firstAt, lastAt, p50Ms, p99Ms, latenciesMs?}` with `lastAt` an hrtime stamp
 * (CLOCK_MONOTONIC, comparable with the server's). Events are told apart by their payload's `seq`
 * (0 ≤ seq < count, per socket): `delivered` counts each socket's first arrival of each seq,
 * `duplicates` the further ones, counted until every socket has every seq (or the timeout) and
 * then for `lingerMs` more, so that a late second copy is caught too. Latencies are of first
 * arrivals; `latencies: true` returns them all (sorted), for merging several client processes.
 * `{type:'close'}` → `{type:'closed'}`. Connects in bounded batches; every wait is bounded.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { nearestRank } from '../lib/proc.js';
import { inBatches, joinCourse } from './connecting.js';

let sockets: Socket[] = [];

async function open(url: string, specs: Array<{ token?: string; room?: string; join?: string }>) {
  await inBatches(specs, async (spec) => {
    const socket = connect(url, { transports: ['websocket'], reconnection: false, auth: { token: spec.token, room: spec.room }, timeout: 20_000 });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect_error', reject);
      socket.once('connect', () => resolve());
    });
    if (spec.join) await joinCourse(socket, spec.join);
  });
}

function expect(event: string, count: number, timeoutMs: number, lingerMs = 0, keepLatencies = false) {
  return new Promise<Record<string, unknown>>((resolve) => {
    const expected = count * sockets.length;
    let delivered = 0;
    let duplicates = 0;
    let firstAt = 0n;
    let lastAt = 0n;
    const latencies: number[] = [];
    // One byte per socket and seq: whether it arrived.
    const seen = new Uint8Array(expected);
    const listeners = sockets.map((_, index) => (payload: { sentAt: string; seq?: unknown }) => onEvent(index, payload));
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sockets.forEach((socket, index) => socket.off(event, listeners[index]));
      latencies.sort((a, b) => a - b);
      resolve({
        type: 'received',
        delivered,
        expected,
        duplicates,
        firstAt: firstAt.toString(),
        lastAt: lastAt.toString(),
        p50Ms: nearestRank(latencies, 0.5),
        p99Ms: nearestRank(latencies, 0.99),
        ...(keepLatencies ? { latenciesMs: latencies } : {}),
      });
    };
    let timer = setTimeout(finish, timeoutMs);
    function onEvent(index: number, payload: { sentAt: string; seq?: unknown }) {
      const now = process.hrtime.bigint();
      const seq = payload.seq;
      // Payloads without a usable seq count as first arrivals (they cannot be told apart).
      if (typeof seq === 'number' && Number.isInteger(seq) && seq >= 0 && seq < count) {
        if (seen[index * count + seq]) {
          duplicates++;
          return;
        }
        seen[index * count + seq] = 1;
      }
      if (!firstAt) firstAt = now;
      lastAt = now;
      latencies.push(Number(now - BigInt(payload.sentAt)) / 1e6);
      if (++delivered === expected) {
        clearTimeout(timer);
        if (lingerMs > 0) timer = setTimeout(finish, lingerMs);
        else finish();
      }
    }
    sockets.forEach((socket, index) => socket.on(event, listeners[index]!));
    process.send!({ type: 'listening' });
  });
}

process.on(
  'message',
  (message: {
    type: string;
    url: string;
    sockets: Array<{ token?: string; room?: string; join?: string }>;
    event: string;
    count: number;
    timeoutMs: number;
    lingerMs?: number;
    latencies?: boolean;
  }) => {
    const fail = (error: Error) => process.send!({ type: 'error', message: error.stack ?? String(error) });
    if (message.type === 'connect') open(message.url, message.sockets).then(() => process.send!({ type: 'connected' }), fail);
    if (message.type === 'expect')
      expect(message.event, message.count, message.timeoutMs, message.lingerMs, message.latencies).then((result) => process.send!(result), fail);
    if (message.type === 'close') {
      for (const socket of sockets) socket.disconnect();
      sockets = [];
      process.send!({ type: 'closed' });
    }
  },
);
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
