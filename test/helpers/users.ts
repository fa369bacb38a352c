import { randomUUID } from 'node:crypto';
import { Type, type Static } from 'typebox';
import type { App } from '../../server/app.js';
import { hashPassword } from '../../server/modules/auth/passwords.js';
import { Session } from '../../server/modules/auth/auth.schemas.js';
import { User, type IUser, type UserRole } from '../../entities/index.js';

export const TEST_PASSWORD = 'correct horse battery staple';

/** A session as answered without `useCookie`: the refresh token is in the body (`bodyOf(reply, 200, BodySession)`). */
export const BodySession = Type.Required(Session);
export type BodySession = Static<typeof BodySession>;
let passwordHash: Promise<string> | undefined;

export interface TestUser {
  user: IUser;
  id: string;
  email: string;
  /** A valid access token for this user. */
  token: string;
  /** `{ authorization: 'Bearer …' }` for `app.inject`. */
  headers: { authorization: string };
}

/** Creates a user directly in the database (password `TEST_PASSWORD`) with an access token. */
export async function createUser(
  app: App,
  role: UserRole = 'student',
  fields: Partial<Pick<IUser, 'email' | 'fullName' | 'isActive'>> = {},
): Promise<TestUser> {
  passwordHash ??= hashPassword(TEST_PASSWORD);
  const em = app.orm.em.fork();
  const user = em.create(User, {
    email: fields.email ?? `${role}-${randomUUID().slice(0, 8)}@example.com`,
    fullName: fields.fullName ?? `Test ${role}`,
    role,
    isActive: fields.isActive ?? true,
    passwordHash: await passwordHash,
  });
  await em.flush();
  const token = app.signAccessToken({ id: user.id, role });
  return { user, id: user.id, email: user.email, token, headers: { authorization: `Bearer ${token}` } };
}
