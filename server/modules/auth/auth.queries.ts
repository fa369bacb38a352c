// The auth component's SQL: refresh tokens are reached only through these statements, each of
// which is its own guarantee (one claim wins, reuse revokes the family).
import { createHash, randomBytes } from 'node:crypto';
import type { IRefreshToken } from '../../../entities/index.js';
import type { RowOf } from '../../platform/db/rows.js';
import type { SqlRunner } from '../../platform/db/sql.js';

/**
 * Refresh tokens are opaque random strings (256 bits, base64url). Only their SHA-256 is stored
 * (in `token_jti`), so a copy of the table holds no usable token.
 *
 * Revocation has two flavours, told apart by the row alone:
 * - given up by its client (rotation, logout): `revoked_at` is set, `expires_at` kept. Presenting
 *   it again means someone else holds a copy: reuse, and every live token of the user is revoked.
 *   Except right after a rotation (`rotated_at`, within the grace): the same client retrying a
 *   refresh whose reply it lost, or a second tab, is told the token was rotated and nothing is
 *   revoked.
 * - ended by the server in bulk (password change, deactivation, a reuse response): `expires_at` is
 *   also pulled back to `revoked_at`. Presenting it is still refused as reused, but the stale
 *   device that does so (the normal case after a password change) does not log out the sessions
 *   the user kept or opened since.
 */

type RefreshTokenRow = RowOf<IRefreshToken>;

export interface ClientInfo {
  userAgent?: string | null;
  ip?: string | null;
}

/** The value stored for a token: its SHA-256, hex. */
export function refreshTokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Truncates to `max` characters (code points, as PostgreSQL counts them). */
function truncate(value: string | null | undefined, max: number): string | null {
  if (!value) return null;
  const chars = Array.from(value);
  return chars.length <= max ? value : chars.slice(0, max).join('');
}

/** Creates a token for `userId` that dies at `expiresAt`; returns the token (never stored). */
export async function issueRefreshToken(db: SqlRunner, userId: string, expiresAt: Date, client: ClientInfo): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await db.execute(
    `INSERT INTO refresh_tokens (id, user_id, token_jti, expires_at, created_at, user_agent, ip_address)
     VALUES (gen_random_uuid(), ?, ?, ?, now(), ?, ?)`,
    [userId, refreshTokenDigest(token), expiresAt, truncate(client.userAgent, 255), truncate(client.ip, 45)],
  );
  return token;
}

/**
 * Revokes the live token `token` in one statement; of concurrent callers exactly one gets the
 * row back (the others wait for its lock, then see `revoked_at` set).
 */
export async function claimRefreshToken(db: SqlRunner, token: string): Promise<{ userId: string; expiresAt: Date } | null> {
  const rows = await db.execute<Array<Pick<RefreshTokenRow, 'user_id' | 'expires_at'>>>(
    `UPDATE refresh_tokens SET revoked_at = now(), rotated_at = now()
     WHERE token_jti = ? AND revoked_at IS NULL AND expires_at > now()
     RETURNING user_id, expires_at`,
    [refreshTokenDigest(token)],
  );
  const row = rows[0];
  return row ? { userId: row.user_id, expiresAt: new Date(row.expires_at) } : null;
}

export type TokenState = 'unknown' | 'expired' | 'rotated' | 'reused' | 'ended';

/**
 * Why a token that `claimRefreshToken` refused was refused, and whose it is. `rotated`: it was
 * exchanged less than `graceSeconds` ago (by the database's clock, which every instance shares).
 */
export async function inspectRefreshToken(db: SqlRunner, token: string, graceSeconds: number): Promise<{ state: TokenState; userId: string | null }> {
  const rows = await db.execute<Array<Pick<RefreshTokenRow, 'user_id'> & { revoked: boolean; given_up: boolean; in_grace: boolean }>>(
    `SELECT user_id, revoked_at IS NOT NULL AS revoked, (revoked_at IS NOT NULL AND expires_at > revoked_at) AS given_up,
            COALESCE(? > 0 AND rotated_at > clock_timestamp() - make_interval(secs => ?), false) AS in_grace
     FROM refresh_tokens WHERE token_jti = ?`,
    [graceSeconds, graceSeconds, refreshTokenDigest(token)],
  );
  const row = rows[0];
  if (!row) return { state: 'unknown', userId: null };
  if (row.in_grace) return { state: 'rotated', userId: row.user_id };
  if (row.given_up) return { state: 'reused', userId: row.user_id };
  return { state: row.revoked ? 'ended' : 'expired', userId: row.user_id };
}

/** Logout: revokes `token` if it is a live token of `userId`. Returns false when it is not one of theirs. */
export async function revokeRefreshToken(db: SqlRunner, userId: string, token: string): Promise<boolean> {
  const rows = await db.execute<Array<Pick<RefreshTokenRow, 'user_id'>>>(
    `UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, now())
     WHERE token_jti = ? AND user_id = ?
     RETURNING user_id`,
    [refreshTokenDigest(token), userId],
  );
  return rows.length > 0;
}

/**
 * Ends every live token of `userId` (except the one whose plain value is `keep`, if any).
 * Returns how many were ended.
 */
export async function endAllRefreshTokens(db: SqlRunner, userId: string, keep?: string): Promise<number> {
  const keepDigest = keep ? refreshTokenDigest(keep) : null;
  const rows = await db.execute<Array<Pick<RefreshTokenRow, 'id'>>>(
    `UPDATE refresh_tokens SET revoked_at = now(), expires_at = LEAST(expires_at, now())
     WHERE user_id = ? AND revoked_at IS NULL AND expires_at > now() AND token_jti IS DISTINCT FROM ?
     RETURNING id`,
    [userId, keepDigest],
  );
  return rows.length;
}

/** The role of the account with this (normalised) email, if there is one. */
export async function findRoleByEmail(db: SqlRunner, email: string): Promise<string | undefined> {
  const [row] = await db.execute<Array<{ role: string }>>('SELECT role FROM users WHERE email = ?', [email]);
  return row?.role;
}

/** Inserts an active admin unless the email is taken (`ON CONFLICT DO NOTHING`); true when inserted. */
export async function insertAdminIfAbsent(db: SqlRunner, email: string, passwordHash: string): Promise<boolean> {
  const inserted = await db.execute<Array<{ id: string }>>(
    `INSERT INTO users (id, email, password_hash, full_name, role, is_active, metadata, created_at, updated_at)
     VALUES (gen_random_uuid(), ?, ?, 'Administrator', 'admin', true, '{}'::jsonb, now(), now())
     ON CONFLICT (email) DO NOTHING
     RETURNING id`,
    [email, passwordHash],
  );
  return inserted.length > 0;
}

/** Refresh tokens past expiry by more than a day (kept that long to tell reuse from expiry), deleted. */
export async function deleteLongExpiredRefreshTokens(db: SqlRunner): Promise<number> {
  const result = await db.execute(`DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'`, [], 'run');
  return (result as { affectedRows?: number }).affectedRows ?? 0;
}
