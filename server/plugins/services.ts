import fp from 'fastify-plugin';
import { systemClock, type ServiceDeps } from '../modules/deps.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Service dependencies with an EntityManager of their own (client events, background work). */
    forkDeps(): ServiceDeps;
  }
  interface FastifyRequest {
    /** Service dependencies of this request, with its own EntityManager. */
    deps: ServiceDeps;
  }
}

/**
 * Builds the `ServiceDeps` that adapters hand to services: the shared parts once, the
 * EntityManager per request (its `em`) or per client event (`forkDeps()`).
 */
export default fp(
  async (app) => {
    const shared = () => ({
      config: app.config,
      clock: systemClock,
      log: app.log,
      publisher: app.publisher,
      jobs: app.jobs,
      storage: app.storage,
      pdf: app.pdf,
      presence: app.presence,
    });
    app.decorate('forkDeps', () => ({ ...shared(), em: app.orm.em.fork() }));
    app.decorateRequest('deps', {
      getter() {
        return { ...shared(), em: this.em, log: this.log };
      },
    });
  },
  { name: 'services', dependencies: ['config', 'orm', 'queues', 'storage', 'pdf', 'realtime'] },
);
