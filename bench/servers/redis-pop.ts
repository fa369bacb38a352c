/**
 * Scenario 7, baseline for add→start: a bare ioredis consumer, in a process of its own on the
 * server core like the worker, blocked in `BRPOP` on one list; each popped value is the
 * producer's `process.hrtime.bigint()` stamp taken just before its `LPUSH`, so pop time minus
 * it is one raw LPUSH→BRPOP round trip. The loop is bounded (1 s blocks, a cap on pops) and ends
 * on close. IPC: `{type:'collect'}` → `{type:'pops', latenciesMs, cpuUs}` (since the last collect;
 * `cpuUs` is this process's CPU time).
 */
import { loadConfig } from '../../server/config/config.js';
import { closeRedis, createQueueRedis } from '../../server/platform/redis.js';
import { serve } from './serve.js';

const MAX_POPS = 10_000_000;

await serve(async () => {
  const config = loadConfig(process.env);
  const key = `${config.redisPrefix}-bare-rtt`;
  // The connection kind BullMQ's workers use (no retry limit per request, no offline queue games).
  const redis = createQueueRedis(config);
  let latenciesMs: number[] = [];
  let closing = false;
  const loop = (async () => {
    for (let pops = 0; pops < MAX_POPS && !closing;) {
      const popped = await redis.brpop(key, 1).catch(() => null);
      if (!popped) continue;
      latenciesMs.push(Number(process.hrtime.bigint() - BigInt(popped[1])) / 1e6);
      pops++;
    }
  })();
  let cpuStart = process.cpuUsage();
  process.on('message', (message: { type?: string }) => {
    if (message.type !== 'collect') return;
    const cpu = process.cpuUsage(cpuStart);
    cpuStart = process.cpuUsage();
    process.send!({ type: 'pops', latenciesMs, cpuUs: cpu.user + cpu.system });
    latenciesMs = [];
  });
  return {
    key,
    close: async () => {
      closing = true;
      redis.disconnect();
      await loop;
      await closeRedis(redis).catch(() => undefined);
    },
  };
});
