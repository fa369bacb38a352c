/**
 * HTTP load client (autocannon is not a dependency): `connections` keep-alive loops against one
 * URL, bounded by `durationMs` and `maxRequests`, after a `warmupMs` whose requests are not
 * counted. Runs in its own process (pinned away from the server). IPC in: `{type:'run', ...}`;
 * out: `{type:'result', requests, errors, rps, p50Ms, p99Ms}`.
 */
import http from 'node:http';

interface Run {
  url: string;
  headers: Record<string, string>;
  connections: number;
  durationMs: number;
  warmupMs: number;
  maxRequests: number;
}

function get(agent: http.Agent, url: URL, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, headers }, (response) => {
      response.on('data', () => undefined);
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', reject);
    });
    request.setTimeout(10_000, () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

async function run(options: Run) {
  const url = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const latencies: number[] = [];
  let errors = 0;
  let counted = 0;
  const start = process.hrtime.bigint();
  const warmupEnd = start + BigInt(options.warmupMs) * 1_000_000n;
  const end = warmupEnd + BigInt(options.durationMs) * 1_000_000n;
  let measuredStart = 0n;
  const loop = async () => {
    for (;;) {
      const sent = process.hrtime.bigint();
      if (sent >= end || counted >= options.maxRequests) return;
      let status = 0;
      try {
        status = await get(agent, url, options.headers);
      } catch {
        status = 0;
      }
      const done = process.hrtime.bigint();
      if (sent < warmupEnd) continue;
      if (!measuredStart) measuredStart = sent;
      counted++;
      if (status !== 200) errors++;
      else latencies.push(Number(done - sent) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  const elapsedS = Number(process.hrtime.bigint() - (measuredStart || warmupEnd)) / 1e9;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil(q * latencies.length) - 1))] ?? NaN;
  return { requests: counted, errors, rps: latencies.length / elapsedS, p50Ms: pick(0.5), p99Ms: pick(0.99) };
}

process.on('message', (message: Run & { type: string }) => {
  if (message.type !== 'run') return;
  run(message).then(
    (result) => process.send!({ type: 'result', ...result }),
    (error: Error) => process.send!({ type: 'error', message: error.stack }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
