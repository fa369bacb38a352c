import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, enumColumn, optionalTimestamp, updatedAt, uuidPrimaryKey } from './columns.js';
import { Course } from './course.entity.js';
import { ENROLLMENT_STATUSES } from './enums.js';
import { User } from './user.entity.js';

export const Enrollment = defineEntity({
  name: 'Enrollment',
  tableName: 'enrollments',
  properties: {
    id: uuidPrimaryKey(),
    // NO ACTION on both: what a student earned is never deleted by someone else's delete, so a
    // course (or a user) with enrollments cannot be deleted; the API answers 409 first.
    student: () => p.manyToOne(User).ref().deleteRule('no action').foreignKeyName('enrollments_student_id_foreign').index('enrollments_student_id_index'),
    course: () => p.manyToOne(Course).ref().deleteRule('no action').foreignKeyName('enrollments_course_id_foreign').index('enrollments_course_id_index'),
    status: enumColumn(ENROLLMENT_STATUSES)
      .default('active')
      .onCreate(() => 'active' as const),
    progressPercentage: p
      .decimal('number')
      .precision(5)
      .scale(2)
      .default(0)
      .onCreate(() => 0),
    completedLessonsCount: p
      .integer()
      .default(0)
      .onCreate(() => 0),
    totalLessonsCount: p
      .integer()
      .default(0)
      .onCreate(() => 0),
    totalTimeSpentSeconds: p
      .integer()
      .default(0)
      .onCreate(() => 0),
    rating: p.integer().nullable(),
    review: p.text().nullable(),
    certificateIssuedAt: optionalTimestamp(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    completedAt: optionalTimestamp(),
  },
  uniques: [{ name: 'enrollments_student_id_course_id_unique', properties: ['student', 'course'] }],
  checks: [
    { name: 'enrollments_rating_check', expression: '((rating >= 1) AND (rating <= 5))' },
    {
      name: 'enrollments_progress_percentage_check',
      expression: '((progress_percentage >= (0)::numeric) AND (progress_percentage <= (100)::numeric))',
    },
    {
      name: 'enrollments_counts_check',
      expression: '((completed_lessons_count >= 0) AND (total_lessons_count >= 0) AND (total_time_spent_seconds >= 0))',
    },
  ],
});

export type IEnrollment = InferEntity<typeof Enrollment>;
