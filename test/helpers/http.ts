import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { App } from '../../server/app.js';
import type { ErrorBody, ErrorCode } from '../../server/platform/errors.js';
import { ErrorResponse } from '../../server/platform/schemas.js';

/** What `call` returns: the status, the parsed JSON body (text when it is not JSON; null when empty) and the headers. */
export interface Reply<Body = unknown> {
  status: number;
  body: Body;
  headers: OutgoingHttpHeaders;
}

/**
 * `app.inject` with an optional bearer user, returning status and parsed JSON. The body is
 * `unknown`: read it through `bodyOf(reply, status, Schema)` (the route's own response schema) or
 * `errorOf(reply, status, code)`, or name its type (`call<string>` for text) where no schema applies.
 */
export async function call<Body = unknown>(
  app: App,
  method: InjectOptions['method'],
  url: string,
  as?: { headers: Record<string, string> } | null,
  payload?: unknown,
): Promise<Reply<Body>> {
  const res = await app.inject({ method, url, headers: as?.headers ?? {}, ...(payload === undefined ? {} : { payload: payload as InjectOptions['payload'] }) });
  return replyOf<Body>(res);
}

/**
 * The `Reply` of a raw `app.inject` response, for tests that need options `call` does not take
 * (cookies, other headers, a raw payload) or the raw response as well: read its body through
 * `bodyOf(replyOf(res), status, Schema)` or `errorOf(replyOf(res), status, code)`.
 */
export function replyOf<Body = unknown>(res: LightMyRequestResponse): Reply<Body> {
  return { status: res.statusCode, body: parseBody(res.body) as Body, headers: res.headers };
}

/** The `Reply` of a `fetch` response, for tests against a server listening on a port. */
export async function replyOfFetch(res: Response): Promise<Reply> {
  return { status: res.status, body: parseBody(await res.text()), headers: Object.fromEntries(res.headers) };
}

/** JSON when it parses, the text when it does not, null when empty. */
function parseBody(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function describe(reply: Reply): string {
  return `${reply.status} ${typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body)}`;
}

/**
 * The body of a reply that must have `status`, checked against the route's response schema and
 * typed by it: a wrong status or a body of another shape fails here, with the reply in the message.
 *
 *     const me = bodyOf(await call(app, 'GET', '/api/users/me', student), 200, UserResponse);
 */
export function bodyOf<S extends TSchema>(reply: Reply, status: number, schema: S): Static<S> {
  if (reply.status !== status) throw new Error(`expected ${status}, got ${describe(reply)}`);
  if (!Value.Check(schema, reply.body)) {
    const problems = [...Value.Errors(schema, reply.body)].slice(0, 3).map((error) => `${error.instancePath || '/'} ${error.message}`);
    throw new Error(`the ${status} body does not match its schema (${problems.join('; ')}): ${describe(reply)}`);
  }
  return reply.body as Static<S>;
}

/** The error body of a reply that must have `status` (and `code`, when given). */
export function errorOf(reply: Reply, status: number, code?: ErrorCode): ErrorBody {
  const body = bodyOf(reply, status, ErrorResponse) as ErrorBody;
  if (code !== undefined && body.code !== code) throw new Error(`expected ${status} ${code}, got ${describe(reply)}`);
  return body;
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
