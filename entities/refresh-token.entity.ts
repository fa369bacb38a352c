import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, optionalTimestamp, uuidPrimaryKey } from './columns.js';
import { User } from './user.entity.js';

export const RefreshToken = defineEntity({
  name: 'RefreshToken',
  tableName: 'refresh_tokens',
  properties: {
    id: uuidPrimaryKey(),
    // A user's sessions go with the user: nothing else refers to a refresh token.
    user: () => p.manyToOne(User).ref().deleteRule('cascade').foreignKeyName('refresh_tokens_user_id_foreign').index('refresh_tokens_user_id_index'),
    tokenJti: p.string().length(255).unique('refresh_tokens_token_jti_unique'),
    expiresAt: p.datetime().columnType('timestamptz'),
    revokedAt: optionalTimestamp(),
    createdAt: createdAt(),
    userAgent: p.string().length(255).nullable(),
    ipAddress: p.string().length(45).nullable(),
    // Set by a rotation only (not by logout or a revocation in bulk): the start of its grace.
    rotatedAt: optionalTimestamp(),
  },
});

export type IRefreshToken = InferEntity<typeof RefreshToken>;
