import { Type, type Static } from 'typebox';
import { NullableTimestamp, Timestamp, Uuid } from '../../platform/schemas.js';
import { Nullable } from '../learning.schemas.js';
import { MAX_DEADLINE_CHANGE_SECONDS } from '../../domain/quiz-timing.js';

/** The longest window a launch may open (a school day). */
export const MAX_LAUNCH_SECONDS = 12 * 3600;

export const LaunchBody = Type.Object(
  {
    quizId: Uuid,
    durationSeconds: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_LAUNCH_SECONDS, description: "The shared window; default: the quiz's time limit (required when it has none)" }),
    ),
  },
  { additionalProperties: false },
);

export const ExtendBody = Type.Object(
  {
    seconds: Type.Integer({ minimum: -MAX_DEADLINE_CHANGE_SECONDS, maximum: MAX_DEADLINE_CHANGE_SECONDS, description: 'Non-zero; negative shortens' }),
    studentId: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);

export const LaunchQuery = Type.Object({ format: Type.Optional(Type.Enum(['json', 'csv'])) }, { additionalProperties: false });

/** Live counts of a launch's attempts (`session:launch-counts`, `GET /launches/:id`). */
export const LaunchCounts = Type.Object({
  started: Type.Integer({ description: 'Attempts of the launch' }),
  running: Type.Integer(),
  submitted: Type.Integer({ description: 'Submitted by the student (not finished by the server)' }),
  graded: Type.Integer(),
  abandoned: Type.Integer(),
  answered: Type.Record(Type.String(), Type.Integer(), { description: 'Question id → attempts with a saved answer to it' }),
});
export type LaunchCounts = Static<typeof LaunchCounts>;

export const LaunchSummaryJson = Type.Object({
  started: Type.Integer(),
  graded: Type.Integer(),
  abandoned: Type.Integer(),
  passed: Type.Integer(),
  meanScore: Nullable(Type.Number()),
  meanPercentage: Nullable(Type.Number()),
  questions: Type.Array(
    Type.Object({
      questionId: Uuid,
      graded: Type.Integer(),
      correctRate: Nullable(Type.Number({ description: '0–1' })),
      meanPoints: Nullable(Type.Number()),
      maxPoints: Nullable(Type.Number()),
    }),
  ),
});

export const LaunchJson = Type.Object({
  id: Uuid,
  sessionId: Uuid,
  courseId: Uuid,
  quizId: Uuid,
  launchedBy: Nullable(Uuid),
  opensAt: Timestamp,
  closesAt: Timestamp,
  closedAt: NullableTimestamp,
  studentOffsets: Type.Record(Type.String(), Type.Integer(), { description: 'Student id → seconds added to that student’s deadline' }),
  counts: LaunchCounts,
  summary: Nullable(LaunchSummaryJson),
  serverNow: Timestamp,
});

export const SkipReason = Type.Enum(['MAX_ATTEMPTS_REACHED', 'ATTEMPT_IN_PROGRESS']);

export const LaunchCreatedJson = Type.Object({
  launch: LaunchJson,
  started: Type.Array(Type.Object({ attemptId: Uuid, studentId: Uuid, deadline: Timestamp })),
  skipped: Type.Array(Type.Object({ studentId: Uuid, reason: SkipReason })),
});

export const LaunchExtendedJson = Type.Object({
  launchId: Uuid,
  closesAt: Timestamp,
  studentOffsets: Type.Record(Type.String(), Type.Integer()),
  /** The running attempts whose deadline moved. */
  moved: Type.Array(Type.Object({ attemptId: Uuid, studentId: Uuid, deadline: Timestamp, submitUntil: Timestamp })),
  serverNow: Timestamp,
});
