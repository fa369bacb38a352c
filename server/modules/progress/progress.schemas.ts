import { Type } from 'typebox';
import { NullableTimestamp, Uuid } from '../../platform/schemas.js';
import { EnrollmentStatus, LessonProgressJson, LessonProgressStatus } from '../learning.schemas.js';

export const LessonProgressBody = Type.Object(
  {
    status: Type.Optional(LessonProgressStatus),
    completionPercentage: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'Rounded half-up to 2 decimals; never goes down' })),
    timeSpentSecondsDelta: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600, description: 'Seconds to add to the time spent' })),
    clientKey: Type.Optional(
      Type.String({
        format: 'uuid',
        description:
          'A new UUID per write, sent again unchanged with each retry of it: a key already applied (within a day) applies nothing ' +
          'and answers the current state. Over HTTP, Socket.IO and /ws alike.',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const EnrollmentProgressJson = Type.Object({
  enrollmentId: Uuid,
  courseId: Uuid,
  studentId: Uuid,
  status: EnrollmentStatus,
  progressPercentage: Type.Number(),
  completedLessonsCount: Type.Integer(),
  totalLessonsCount: Type.Integer(),
  totalTimeSpentSeconds: Type.Integer(),
  completedAt: NullableTimestamp,
});

export const LessonProgressResponse = Type.Object({ lessonProgress: LessonProgressJson, enrollment: EnrollmentProgressJson });
