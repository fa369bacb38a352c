import type { EntityManager } from '@mikro-orm/postgresql';

/** What raw-SQL code needs: an EntityManager, or a transaction of `sqlTransaction`. */
export type SqlRunner = Pick<EntityManager, 'execute'>;

/**
 * A transaction for raw SQL only: BEGIN, `work`'s statements on one pooled connection, COMMIT
 * (ROLLBACK when `work` throws), through MikroORM's connection. Unlike `em.transactional` it
 * forks no EntityManager, flushes no unit of work and dispatches no events, which on the hot
 * paths (grading a submit, recalculating progress) cost more CPU than the statements themselves
 * (`npm run bench`, scenario 6). Only for code that touches no entities: nothing joins this transaction
 * implicitly, statements run in it only through `tx`.
 */
export async function sqlTransaction<T>(em: EntityManager, work: (tx: SqlRunner) => Promise<T>): Promise<T> {
  const connection = em.getConnection();
  return connection.transactional((trx) =>
    work({
      execute: ((sql: string, params?: unknown[], method?: 'all' | 'get' | 'run') => connection.execute(sql, params, method, trx)) as SqlRunner['execute'],
    }),
  );
}

/** Lock-free tries a conditional write gets before its caller takes the row lock. */
export const OPTIMISTIC_TRIES = 3;

/**
 * Optimistic concurrency with a locking fallback: runs `attempt` (a read and a write conditional
 * on the row's version, undefined when the row changed in between) up to `tries` times, then
 * `underLock`, which cannot conflict. Under contention a writer thus never retries forever.
 */
export async function retryThenLock<T>(tries: number, attempt: () => Promise<T | undefined>, underLock: () => Promise<T>): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const result = await attempt();
    if (result !== undefined) return result;
  }
  return underLock();
}

/** One round trip to PostgreSQL (`SELECT 1` on a pooled connection): the readiness probe. */
export async function ping(em: Pick<EntityManager, 'getConnection'>): Promise<void> {
  await em.getConnection().execute('SELECT 1');
}

/**
 * Runs `work` while holding a transaction-scoped PostgreSQL advisory lock on `key`, so that one
 * process of a deployment does it at a time. Without `wait`, gives up at once when another holds
 * it (`{locked: false}`); with it, queues behind the holder. The lock goes with the transaction,
 * so a process that dies releases it.
 */
export async function withAdvisoryLock<T>(
  em: EntityManager,
  key: number,
  options: { wait?: boolean },
  work: () => Promise<T>,
): Promise<{ locked: false } | { locked: true; value: T }> {
  return em.fork().transactional(async (tx) => {
    const [lock] = await tx.execute<Array<{ locked: boolean }>>(
      options.wait ? 'SELECT pg_advisory_xact_lock(?) IS NOT NULL AS locked' : 'SELECT pg_try_advisory_xact_lock(?) AS locked',
      [key],
    );
    if (!lock?.locked) return { locked: false as const };
    return { locked: true as const, value: await work() };
  });
}
