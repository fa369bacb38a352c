import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { User, type IUser } from '../../../entities/index.js';
import { AppError, conflict, notFound, unauthorized } from '../../platform/errors.js';
import type { AuthUser } from './auth-user.js';
import type { Passwords } from './passwords.js';
import {
  deleteLongExpiredRefreshTokens,
  claimRefreshToken,
  endAllRefreshTokens,
  inspectRefreshToken,
  issueRefreshToken,
  revokeRefreshToken,
  type ClientInfo,
} from './auth.queries.js';
import { toUserResponse } from '../users/users.schemas.js';
import type { ServiceDeps } from '../deps.js';
import type { LoginBody, RegisterBody, Session } from './auth.schemas.js';

export type { ClientInfo } from './auth.queries.js';

/**
 * What signing in needs beside `ServiceDeps`: the auth plugin's password hashing and token
 * signing (not in `ServiceDeps`, which every adapter builds; the auth routes add them).
 */
export interface AuthPorts {
  /** argon2, through the process's bounded slots (503 `UNAVAILABLE` when they are all taken). */
  passwords: Passwords;
  signAccessToken(user: AuthUser): string;
}

/** What the auth flows use: `config.refreshTokenTtlSeconds` and `config.refreshReuseGraceSeconds`. */
export type AuthDeps = Pick<ServiceDeps, 'em' | 'config' | 'log' | 'clock'> & AuthPorts;

/** A new session and when its refresh token expires (the lifetime of a cookie that carries it). */
export interface IssuedSession extends Session {
  refreshToken: string;
  refreshExpiresAt: Date;
}

/** The one answer for unknown email, wrong password and inactive account. */
const INVALID_CREDENTIALS = 'Invalid email or password';

/** Emails are compared lower-cased and trimmed, as they are stored. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

async function newSession(deps: AuthDeps, em: EntityManager, user: IUser, client: ClientInfo, expiresAt?: Date): Promise<IssuedSession> {
  const refreshExpiresAt = expiresAt ?? new Date(deps.clock.now().getTime() + deps.config.refreshTokenTtlSeconds * 1000);
  const refreshToken = await issueRefreshToken(em, user.id, refreshExpiresAt, client);
  return { user: toUserResponse(user), accessToken: deps.signAccessToken({ id: user.id, role: user.role }), refreshToken, refreshExpiresAt };
}

/** Creates a student and logs it in. The unique constraint on email decides a race. */
export async function register(deps: AuthDeps, input: RegisterBody, client: ClientInfo): Promise<IssuedSession> {
  const passwordHash = await deps.passwords.hash(input.password);
  try {
    return await deps.em.transactional(async (em) => {
      const user = em.create(User, { email: normalizeEmail(input.email), fullName: input.fullName, passwordHash, role: 'student' });
      await em.flush();
      return newSession(deps, em, user, client);
    });
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw conflict('An account with this email already exists');
    throw error;
  }
}

/**
 * Checks the credentials. Unknown email, wrong password and inactive account get the same 401
 * after the same work (one argon2 verification), so neither message nor timing tells them apart.
 */
export async function login(deps: AuthDeps, input: LoginBody, client: ClientInfo): Promise<IssuedSession> {
  const em = deps.em;
  const user = await em.findOne(User, { email: normalizeEmail(input.email) });
  if (!user) {
    await deps.passwords.verifyDummy(input.password);
    throw unauthorized(INVALID_CREDENTIALS);
  }
  const valid = await deps.passwords.verify(user.passwordHash, input.password);
  if (!valid || !user.isActive) throw unauthorized(INVALID_CREDENTIALS);
  if (deps.passwords.needsRehash(user.passwordHash)) user.passwordHash = await deps.passwords.hash(input.password);
  user.lastLoginAt = deps.clock.now();
  await em.flush();
  return newSession(deps, em, user, client);
}

/**
 * Rotates a refresh token: one conditional UPDATE claims it, so of concurrent refreshes exactly
 * one wins; the others, like any replay within the grace, get 409 `TOKEN_ROTATED`. The new token
 * keeps the old one's expiry: a chain of refreshes ends `REFRESH_TOKEN_TTL_SECONDS` after the
 * login that started it.
 */
export async function refresh(deps: AuthDeps, refreshToken: string, client: ClientInfo): Promise<IssuedSession> {
  const outcome = await deps.em.transactional(async (em) => {
    const claimed = await claimRefreshToken(em, refreshToken);
    if (!claimed) {
      const { state, userId } = await inspectRefreshToken(em, refreshToken, deps.config.refreshReuseGraceSeconds);
      if (state === 'reused' && userId) {
        const ended = await endAllRefreshTokens(em, userId);
        return { kind: 'reused' as const, userId, ended };
      }
      return { kind: state };
    }
    const user = await em.findOne(User, claimed.userId);
    if (!user || !user.isActive) return { kind: 'inactive' as const };
    return { kind: 'ok' as const, session: await newSession(deps, em, user, client, claimed.expiresAt) };
  });

  switch (outcome.kind) {
    case 'ok':
      return outcome.session;
    case 'reused':
      deps.log.warn({ userId: outcome.userId, sessionsEnded: outcome.ended }, 'refresh token reused; every session of the user ended');
      throw new AppError('TOKEN_REUSED', 'This refresh token was already used or revoked; sign in again');
    case 'ended':
      throw new AppError('TOKEN_REUSED', 'This refresh token was already used or revoked; sign in again');
    case 'rotated':
      throw new AppError('TOKEN_ROTATED', 'This refresh token was just exchanged for a new one; use that one (nothing was revoked)');
    case 'inactive':
      throw unauthorized('This account is not active');
    default:
      throw unauthorized('Invalid or expired refresh token');
  }
}

/** Revokes one of the caller's own refresh tokens. Idempotent; someone else's (or no) token → 404. */
export async function logout(deps: Pick<ServiceDeps, 'em'>, userId: string, refreshToken: string): Promise<void> {
  if (!(await revokeRefreshToken(deps.em, userId, refreshToken))) throw notFound('Refresh token');
}

/**
 * Ends every live session (refresh token) of `userId`, except the one whose plain value is
 * `keep`; run it inside the caller's transaction (`em`). Returns how many were ended. Access
 * tokens stop on their own: the auth hook re-reads the account on every request.
 */
export async function endSessions(deps: Pick<ServiceDeps, 'em'>, userId: string, keep?: string): Promise<number> {
  return endAllRefreshTokens(deps.em, userId, keep);
}

/** The sweep's part: refresh tokens are kept a day past expiry (for reuse detection), then purged. */
export async function purgeExpiredRefreshTokens(deps: Pick<ServiceDeps, 'em'>): Promise<number> {
  return deleteLongExpiredRefreshTokens(deps.em);
}
