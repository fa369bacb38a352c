import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, enumColumn, optionalTimestamp, updatedAt, uuidPrimaryKey } from './columns.js';
import { Enrollment } from './enrollment.entity.js';
import { LESSON_PROGRESS_STATUSES } from './enums.js';
import { Lesson } from './lesson.entity.js';

export const LessonProgress = defineEntity({
  name: 'LessonProgress',
  tableName: 'lesson_progress',
  properties: {
    id: uuidPrimaryKey(),
    // CASCADE: progress rows are part of their enrollment.
    enrollment: () =>
      p.manyToOne(Enrollment).ref().deleteRule('cascade').foreignKeyName('lesson_progress_enrollment_id_foreign').index('lesson_progress_enrollment_id_index'),
    // NO ACTION: a lesson students have progress on cannot be deleted (the API answers 409).
    lesson: () =>
      p.manyToOne(Lesson).ref().deleteRule('no action').foreignKeyName('lesson_progress_lesson_id_foreign').index('lesson_progress_lesson_id_index'),
    status: enumColumn(LESSON_PROGRESS_STATUSES)
      .default('not_started')
      .onCreate(() => 'not_started' as const),
    startedAt: optionalTimestamp(),
    completedAt: optionalTimestamp(),
    timeSpentSeconds: p
      .integer()
      .default(0)
      .onCreate(() => 0),
    completionPercentage: p
      .decimal('number')
      .precision(5)
      .scale(2)
      .default(0)
      .onCreate(() => 0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  uniques: [{ name: 'lesson_progress_enrollment_id_lesson_id_unique', properties: ['enrollment', 'lesson'] }],
  checks: [
    {
      name: 'lesson_progress_completion_percentage_check',
      expression: '((completion_percentage >= (0)::numeric) AND (completion_percentage <= (100)::numeric))',
    },
    { name: 'lesson_progress_time_spent_seconds_check', expression: '(time_spent_seconds >= 0)' },
  ],
});

export type ILessonProgress = InferEntity<typeof LessonProgress>;
