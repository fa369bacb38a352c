import { Certificate } from './certificate.entity.js';
import { Course } from './course.entity.js';
import { Enrollment } from './enrollment.entity.js';
import { LessonProgress } from './lesson-progress.entity.js';
import { ProgressClientKey } from './progress-client-key.entity.js';
import { QuizOverride } from './quiz-override.entity.js';
import { IdempotencyKey } from './idempotency-key.entity.js';
import { Lesson } from './lesson.entity.js';
import { LiveSession, LiveSessionAttendance } from './live-session.entity.js';
import { QuizAttempt } from './quiz-attempt.entity.js';
import { QuizLaunch } from './quiz-launch.entity.js';
import { QuizQuestion } from './quiz-question.entity.js';
import { Quiz } from './quiz.entity.js';
import { RefreshToken } from './refresh-token.entity.js';
import { UploadedFile } from './uploaded-file.entity.js';
import { User } from './user.entity.js';

export * from './enums.js';
export * from './user.entity.js';
export * from './refresh-token.entity.js';
export * from './course.entity.js';
export * from './lesson.entity.js';
export * from './enrollment.entity.js';
export * from './lesson-progress.entity.js';
export * from './quiz.entity.js';
export * from './quiz-question.entity.js';
export * from './quiz-attempt.entity.js';
export * from './uploaded-file.entity.js';
export * from './certificate.entity.js';
export * from './progress-client-key.entity.js';
export * from './quiz-override.entity.js';
export * from './idempotency-key.entity.js';
export * from './live-session.entity.js';
export * from './quiz-launch.entity.js';

/** Every entity, in dependency order; given to MikroORM explicitly (no folder discovery). */
export const allEntities = [
  User,
  RefreshToken,
  Course,
  Lesson,
  Enrollment,
  LessonProgress,
  Quiz,
  QuizQuestion,
  QuizAttempt,
  UploadedFile,
  Certificate,
  ProgressClientKey,
  QuizOverride,
  IdempotencyKey,
  LiveSession,
  LiveSessionAttendance,
  QuizLaunch,
];
