import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt } from './columns.js';
import { Enrollment } from './enrollment.entity.js';

/**
 * The `clientKey`s of progress writes already applied, one row per key and enrollment: the
 * statement that applies a write claims its key here first (`ON CONFLICT DO NOTHING`), so a retry
 * after a lost ack finds it claimed and adds nothing. Written and read only in SQL; the sweep
 * deletes keys after a day (a retry comes within seconds).
 */
export const ProgressClientKey = defineEntity({
  name: 'ProgressClientKey',
  tableName: 'progress_client_keys',
  properties: {
    // CASCADE: the keys are part of their enrollment. The key (enrollment, client key) leads with
    // the enrollment, which serves as the foreign key's index.
    enrollment: () => p.manyToOne(Enrollment).ref().primary().deleteRule('cascade').foreignKeyName('progress_client_keys_enrollment_id_foreign'),
    clientKey: p.uuid().primary(),
    createdAt: createdAt().index('progress_client_keys_created_at_index'),
  },
});

export type IProgressClientKey = InferEntity<typeof ProgressClientKey>;
