import fp from 'fastify-plugin';
import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';
import { ormOptions } from '../platform/db/orm-options.js';

declare module 'fastify' {
  interface FastifyInstance {
    orm: MikroORM;
  }
  interface FastifyRequest {
    /** An EntityManager forked for this request alone. */
    em: EntityManager;
  }
}

/**
 * Runs `work` with an EntityManager of its own. Socket events and jobs have no request
 * context, so each forks one here rather than touching the global EntityManager.
 */
export function withEm<T>(orm: MikroORM, work: (em: EntityManager) => Promise<T>): Promise<T> {
  return work(orm.em.fork());
}

export default fp(
  async (app) => {
    const orm = await MikroORM.init(ormOptions(app.config, {}, app.log.child({ component: 'db' })));
    app.decorate('orm', orm);
    app.decorateRequest('em', null as unknown as EntityManager);
    app.addHook('onRequest', async (request) => {
      request.em = orm.em.fork();
    });
    app.addHook('onClose', async () => {
      await orm.close();
    });
  },
  { name: 'orm', dependencies: ['config'] },
);
