import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt } from './columns.js';

/**
 * The reply of a request made with an `Idempotency-Key` header, per scope (route + user): a retry
 * with the same key gets the same reply without applying the change again. Written and read only
 * in SQL; the sweep deletes rows after a day.
 */
export const IdempotencyKey = defineEntity({
  name: 'IdempotencyKey',
  tableName: 'idempotency_keys',
  properties: {
    scope: p.string().length(200).primary(),
    key: p.string().length(200).primary(),
    statusCode: p.integer(),
    response: p.json<unknown>().columnType('jsonb'),
    createdAt: createdAt().index('idempotency_keys_created_at_index'),
  },
});

export type IIdempotencyKey = InferEntity<typeof IdempotencyKey>;
