/**
 * Scenario 4's server: the app from `buildApp`, broadcasting through `app.realtime`, on its
 * production adapter (argument `streams`: the Redis streams adapter, with connection state
 * recovery read back from the stream) or on Socket.IO's in-memory adapter (`memory`).
 *
 * The in-memory variant changes nothing but the adapter: `Server.prototype.adapter` is made to
 * keep the one the Socket.IO constructor installs (with `connectionStateRecovery` on, that is
 * `SessionAwareAdapter`, which keeps missed packets in memory for recovery) and to ignore the
 * later call in `useStreamsAdapter`. `tapAdapter` and `bridgeRecoveryGap` (server/realtime/socketio-internals.ts) then wrap that adapter
 * as they wrap the streams one, so their costs are on both sides. The streams adapter factory is
 * still created there, so its blocking stream reader idles on an empty stream.
 *
 * IPC: `{type:'sign', ids}` → `{type:'tokens', tokens}`; `{type:'send', room, event, run, count,
 * intervalMs}` → `count` broadcasts, `seq` due at `start + seq × intervalMs` (0: back to back), each
 * stamped with `process.hrtime.bigint()` → `{type:'sent', startedAt, sentAt: string[]}` (per seq),
 * with the event loop's delay meanwhile (`loopDelayP99Ms`, `loopDelayMaxMs`). With
 * `BENCH_CPU_PROF_DIR` set, it writes a CPU profile of its run there.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Server } from 'socket.io';
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config/config.js';
import { benchPayload } from './io-broadcast.js';
import { serve } from './serve.js';

const which = process.argv[2];
if (which !== 'streams' && which !== 'memory') throw new Error(`io-recovery.ts: expected "streams" or "memory", got ${String(which)}`);

if (which === 'memory') {
  const adapter = Server.prototype.adapter as (this: Server, ...args: unknown[]) => unknown;
  // With no argument `adapter()` reads the current one; the first set is the constructor's.
  Server.prototype.adapter = function (this: Server, ...args: unknown[]) {
    if (args.length > 0 && adapter.call(this) !== undefined) return this;
    return adapter.apply(this, args);
  } as typeof Server.prototype.adapter;
}

interface Send {
  type: 'send';
  room: string;
  event: string;
  run: number;
  count: number;
  intervalMs: number;
}

await serve({ cpuProfile: `io-recovery-${which}` }, async () => {
  const app = await buildApp(loadConfig(process.env));
  await app.listen({ host: '127.0.0.1', port: 0 });

  const send = async (message: Send) => {
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const startedAt = process.hrtime.bigint();
    const sentAt: string[] = [];
    for (let seq = 0; seq < message.count; seq++) {
      if (message.intervalMs > 0) {
        // Due times from the start, so timer lateness does not accumulate.
        const dueMs = seq * message.intervalMs - Number(process.hrtime.bigint() - startedAt) / 1e6;
        if (dueMs > 1) await sleep(dueMs);
      }
      // CLOCK_MONOTONIC, comparable with the clients' hrtime (see bench/run.ts).
      const now = process.hrtime.bigint().toString();
      sentAt.push(now);
      app.realtime.emit(message.room, message.event as 'progress:updated', benchPayload(seq, message.count, now, { run: message.run }) as never);
    }
    loop.disable();
    process.send!({ type: 'sent', startedAt: startedAt.toString(), sentAt, loopDelayP99Ms: loop.percentile(99) / 1e6, loopDelayMaxMs: loop.max / 1e6 });
  };

  process.on('message', (message: { type?: string; ids?: string[] } | Send) => {
    if (message.type === 'sign') {
      const { ids = [] } = message as { ids?: string[] };
      process.send!({ type: 'tokens', tokens: ids.map((id) => app.signAccessToken({ id, role: 'student' })) });
    }
    if (message.type === 'send') send(message as Send).catch((error: Error) => process.send!({ type: 'error', message: error.stack ?? String(error) }));
  });
  return {
    port: (app.server.address() as { port: number }).port,
    close: () => app.close(),
  };
});
