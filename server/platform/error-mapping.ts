import { ForeignKeyConstraintViolationException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { AppError, codeForStatus, HTTP_REASONS, isUnavailableError, UNAVAILABLE_RETRY_AFTER_SECONDS, type ErrorCode } from './errors.js';

/** What a client is told about an error, whichever transport it came on. */
export interface MappedError {
  /** The HTTP status (sockets do not send it; it is the same error). */
  statusCode: number;
  code: ErrorCode;
  message: string;
  /** Seconds to wait before retrying: HTTP's `Retry-After`, an ack's `retryAfter`. */
  retryAfter?: number;
}

/**
 * The one mapping from anything thrown to what the client is told: the HTTP error handler
 * (`server/plugins/errors.ts`) and the Socket.IO and `/ws` acks (`server/realtime/ack.ts`) both
 * use it, so an error has the same code and message over every transport. `null` means
 * unexpected (a bug): the caller logs it and answers a masked `INTERNAL_ERROR`.
 */
export function mapError(error: unknown): MappedError | null {
  if (error instanceof AppError) return withRetryAfter({ statusCode: error.statusCode, code: error.code, message: error.message }, error);
  if (isUnavailableError(error)) {
    return {
      statusCode: 503,
      code: 'UNAVAILABLE',
      message: 'The service is temporarily unavailable; retry shortly',
      retryAfter: UNAVAILABLE_RETRY_AFTER_SECONDS,
    };
  }
  // A constraint the service did not foresee still means the client asked for something impossible.
  if (error instanceof UniqueConstraintViolationException) return { statusCode: 409, code: 'CONFLICT', message: 'The resource already exists' };
  if (error instanceof ForeignKeyConstraintViolationException) return { statusCode: 409, code: 'CONFLICT', message: 'The resource is still referenced' };
  // Fastify's (and its plugins') own errors: a failed schema validation, or a 4xx status.
  const withStatus = error as { statusCode?: unknown; message?: unknown; validation?: unknown } | null;
  const message = typeof withStatus?.message === 'string' ? withStatus.message : '';
  if (withStatus?.validation) return { statusCode: 400, code: 'VALIDATION_ERROR', message: message || 'Invalid request' };
  const status = withStatus?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return withRetryAfter({ statusCode: status, code: codeForStatus(status), message: message || HTTP_REASONS[status] || 'Bad request' }, error);
  }
  return null;
}

/** The error's own `retryAfter` (seconds) on a 429 or 503; `UNAVAILABLE` without one waits the default. */
function withRetryAfter(mapped: MappedError, error: unknown): MappedError {
  const own = (error as { retryAfter?: unknown }).retryAfter;
  if ((mapped.statusCode === 429 || mapped.statusCode === 503) && typeof own === 'number' && own > 0) mapped.retryAfter = own;
  else if (mapped.code === 'UNAVAILABLE') mapped.retryAfter = UNAVAILABLE_RETRY_AFTER_SECONDS;
  return mapped;
}
