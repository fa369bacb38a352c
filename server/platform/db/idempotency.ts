import { AppError } from '../errors.js';
import type { SqlRunner } from './sql.js';

/** A reply, and whether it was stored by an earlier request with the same key (a replay). */
export interface IdempotentReply<T> {
  statusCode: number;
  body: T;
  replayed: boolean;
}

/** The longest `Idempotency-Key` accepted (the header's schema says the same). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 200;

/** How long a stored reply is kept (the sweep purges older ones): a retry comes within seconds. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 3600_000;

/**
 * Runs `work` once per `(scope, key)` and replays its reply to every later request with that key
 * (`Idempotency-Key`: a retried or double-clicked request applies once). `scope` names the route
 * and the caller (a key is the client's, so two users' keys never meet). The key is claimed first
 * (`INSERT … ON CONFLICT DO NOTHING`, the primary key decides), so two concurrent requests cannot
 * both run `work`; the loser gets 409 `CONFLICT` while the winner runs, and the reply once it is
 * stored. When `work` throws, the claim is released and the error goes to the caller: a request
 * that changed nothing may be retried with the same key.
 *
 * `work` commits its own changes; its reply is stored after them. A process dying in between
 * leaves the claim unanswered: retries with that key get 409 until the sweep purges it.
 */
export async function withIdempotency<T>(
  db: SqlRunner,
  id: { scope: string; key: string },
  work: () => Promise<{ statusCode: number; body: T }>,
): Promise<IdempotentReply<T>> {
  const claimed = await db.execute<Array<{ key: string }>>(
    `INSERT INTO idempotency_keys (scope, key, status_code, response) VALUES (?, ?, 0, 'null'::jsonb)
     ON CONFLICT (scope, key) DO NOTHING RETURNING key`,
    [id.scope, id.key],
  );
  if (claimed.length === 0) {
    const [stored] = await db.execute<Array<{ status_code: number; response: T }>>(
      'SELECT status_code, response FROM idempotency_keys WHERE scope = ? AND key = ?',
      [id.scope, id.key],
    );
    // Purged between the two statements: the first request is a day old; treat this one as new.
    if (!stored) return withIdempotency(db, id, work);
    if (stored.status_code === 0) throw new AppError('CONFLICT', 'A request with this Idempotency-Key is still being processed; retry shortly');
    return { statusCode: stored.status_code, body: stored.response, replayed: true };
  }
  let reply: { statusCode: number; body: T };
  try {
    reply = await work();
  } catch (error) {
    await db.execute('DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND status_code = 0', [id.scope, id.key]);
    throw error;
  }
  await db.execute('UPDATE idempotency_keys SET status_code = ?, response = ?::jsonb WHERE scope = ? AND key = ?', [
    reply.statusCode,
    JSON.stringify(reply.body),
    id.scope,
    id.key,
  ]);
  return { ...reply, replayed: false };
}

/** Deletes stored replies older than `IDEMPOTENCY_KEY_TTL_MS` (the sweep); returns how many. */
export async function purgeIdempotencyKeys(db: SqlRunner, olderThanMs = IDEMPOTENCY_KEY_TTL_MS): Promise<number> {
  const deleted = await db.execute<Array<{ key: string }>>(
    `DELETE FROM idempotency_keys WHERE created_at < now() - (? || ' milliseconds')::interval RETURNING key`,
    [String(olderThanMs)],
  );
  return deleted.length;
}
