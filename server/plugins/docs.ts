import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

/** OpenAPI generated from the route schemas, at `/docs/json`, browsable at `/docs`; none with `DOCS_ENABLED=off`. */
export default fp(
  async (app) => {
    if (!app.config.docsEnabled) return;
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Classroom server API',
          version: '0.1.0',
          description:
            'Realtime classroom server. Errors always have the shape `{statusCode, error, code, message}` with a stable `code`. ' +
            'Lists are `{items, total, page, limit}` (`page` ≤ 1,000,000, `limit` ≤ 100). Realtime events are documented in the README.',
        },
        servers: [{ url: app.config.publicUrl }],
        components: {
          securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  },
  { name: 'docs', dependencies: ['config'] },
);
