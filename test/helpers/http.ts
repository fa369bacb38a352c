import type { InjectOptions } from 'fastify';
import type { App } from '../../server/app.js';

/** `app.inject` with an optional bearer user, returning status and parsed JSON. */
export async function call(app: App, method: InjectOptions['method'], url: string, as?: { headers: Record<string, string> } | null, payload?: unknown) {
  const res = await app.inject({ method, url, headers: as?.headers ?? {}, ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }) });
  let body: any;
  try {
    body = res.body ? res.json() : null;
  } catch {
    body = res.body;
  }
  return { status: res.statusCode, body, headers: res.headers };
}

/** Row counts of the given tables, to prove that a refused request wrote nothing. */
export async function countRows(app: App, tables: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const [row] = await app.orm.em.getConnection().execute<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM ${table}`);
    counts[table] = row!.n;
  }
  return counts;
}
