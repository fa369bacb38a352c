/**
 * Login flood for `bench/auth-flood.ts`: autocannon POSTs `/api/auth/login` with a new unknown
 * email every time (each one costs the server an argon2 verification of the dummy hash), from
 * `addresses` client addresses in turn (`X-Forwarded-For`, which the server under test trusts
 * from loopback), so that per-IP limits bind only when `addresses` is small. IPC in:
 * `{type:'run', url, connections, durationMs, addresses}`; out: `{type:'result', ...}`.
 */
import autocannon from 'autocannon';

interface Run {
  url: string;
  connections: number;
  durationMs: number;
  addresses: number;
}

function run(options: Run): Promise<Record<string, unknown>> {
  let sent = 0;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationMs / 1000,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: '/api/auth/login',
            setupRequest: (request) => {
              const n = sent++;
              const address = `198.18.${(n % options.addresses) >> 8}.${(n % options.addresses) & 255}`;
              return {
                ...request,
                headers: { ...request.headers, 'content-type': 'application/json', 'x-forwarded-for': address },
                body: JSON.stringify({ email: `nobody-${process.pid}-${n}@example.com`, password: 'wrong-password-1' }),
              };
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const byStatus: Record<string, number> = {};
        for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) byStatus[status] = stats.count ?? 0;
        resolve({
          sent,
          answered: Object.values(byStatus).reduce((a, b) => a + b, 0),
          byStatus,
          errors: result.errors,
          timeouts: result.timeouts,
          durationS: result.duration,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
        });
      },
    );
  });
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
