import { Type } from 'typebox';
import { NullableTimestamp, Timestamp, Uuid } from '../../platform/schemas.js';
import { CourseRef, EnrollmentStatus } from '../learning.schemas.js';

export const DashboardJson = Type.Object({
  course: CourseRef,
  totals: Type.Object({
    enrolled: Type.Integer(),
    active: Type.Integer(),
    completed: Type.Integer(),
    dropped: Type.Integer(),
    averageProgress: Type.Number({ description: 'Mean progress of enrollments that are not dropped' }),
  }),
  students: Type.Array(
    Type.Object({
      enrollmentId: Uuid,
      studentId: Uuid,
      fullName: Type.String(),
      email: Type.String(),
      status: EnrollmentStatus,
      progressPercentage: Type.Number(),
      completedLessonsCount: Type.Integer(),
      totalLessonsCount: Type.Integer(),
      totalTimeSpentSeconds: Type.Integer(),
      completedAt: NullableTimestamp,
      lastActivityAt: NullableTimestamp,
      lastLesson: Type.Union([Type.Object({ id: Uuid, title: Type.String() }), Type.Null()], {
        description: 'The lesson whose progress the student wrote last (what `lesson:progress` reports live)',
      }),
      online: Type.Boolean(),
    }),
  ),
  online: Type.Array(Uuid, { description: 'Users currently in the course room' }),
  quizzes: Type.Array(Type.Unknown(), { description: 'Per-quiz statistics' }),
  recentGrades: Type.Array(
    Type.Object({
      attemptId: Uuid,
      quizId: Uuid,
      studentId: Uuid,
      score: Type.Number(),
      maxScore: Type.Number(),
      percentage: Type.Number(),
      isPassed: Type.Boolean(),
      autoSubmitted: Type.Boolean(),
      gradedAt: Timestamp,
    }),
    {
      description:
        'The last 50 attempts graded within the hour, newest first (what quiz:graded carried): a dashboard that reconnected without recovery rebuilds itself from these',
    },
  ),
  runningAttempts: Type.Array(Type.Object({ attemptId: Uuid, quizId: Uuid, studentId: Uuid, startedAt: Timestamp, deadline: NullableTimestamp }), {
    description: 'Attempts in progress now, newest first (at most 500)',
  }),
  serverNow: Timestamp,
});
