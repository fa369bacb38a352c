import { Type, type Static } from 'typebox';
import { PASSWORD_MAX_LENGTH } from '../../auth/passwords.js';
import { Email, FullName, Password, UserResponse } from '../users/users.schemas.js';

export const RefreshTokenField = Type.String({ minLength: 1, maxLength: 512, description: 'An opaque refresh token.' });

export const RegisterBody = Type.Object({ email: Email, password: Password, fullName: FullName }, { additionalProperties: false });
export type RegisterBody = Static<typeof RegisterBody>;

export const LoginBody = Type.Object(
  // No minimum length here: accounts keep working if the password policy tightens later.
  { email: Email, password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }) },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const RefreshBody = Type.Object({ refreshToken: RefreshTokenField }, { additionalProperties: false });
export type RefreshBody = Static<typeof RefreshBody>;

export const Session = Type.Object({
  user: UserResponse,
  accessToken: Type.String({ description: 'HS256 JWT; send as `Authorization: Bearer <token>`.' }),
  refreshToken: Type.String({ description: 'Opaque; single use: each refresh returns a new one.' }),
});
export type Session = Static<typeof Session>;
