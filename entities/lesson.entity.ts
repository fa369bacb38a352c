import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, enumColumn, metadataJson, updatedAt, uuidPrimaryKey } from './columns.js';
import { Course } from './course.entity.js';
import { LESSON_TYPES } from './enums.js';

export const Lesson = defineEntity({
  name: 'Lesson',
  tableName: 'lessons',
  properties: {
    id: uuidPrimaryKey(),
    // CASCADE: a course owns its outline; deleting the course (allowed only while it has no
    // enrollments, see enrollments.course_id) takes its lessons, quizzes and questions with it.
    course: () => p.manyToOne(Course).ref().deleteRule('cascade').foreignKeyName('lessons_course_id_foreign').index('lessons_course_id_index'),
    title: p.string().length(500),
    slug: p.string().length(500),
    description: p.text().nullable(),
    content: p.text().nullable(),
    lessonType: enumColumn(LESSON_TYPES)
      .default('text')
      .onCreate(() => 'text' as const),
    orderIndex: p
      .integer()
      .default(0)
      .onCreate(() => 0),
    // SET NULL is the database's last resort only: the API moves child lessons up to the
    // deleted lesson's parent before deleting it.
    parentLesson: () =>
      p.manyToOne(Lesson).ref().nullable().deleteRule('set null').foreignKeyName('lessons_parent_lesson_id_foreign').index('lessons_parent_lesson_id_index'),
    durationMinutes: p.integer().nullable(),
    videoUrl: p.string().length(1000).nullable(),
    isPreview: p
      .boolean()
      .default(false)
      .onCreate(() => false),
    metadata: metadataJson(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  uniques: [{ name: 'lessons_course_id_slug_unique', properties: ['course', 'slug'] }],
  checks: [
    { name: 'lessons_order_index_check', expression: '(order_index >= 0)' },
    { name: 'lessons_duration_minutes_check', expression: '(duration_minutes >= 0)' },
  ],
});

export type ILesson = InferEntity<typeof Lesson>;
