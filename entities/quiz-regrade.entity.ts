import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, enumColumn, optionalTimestamp, uuidPrimaryKey } from './columns.js';
import { REGRADE_STATUSES } from './enums.js';
import { QuizAttempt } from './quiz-attempt.entity.js';
import { Quiz } from './quiz.entity.js';
import { User } from './user.entity.js';

/** How numeric columns of a grade are declared (as on `quiz_attempts`). */
const score = () => p.decimal('number').precision(10).scale(2);
const percentage = () => p.decimal('number').precision(5).scale(2);

/**
 * One regrade of a quiz after its answer key was corrected (SPEC §8): one per quiz and key version,
 * at most one queued or running per quiz. Written in SQL by the regrades component.
 */
export const QuizRegrade = defineEntity({
  name: 'QuizRegrade',
  tableName: 'quiz_regrades',
  properties: {
    id: uuidPrimaryKey(),
    // CASCADE: a regrade is part of its quiz's history (a quiz with attempts cannot be deleted anyway).
    quiz: () => p.manyToOne(Quiz).ref().deleteRule('cascade').foreignKeyName('quiz_regrades_quiz_id_foreign'),
    keyVersion: p.integer(),
    status: enumColumn(REGRADE_STATUSES)
      .default('queued')
      .onCreate(() => 'queued' as const),
    requestedBy: () =>
      p
        .manyToOne(User)
        .ref()
        .nullable()
        .fieldName('requested_by')
        .deleteRule('set null')
        .foreignKeyName('quiz_regrades_requested_by_foreign')
        .index('quiz_regrades_requested_by_index'),
    /** Graded attempts to regrade (grows if attempts are graded while it runs). */
    total: p
      .integer()
      .default(0)
      .onCreate(() => 0),
    processed: p
      .integer()
      .default(0)
      .onCreate(() => 0),
    /** Attempts whose score, maximum, percentage or pass changed (each has an `attempt_regrades` row). */
    changed: p
      .integer()
      .default(0)
      .onCreate(() => 0),
    /** Where the run is: the last attempt (in id order) of its last committed batch; a resumed run starts after it. Not a reference. */
    lastAttemptId: p.uuid().nullable(),
    startedAt: optionalTimestamp(),
    finishedAt: optionalTimestamp(),
    error: p.text().nullable(),
    createdAt: createdAt(),
  },
  uniques: [
    // One run per key version: asking again returns it. Leads with the quiz, so it indexes the key.
    { name: 'quiz_regrades_quiz_id_key_version_unique', properties: ['quiz', 'keyVersion'] },
    {
      name: 'quiz_regrades_one_active_per_quiz_idx',
      expression: `create unique index "quiz_regrades_one_active_per_quiz_idx" on "quiz_regrades" ("quiz_id") where ((status)::text = ANY ((ARRAY['queued'::character varying, 'running'::character varying])::text[]))`,
    },
  ],
  checks: [{ name: 'quiz_regrades_counts_check', expression: '((total >= 0) AND (processed >= 0) AND (changed >= 0) AND (changed <= processed))' }],
});

export type IQuizRegrade = InferEntity<typeof QuizRegrade>;

/** An attempt whose result a regrade changed: before and after (SPEC §8). */
export const AttemptRegrade = defineEntity({
  name: 'AttemptRegrade',
  tableName: 'attempt_regrades',
  properties: {
    id: uuidPrimaryKey(),
    regrade: () => p.manyToOne(QuizRegrade).ref().deleteRule('cascade').foreignKeyName('attempt_regrades_regrade_id_foreign'),
    attempt: () =>
      p.manyToOne(QuizAttempt).ref().deleteRule('cascade').foreignKeyName('attempt_regrades_attempt_id_foreign').index('attempt_regrades_attempt_id_index'),
    oldScore: score(),
    newScore: score(),
    oldMaxScore: score(),
    newMaxScore: score(),
    oldPercentage: percentage(),
    newPercentage: percentage(),
    oldPassed: p.boolean(),
    newPassed: p.boolean(),
    requestedBy: () =>
      p
        .manyToOne(User)
        .ref()
        .nullable()
        .fieldName('requested_by')
        .deleteRule('set null')
        .foreignKeyName('attempt_regrades_requested_by_foreign')
        .index('attempt_regrades_requested_by_index'),
    createdAt: createdAt(),
  },
  uniques: [{ name: 'attempt_regrades_regrade_id_attempt_id_unique', properties: ['regrade', 'attempt'] }],
});

export type IAttemptRegrade = InferEntity<typeof AttemptRegrade>;
