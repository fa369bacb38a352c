import { Type, type Static } from 'typebox';
import { USER_ROLES } from '../../../entities/enums.js';
import type { IUser } from '../../../entities/user.entity.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../auth/passwords.js';
import { IdParams, NullableTimestamp, Page, PaginationQuery, Timestamp, Uuid, iso } from '../../platform/schemas.js';
import { FREE_JSON_LIMITS, jsonLimited } from '../../platform/json-limits.js';

export const Role = Type.Union([Type.Literal(USER_ROLES[0]), Type.Literal(USER_ROLES[1]), Type.Literal(USER_ROLES[2])]);
export const Email = Type.String({ format: 'email', maxLength: 255, description: 'Trimmed and lower-cased before validation and storage.' });
export const Password = Type.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH });
export const FullName = Type.String({ minLength: 1, maxLength: 255 });
/** Free-form profile data; replaced as a whole on update. */
export const Metadata = Type.Object(
  {},
  { additionalProperties: true, maxProperties: 100, ...jsonLimited(FREE_JSON_LIMITS, 'Free-form JSON object; a PATCH replaces it as a whole') },
);

/** A user as the API shows it: never the password hash. */
export const UserResponse = Type.Object({
  id: Uuid,
  email: Type.String(),
  fullName: Type.String(),
  role: Role,
  isActive: Type.Boolean(),
  metadata: Metadata,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  lastLoginAt: NullableTimestamp,
});
export type UserResponse = Static<typeof UserResponse>;

export function toUserResponse(user: IUser): UserResponse {
  return {
    id: user.id,
    email: user.email,
    fullName: user.fullName,
    role: user.role,
    isActive: user.isActive,
    metadata: user.metadata ?? {},
    createdAt: iso(user.createdAt)!,
    updatedAt: iso(user.updatedAt)!,
    lastLoginAt: iso(user.lastLoginAt),
  };
}

export const UpdateMeBody = Type.Object({ fullName: Type.Optional(FullName), metadata: Type.Optional(Metadata) }, { additionalProperties: false });
export type UpdateMeBody = Static<typeof UpdateMeBody>;

export const ChangePasswordBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }),
    newPassword: Password,
    refreshToken: Type.Optional(
      Type.String({ minLength: 1, maxLength: 512, description: 'The refresh token of this session, to keep it alive; every other session is ended.' }),
    ),
  },
  { additionalProperties: false },
);
export type ChangePasswordBody = Static<typeof ChangePasswordBody>;

export const ListUsersQuery = Type.Object({
  role: Type.Optional(Role),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Case-insensitive substring of the email or the full name.' })),
  ...PaginationQuery,
});
export type ListUsersQuery = Static<typeof ListUsersQuery>;

export const UserPage = Page(UserResponse);

export const UpdateUserBody = Type.Object(
  {
    role: Type.Optional(Role),
    isActive: Type.Optional(Type.Boolean()),
    fullName: Type.Optional(FullName),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);
export type UpdateUserBody = Static<typeof UpdateUserBody>;

export { IdParams };
