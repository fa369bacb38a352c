import fp from 'fastify-plugin';
import { ensureAdmin } from '../modules/auth/bootstrap-admin.js';

/** Creates the first admin from ADMIN_EMAIL/ADMIN_PASSWORD when the app becomes ready. */
export default fp(
  async (app) => {
    const { adminEmail, adminPassword } = app.config;
    if (!adminEmail || !adminPassword) return;
    app.addHook('onReady', async () => {
      const result = await ensureAdmin(app.orm.em.fork(), adminEmail, adminPassword);
      if (result === 'created') app.log.info({ email: adminEmail }, 'admin account created from ADMIN_EMAIL');
      else if (result === 'exists-not-admin') app.log.warn({ email: adminEmail }, 'ADMIN_EMAIL belongs to an account that is not an admin; left unchanged');
    });
  },
  { name: 'admin-bootstrap', dependencies: ['config', 'orm'] },
);
