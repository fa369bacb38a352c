import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { pingRedis } from '../redis.js';

const PROBE_TIMEOUT_MS = 800;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const Check = Type.Object({ ok: Type.Boolean(), latencyMs: Type.Number(), error: Type.Optional(Type.String()) });
const ReadyResponse = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable'), Type.Literal('draining')]),
  checks: Type.Object({ postgres: Check, redis: Check }),
});

async function probe(run: () => Promise<unknown>) {
  const started = performance.now();
  try {
    await run();
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: (error as Error).message };
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Set when the process is asked to stop (SIGTERM): `/ready` answers 503 `draining` so that the
     * load balancer sends no more traffic, while everything else is still served until the close.
     */
    draining: boolean;
  }
}

/**
 * `/health`: the process is alive. `/ready`: it can serve (PostgreSQL and Redis answer), within a
 * second, and is not draining.
 */
export default fp(
  async (app) => {
    app.decorate('draining', false);

    app.get(
      '/health',
      {
        schema: {
          tags: ['operations'],
          summary: 'Liveness: the process is up',
          response: { 200: Type.Object({ status: Type.Literal('ok'), uptimeSeconds: Type.Number() }) },
        },
      },
      async () => ({ status: 'ok' as const, uptimeSeconds: Math.round(process.uptime()) }),
    );

    app.get(
      '/ready',
      {
        schema: {
          tags: ['operations'],
          summary: 'Readiness: PostgreSQL and Redis answer and the instance is not shutting down; 503 otherwise',
          response: { 200: ReadyResponse, 503: ReadyResponse },
        },
      },
      async (_request, reply) => {
        const [postgres, redis] = await Promise.all([
          probe(() => withTimeout(app.orm.em.getConnection().execute('SELECT 1'), PROBE_TIMEOUT_MS, 'PostgreSQL')),
          probe(() => pingRedis(app.redis, PROBE_TIMEOUT_MS)),
        ]);
        const ok = postgres.ok && redis.ok;
        if (app.draining) return reply.status(503).send({ status: 'draining', checks: { postgres, redis } });
        return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks: { postgres, redis } });
      },
    );
  },
  { name: 'health', dependencies: ['orm', 'redis'] },
);
