/**
 * Domain errors with a stable `code`. Services throw these; the HTTP error handler, the
 * Socket.IO acks and the `/ws` acks all map them the same way, through `mapError` (`error-mapping.ts`).
 * No dependencies: the realtime contract, which front ends import, takes `ERROR_CODES` from here.
 */

export const ERROR_CODES = [
  'VALIDATION_ERROR',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'QUIZ_TIME_EXPIRED',
  'DEADLINE_NOT_IN_FUTURE',
  'QUESTION_FROZEN',
  'REGRADE_BLOCKED',
  'MAX_ATTEMPTS_REACHED',
  'QUIZ_REQUIRED',
  'TOKEN_REUSED',
  'TOKEN_ROTATED',
  'UNAVAILABLE',
  'INTERNAL_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const STATUS: Record<ErrorCode, number> = {
  VALIDATION_ERROR: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  QUIZ_TIME_EXPIRED: 409,
  DEADLINE_NOT_IN_FUTURE: 409,
  QUESTION_FROZEN: 409,
  REGRADE_BLOCKED: 409,
  MAX_ATTEMPTS_REACHED: 409,
  QUIZ_REQUIRED: 409,
  TOKEN_REUSED: 401,
  TOKEN_ROTATED: 409,
  UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

export class AppError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Optional machine-readable detail, e.g. the invalid field. */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
    this.statusCode = STATUS[code];
  }
}

export const notFound = (what = 'Resource') => new AppError('NOT_FOUND', `${what} not found`);
export const forbidden = (message = 'You are not allowed to do this') => new AppError('FORBIDDEN', message);
export const unauthorized = (message = 'Authentication required') => new AppError('UNAUTHORIZED', message);
export const conflict = (message: string) => new AppError('CONFLICT', message);
export const validationError = (message: string, details?: unknown) => new AppError('VALIDATION_ERROR', message, details);

/** Seconds a client should wait before retrying after a 503 `UNAVAILABLE` (`Retry-After`). */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

// Socket errors of a connection that cannot be made or was lost.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
// PostgreSQL SQLSTATEs of a server that is going away, starting, or full: 57P01 admin_shutdown,
// 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections, class 08
// connection_exception.
const POSTGRES_UNAVAILABLE = /^(57P0[123]|53300|08...)$/;
// Not anchored: knex puts the failed SQL in front of the driver's message.
const UNAVAILABLE_MESSAGES = [
  // pg: the server closed the connection, or `query_timeout`/`connectionTimeoutMillis` fired.
  /Connection terminated/,
  /Query read timeout/,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/,
  // knex: no pooled connection within `acquireConnectionTimeout`.
  /Knex: Timeout acquiring a connection/,
  // ioredis: the connection is down (no offline queue), closed, or a command timed out.
  /Stream isn't writeable/,
  /Connection is closed/,
  /Command timed out/,
  /Reached the max retries per request limit/,
  // ioredis with Sentinels: none answers; or, during a failover, the old primary (now a replica)
  // refuses a write or unblocks a blocking read before the client reconnects to the new one.
  /All sentinels are unreachable/,
  /^READONLY /,
  /^UNBLOCKED /,
];

/**
 * Whether `error` means that PostgreSQL or Redis cannot be reached (down, restarting, frozen,
 * out of connections) rather than that the request or the code is wrong: such failures answer
 * 503 `UNAVAILABLE` with `Retry-After`, and clients retry. A statement cancelled by
 * `statement_timeout` counts: the server is too slow to serve now. Looks through wrapped causes
 * (MikroORM wraps driver errors).
 */
export function isUnavailableError(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 3) return false;
  if (error instanceof AppError) return error.code === 'UNAVAILABLE';
  const { code, name, message, cause } = error as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || POSTGRES_UNAVAILABLE.test(code)) return true;
    if (code === '57014' && typeof message === 'string' && /statement timeout/.test(message)) return true;
  }
  if (name === 'KnexTimeoutError' || name === 'MaxRetriesPerRequestError') return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
  return isUnavailableError(cause, depth + 1);
}

/** The code a bare HTTP status maps to, for errors that did not come with one of ours. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 429:
      return 'RATE_LIMITED';
    case 503:
      return 'UNAVAILABLE';
    default:
      return status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_ERROR';
  }
}

/** HTTP reason phrases of the statuses we answer (the `error` field of an error body). */
export const HTTP_REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The body every error response has: Fastify's shape plus our stable `code`. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  code: ErrorCode;
  message: string;
}
