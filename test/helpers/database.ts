import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { dropDatabase } from '../../server/platform/db/database.js';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates an empty database of its own for one test file, so files can run in parallel
 * against the shared PostgreSQL. `drop()` removes it (and any connection left open).
 */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `test_${label.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => dropDatabase(url.toString()),
  };
}

/** A unique Redis/BullMQ prefix for one test file. */
export function testRedisPrefix(label: string): string {
  return `test-${label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${randomBytes(4).toString('hex')}`;
}
