import { Type, type Static } from 'typebox';
import { LIVE_SESSION_STATUSES } from '../../../entities/enums.js';
import { NullableTimestamp, Page, PaginationQuery, Timestamp, Uuid } from '../../platform/schemas.js';

export const SessionListQuery = Type.Object({ ...PaginationQuery }, { additionalProperties: false });
export type SessionListQuery = Static<typeof SessionListQuery>;

export const SetLessonBody = Type.Object(
  { currentLessonId: Type.Union([Uuid, Type.Null()], { description: 'A lesson of the course, or null to point to none' }) },
  { additionalProperties: false },
);
export type SetLessonBody = Static<typeof SetLessonBody>;

const CurrentLesson = Type.Union([Type.Object({ id: Uuid, title: Type.String() }), Type.Null()], {
  description: 'The lesson everyone should look at ("follow me"); null when none (or when it was deleted)',
});

export const LiveSessionJson = Type.Object({
  id: Uuid,
  courseId: Uuid,
  status: Type.Enum(LIVE_SESSION_STATUSES),
  startedBy: Type.Union([Uuid, Type.Null()], { description: 'Null once that account was deleted' }),
  currentLesson: CurrentLesson,
  startedAt: Timestamp,
  endedAt: NullableTimestamp,
  lastActivityAt: Timestamp,
});
export type LiveSessionJson = Static<typeof LiveSessionJson>;

export const OpenLaunchJson = Type.Object({ id: Uuid, quizId: Uuid, closesAt: Timestamp });

export const RosterEntryJson = Type.Object({
  studentId: Uuid,
  fullName: Type.String(),
  online: Type.Boolean(),
  attemptStatus: Type.Union([Type.String(), Type.Null()], { description: "The status of the student's attempt in the open launch; null without one" }),
  progressPercentage: Type.Number(),
});

export const CurrentSessionJson = Type.Object({
  ...LiveSessionJson.properties,
  openLaunch: Type.Union([OpenLaunchJson, Type.Null()]),
  myAttempt: Type.Optional(
    Type.Union([Type.Object({ id: Uuid, status: Type.String(), deadline: NullableTimestamp }), Type.Null()], {
      description: "Students only: the caller's attempt in the open launch (null when none)",
    }),
  ),
  /** Instructors only: the course's students, a page at a time (`?page&limit`). */
  roster: Type.Optional(Page(RosterEntryJson)),
  serverNow: Timestamp,
});
export type CurrentSessionJson = Static<typeof CurrentSessionJson>;

export const AttendeeJson = Type.Object({ userId: Uuid, fullName: Type.String(), firstSeenAt: Timestamp, lastSeenAt: Timestamp });

export const LaunchSummaryJson = Type.Object({
  id: Uuid,
  quizId: Uuid,
  opensAt: Timestamp,
  closesAt: Timestamp,
  closedAt: NullableTimestamp,
  summary: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], { description: 'Statistics of the launch, once its last attempt finished' }),
});

export const SessionHistoryJson = Type.Object({
  ...LiveSessionJson.properties,
  attendance: Type.Object({ count: Type.Integer(), items: Type.Array(AttendeeJson) }, { description: 'The students online during the session' }),
  launches: Type.Array(LaunchSummaryJson),
});
export type SessionHistoryJson = Static<typeof SessionHistoryJson>;
