/**
 * Scenario 1(b), what both servers (classroom-app.ts, classroom-bare.ts) add identically at the
 * Socket.IO layer, never in product code:
 *
 * - `quiz:tick` carries no hrtime stamp, so the default namespace adapter's `broadcast` is wrapped
 *   to add `sentAt` (`process.hrtime.bigint()`, CLOCK_MONOTONIC like the clients' clock) to the
 *   tick's payload object just before the adapter delivers it. The stamp is taken after the
 *   scheduler decided to tick, so latency is adapter → client; how punctual the scheduler is
 *   shows in the clients' tick intervals instead.
 * - A CPU window: `{type:'cpu-window-start'}` resets it, `{type:'cpu-window'}` → `{type:'cpu-window',
 *   cpuUs}` (names of their own: `listenForBursts` answers `{type:'cpu'}` in the same process).
 */
import type { Server } from 'socket.io';

interface Broadcasting {
  broadcast(packet: { data?: unknown[] }, opts: unknown): unknown;
}

export function stampTicks(io: Server): void {
  const adapter = io.of('/').adapter as unknown as Broadcasting;
  const broadcast = adapter.broadcast.bind(adapter);
  adapter.broadcast = (packet, opts) => {
    const data = packet.data;
    if (Array.isArray(data) && data[0] === 'quiz:tick' && typeof data[1] === 'object' && data[1] !== null) {
      (data[1] as { sentAt?: string }).sentAt = process.hrtime.bigint().toString();
    }
    return broadcast(packet, opts);
  };
}

export function listenForCpuWindow(): void {
  let cpuStart = process.cpuUsage();
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'cpu-window-start') cpuStart = process.cpuUsage();
    if (message.type === 'cpu-window') {
      const cpu = process.cpuUsage(cpuStart);
      process.send!({ type: 'cpu-window', cpuUs: cpu.user + cpu.system });
    }
  });
}
