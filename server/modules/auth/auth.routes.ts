import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import cookie, { type CookieSerializeOptions } from '@fastify/cookie';
import { Type } from 'typebox';
import { currentUser } from '../../plugins/auth.js';
import { bearer, errors } from '../../platform/schemas.js';
import { LoginGuard } from './login-guard.js';
import { AppError, validationError } from '../../platform/errors.js';
import { LoginBody, LogoutBody, REFRESH_COOKIE, REFRESH_COOKIE_PATH, RefreshBody, RegisterBody, Session } from './auth.schemas.js';
import * as auth from './auth.service.js';

function clientInfo(request: FastifyRequest): auth.ClientInfo {
  return { userAgent: request.headers['user-agent'] ?? null, ip: request.ip };
}

/** Trims and lower-cases `body.email` before validation, so `" Ada@Example.com "` is accepted and stored as `ada@example.com`. */
async function normalizeEmailField(request: FastifyRequest) {
  const body = request.body as { email?: unknown } | null | undefined;
  if (body && typeof body === 'object' && typeof body.email === 'string') body.email = auth.normalizeEmail(body.email);
}

/**
 * The refresh cookie's attributes. `Secure` only when the request came over HTTPS (directly, or
 * per a trusted proxy's `X-Forwarded-Proto`): schools also run the server over plain HTTP on
 * their LAN, where a Secure cookie would never come back. SameSite=Strict keeps it off
 * cross-site requests; the routes also insist on a JSON body, which a cross-origin page cannot
 * send without a CORS preflight.
 */
