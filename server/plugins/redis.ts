import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { closeRedis, createRedis, waitForRedis } from '../redis.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Commands on our own keys (rate limits, presence, caches), all under `config.redisPrefix`. */
    redis: Redis;
  }
}

export default fp(
  async (app) => {
    const redis = createRedis(app.config.redisUrl, { connectionName: `${app.config.redisPrefix}-api` });
    redis.on('error', (error) => app.log.warn({ err: error }, 'redis connection error'));
    app.decorate('redis', redis);
    // Start even when Redis is down (/ready then says so), but give it a moment to connect first.
    if (!(await waitForRedis(redis, 3000))) app.log.warn('redis is not reachable yet; continuing');
    app.addHook('onClose', async () => closeRedis(redis));
  },
  { name: 'redis', dependencies: ['config'] },
);
