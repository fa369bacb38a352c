import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, updatedAt } from './columns.js';
import { Quiz } from './quiz.entity.js';
import { User } from './user.entity.js';

/**
 * Per-student accommodations on one quiz (SPEC §7): attempts beyond `maxAttempts` and extra time
 * on each later attempt (self-paced and launched). Read in SQL when an attempt starts.
 */
export const QuizOverride = defineEntity({
  name: 'QuizOverride',
  tableName: 'quiz_overrides',
  properties: {
    // CASCADE both ways: an override means nothing without its quiz or its student.
    quiz: () => p.manyToOne(Quiz).ref().primary().deleteRule('cascade').foreignKeyName('quiz_overrides_quiz_id_foreign'),
    student: () =>
      p.manyToOne(User).ref().primary().deleteRule('cascade').foreignKeyName('quiz_overrides_student_id_foreign').index('quiz_overrides_student_id_index'),
    extraAttempts: p
      .integer()
      .default(0)
      .onCreate(() => 0),
    extraTimeSeconds: p
      .integer()
      .default(0)
      .onCreate(() => 0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  checks: [
    { name: 'quiz_overrides_extra_attempts_check', expression: '(extra_attempts >= 0)' },
    { name: 'quiz_overrides_extra_time_seconds_check', expression: '(extra_time_seconds >= 0)' },
  ],
});

export type IQuizOverride = InferEntity<typeof QuizOverride>;