function cookieOptions(request: FastifyRequest, expires?: Date): CookieSerializeOptions {
  return { httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', path: REFRESH_COOKIE_PATH, ...(expires ? { expires } : {}) };
}

function clearRefreshCookie(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(REFRESH_COOKIE, cookieOptions(request));
}

/** The session as answered: in cookie mode the refresh token travels in the cookie only. */
function sendSession(request: FastifyRequest, reply: FastifyReply, issued: auth.IssuedSession, useCookie: boolean): Session {
  const { refreshExpiresAt, refreshToken, ...rest } = issued;
  if (!useCookie) return { ...rest, refreshToken };
  reply.setCookie(REFRESH_COOKIE, refreshToken, cookieOptions(request, refreshExpiresAt));
  return rest;
}

/** The refresh token of a request: the body's, else the cookie's. */
function presentedToken(request: FastifyRequest, body: { refreshToken?: string }): { token: string; fromCookie: boolean } {
  if (body.refreshToken !== undefined) return { token: body.refreshToken, fromCookie: false };
  const fromCookie = request.cookies[REFRESH_COOKIE];
  if (fromCookie) return { token: fromCookie, fromCookie: true };
  throw validationError(`refreshToken is required, in the body or the ${REFRESH_COOKIE} cookie`);
}

export default async function authRoutes(fastify: FastifyInstance) {
  // Parses cookies for these routes only: nothing else reads one.
  await fastify.register(cookie);
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const deps = (request: FastifyRequest): auth.AuthDeps => ({ ...request.deps, passwords: app.passwords, signAccessToken: app.signAccessToken });
  const tags = ['auth'];
  const loginGuard = new LoginGuard({
    redis: () => app.redis,
    keyPrefix: `${app.config.redisPrefix}:`,
    perAddress: { max: app.config.loginRateLimitMax, windowMs: app.config.loginRateLimitWindowMs },
    emailFailures: { max: app.config.loginEmailFailureMax, windowMs: app.config.loginEmailFailureWindowMs },
    log: app.log,
  });

  // Registration and login cost an argon2 hash each: a budget per IP of their own, before the
  // body is even parsed (generous by default: a school may sit behind one address).
  const authPerIp = async (request: FastifyRequest) =>
    app.consumeRateLimit('auth-ip', request.ip, { max: app.config.authRateLimitMax, windowMs: app.config.authRateLimitWindowMs });

  app.post(
    '/register',
    {
      onRequest: authPerIp,
      preValidation: normalizeEmailField,
      schema: {
        tags,
        summary: 'Create a student account and sign in',
        description: 'With `useCookie: true` the refresh token is set as a cookie instead of returned (see `/auth/refresh`).',
        body: RegisterBody,
        response: { 201: Session, ...errors(400, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      const issued = await auth.register(deps(request), request.body, clientInfo(request));
      return reply.status(201).send(sendSession(request, reply, issued, request.body.useCookie === true));
    },
  );

  app.post(
    '/login',
    {
      onRequest: authPerIp,
      preValidation: normalizeEmailField,
      schema: {
        tags,
        summary: 'Sign in with email and password',
        description:
          'One 401 for an unknown email, a wrong password and a deactivated account. Limited per IP, per email and IP ' +
          '(`LOGIN_RATE_LIMIT_MAX` attempts, successful or not, per `LOGIN_RATE_LIMIT_WINDOW_MS`) and per email from every ' +
          'address (`LOGIN_EMAIL_FAILURE_MAX` failures per `LOGIN_EMAIL_FAILURE_WINDOW_MS`; past it only addresses that signed ' +
          'in to the account within 30 days may try): 429 `RATE_LIMITED` with `retry-after`. With `useCookie: true` the ' +
          'refresh token is set as a cookie instead of returned.',
        body: LoginBody,
        response: { 200: Session, ...errors(400, 401, 429, 503) },
      },
    },
    async (request, reply) => {
      const { email } = request.body;
      // After parsing and validation: these limits need the email (the per-IP one ran at onRequest).
      const { known } = await loginGuard.admit(email, request.ip);
      try {
        // An address that signed in to this account before waits ahead of a flood of strangers.
        const base = deps(request);
        const issued = await auth.login(known ? { ...base, passwords: base.passwords.prioritized() } : base, request.body, clientInfo(request));
        // Not awaited: the reply need not wait for Redis (a hung one would add its command timeout
        // to every login). The command is queued on the connection now, so it precedes any later one.
        void loginGuard.succeeded(email, request.ip);
        return sendSession(request, reply, issued, request.body.useCookie === true);
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
          "token expires when the chain's first one did. Of concurrent refreshes of one token exactly one succeeds: refresh " +
          'single-flight. The same token presented again within `REFRESH_REUSE_GRACE_SECONDS` (30 s) of its rotation (a retry ' +
          'after a lost reply, a second tab) answers 409 `TOKEN_ROTATED` and revokes nothing. Later, or a token that was logged ' +
          'out or revoked, answers 401 `TOKEN_REUSED`; a rotated or logged-out one then ends every session of the user. ' +
          `The token comes from the body or, when the body has none, from the \`${REFRESH_COOKIE}\` cookie; the body must be ` +
          'a JSON object (`{}` in cookie mode). Cookie mode (`useCookie`, by default when the token came from the cookie) sets ' +
          'the new token as the cookie and leaves it out of the body; a refused cookie is cleared.',
        body: RefreshBody,
        response: { 200: Session, ...errors(400, 401, 409, 429) },
      },
    },
    async (request, reply) => {
      const { token, fromCookie } = presentedToken(request, request.body);
      const useCookie = request.body.useCookie ?? fromCookie;
      try {
        const issued = await auth.refresh(deps(request), token, clientInfo(request));
        if (!useCookie && request.cookies[REFRESH_COOKIE] !== undefined) clearRefreshCookie(request, reply);
        return sendSession(request, reply, issued, useCookie);
      } catch (error) {
        // A dead token is no use to keep; a rotated one may be shared by tabs that already hold its successor.
        if (fromCookie && error instanceof AppError && error.statusCode === 401) clearRefreshCookie(request, reply);
        throw error;
      }
    },
  );

  app.post(
    '/logout',
    {
      preHandler: app.authenticate,
      schema: {
        tags,
        summary: 'Revoke one of your refresh tokens',
        description:
          `Idempotent for your own tokens; a token that is not yours answers 404. Without \`refreshToken\` in the body, ` +
          `revokes the \`${REFRESH_COOKIE}\` cookie's token and clears the cookie.`,
        security: bearer,
        body: LogoutBody,
        response: { 204: Type.Null(), ...errors(400, 401, 404, 429) },
      },
    },
    async (request, reply) => {
      const { token } = presentedToken(request, request.body);
      await auth.logout(request.deps, currentUser(request).id, token);
      if (request.cookies[REFRESH_COOKIE] === token) clearRefreshCookie(request, reply);
      return reply.status(204).send(null);
    },
  );
}
