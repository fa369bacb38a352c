/**
 * Socket.IO load client (real `socket.io-client`, websocket transport). IPC in:
 * `{type:'connect', url, sockets: [{token?, room?, join?}]}` → `{type:'connected'}`;
 * `{type:'expect', event, count, timeoutMs}` → `{type:'received', delivered, expected,
 * firstAt, lastAt, latenciesMs: {p50, p99}}` with `lastAt` an hrtime stamp (CLOCK_MONOTONIC,
 * comparable with the server's). Connects in bounded batches; every wait is bounded.
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

function expect(event: string, count: number, timeoutMs: number) {
  return new Promise<Record<string, unknown>>((resolve) => {
    const expected = count * sockets.length;
    let delivered = 0;
    let firstAt = 0n;
    let lastAt = 0n;
    const latencies: number[] = [];
    const finish = () => {
      clearTimeout(timer);
      for (const socket of sockets) socket.off(event, onEvent);
      latencies.sort((a, b) => a - b);
      resolve({
        type: 'received',
        delivered,
        expected,
        firstAt: firstAt.toString(),
        lastAt: lastAt.toString(),
        p50Ms: nearestRank(latencies, 0.5),
        p99Ms: nearestRank(latencies, 0.99),
      });
    };
    const timer = setTimeout(finish, timeoutMs);
    function onEvent(payload: { sentAt: string }) {
      const now = process.hrtime.bigint();
      if (!firstAt) firstAt = now;
      lastAt = now;
      latencies.push(Number(now - BigInt(payload.sentAt)) / 1e6);
      if (++delivered === expected) finish();
    }
    for (const socket of sockets) socket.on(event, onEvent);
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
  }) => {
    const fail = (error: Error) => process.send!({ type: 'error', message: error.stack ?? String(error) });
    if (message.type === 'connect') open(message.url, message.sockets).then(() => process.send!({ type: 'connected' }), fail);
    if (message.type === 'expect') expect(message.event, message.count, message.timeoutMs).then((result) => process.send!(result), fail);
    if (message.type === 'close') {
      for (const socket of sockets) socket.disconnect();
      sockets = [];
      process.send!({ type: 'closed' });
    }
  },
);
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
