import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { dropDatabase, migrateUp } from '../../server/platform/db/database.js';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

const urlOf = (name: string) => {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
};

/**
 * Creates a database of its own for one test file, so files can run in parallel against the
 * shared PostgreSQL: empty, or with `migrated` a copy of the migrated template (below).
 * `drop()` removes it (and any connection left open).
 */
export async function createTestDatabase(label: string, options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = `test_${label.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    if (!options.migrated) await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
    else await copyTemplate(admin, name);
  } finally {
    await admin.end();
  }
  return { name, url: urlOf(name), drop: () => dropDatabase(urlOf(name)) };
}

const migrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url));
/** Arbitrary but fixed: the test processes building the template take turns. */
const TEMPLATE_LOCK_KEY = 724_311_902;

/** The template's name: a hash of the migrations, so that changing one builds a new template. */
async function templateName(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await readdir(migrationsDir)).sort()) hash.update(file).update(await readFile(`${migrationsDir}${file}`));
  return `test_template_${hash.digest('hex').slice(0, 16)}`;
}

/**
 * A database migrated once per set of migrations and copied for each test file
 * (`CREATE DATABASE … TEMPLATE`): migrating every file's database cost each file about a second
 * (loading the migrator, running the migrations). Built under an advisory lock by the first
 * process that needs it, under a temporary name renamed once complete, so a crash leaves no
 * half-migrated template; templates of other migrations are dropped then (best effort). A
 * template dropped meanwhile (another checkout with other migrations) is built again.
 */
async function copyTemplate(admin: pg.Client, name: string): Promise<void> {
  const template = await templateName();
  const create = () => whileInUse(() => admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)} TEMPLATE ${admin.escapeIdentifier(template)}`));
  try {
    await create();
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error; // invalid_catalog_name: no template yet
  }
  await admin.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (!found.rowCount) {
      const building = `${template}_building_${randomBytes(4).toString('hex')}`;
      await migrateUp({ databaseUrl: urlOf(building), dbPoolMax: 2 });
      await whileInUse(() => admin.query(`ALTER DATABASE ${admin.escapeIdentifier(building)} RENAME TO ${admin.escapeIdentifier(template)}`));
      const stale = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'test\\_template\\_%' AND datname <> $1`, [
        template,
      ]);
      for (const { datname } of stale.rows) await dropDatabase(urlOf(datname)).catch(() => undefined);
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]);
  }
  await create();
}

/** A unique Redis/BullMQ prefix for one test file. */
export function testRedisPrefix(label: string): string {
  return `test-${label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${randomBytes(4).toString('hex')}`;
}

/**
 * Retries `statement` while PostgreSQL refuses it because another session is connected to the
 * database it copies or renames (55006 object_in_use): a backend lingers a moment after its client
 * disconnected (the migrator's, just closed), and two copies of one template may start at once.
 */
async function whileInUse<T>(statement: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}
