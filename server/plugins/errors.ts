import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { UniqueConstraintViolationException, ForeignKeyConstraintViolationException } from '@mikro-orm/core';
import { AppError, codeForStatus, isUnavailableError, UNAVAILABLE_RETRY_AFTER_SECONDS, type ErrorBody, type ErrorCode } from '../platform/errors.js';

const REASON: Record<number, string> = {
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

/** Unknown routes: 404 `NOT_FOUND`. Set by the rate-limit plugin, so that probing for routes counts against the per-IP limit. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  reply.status(404).send(errorBody(404, 'NOT_FOUND', `Route ${request.method} ${request.url.split('?')[0]} not found`));
}

export function errorBody(statusCode: number, code: ErrorCode, message: string): ErrorBody {
  return { statusCode, error: REASON[statusCode] ?? (statusCode >= 500 ? 'Internal Server Error' : 'Bad Request'), code, message };
}

/** Maps anything thrown to the response we send; `null` status means "unexpected: mask it". */
export function toErrorBody(error: unknown): ErrorBody | null {
  if (error instanceof AppError) return errorBody(error.statusCode, error.code, error.message);
  if (isUnavailableError(error)) return errorBody(503, 'UNAVAILABLE', 'The service is temporarily unavailable; retry shortly');
  // A constraint the service did not foresee still means the client asked for something impossible.
  if (error instanceof UniqueConstraintViolationException) return errorBody(409, 'CONFLICT', 'The resource already exists');
  if (error instanceof ForeignKeyConstraintViolationException) return errorBody(409, 'CONFLICT', 'The resource is still referenced');
  const fastifyError = error as Partial<FastifyError> & { validation?: unknown };
  if (fastifyError.validation) return errorBody(400, 'VALIDATION_ERROR', fastifyError.message ?? 'Invalid request');
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = codeForStatus(status);
    return errorBody(status, code, fastifyError.message || REASON[status] || 'Bad request');
  }
  return null;
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
      const body = toErrorBody(error);
      if (body) {
        if ((body.statusCode === 429 || body.statusCode === 503) && (error as { retryAfter?: number }).retryAfter) {
          reply.header('retry-after', String((error as { retryAfter: number }).retryAfter));
        }
        if (body.code === 'UNAVAILABLE') {
          reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
          if (!(error instanceof AppError)) outageLog.noticed(error, request.log);
        }
        return reply.status(body.statusCode).send(body);
      }
      // Unexpected: log everything with the request id, tell the client nothing internal.
      request.log.error({ err: error }, 'unhandled error');
      return reply.status(500).send(errorBody(500, 'INTERNAL_ERROR', `Internal server error (request ${request.id})`));
    });

  },
  { name: 'errors' },
);
