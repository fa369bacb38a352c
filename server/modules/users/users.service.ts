import type { FilterQuery } from '@mikro-orm/core';
import { User, type IUser } from '../../../entities/index.js';
import { conflict, notFound, validationError } from '../../platform/errors.js';
import type { Passwords } from '../auth/passwords.js';
import { endSessions } from '../auth/auth.service.js';
import type { ServiceDeps } from '../deps.js';
import { lockActiveAdmins, standingOf } from './users.queries.js';
import type { ChangePasswordBody, ListUsersQuery, UpdateMeBody, UpdateUserBody } from './users.schemas.js';
import { pageWindow } from '../../platform/paging.js';

export async function getUser(deps: Pick<ServiceDeps, 'em'>, id: string): Promise<IUser> {
  const user = await deps.em.findOne(User, id);
  if (!user) throw notFound('User');
  return user;
}

export async function updateMe(deps: Pick<ServiceDeps, 'em'>, userId: string, input: UpdateMeBody): Promise<IUser> {
  const user = await getUser(deps, userId);
  if (input.fullName !== undefined) user.fullName = input.fullName;
  if (input.metadata !== undefined) user.metadata = input.metadata as Record<string, unknown>;
  await deps.em.flush();
  return user;
}

/**
 * Changes the caller's password after checking the current one, then ends every other session:
 * all refresh tokens of the user except `input.refreshToken` when given (the caller's own).
 * Access tokens already issued live on until they expire (at most ACCESS_TOKEN_TTL_SECONDS).
 */
export async function changePassword(
  deps: Pick<ServiceDeps, 'em' | 'clock'> & { passwords: Passwords },
  userId: string,
  input: ChangePasswordBody,
): Promise<{ sessionsEnded: number }> {
  const user = await getUser(deps, userId);
  if (!(await deps.passwords.verify(user.passwordHash, input.currentPassword))) {
    throw validationError('currentPassword is incorrect', { field: 'currentPassword' });
  }
  const passwordHash = await deps.passwords.hash(input.newPassword);
  return deps.em.transactional(async (em) => {
    await em.nativeUpdate(User, { id: userId }, { passwordHash, updatedAt: deps.clock.now() });
    return { sessionsEnded: await endSessions({ em }, userId, input.refreshToken) };
  });
}

/** `%`, `_` and `\` match themselves in a LIKE pattern. */
function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function listUsers(deps: Pick<ServiceDeps, 'em'>, query: ListUsersQuery): Promise<{ items: IUser[]; total: number }> {
  const where: FilterQuery<IUser> = {};
  if (query.role) where.role = query.role;
  if (query.q) {
    const pattern = likeContains(query.q.trim());
    where.$or = [{ email: { $ilike: pattern } }, { fullName: { $ilike: pattern } }];
  }
  const [items, total] = await deps.em.findAndCount(User, where, {
    orderBy: { createdAt: 'asc', id: 'asc' },
    ...pageWindow(query),
  });
  return { items, total };
}

/**
 * An admin's change to an account. Deactivating ends the user's sessions (refresh tokens); a
 * deactivation or a role change is reported (`accountChanged`) after the commit. Access tokens stop working by
 * themselves: the auth hook re-reads `is_active` and `role` on every request.
 *
 * No change may leave the platform without an active admin (409). The active admins' rows are
 * locked first, in id order, so two admins demoting each other at once cannot both succeed.
 */
export async function updateUser(deps: Pick<ServiceDeps, 'em' | 'publisher'>, id: string, input: UpdateUserBody): Promise<IUser> {
  const touchesAdmins = input.role !== undefined || input.isActive !== undefined;
  const result = await deps.em.transactional(async (em) => {
    const admins = touchesAdmins ? await lockActiveAdmins(em) : [];
    const user = await getUser({ em }, id);
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
    if (deactivated) await endSessions({ em }, user.id);
    return { user, deactivated, roleChanged: before.role !== user.role ? before.role : null };
  });

  // After the commit: listeners (sockets) act on a change that is already visible to every instance.
  const { user, deactivated, roleChanged } = result;
  if (deactivated || roleChanged) deps.publisher.accountChanged(user.id);
  return user;
}

/**
 * The account's standing now (active, role), read on every authenticated request and socket
 * check: one primary-key lookup, deliberately uncached, so deactivation and role changes bite on
 * the very next request, on every instance. Null for an account that no longer exists.
 */
export async function accountStanding(deps: Pick<ServiceDeps, 'em'>, userId: string) {
  return standingOf(deps.em, userId);
}
