import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { createdAt, enumColumn, optionalTimestamp, uuidPrimaryKey } from './columns.js';
import { Course } from './course.entity.js';
import { LIVE_SESSION_STATUSES } from './enums.js';
import { Lesson } from './lesson.entity.js';
import { User } from './user.entity.js';

/** A class happening now: the instructor leads, students follow (at most one live per course). */
export const LiveSession = defineEntity({
  name: 'LiveSession',
  tableName: 'live_sessions',
  properties: {
    id: uuidPrimaryKey(),
    // CASCADE: a session is part of its course's history.
    course: () => p.manyToOne(Course).ref().deleteRule('cascade').foreignKeyName('live_sessions_course_id_foreign'),
    startedBy: () =>
      p
        .manyToOne(User)
        .ref()
        .nullable()
        .fieldName('started_by')
        .deleteRule('set null')
        .foreignKeyName('live_sessions_started_by_foreign')
        .index('live_sessions_started_by_index'),
    status: enumColumn(LIVE_SESSION_STATUSES)
      .default('live')
      .onCreate(() => 'live' as const),
    /** "Follow me": the lesson everyone should look at; cleared when that lesson is deleted. */
    currentLesson: () =>
      p
        .manyToOne(Lesson)
        .ref()
        .nullable()
        .deleteRule('set null')
        .foreignKeyName('live_sessions_current_lesson_id_foreign')
        .index('live_sessions_current_lesson_id_index'),
    startedAt: createdAt(),
    endedAt: optionalTimestamp(),
    /** Moved by every action in the session; the sweep ends sessions idle for 12 hours. */
    lastActivityAt: createdAt(),
  },
  indexes: [
    { name: 'live_sessions_course_id_started_at_index', properties: ['course', 'startedAt'] },
    {
      name: 'live_sessions_last_activity_live_idx',
      expression: `create index "live_sessions_last_activity_live_idx" on "live_sessions" ("last_activity_at") where ((status)::text = 'live'::text)`,
    },
  ],
  uniques: [
    {
      // One live session per course: the last word when two starts race.
      name: 'live_sessions_one_live_per_course_idx',
      expression: `create unique index "live_sessions_one_live_per_course_idx" on "live_sessions" ("course_id") where ((status)::text = 'live'::text)`,
    },
  ],
});

export type ILiveSession = InferEntity<typeof LiveSession>;

/** Who was online during a session; written in SQL when a student is seen in the course's room. */
export const LiveSessionAttendance = defineEntity({
  name: 'LiveSessionAttendance',
  tableName: 'live_session_attendance',
  properties: {
    session: () => p.manyToOne(LiveSession).ref().primary().deleteRule('cascade').foreignKeyName('live_session_attendance_session_id_foreign'),
    user: () =>
      p
        .manyToOne(User)
        .ref()
        .primary()
        .deleteRule('cascade')
        .foreignKeyName('live_session_attendance_user_id_foreign')
        .index('live_session_attendance_user_id_index'),
    firstSeenAt: createdAt(),
    lastSeenAt: createdAt(),
  },
});

export type ILiveSessionAttendance = InferEntity<typeof LiveSessionAttendance>;
