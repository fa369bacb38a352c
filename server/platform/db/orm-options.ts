import { fileURLToPath } from 'node:url';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { BoundPostgreSqlDriver } from './bound-driver.js';
import { allEntities } from '../../../entities/index.js';
import type { Config } from '../../config/config.js';

const migrationsDir = fileURLToPath(new URL('../../../migrations', import.meta.url));

/**
 * The Unix socket directory a `DATABASE_URL` names with libpq's `host` parameter
 * (`postgresql://user@localhost/db?host=/var/run/postgresql`), or undefined. `pg` honours it, but
 * MikroORM reads the URL's host and would connect over TCP instead. Through the socket a query
 * costs the client about half the CPU of TCP loopback (measured here: 34 against 72 µs).
 */
export function socketDirectory(databaseUrl: string): string | undefined {
  const host = new URL(databaseUrl).searchParams.get('host');
  return host?.startsWith('/') ? host : undefined;
}

/**
 * The `pg` and knex settings that bound waiting on PostgreSQL: `statement_timeout` (the server
 * cancels a long query), `query_timeout` a second later (the client stops waiting for a server
 * that does not answer at all, e.g. frozen or behind a dead network path), the connect and pool
 * acquire timeouts, and TCP keep-alive to notice dead peers. Each failure surfaces as an error the
 * HTTP layer answers 503 `UNAVAILABLE`. Without `dbStatementTimeoutMs` (migrations) queries are
 * unbounded.
 */
export function driverTimeouts(config: Partial<Pick<Config, 'dbStatementTimeoutMs' | 'dbAcquireTimeoutMs'>>) {
  const connection: Record<string, unknown> = { keepAlive: true };
  if (config.dbStatementTimeoutMs !== undefined) {
    connection.statement_timeout = config.dbStatementTimeoutMs;
    connection.query_timeout = config.dbStatementTimeoutMs + 1000;
  }
  if (config.dbAcquireTimeoutMs !== undefined) connection.connectionTimeoutMillis = config.dbAcquireTimeoutMs;
  return {
    connection,
    ...(config.dbAcquireTimeoutMs !== undefined ? { acquireConnectionTimeout: config.dbAcquireTimeoutMs } : {}),
  };
}

/** Where knex's own messages go (a lost pooled connection, deprecations); it prints to the console otherwise. */
export interface DriverLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

function knexLog(log: DriverLog) {
  const text = (message: unknown) => (message instanceof Error ? message.message : String(message));
  return {
    warn: (message: unknown) => log.warn({ driver: text(message) }, 'database driver warning'),
    error: (message: unknown) => log.error({ driver: text(message) }, 'database driver error'),
    deprecate: (message: unknown) => log.debug({ driver: text(message) }, 'database driver deprecation'),
    debug: (message: unknown) => log.debug({ driver: text(message) }, 'database driver debug'),
  };
}

/** MikroORM options for this project; the app, the workers, the CLI and the tests share them. */
export function ormOptions(
  config: Pick<Config, 'databaseUrl' | 'dbPoolMax'> & Partial<Pick<Config, 'dbStatementTimeoutMs' | 'dbAcquireTimeoutMs'>>,
  overrides: Partial<Options> = {},
  log?: DriverLog,
): Options {
  const socket = socketDirectory(config.databaseUrl);
  return defineConfig({
    clientUrl: config.databaseUrl,
    driver: BoundPostgreSqlDriver,
    ...(socket ? { host: socket } : {}),
    // Merged by MikroORM into the knex configuration (`connection` goes to each `pg.Client`).
    driverOptions: { ...driverTimeouts(config), ...(log ? { log: knexLog(log) } : {}) },
    entities: allEntities,
    // We only ever run under tsx: read the TypeScript migrations, never look for compiled ones.
    preferTs: true,
    forceUtcTimezone: true,
    // Defaults (ids, roles, timestamps) exist right after em.create(), not only after flush.
    processOnCreateHooksEarly: true,
    pool: { min: 0, max: config.dbPoolMax },
    // Entities are loaded explicitly; no folder discovery, no reflection.
    discovery: { warnWhenNoEntities: true, checkDuplicateTableNames: true },
    // The global EntityManager is never used for work: requests, events and jobs fork their own.
    allowGlobalContext: false,
    migrations: {
      path: migrationsDir,
      pathTs: migrationsDir,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
      // We log applied migrations ourselves, as JSON.
      silent: true,
    },
    ...overrides,
  });
}
