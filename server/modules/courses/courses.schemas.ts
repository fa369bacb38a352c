import { Type } from 'typebox';
import { PaginationQuery } from '../../platform/schemas.js';
import { CourseDetailJson, CourseJson, Difficulty, HttpUrl, Metadata, Nullable, Slug } from '../learning.schemas.js';

const courseFields = {
  title: Type.String({ minLength: 1, maxLength: 500 }),
  slug: Slug,
  description: Nullable(Type.String({ maxLength: 20000 })),
  category: Nullable(Type.String({ minLength: 1, maxLength: 100 })),
  difficultyLevel: Nullable(Difficulty),
  thumbnailUrl: Nullable(HttpUrl),
  estimatedDurationMinutes: Nullable(Type.Integer({ minimum: 0, maximum: 100000 })),
  metadata: Metadata,
  isPublished: Type.Boolean(),
};

export const CreateCourseBody = Type.Object(
  {
    title: courseFields.title,
    slug: Type.Optional(courseFields.slug),
    description: Type.Optional(courseFields.description),
    category: Type.Optional(courseFields.category),
    difficultyLevel: Type.Optional(courseFields.difficultyLevel),
    thumbnailUrl: Type.Optional(courseFields.thumbnailUrl),
    estimatedDurationMinutes: Type.Optional(courseFields.estimatedDurationMinutes),
    metadata: Type.Optional(courseFields.metadata),
    isPublished: Type.Optional(courseFields.isPublished),
  },
  { additionalProperties: false },
);

export const UpdateCourseBody = Type.Partial(Type.Object(courseFields), { additionalProperties: false, minProperties: 1 });

export const CourseListQuery = Type.Object(
  {
    category: Type.Optional(Type.String({ maxLength: 100 })),
    difficulty: Type.Optional(Difficulty),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    mine: Type.Optional(Type.Boolean({ description: 'Instructors and admins: their own courses, drafts included' })),
    ...PaginationQuery,
  },
  { additionalProperties: false },
);

export const IdOrSlugParams = Type.Object(
  { idOrSlug: Type.String({ minLength: 1, maxLength: 200, description: 'A course id (UUID) or its slug' }) },
  { additionalProperties: false },
);

export { CourseJson, CourseDetailJson };
