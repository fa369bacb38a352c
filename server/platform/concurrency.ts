/**
 * Runs `work` over `items` with at most `limit` calls in flight, in order of the items, and
 * resolves when all are done (the first rejection rejects, after the calls already started).
 * For flows that would otherwise wait on one database round trip after another.
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}
