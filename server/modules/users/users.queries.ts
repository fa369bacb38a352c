// The users component's SQL (docs/data-access.md); the rest of its work is ORM editing.
import type { IUser } from '../../../entities/index.js';
import type { RowOf } from '../../platform/db/rows.js';
import type { SqlRunner } from '../../platform/db/sql.js';

/**
 * Locks the rows of the active admins, in id order (inside the caller's transaction), and
 * returns their ids: two admins demoting each other at once then take turns.
 */
export async function lockActiveAdmins(db: SqlRunner): Promise<Array<Pick<RowOf<IUser>, 'id'>>> {
  return db.execute<Array<Pick<RowOf<IUser>, 'id'>>>(`SELECT id FROM users WHERE role = 'admin' AND is_active ORDER BY id FOR UPDATE`);
}

/** What every authenticated request re-reads: whether the account is active, and its role now. */
export async function standingOf(db: SqlRunner, userId: string): Promise<Pick<RowOf<IUser>, 'is_active' | 'role'> | null> {
  const [row] = await db.execute<Array<Pick<RowOf<IUser>, 'is_active' | 'role'>>>('SELECT is_active, role FROM users WHERE id = ?', [userId]);
  return row ?? null;
}
