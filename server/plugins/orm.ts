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
