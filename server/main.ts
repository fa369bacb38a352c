import { loadConfig, ConfigError } from './config/config.js';
import { migrateUp } from './platform/db/database.js';
import { buildApp } from './app.js';
import { exitUnlessDependenciesAnswer } from './platform/startup-check.js';
import { WorkerThread } from './platform/worker-thread.js';

/**
 * Process entry for `npm start`: migrate (once across instances), serve, run the workers in a
 * thread (unless `WORKERS=off`), shut down with grace.
 */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }

  // One clear line, not a stack trace, when PostgreSQL or Redis is not there at all.
  await exitUnlessDependenciesAnswer(config);
  const applied = await migrateUp(config);
  const app = await buildApp(config);
  if (applied.length > 0) app.log.info({ migrations: applied }, 'migrations applied');
  // By path, not by import: server/ depends on nothing in workers/ (docs/architecture.md).
  const workers = config.workers ? new WorkerThread(new URL('../workers/thread.ts', import.meta.url), config, app.log.child({ component: 'workers' })) : null;

  let closing = false;
  let endDrain: (() => void) | null = null;
  /**
   * SIGTERM (a deploy, a scale-in): `/ready` answers 503 at once and everything is still served
   * for `SHUTDOWN_DRAIN_MS`, the load balancer's check interval, so that it stops sending traffic
   * here first; then the instance closes: client events stop being taken and running ones ack,
   * sockets close so that clients reconnect elsewhere and recover, requests in flight complete
   * (new ones get 503 until the listener closes), running jobs finish. SIGINT (Ctrl-C) skips the
   * drain; a second signal during the drain ends it.
   */
  const shutdown = async (signal: string) => {
    if (closing) return endDrain?.();
    closing = true;
    app.draining = true;
    const drainMs = signal === 'SIGTERM' ? config.shutdownDrainMs : 0;
    const force = setTimeout(
      () => {
        app.log.error('shutdown took too long; exiting');
        process.exit(1);
      },
      drainMs + config.shutdownTimeoutMs + 5000,
    );
    force.unref();
    if (drainMs > 0) {
      app.log.info({ signal, drainMs }, 'draining: /ready answers 503, still serving');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        endDrain = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    app.log.info({ signal }, 'shutting down: no new connections, finishing running work');
    try {
      await Promise.all([app.close(), workers?.close(config.shutdownTimeoutMs)]);
      process.exit(0);
    } catch (error) {
      app.log.error({ err: error }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
