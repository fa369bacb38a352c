import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors } from '../../schemas/common.js';
import type { ClientInfo } from '../../auth/refresh-tokens.js';
import { LoginGuard } from '../../auth/login-guard.js';
import { AppError } from '../../errors.js';
import { LoginBody, RefreshBody, RegisterBody, Session } from './auth.schemas.js';
import * as auth from './auth.service.js';

function clientInfo(request: FastifyRequest): ClientInfo {
  return { userAgent: request.headers['user-agent'] ?? null, ip: request.ip };
}

/** Trims and lower-cases `body.email` before validation, so `" Ada@Example.com "` is accepted and stored as `ada@example.com`. */
async function normalizeEmailField(request: FastifyRequest) {
  const body = request.body as { email?: unknown } | null | undefined;
  if (body && typeof body === 'object' && typeof body.email === 'string') body.email = auth.normalizeEmail(body.email);
}

export default async function authRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const deps = (request: FastifyRequest): auth.AuthDeps => ({
    em: request.em,
    log: request.log,
    refreshTokenTtlSeconds: app.config.refreshTokenTtlSeconds,
    signAccessToken: app.signAccessToken,
  });
  const tags = ['auth'];
  const loginGuard = new LoginGuard({
    redis: () => app.redis,
    keyPrefix: `${app.config.redisPrefix}:`,
    perAddress: { max: app.config.loginRateLimitMax, windowMs: app.config.loginRateLimitWindowMs },
    emailFailures: { max: app.config.loginEmailFailureMax, windowMs: app.config.loginEmailFailureWindowMs },
    log: app.log,
  });

  app.post(
    '/register',
    {
      preValidation: normalizeEmailField,
      schema: {
        tags,
        summary: 'Create a student account and sign in',
        body: RegisterBody,
        response: { 201: Session, ...errors(400, 409, 429) },
      },
    },
    async (request, reply) => reply.status(201).send(await auth.register(deps(request), request.body, clientInfo(request))),
  );

  app.post(
    '/login',
    {
      preValidation: normalizeEmailField,
      // After parsing and validation: these limits need the email. The per-IP limit ran at onRequest.
      preHandler: async (request) => loginGuard.admit(request.body.email, request.ip),
      schema: {
        tags,
        summary: 'Sign in with email and password',
        description:
          'One 401 for an unknown email, a wrong password and a deactivated account. Limited per IP, per email and IP ' +
          '(`LOGIN_RATE_LIMIT_MAX` attempts, successful or not, per `LOGIN_RATE_LIMIT_WINDOW_MS`) and per email from every ' +
          'address (`LOGIN_EMAIL_FAILURE_MAX` failures per `LOGIN_EMAIL_FAILURE_WINDOW_MS`; past it only addresses that signed ' +
          'in to the account within 30 days may try): 429 `RATE_LIMITED` with `retry-after`.',
        body: LoginBody,
        response: { 200: Session, ...errors(400, 401, 429) },
      },
    },
    async (request) => {
      const { email } = request.body;
      try {
        const session = await auth.login(deps(request), request.body, clientInfo(request));
        await loginGuard.succeeded(email, request.ip);
        return session;
      } catch (error) {
        if (error instanceof AppError && error.code === 'UNAUTHORIZED') await loginGuard.failed(email);
        throw error;
      }
    },
  );

  app.post(
    '/refresh',
    {
      schema: {
        tags,
        summary: 'Exchange a refresh token for a new pair',
        description:
          'Rotates atomically: the presented token is revoked and a new access and refresh token returned; the new refresh ' +
          'token expires when the chain\'s first one did. A token that was already rotated or revoked answers 401 `TOKEN_REUSED` ' +
          'and, when it had been rotated or logged out, ends every session of the user. Of concurrent refreshes of one token ' +
          'exactly one succeeds: refresh single-flight.',
        body: RefreshBody,
        response: { 200: Session, ...errors(400, 401, 429) },
      },
    },
    async (request) => auth.refresh(deps(request), request.body.refreshToken, clientInfo(request)),
  );

  app.post(
    '/logout',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Revoke one of your refresh tokens',
        description: 'Idempotent for your own tokens; a token that is not yours answers 404.',
        security: bearer,
        body: RefreshBody,
        response: { 204: Type.Null(), ...errors(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      await auth.logout(deps(request), currentUser(request).id, request.body.refreshToken);
      return reply.status(204).send(null);
    },
  );
}
