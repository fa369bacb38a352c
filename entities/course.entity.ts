import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, enumColumn, metadataJson, updatedAt, uuidPrimaryKey } from './columns.js';
import { DIFFICULTY_LEVELS } from './enums.js';
import { User } from './user.entity.js';

export const Course = defineEntity({
  name: 'Course',
  tableName: 'courses',
  properties: {
    id: uuidPrimaryKey(),
    title: p.string().length(500),
    slug: p.string().length(500).unique('courses_slug_unique'),
    description: p.text().nullable(),
    // NO ACTION: an instructor who still owns courses cannot be deleted (deactivate instead).
    instructor: () => p.manyToOne(User).ref().deleteRule('no action').foreignKeyName('courses_instructor_id_foreign').index('courses_instructor_id_index'),
    category: p.string().length(100).nullable().index('courses_category_index'),
    difficultyLevel: enumColumn(DIFFICULTY_LEVELS).nullable(),
    isPublished: p
      .boolean()
      .default(false)
      .onCreate(() => false)
      .index('courses_is_published_index'),
    thumbnailUrl: p.string().length(1000).nullable(),
    estimatedDurationMinutes: p.integer().nullable(),
    metadata: metadataJson(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  checks: [{ name: 'courses_estimated_duration_minutes_check', expression: '(estimated_duration_minutes >= 0)' }],
});

export type ICourse = InferEntity<typeof Course>;
