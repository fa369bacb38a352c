import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, enumColumn, metadataJson, optionalTimestamp, updatedAt, uuidPrimaryKey } from './columns.js';
import { USER_ROLES } from './enums.js';

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: uuidPrimaryKey(),
    // Stored lower-cased (CHECK below), so the unique constraint makes emails case-insensitive.
    email: p.string().length(255).unique('users_email_unique'),
    passwordHash: p.string().length(255).hidden(),
    fullName: p.string().length(255),
    // CHECK users_role_check, named by MikroORM's naming strategy (see enumColumn).
    role: enumColumn(USER_ROLES)
      .default('student')
      .onCreate(() => 'student' as const),
    isActive: p
      .boolean()
      .default(true)
      .onCreate(() => true),
    metadata: metadataJson(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    lastLoginAt: optionalTimestamp(),
  },
  checks: [{ name: 'users_email_lowercase_check', expression: '((email)::text = lower((email)::text))' }],
});

export type IUser = InferEntity<typeof User>;
