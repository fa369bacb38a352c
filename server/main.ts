import { loadConfig, ConfigError } from './config.js';
import { migrateUp } from './db/database.js';
import { buildApp } from './app.js';
import { exitUnlessDependenciesAnswer } from './startup-check.js';

/** Process entry for `npm start`: migrate (once across instances), serve, shut down with grace. */
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

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: no new connections, finishing running work');
    const force = setTimeout(() => {
      app.log.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000);
    force.unref();
    try {
      await app.close();
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
