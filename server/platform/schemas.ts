import { Type, type TSchema, type Static } from 'typebox';
import { ERROR_CODES } from './errors.js';

/** A UUID path or body field. Malformed ids are a 400, never a database error. */
export const Uuid = Type.String({ format: 'uuid' });

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
export type IdParams = Static<typeof IdParams>;

/** ISO-8601 UTC timestamp as sent in responses. */
export const Timestamp = Type.String({ format: 'date-time' });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

/** The last page any list serves: with `limit` ≤ 100, OFFSET stays far below what PostgreSQL's bigint holds. */
export const MAX_PAGE = 1_000_000;
export const MAX_PAGE_LIMIT = 100;

export const PaginationQuery = {
  page: Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 }),
  limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: 20 }),
};

/** `{items, total, page, limit}`: the shape of every list. */
export function Page<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    total: Type.Integer(),
    page: Type.Integer(),
    limit: Type.Integer(),
  });
}

export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String(),
    code: Type.Enum(ERROR_CODES),
    message: Type.String(),
  },
  { description: "Every error: Fastify's shape plus a stable `code`." },
);

/** Error responses a route documents, by status. */
export function errors(...statuses: number[]): Record<number, typeof ErrorResponse> {
  return Object.fromEntries(statuses.map((status) => [status, ErrorResponse]));
}

/**
 * A timestamp in the wire format. Raw rows from the ORM's connection carry `timestamptz` as
 * strings, entities as Dates; both come out as ISO-8601 UTC.
 */
export function toIso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** Like `toIso`, for nullable columns. */
export function iso(value: Date | string | null | undefined): string | null {
  return value ? toIso(value) : null;
}

/** `numeric` values go out as JSON numbers with at most two decimals. */
export function decimal(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  return Math.round(Number(value) * 100) / 100;
}

/** The `security` entry of routes that need a Bearer token. */
export const bearer = [{ bearerAuth: [] }];

/** A 204 response. */
export const NoContent = Type.Null({ description: 'No content' });
