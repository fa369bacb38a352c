import { Type, type Static, type TSchema } from 'typebox';
import { DIFFICULTY_LEVELS, ENROLLMENT_STATUSES, LESSON_PROGRESS_STATUSES, LESSON_TYPES } from '../../entities/enums.js';
import { SLUG_PATTERN } from '../domain/slug.js';
import { NullableTimestamp, Timestamp, Uuid } from '../platform/schemas.js';
import { FREE_JSON_LIMITS, jsonLimited } from '../platform/json-limits.js';

export const Difficulty = Type.Enum(DIFFICULTY_LEVELS);
export const LessonType = Type.Enum(LESSON_TYPES);
export const EnrollmentStatus = Type.Enum(ENROLLMENT_STATUSES);
export const LessonProgressStatus = Type.Enum(LESSON_PROGRESS_STATUSES);

export const Slug = Type.String({ pattern: SLUG_PATTERN, minLength: 1, maxLength: 200 });
export const Metadata = Type.Record(Type.String(), Type.Unknown(), jsonLimited(FREE_JSON_LIMITS, 'Free-form JSON object'));
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const HttpUrl = Type.String({ maxLength: 1000, pattern: '^https?://' });

export const InstructorSummary = Type.Object({ id: Uuid, fullName: Type.String() });

export const CourseJson = Type.Object({
  id: Uuid,
  title: Type.String(),
  slug: Type.String(),
  description: Nullable(Type.String()),
  category: Nullable(Type.String()),
  difficultyLevel: Nullable(Difficulty),
  isPublished: Type.Boolean(),
  thumbnailUrl: Nullable(Type.String()),
  estimatedDurationMinutes: Nullable(Type.Integer()),
  metadata: Metadata,
  instructor: InstructorSummary,
  lessonCount: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type CourseJson = Static<typeof CourseJson>;

export const LessonProgressSummary = Type.Object({
  status: LessonProgressStatus,
  completionPercentage: Type.Number(),
});

/** A lesson as the outline shows it; `content`/`videoUrl` only for those who may see them. */
const lessonFields = {
  id: Uuid,
  courseId: Uuid,
  title: Type.String(),
  slug: Type.String(),
  description: Nullable(Type.String()),
  lessonType: LessonType,
  orderIndex: Type.Integer(),
  parentLessonId: Nullable(Uuid),
  durationMinutes: Nullable(Type.Integer()),
  isPreview: Type.Boolean(),
  quizId: Nullable(Uuid),
  content: Type.Optional(Nullable(Type.String())),
  videoUrl: Type.Optional(Nullable(Type.String())),
  progress: Type.Optional(LessonProgressSummary),
};

export const LessonJson = Type.Object({
  ...lessonFields,
  metadata: Metadata,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type LessonJson = Static<typeof LessonJson>;

export const OutlineLesson = Type.Cyclic({ OutlineLesson: Type.Object({ ...lessonFields, children: Type.Array(Type.Ref('OutlineLesson')) }) }, 'OutlineLesson');

export const EnrollmentProgressFields = {
  status: EnrollmentStatus,
  progressPercentage: Type.Number(),
  completedLessonsCount: Type.Integer(),
  totalLessonsCount: Type.Integer(),
  totalTimeSpentSeconds: Type.Integer(),
  completedAt: NullableTimestamp,
};

export const CourseDetailJson = Type.Object({
  ...CourseJson.properties,
  lessons: Type.Array(OutlineLesson),
  /** The caller's own enrollment, when there is one. */
  enrollment: Nullable(Type.Object({ id: Uuid, ...EnrollmentProgressFields })),
});

export const CourseRef = Type.Object({ id: Uuid, slug: Type.String(), title: Type.String() });

export const EnrollmentJson = Type.Object({
  id: Uuid,
  courseId: Uuid,
  studentId: Uuid,
  ...EnrollmentProgressFields,
  rating: Nullable(Type.Integer()),
  review: Nullable(Type.String()),
  certificateIssuedAt: NullableTimestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  course: Type.Optional(CourseRef),
  student: Type.Optional(Type.Object({ id: Uuid, fullName: Type.String(), email: Type.String() })),
});
export type EnrollmentJson = Static<typeof EnrollmentJson>;

export const LessonProgressJson = Type.Object({
  lessonId: Uuid,
  lessonTitle: Type.String(),
  parentLessonId: Nullable(Uuid),
  status: LessonProgressStatus,
  completionPercentage: Type.Number(),
  timeSpentSeconds: Type.Integer(),
  startedAt: NullableTimestamp,
  completedAt: NullableTimestamp,
  updatedAt: NullableTimestamp,
});
export type LessonProgressJson = Static<typeof LessonProgressJson>;

export { Nullable };
