import pg from 'pg';
import { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../../config/config.js';
import { ormOptions } from './orm-options.js';

/** Arbitrary but fixed: every instance of this server contends for the same advisory lock. */
const MIGRATION_LOCK_KEY = 724_311_901;

function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  return name;
}

function adminClient(databaseUrl: string): pg.Client {
  const adminUrl = new URL(databaseUrl);
  adminUrl.pathname = '/postgres';
  return new pg.Client({ connectionString: adminUrl.toString() });
}

/** Drops the database named in `databaseUrl`, closing any connection still open to it. */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const client = adminClient(databaseUrl);
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(databaseName(databaseUrl))} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Creates the database named in `databaseUrl` when it does not exist yet. Safe to race. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl);
  const client = adminClient(databaseUrl);
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      return true;
    } catch (error) {
      // 42P04 duplicate_database, 23505 unique_violation: another instance created it first.
      const code = (error as { code?: string }).code;
      if (code === '42P04' || code === '23505') return false;
      throw error;
    }
  } finally {
    await client.end();
  }
}

/**
 * An ORM that can migrate. The migrator (umzug and its command-line dependencies) is loaded only
 * here: it was a tenth of what importing the app costs (2.34 s → 2.08 s), and only migrating needs it.
 */
async function migratingOrm(config: Pick<Config, 'databaseUrl'>): Promise<MikroORM> {
  const { Migrator } = await import('@mikro-orm/migrations');
  // Without the request path's statement timeout: a migration may rewrite a large table.
  return MikroORM.init(ormOptions({ databaseUrl: config.databaseUrl, dbPoolMax: 2 }, { extensions: [Migrator] }));
}

/**
 * Applies pending migrations while holding a PostgreSQL advisory lock, so that several
 * instances starting at once migrate exactly once; the others wait, then find nothing to do.
 * Returns the names of the migrations this call applied.
 */
export async function migrateUp(config: Pick<Config, 'databaseUrl' | 'dbPoolMax'>): Promise<string[]> {
  await ensureDatabase(config.databaseUrl);
  const lock = new pg.Client({ connectionString: config.databaseUrl });
  await lock.connect();
  const orm = await migratingOrm(config);
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await orm.getMigrator().up();
    return applied.map((migration) => migration.name);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.end();
    await orm.close(true);
  }
}

/** Reverts migrations: the last one, or all of them with `{ to: 0 }`. */
export async function migrateDown(config: Pick<Config, 'databaseUrl' | 'dbPoolMax'>, options: { to?: 0 } = {}): Promise<string[]> {
  const orm = await migratingOrm(config);
  try {
    const reverted = await orm.getMigrator().down(options.to === 0 ? { to: 0 } : undefined);
    return reverted.map((migration) => migration.name);
  } finally {
    await orm.close(true);
  }
}
