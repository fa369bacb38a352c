import fp from 'fastify-plugin';
import helmet from '@fastify/helmet';
import cors from '@fastify/cors';

/**
 * Everything the web app (`/app/`), Bull Board (`/admin/queues`) and the API docs load comes from
 * this server: no font, script or style host elsewhere. Inline style attributes stay allowed
 * (Bull Board's loading screen and the chart library set them); inline scripts do not.
 */
const directives = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'", 'data:'],
  formAction: ["'self'"],
  frameAncestors: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  // Added per request below, only over HTTPS: over a school's plain-HTTP LAN it would make the
  // browser rewrite every script and API URL to https:// and leave a blank page.
  upgradeInsecureRequests: null,
};

export default fp(
  async (app) => {
    await app.register(helmet, { global: true, contentSecurityPolicy: { useDefaults: false, directives } });
    app.addHook('onSend', async (request, reply) => {
      if (request.protocol !== 'https') return;
      const policy = reply.getHeader('content-security-policy');
      if (typeof policy === 'string' && policy !== '') reply.header('content-security-policy', `${policy};upgrade-insecure-requests`);
    });
    // Only the configured origins may call the API from a browser; none by default.
    await app.register(cors, {
      origin: app.config.corsOrigins.length > 0 ? app.config.corsOrigins : false,
      credentials: true,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      exposedHeaders: ['x-request-id', 'retry-after'],
      maxAge: 600,
    });
  },
  { name: 'security', dependencies: ['config'] },
);
