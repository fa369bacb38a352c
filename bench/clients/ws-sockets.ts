/**
 * Plain `ws` load client for scenario 1(a)'s floor, speaking io-sockets.ts's IPC: `{type:'connect',
 * url, sockets: [...]}` opens one WebSocket per entry (bounded batches) → `{type:'connected'}`;
 * `{type:'expect', event, count, timeoutMs}` → `{type:'received', delivered, expected, firstAt,
 * lastAt, p50Ms, p99Ms}` (hrtime, CLOCK_MONOTONIC like the server's `sentAt`). Every wait is bounded.
 */
import WebSocket from 'ws';
import { nearestRank } from '../lib/proc.js';
import { inBatches } from './connecting.js';

let sockets: WebSocket[] = [];

async function open(url: string, count: number) {
  await inBatches(
    Array.from({ length: count }, (_, i) => i),
    () =>
      new Promise<void>((resolve, reject) => {
        const socket = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 20_000 });
        sockets.push(socket);
        socket.once('error', reject);
        socket.once('open', () => resolve());
      }),
  );
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
      for (const socket of sockets) socket.off('message', onMessage);
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
    // The same work a Socket.IO client does per message: decode the JSON, dispatch on the event name.
    function onMessage(data: WebSocket.RawData) {
      const now = process.hrtime.bigint();
      const [name, payload] = JSON.parse(data.toString()) as [string, { sentAt: string }];
      if (name !== event) return;
      if (!firstAt) firstAt = now;
      lastAt = now;
      latencies.push(Number(now - BigInt(payload.sentAt)) / 1e6);
      if (++delivered === expected) finish();
    }
    for (const socket of sockets) socket.on('message', onMessage);
    process.send!({ type: 'listening' });
  });
}

process.on('message', (message: { type: string; url: string; sockets: unknown[]; event: string; count: number; timeoutMs: number }) => {
  const fail = (error: Error) => process.send!({ type: 'error', message: error.stack ?? String(error) });
  if (message.type === 'connect') open(message.url, message.sockets.length).then(() => process.send!({ type: 'connected' }), fail);
  if (message.type === 'expect') expect(message.event, message.count, message.timeoutMs).then((result) => process.send!(result), fail);
  if (message.type === 'close') {
    for (const socket of sockets) socket.terminate();
    sockets = [];
    process.send!({ type: 'closed' });
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
