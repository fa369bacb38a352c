import type { BaseLogger } from 'pino';
import type { FastifyServerOptions } from 'fastify';
import type { Config } from '../config/config.js';
import { errSerializer } from './db/query-errors.js';

/** Replaces credentials carried in a URL's query (`/ws?token=…`) so they never reach a log. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token|refresh_token|signature)=)[^&#]*/gi, '$1[REDACTED]');
}

/** pino options: JSON lines, request ids, no tokens (headers or query) and no query values (`err`) in any line. */
export function loggerOptions(config: Pick<Config, 'logLevel'>): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'headers.cookie',
        '*.password',
        '*.refreshToken',
        '*.accessToken',
        '*.token',
      ],
      censor: '[REDACTED]',
    },
    serializers: {
      err: errSerializer,
      req(request: { method: string; url: string; id: string; ip?: string; headers?: Record<string, unknown> }) {
        return {
          method: request.method,
          url: redactUrl(request.url),
          reqId: request.id,
          remoteAddress: request.ip,
          userAgent: request.headers?.['user-agent'],
        };
      },
    },
  };
}

/** The logger's shape that code outside the HTTP layer uses: pino's (Fastify's is one). */
export type Logger = Pick<BaseLogger, 'level' | 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'> & { child(bindings: Record<string, unknown>): Logger };
