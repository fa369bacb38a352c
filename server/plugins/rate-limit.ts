import { createHash } from 'node:crypto';
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { AppError } from '../platform/errors.js';
import { notFoundHandler } from './errors.js';

/** A 429 `RATE_LIMITED`; the error handler turns `retryAfter` into the `retry-after` header. */
export class RateLimitedError extends AppError {
  constructor(readonly retryAfter: number) {
    super('RATE_LIMITED', `Too many requests; retry in ${retryAfter} s`);
    this.name = 'RateLimitedError';
  }
}

export interface KeyLimit {
  max: number;
  windowMs: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Counts one hit of `id` in `bucket` (a fixed window in Redis, shared by every instance) and
     * throws `RateLimitedError` past `limit.max`. `id` is hashed, so emails never become Redis
     * keys. Fails open, with a warning, when Redis does not answer.
     */
    consumeRateLimit(bucket: string, id: string, limit: KeyLimit): Promise<void>;
  }
}

/** Routes that probes and scrapers call: never limited. */
const UNLIMITED_ROUTES = new Set(['/health', '/ready', '/metrics']);

// INCR and the expiry of a fixed window in one round trip. The PTTL < 0 branch repairs a key
// that lost its expiry (e.g. a crash between the two calls of an older version).
const HIT_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}`;

/** Counts one hit on `key` within a window of `windowMs`; returns the count and the window's remaining ms. */
export async function hitWindow(redis: Redis, key: string, windowMs: number): Promise<{ current: number; ttlMs: number }> {
  const [current, ttlMs] = (await redis.eval(HIT_SCRIPT, 1, key, windowMs)) as [number, number];
  return { current, ttlMs };
}

/**
 * Per-IP limit on every route (generous: `RATE_LIMIT_MAX` per `RATE_LIMIT_WINDOW_MS`) through
 * @fastify/rate-limit, and `app.consumeRateLimit` for limits keyed by something in the body
 * (login email), which must run after parsing. Both count in Redis under
 * `<REDIS_PREFIX>:rl:`, so every instance sees the same counters.
 *
 * Registered right after the security plugin so that every later route gets the hook; it reads
 * `app.redis` at request time, when the Redis plugin has long been registered.
 */
export default fp(
  async (app: FastifyInstance) => {
    const { redisPrefix, rateLimitMax, rateLimitWindowMs } = app.config;
    const keyPrefix = `${redisPrefix}:rl:`;

    let lastWarning = 0;
    const warnFailOpen = (error: unknown) => {
      // One line per 10 s is enough to notice; a dead Redis must not flood the log.
      const now = Date.now();
      if (now - lastWarning < 10_000) return;
      lastWarning = now;
      app.log.warn({ err: error }, 'rate limiter cannot reach Redis; letting requests through');
    };

    /** @fastify/rate-limit's store: our fixed window in Redis. Routes with their own `config.rateLimit` count apart. */
    class SharedStore {
      constructor(
        _options?: unknown,
        private readonly scope = 'ip',
      ) {}

      incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number) {
        hitWindow(app.redis, `${keyPrefix}${this.scope}:${key}`, timeWindow).then(
          ({ current, ttlMs }) => callback(null, { current, ttl: ttlMs }),
          (error: Error) => {
            warnFailOpen(error);
            callback(error);
          },
        );
      }

      // The plugin passes the route's merged limit options, its route under `routeInfo`.
      child(options: object) {
        const route = (options as { routeInfo?: { method?: string | string[]; url?: string } }).routeInfo;
        return new SharedStore(undefined, `route:${String(route?.method ?? '')}:${route?.url ?? ''}`);
      }
    }

    await app.register(rateLimit, {
      global: true,
      max: rateLimitMax,
      timeWindow: rateLimitWindowMs,
      store: SharedStore,
      skipOnError: true,
      allowList: (request: FastifyRequest) => UNLIMITED_ROUTES.has(request.routeOptions.url ?? ''),
      errorResponseBuilder: (_request, context) => new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000))),
    });
    // Fastify's not-found route has no route hooks, so the global limit would never see it and
    // scanning for routes would be free; the limiter runs there as a pre-handler.
    app.setNotFoundHandler({ preHandler: app.rateLimit() }, notFoundHandler);

    app.decorate('consumeRateLimit', async (bucket: string, id: string, limit: KeyLimit) => {
      const digest = createHash('sha256').update(id).digest('base64url');
      let result: { current: number; ttlMs: number };
      try {
        result = await hitWindow(app.redis, `${keyPrefix}${bucket}:${digest}`, limit.windowMs);
      } catch (error) {
        warnFailOpen(error);
        return;
      }
      if (result.current > limit.max) throw new RateLimitedError(Math.max(1, Math.ceil(result.ttlMs / 1000)));
    });
  },
  { name: 'rate-limit', dependencies: ['config', 'errors'] },
);
