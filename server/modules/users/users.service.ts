import type { EntityManager } from '@mikro-orm/postgresql';
import type { FilterQuery } from '@mikro-orm/core';
import type { FastifyBaseLogger } from 'fastify';
import { User, type IUser } from '../../../entities/index.js';
import { conflict, notFound, validationError } from '../../platform/errors.js';
import type { Passwords } from '../auth/passwords.js';
import { endAllRefreshTokens } from '../auth/refresh-tokens.js';
import type { Publisher } from '../deps.js';
import type { ChangePasswordBody, ListUsersQuery, UpdateMeBody, UpdateUserBody } from './users.schemas.js';

export interface UsersDeps {
  em: EntityManager;
  log: FastifyBaseLogger;
  publisher: Pick<Publisher, 'accountChanged'>;
  passwords: Passwords;
}

export async function getUser(em: EntityManager, id: string): Promise<IUser> {
  const user = await em.findOne(User, id);
  if (!user) throw notFound('User');
  return user;
}

export async function updateMe(em: EntityManager, userId: string, input: UpdateMeBody): Promise<IUser> {
  const user = await getUser(em, userId);
  if (input.fullName !== undefined) user.fullName = input.fullName;
  if (input.metadata !== undefined) user.metadata = input.metadata as Record<string, unknown>;
  await em.flush();
  return user;
}

/**
 * Changes the caller's password after checking the current one, then ends every other session:
 * all refresh tokens of the user except `input.refreshToken` when given (the caller's own).
 * Access tokens already issued live on until they expire (at most ACCESS_TOKEN_TTL_SECONDS).
 */
export async function changePassword(deps: UsersDeps, userId: string, input: ChangePasswordBody): Promise<{ sessionsEnded: number }> {
  const user = await getUser(deps.em, userId);
  if (!(await deps.passwords.verify(user.passwordHash, input.currentPassword))) {
    throw validationError('currentPassword is incorrect', { field: 'currentPassword' });
  }
  const passwordHash = await deps.passwords.hash(input.newPassword);
  return deps.em.transactional(async (em) => {
    await em.nativeUpdate(User, { id: userId }, { passwordHash, updatedAt: new Date() });
    return { sessionsEnded: await endAllRefreshTokens(em, userId, input.refreshToken) };
  });
}

/** `%`, `_` and `\` match themselves in a LIKE pattern. */
function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function listUsers(em: EntityManager, query: ListUsersQuery): Promise<{ items: IUser[]; total: number }> {
  const where: FilterQuery<IUser> = {};
  if (query.role) where.role = query.role;
  if (query.q) {
    const pattern = likeContains(query.q.trim());
    where.$or = [{ email: { $ilike: pattern } }, { fullName: { $ilike: pattern } }];
  }
  const [items, total] = await em.findAndCount(User, where, {
    orderBy: { createdAt: 'asc', id: 'asc' },
    limit: query.limit,
    offset: (query.page - 1) * query.limit,
  });
  return { items, total };
}

/**
 * An admin's change to an account. Deactivating ends the user's sessions (refresh tokens) and
 * emits `deactivated`; a role change emits `roleChanged`. Access tokens stop working by
 * themselves: the auth hook re-reads `is_active` and `role` on every request.
 *
 * No change may leave the platform without an active admin (409). The active admins' rows are
 * locked first, in id order, so two admins demoting each other at once cannot both succeed.
 */
export async function updateUser(deps: UsersDeps, id: string, input: UpdateUserBody): Promise<IUser> {
  const touchesAdmins = input.role !== undefined || input.isActive !== undefined;
  const result = await deps.em.transactional(async (em) => {
    const admins = touchesAdmins
      ? await em.execute<Array<{ id: string }>>(`SELECT id FROM users WHERE role = 'admin' AND is_active ORDER BY id FOR UPDATE`)
      : [];
    const user = await getUser(em, id);
    const before = { role: user.role, isActive: user.isActive };
    const stillAdmin = (input.role ?? user.role) === 'admin' && (input.isActive ?? user.isActive);
    if (before.role === 'admin' && before.isActive && !stillAdmin && !admins.some((admin) => admin.id !== user.id)) {
      throw conflict('This is the last active admin; make another admin first');
    }
    if (input.role !== undefined) user.role = input.role;
    if (input.isActive !== undefined) user.isActive = input.isActive;
    if (input.fullName !== undefined) user.fullName = input.fullName;
    if (input.metadata !== undefined) user.metadata = input.metadata as Record<string, unknown>;
    await em.flush();
    const deactivated = before.isActive && !user.isActive;
    if (deactivated) await endAllRefreshTokens(em, user.id);
    return { user, deactivated, roleChanged: before.role !== user.role ? before.role : null };
  });

  // After the commit: listeners (sockets) act on a change that is already visible to every instance.
  const { user, deactivated, roleChanged } = result;
  try {
    if (deactivated || roleChanged) deps.publisher.accountChanged(user.id);
  } catch (error) {
    deps.log.error({ err: error, userId: user.id }, 'user event listener failed');
  }
  return user;
}
