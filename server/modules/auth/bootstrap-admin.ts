import type { EntityManager } from '@mikro-orm/postgresql';
import { hashPassword } from './passwords.js';
import { findRoleByEmail, insertAdminIfAbsent } from './auth.queries.js';

export type BootstrapResult = 'created' | 'exists' | 'exists-not-admin';

/**
 * Creates the first admin from `ADMIN_EMAIL`/`ADMIN_PASSWORD` when no account has that email.
 * Instances starting together race safely: the insert is `ON CONFLICT DO NOTHING`. An existing
 * account is never changed (its password and role stay whatever they have become).
 */
export async function ensureAdmin(em: EntityManager, email: string, password: string): Promise<BootstrapResult> {
  const role = await findRoleByEmail(em, email);
  if (role !== undefined) return role === 'admin' ? 'exists' : 'exists-not-admin';
  return (await insertAdminIfAbsent(em, email, await hashPassword(password))) ? 'created' : 'exists';
}
