import type { AuthUser } from '../modules/auth/auth-user.js';
import fp from 'fastify-plugin';
import jwt from '@fastify/jwt';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { USER_ROLES, type UserRole } from '../../entities/enums.js';
import type { IUser } from '../../entities/index.js';
import type { RowOf } from '../platform/db/rows.js';
import { Counter, Gauge } from 'prom-client';
import { forbidden, unauthorized } from '../platform/errors.js';
import { WorkLimiter } from '../platform/work-limiter.js';
import { accountStanding } from '../modules/users/users.service.js';
import { limitedPasswords, type Passwords } from '../modules/auth/passwords.js';

/** Who is calling, as every route and socket handler sees it. */
export type { AuthUser };

/** What a token's user must still be: active, with the role the token claims (its `users` row's columns). */
export type AccountStanding = Pick<RowOf<IUser>, 'is_active' | 'role'>;

/** Claims of an access token. `typ` keeps other tokens signed with the same secret out. */
export interface AccessClaims {
  sub: string;
  role: UserRole;
  /** `queues`: the Bull Board cookie's token (server/plugins/admin-queues.ts), never accepted as a bearer token. */
  typ: 'access' | 'queues';
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessClaims;
    user: AuthUser;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler: a valid access token of an active user whose role is still the one claimed. */
    authenticate: preHandlerAsyncHookHandler;
    /** preHandler: like `authenticate` when an Authorization header is present; anonymous otherwise. */
    optionalAuth: preHandlerAsyncHookHandler;
    /** Signs an access token for `user`. */
    signAccessToken: (user: AuthUser) => string;
    /**
     * Verifies an access token and re-checks the user against the database (active, same role).
     * Used by the HTTP hook, the Socket.IO handshake and `/ws`. Throws `AppError('UNAUTHORIZED')`.
     * `readStanding` replaces the standing's read (`accountStanding`) with one that reads more in
     * the same statement (the Socket.IO handshake's `connectionStanding`); the row comes back as
     * `standing`.
     */
    verifyAccessToken<S extends AccountStanding = AccountStanding>(
      token: string,
      readStanding?: (userId: string) => Promise<S | null>,
    ): Promise<AuthUser & { expiresAt: number; standing: S }>;
    /** The slots for argon2 work (`ARGON2_MAX_*`): at most that many hashes run at once. */
    passwordWork: WorkLimiter;
    /** Hashing and verification of passwords for requests, through `passwordWork`. */
    passwords: Passwords;
  }
  interface FastifyRequest {
    /** Set by `optionalAuth` (null for anonymous callers); `authenticate` guarantees it. */
    auth: AuthUser | null;
  }
}

/** preHandler allowing only the given roles; run after `authenticate`. */
export function requireRole(...roles: UserRole[]): preHandlerAsyncHookHandler {
  return async function requireRoleHook(request: FastifyRequest) {
    if (!request.auth) throw unauthorized();
    if (!roles.includes(request.auth.role)) throw forbidden(`This requires the ${roles.join(' or ')} role`);
  };
}

/** The caller, for routes behind `authenticate`. */
export function currentUser(request: FastifyRequest): AuthUser {
  if (!request.auth) throw unauthorized();
  return request.auth;
}

function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw unauthorized('Authorization must be "Bearer <access token>"');
  return match[1];
}

export default fp(
  async (app) => {
    const { jwtSecret, jwtSecretFile, accessTokenTtlSeconds } = app.config;
    if (jwtSecretFile) {
      app.log.info({ file: jwtSecretFile }, 'JWT_SECRET is unset: signing with the random secret kept in STORAGE_DIR (set JWT_SECRET in production)');
    }
    await app.register(jwt, {
      secret: jwtSecret,
      // One algorithm, allow-listed on verification: never `none`, never a key-confusion switch.
      sign: { algorithm: 'HS256', expiresIn: accessTokenTtlSeconds },
      verify: { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] },
    });

    // argon2 runs on libuv's thread pool: unbounded, a flood of logins of unknown emails would
    // take every core (and the pool that file I/O also needs) from everything else.
    const passwordWork = new WorkLimiter({
      concurrency: app.config.argon2MaxConcurrency,
      maxQueue: app.config.argon2MaxQueue,
      queueTimeoutMs: app.config.argon2QueueTimeoutMs,
      what: 'password checks',
    });
    app.decorate('passwordWork', passwordWork);
    app.decorate('passwords', limitedPasswords(passwordWork));
    new Gauge({
      name: 'argon2_active',
      help: 'Password hashes and verifications running',
      registers: [app.metrics],
      collect() {
        this.set(passwordWork.active);
      },
    });
    new Gauge({
      name: 'argon2_queued',
      help: 'Password hashes and verifications waiting for a slot',
      registers: [app.metrics],
      collect() {
        this.set(passwordWork.queued);
      },
    });
    new Counter({
      name: 'argon2_refused_total',
      help: 'Password operations refused with 503 (queue full or waited too long)',
      registers: [app.metrics],
      collect() {
        this.reset();
        this.inc(passwordWork.refused);
      },
    });

    app.decorate('signAccessToken', (user: AuthUser) => app.jwt.sign({ sub: user.id, role: user.role, typ: 'access' }));

    app.decorate('verifyAccessToken', async <S extends AccountStanding>(token: string, readStanding?: (userId: string) => Promise<S | null>) => {
      let claims: AccessClaims & { exp: number };
      try {
        claims = app.jwt.verify<AccessClaims & { exp: number }>(token);
      } catch {
        throw unauthorized('Invalid or expired access token');
      }
      if (claims.typ !== 'access' || typeof claims.sub !== 'string' || !USER_ROLES.includes(claims.role)) {
        throw unauthorized('Invalid or expired access token');
      }
      // One primary-key lookup per request, deliberately uncached: deactivation and role
      // changes bite on the very next request, on every instance.
      const row = await (readStanding ?? ((userId: string) => accountStanding({ em: app.orm.em }, userId) as Promise<S | null>))(claims.sub);
      if (!row || !row.is_active) throw unauthorized('This account is not active');
      if (row.role !== claims.role) throw unauthorized('Your role has changed; refresh your token');
      return { id: claims.sub, role: row.role, expiresAt: claims.exp * 1000, standing: row };
    });

    app.decorateRequest('auth', null);

    app.decorate('authenticate', async function authenticate(request: FastifyRequest, _reply: FastifyReply) {
      const token = bearerToken(request);
      if (!token) throw unauthorized();
      const { id, role } = await app.verifyAccessToken(token);
      request.auth = { id, role };
    });

    app.decorate('optionalAuth', async function optionalAuth(request: FastifyRequest, reply: FastifyReply) {
      if (request.headers.authorization) await app.authenticate.call(app, request, reply);
    });
  },
  { name: 'auth', dependencies: ['config', 'orm', 'metrics'] },
);
