// Enumerated string values. They are stored as varchar(50) columns guarded by named CHECK
// constraints (`enumColumn` in columns.ts, and the initial migration), and reused by the API
// schemas, so the database, the ORM and the HTTP contract cannot drift apart. Changing a list
// needs a migration that rewrites its CHECK with the items in the same order.

export const USER_ROLES = ['admin', 'instructor', 'student'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const DIFFICULTY_LEVELS = ['beginner', 'intermediate', 'advanced'] as const;
export type DifficultyLevel = (typeof DIFFICULTY_LEVELS)[number];

export const LESSON_TYPES = ['video', 'text', 'quiz', 'assignment'] as const;
export type LessonType = (typeof LESSON_TYPES)[number];

export const ENROLLMENT_STATUSES = ['active', 'completed', 'dropped', 'expired'] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

export const LESSON_PROGRESS_STATUSES = ['not_started', 'in_progress', 'completed'] as const;
export type LessonProgressStatus = (typeof LESSON_PROGRESS_STATUSES)[number];

export const QUIZ_TYPES = ['practice', 'graded'] as const;
export type QuizType = (typeof QUIZ_TYPES)[number];

/** `abandoned`: finished by the server under the `graceperiod` or `autoabandon` policy, never graded. */
export const ATTEMPT_STATUSES = ['in_progress', 'submitted', 'graded', 'abandoned'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];

/** What the server does with an attempt left running past its deadline (SPEC §7). */
export const OVERDUE_HANDLINGS = ['autosubmit', 'graceperiod', 'autoabandon'] as const;
export type OverdueHandling = (typeof OVERDUE_HANDLINGS)[number];

export const QUESTION_TYPES = ['multiple_choice', 'true_false', 'short_answer'] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export const STORAGE_PROVIDERS = ['local', 's3'] as const;
export type StorageProvider = (typeof STORAGE_PROVIDERS)[number];

export const LIVE_SESSION_STATUSES = ['live', 'ended'] as const;
export type LiveSessionStatus = (typeof LIVE_SESSION_STATUSES)[number];
