import fp from 'fastify-plugin';
import { Registry, collectDefaultMetrics, Histogram } from 'prom-client';
import { metricsAuthorized, serveMetrics } from '../platform/metrics-server.js';
import { unauthorized } from '../platform/errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Prometheus registry of this app instance (not the global one: tests build many apps). */
    metrics: Registry;
    /** The separate `/metrics` listener when `METRICS_PORT` is set (started when the app is ready); null otherwise. */
    metricsServer: { url: string } | null;
  }
}

/**
 * `/metrics`: on the API port by default (one machine, nothing to configure), or on a port of
 * its own (`METRICS_PORT`) that the load balancer does not expose; behind a bearer token either
 * way when `METRICS_TOKEN` is set.
 */
export default fp(
  async (app) => {
    const { host, metricsPort, metricsToken } = app.config;
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    app.decorate('metrics', registry);
    app.decorate('metricsServer', null);

    app.addHook('onResponse', async (request, reply) => {
      // The route pattern, not the URL: ids in URLs would explode the label set.
      const route = request.routeOptions.url ?? 'unmatched';
      httpDuration.observe({ method: request.method, route, status_code: reply.statusCode }, reply.elapsedTime / 1000);
    });

    if (metricsPort === null) {
      app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
        if (!metricsAuthorized(request.headers.authorization, metricsToken)) throw unauthorized('/metrics needs "Authorization: Bearer <METRICS_TOKEN>"');
        reply.header('content-type', registry.contentType);
        return registry.metrics();
      });
      return;
    }

    let served: Awaited<ReturnType<typeof serveMetrics>> | null = null;
    app.addHook('onReady', async () => {
      served = await serveMetrics(registry, host, metricsPort, metricsToken);
      app.metricsServer = { url: served.url };
      app.log.info({ url: served.url }, `metrics at ${served.url}`);
    });
    app.addHook('onClose', async () => {
      if (!served) return;
      const { server } = served;
      const closed = new Promise((resolve) => server.close(resolve));
      // Scrapers keep their connections open; they must not hold the shutdown.
      server.closeAllConnections();
      await closed;
    });
  },
  { name: 'metrics', dependencies: ['config'] },
);
