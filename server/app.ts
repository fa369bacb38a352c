import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from './config/config.js';
import { loggerOptions } from './platform/logger.js';
import { trustProxyOption } from './platform/trust-proxy.js';
import { validatorCompiler } from './platform/validation.js';
import configPlugin from './plugins/config.js';
import errorsPlugin from './plugins/errors.js';
import securityPlugin from './plugins/security.js';
import rateLimitPlugin from './plugins/rate-limit.js';
import metricsPlugin from './plugins/metrics.js';
import docsPlugin from './plugins/docs.js';
import ormPlugin from './plugins/orm.js';
import storagePlugin from './plugins/storage.js';
import redisPlugin from './plugins/redis.js';
import queuesPlugin from './plugins/queues.js';
import pdfPlugin from './plugins/pdf.js';
import servicesPlugin from './plugins/services.js';
import healthPlugin from './plugins/health.js';
import authPlugin from './plugins/auth.js';
import adminBootstrapPlugin from './plugins/admin-bootstrap.js';
import adminQueuesPlugin from './plugins/admin-queues.js';
import webPlugin from './plugins/web.js';
import realtimePlugin from './realtime/plugin.js';
import apiRoutes from './modules/index.js';

/** The app as routes see it: TypeBox schemas type the handlers. */
export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/**
 * Builds the API (HTTP routes, Socket.IO, `/ws`) ready to `listen()` or to `inject()`; the
 * workers run beside it (`server/main.ts` starts them in a thread). `server/main.ts`, the tests
 * and the benchmarks all use it.
 */
export interface BuildAppOptions {
  /** Registers more routes or hooks before the app is made ready (tests, benchmarks). */
  extend?: (app: App) => Promise<void> | void;
}

export async function buildApp(config: Config, options: BuildAppOptions = {}): Promise<App> {
  const app = Fastify({
    logger: loggerOptions(config),
    genReqId: () => randomUUID(),
    requestIdHeader: 'x-request-id',
    bodyLimit: config.bodyLimitBytes,
    trustProxy: trustProxyOption(config.trustProxy),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<TypeBoxTypeProvider>();

  if (typeof config.trustProxy === 'number' && (config.host === '0.0.0.0' || config.host === '::')) {
    app.log.warn(
      { trustProxy: config.trustProxy, host: config.host },
      'TRUST_PROXY is a hop count while HOST listens on every interface: a client reaching the port directly can pick its own address; ' +
        'list the proxy addresses in TRUST_PROXY or bind HOST to the interface only the proxy reaches',
    );
  }
  app.setValidatorCompiler(validatorCompiler);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(configPlugin, { config });
  await app.register(errorsPlugin);
  await app.register(securityPlugin);
  await app.register(rateLimitPlugin);
  await app.register(metricsPlugin);
  await app.register(docsPlugin);
  await app.register(ormPlugin);
  await app.register(storagePlugin);
  await app.register(redisPlugin);
  await app.register(queuesPlugin);
  await app.register(pdfPlugin);
  await app.register(healthPlugin);
  await app.register(authPlugin);
  await app.register(adminBootstrapPlugin);
  // Socket.IO on this server; decorates the publisher the services report to.
  await app.register(realtimePlugin);
  await app.register(servicesPlugin);
  await app.register(apiRoutes, { prefix: '/api' });
  await app.register(adminQueuesPlugin);
  await app.register(webPlugin);

  await options.extend?.(app);
  await app.ready();
  return app;
}
