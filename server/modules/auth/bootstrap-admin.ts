import type { EntityManager } from '@mikro-orm/postgresql';
import { hashPassword } from './passwords.js';

export type BootstrapResult = 'created' | 'exists' | 'exists-not-admin';

/**
 * Creates the first admin from `ADMIN_EMAIL`/`ADMIN_PASSWORD` when no account has that email.
 * Instances starting together race safely: the insert is `ON CONFLICT DO NOTHING`. An existing
 * account is never changed (its password and role stay whatever they have become).
 */
export async function ensureAdmin(em: EntityManager, email: string, password: string): Promise<BootstrapResult> {
  const existing = await em.execute<Array<{ role: string }>>('SELECT role FROM users WHERE email = ?', [email]);
  if (existing[0]) return existing[0].role === 'admin' ? 'exists' : 'exists-not-admin';
  const passwordHash = await hashPassword(password);
  const inserted = await em.execute<Array<{ id: string }>>(
    `INSERT INTO users (id, email, password_hash, full_name, role, is_active, metadata, created_at, updated_at)
     VALUES (gen_random_uuid(), ?, ?, 'Administrator', 'admin', true, '{}'::jsonb, now(), now())
     ON CONFLICT (email) DO NOTHING
     RETURNING id`,
    [email, passwordHash],
  );
  return inserted.length > 0 ? 'created' : 'exists';
}
