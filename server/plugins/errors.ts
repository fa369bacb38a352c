import fp from 'fastify-plugin';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, HTTP_REASONS, type ErrorBody, type ErrorCode } from '../platform/errors.js';
import { mapError } from '../platform/error-mapping.js';

/** Unknown routes: 404 `NOT_FOUND`. Set by the rate-limit plugin, so that probing for routes counts against the per-IP limit. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  reply.status(404).send(errorBody(404, 'NOT_FOUND', `Route ${request.method} ${request.url.split('?')[0]} not found`));
}

export function errorBody(statusCode: number, code: ErrorCode, message: string): ErrorBody {
  return { statusCode, error: HTTP_REASONS[statusCode] ?? (statusCode >= 500 ? 'Internal Server Error' : 'Bad Request'), code, message };
}

/** The response body of anything thrown (`mapError`); `null` means "unexpected: mask it". */
export function toErrorBody(error: unknown): ErrorBody | null {
  const mapped = mapError(error);
  return mapped && errorBody(mapped.statusCode, mapped.code, mapped.message);
}

/**
 * One warning per `intervalMs` about requests failing because PostgreSQL or Redis cannot be
 * reached, with how many were left out: an outage under load must not write a line per request.
 */
export class ThrottledWarning {
  private last = -Infinity;
  private suppressed = 0;

  constructor(
    private readonly message: string,
    private readonly intervalMs = 10_000,
  ) {}

  noticed(error: unknown, log: { warn(obj: object, msg: string): void }): void {
    const now = Date.now();
    if (now - this.last < this.intervalMs) {
      this.suppressed++;
      return;
    }
    log.warn({ err: error, suppressedSinceLast: this.suppressed }, this.message);
    this.last = now;
    this.suppressed = 0;
  }
}

export default fp(
  async (app) => {
    const outageLog = new ThrottledWarning('a dependency cannot be reached; answering 503 UNAVAILABLE');
    app.setErrorHandler((error, request, reply) => {
      const mapped = mapError(error);
      if (mapped) {
        if (mapped.retryAfter) reply.header('retry-after', String(mapped.retryAfter));
        if (mapped.code === 'UNAVAILABLE' && !(error instanceof AppError)) outageLog.noticed(error, request.log);
        return reply.status(mapped.statusCode).send(errorBody(mapped.statusCode, mapped.code, mapped.message));
      }
      // Unexpected: log everything with the request id, tell the client nothing internal.
      request.log.error({ err: error }, 'unhandled error');
      return reply.status(500).send(errorBody(500, 'INTERNAL_ERROR', `Internal server error (request ${request.id})`));
    });
  },
  { name: 'errors' },
);
