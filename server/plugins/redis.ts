import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { closeRedis, createRedis, RedisConnectionLog, waitForRedis } from '../platform/redis.js';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Commands on our own keys (rate limits, presence, markers), all under `config.redisPrefix`.
     * Each fails after `REDIS_COMMAND_TIMEOUT_MS` at most: it is on the request path.
     */
    redis: Redis;
    /** Logs this process's Redis connections lost and restored; every connection of the app is watched here. */
    redisConnections: RedisConnectionLog;
  }
}

export default fp(
  async (app) => {
    const connections = new RedisConnectionLog(app.log.child({ component: 'redis' }));
    const redis = createRedis(app.config, {
      connectionName: `${app.config.redisPrefix}-api`,
      commandTimeout: app.config.redisCommandTimeoutMs,
    });
    connections.watch(redis, 'api');
    app.decorate('redis', redis);
    app.decorate('redisConnections', connections);
    // Start even when Redis is down (/ready then says so), but give it a moment to connect first.
    if (!(await waitForRedis(redis, 3000))) app.log.warn('redis is not reachable yet; continuing');
    app.addHook('onClose', async () => {
      await closeRedis(redis);
      connections.close();
    });
  },
  { name: 'redis', dependencies: ['config'] },
);
