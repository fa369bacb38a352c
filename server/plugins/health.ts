import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import { pingRedis } from '../platform/redis.js';
import { ping } from '../platform/db/sql.js';

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
export const HealthResponse = Type.Object({ status: Type.Literal('ok'), uptimeSeconds: Type.Number() });
export const ReadyResponse = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable'), Type.Literal('draining')]),
  checks: Type.Object({ postgres: Check, redis: Check }),
});

type CheckResult = Static<typeof Check>;
type Readiness = { ok: boolean; checks: { postgres: CheckResult; redis: CheckResult } };

/** How long one readiness answer is reused: a flood of `/ready` costs one query and one PING per period. */
export const READY_CACHE_MS = 1000;

/** The check's outcome; the public answer names the dependency, never the driver's message (logged instead). */
async function probe(what: string, run: () => Promise<unknown>, failed: (error: unknown) => void): Promise<CheckResult> {
  const started = performance.now();
  try {
    await run();
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    failed(error);
    return { ok: false, latencyMs: Math.round(performance.now() - started), error: `${what} did not answer` };
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
 * `/health`: the process is alive. `/ready`: it can serve (PostgreSQL and Redis answer), within
 * a second, and is not draining. Both are public (load balancers call them without credentials),
 * so `/ready` says which dependency is down but not why, and answers from a probe at most
 * `READY_CACHE_MS` old (concurrent calls share the probe in flight) instead of being
 * rate-limited, which would fail the load balancer's own checks under a flood.
 */
export default fp(
  async (app) => {
    app.decorate('draining', false);
    const down = { postgres: false, redis: false };
    // One line when a dependency goes down (with the driver's message) and one when it is back.
    const report = (name: keyof typeof down, error: unknown) => {
      if (error !== null && !down[name]) app.log.warn({ err: error, dependency: name }, `readiness: ${name} did not answer`);
      if (error === null && down[name]) app.log.info({ dependency: name }, `readiness: ${name} answers again`);
      down[name] = error !== null;
    };
    const probeAll = async (): Promise<Readiness> => {
      const [postgres, redis] = await Promise.all([
        probe(
          'PostgreSQL',
          () => withTimeout(ping(app.orm.em), PROBE_TIMEOUT_MS, 'PostgreSQL'),
          (error) => report('postgres', error),
        ),
        probe(
          'Redis',
          () => pingRedis(app.redis, PROBE_TIMEOUT_MS),
          (error) => report('redis', error),
        ),
      ]);
      if (postgres.ok) report('postgres', null);
      if (redis.ok) report('redis', null);
      return { ok: postgres.ok && redis.ok, checks: { postgres, redis } };
    };
    let cached: { result: Promise<Readiness>; expiresAt: number } | null = null;
    const readiness = (): Promise<Readiness> => {
      if (cached && performance.now() < cached.expiresAt) return cached.result;
      const entry = { result: probeAll(), expiresAt: Number.POSITIVE_INFINITY };
      void entry.result.finally(() => {
        entry.expiresAt = performance.now() + READY_CACHE_MS;
      });
      cached = entry;
      return entry.result;
    };

    app.get(
      '/health',
      {
        schema: {
          tags: ['operations'],
          summary: 'Liveness: the process is up',
          response: { 200: HealthResponse },
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
          description: 'Answers from a probe at most a second old; a failed check names the dependency, not the error.',
          response: { 200: ReadyResponse, 503: ReadyResponse },
        },
      },
      async (_request, reply) => {
        const { ok, checks } = await readiness();
        if (app.draining) return reply.status(503).send({ status: 'draining', checks });
        return reply.status(ok ? 200 : 503).send({ status: ok ? 'ready' : 'unavailable', checks });
      },
    );
  },
  { name: 'health', dependencies: ['orm', 'redis'] },
);
