import { Type } from 'typebox';
import { Uuid } from '../../platform/schemas.js';
import { HttpUrl, LessonType, Metadata, Nullable, Slug } from '../learning.schemas.js';

const lessonFields = {
  title: Type.String({ minLength: 1, maxLength: 500 }),
  slug: Slug,
  description: Nullable(Type.String({ maxLength: 20000 })),
  content: Nullable(Type.String({ maxLength: 1_000_000 })),
  lessonType: LessonType,
  orderIndex: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
  parentLessonId: Nullable(Uuid),
  durationMinutes: Nullable(Type.Integer({ minimum: 0, maximum: 100000 })),
  videoUrl: Nullable(HttpUrl),
  isPreview: Type.Boolean(),
  metadata: Metadata,
};

export const CreateLessonBody = Type.Object(
  {
    ...Type.Partial(Type.Object(lessonFields)).properties,
    title: lessonFields.title,
  },
  { additionalProperties: false },
);

export const UpdateLessonBody = Type.Partial(Type.Object(lessonFields), { additionalProperties: false, minProperties: 1 });

export const LessonOrderBody = Type.Array(
  Type.Object(
    {
      id: Uuid,
      parentLessonId: Nullable(Uuid),
      orderIndex: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    },
    { additionalProperties: false },
  ),
  { minItems: 1, maxItems: 1000 },
);
