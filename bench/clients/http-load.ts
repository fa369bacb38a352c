/**
 * HTTP load client: autocannon against one URL with `connections` keep-alive connections, a
 * `warmupMs` run that is not counted, then a run bounded by `durationMs` and `maxRequests`. Runs
 * in its own process (pinned away from the server). IPC in: `{type:'run', ...}`; out:
 * `{type:'result', requests, errors, rps, p50Ms, p99Ms}`, where errors count non-2xx answers,
 * connection errors and timeouts.
 */
import autocannon from 'autocannon';

interface Run {
  url: string;
  headers: Record<string, string>;
  connections: number;
  durationMs: number;
  warmupMs: number;
  maxRequests: number;
}

function cannon(options: Run, durationMs: number, maxRequests: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: options.url,
        headers: options.headers,
        connections: options.connections,
        // autocannon takes seconds; fractions work. (`amount` would make it ignore the duration,
        // so the count bound is per connection.)
        duration: durationMs / 1000,
        maxConnectionRequests: Math.ceil(maxRequests / options.connections),
        timeout: 10,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

async function run(options: Run) {
  if (options.warmupMs > 0) await cannon(options, options.warmupMs, options.maxRequests);
  const result = await cannon(options, options.durationMs, options.maxRequests);
  const ok = result['2xx'];
  return {
    requests: result.requests.total,
    errors: result.non2xx + result.errors + result.timeouts,
    rps: ok / (result.duration || options.durationMs / 1000),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
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
