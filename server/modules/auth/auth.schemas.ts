import { Type, type Static } from 'typebox';
import { PASSWORD_MAX_LENGTH } from './passwords.js';
import { Email, FullName, Password, UserResponse } from '../users/users.schemas.js';

const refreshTokenField = (description: string) => Type.String({ minLength: 1, maxLength: 512, description });
export const RefreshTokenField = refreshTokenField('An opaque refresh token.');

/** Name of the cookie that carries the refresh token in cookie mode. */
export const REFRESH_COOKIE = 'refresh_token';
/** The narrowest path that covers both routes that read the cookie: refresh and logout. */
export const REFRESH_COOKIE_PATH = '/api/auth';

const useCookieText =
  `Cookie mode, for browsers: the refresh token goes into an httpOnly, SameSite=Strict cookie \`${REFRESH_COOKIE}\` on ` +
  `\`${REFRESH_COOKIE_PATH}\` (Secure over HTTPS) instead of the response body.`;
const UseCookie = Type.Boolean({ description: useCookieText });

export const RegisterBody = Type.Object(
  { email: Email, password: Password, fullName: FullName, useCookie: Type.Optional(UseCookie) },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBody>;

export const LoginBody = Type.Object(
  // No minimum length here: accounts keep working if the password policy tightens later.
  { email: Email, password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }), useCookie: Type.Optional(UseCookie) },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const RefreshBody = Type.Object(
  {
    refreshToken: Type.Optional(refreshTokenField(`An opaque refresh token; when absent, the \`${REFRESH_COOKIE}\` cookie's.`)),
    useCookie: Type.Optional(Type.Boolean({ description: `${useCookieText} Defaults to true when the token came from the cookie.` })),
  },
  { additionalProperties: false },
);
export type RefreshBody = Static<typeof RefreshBody>;

export const LogoutBody = Type.Object(
  { refreshToken: Type.Optional(refreshTokenField(`The token to revoke; when absent, the \`${REFRESH_COOKIE}\` cookie's (then cleared).`)) },
  { additionalProperties: false },
);
export type LogoutBody = Static<typeof LogoutBody>;

export const Session = Type.Object({
  user: UserResponse,
  accessToken: Type.String({ description: 'HS256 JWT; send as `Authorization: Bearer <token>`.' }),
  refreshToken: Type.Optional(Type.String({ description: 'Opaque; single use: each refresh returns a new one. Absent in cookie mode.' })),
});
export type Session = Static<typeof Session>;
